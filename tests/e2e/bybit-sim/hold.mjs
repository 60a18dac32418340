// Opens a public, a private and a trade connection and holds them until the server closes them
// (test_bybit_sim_rest.sh sends SIGTERM to the simulator meanwhile). Prints "holding", then
// "closed CODES" once all three are closed.
import { privateWs, run, Ws } from './lib.mjs';

run(async () => {
  const pub = await Ws.open('/v5/public/linear', 'public');
  await pub.subscribe(['orderbook.50.BTCUSDT', 'publicTrade.BTCUSDT']);
  const priv = await privateWs();
  await priv.subscribe(['order', 'dcp.future']);
  const trade = await Ws.open('/v5/trade', 'trade');
  console.log('holding');
  const all = [pub, priv, trade];
  const end = Date.now() + 25000;
  while (all.some((c) => !c.closed) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  console.log(all.every((c) => c.closed) ? `closed ${all.map((c) => c.closed.code).join(',')}` : 'still open');
}, 28000);
