// Idle disconnect, against a simulator with --set ws.idle_timeout=2s: a silent public connection
// is closed after about 2 s, one that pings stays; a private connection with
// ?max_active_time=30s outlives the 2 s and is closed after about 30 s of silence.
import { check, ok, privateWs, run, sleep, step, Ws } from './lib.mjs';

run(async () => {
  step('public idle timeout 2 s');
  const t0 = Date.now();
  const silent = await Ws.open('/v5/public/linear', 'silent');
  await silent.subscribe(['orderbook.50.BTCUSDT']); // feed traffic from the server does not count
  const live = await Ws.open('/v5/public/linear', 'live');
  const priv = await privateWs('private-30s', '?max_active_time=30s');
  const tp = Date.now(); // the private connection's last message (auth)
  const pinger = setInterval(() => live.closed || live.send({ req_id: 'k', op: 'ping' }), 500);
  const c = await silent.waitClosed(5000, 'idle timeout of 2 s');
  const dt = c.at - t0;
  check(dt >= 1800 && dt <= 4000, `silent public connection closed after ${dt} ms, want about 2000`);
  check(c.code === 1000 || c.code === 1001, 'idle close code 1000/1001', c);
  await sleep(2500);
  check(!live.closed, 'a public connection that pings every 500 ms was closed', live.closed);
  check(!priv.closed, 'a private connection with max_active_time=30s was closed by the 2 s public timeout', priv.closed);
  ok(`closed after ${dt} ms with ${c.code}; pinging one kept`);

  step('private max_active_time=30s');
  const p = await priv.waitClosed(36000, 'max_active_time=30s');
  const pdt = p.at - tp;
  check(pdt >= 29000 && pdt <= 34000, `private connection closed ${pdt} ms after its last message, want about 30000`);
  check(!live.closed, 'the pinging public connection was closed meanwhile', live.closed);
  clearInterval(pinger);
  live.close();
  ok(`closed after ${pdt} ms`);
}, 60000);
