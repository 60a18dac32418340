// Faults set at runtime with POST /sim/faults, one kind at a time, each seen from a client:
// ws_drop (close code), ws_reset (1006, no close frame), ws_stall (silence, pings unanswered),
// rest_latency (measured), http_429, http_5xx, http_403_ban, retcode_10006, retcode_10016,
// maintenance (REST 10016 or an HTTP status; WS closed and refused until the end), malformed
// (truncated JSON frames), book_reset (snapshot with u == 1), clock_skew (10002 while active).
// Also GET /sim/faults, removal with null and clear, bad bodies (400), counters in /sim/stats.
import {
  check, env, eq, ok, privateWs, rest, run, setFaults, show, simGet, sleep, step, SYMBOL, Ws,
} from './lib.mjs';

const signedGet = () => rest('GET', '/v5/position/list', { query: 'category=linear&symbol=BTCUSDT', signed: true });
const publicGet = () => rest('GET', '/v5/market/time');
const fired = async (k) => (await simGet('/sim/stats')).faults_fired[k];
const clear = () => setFaults({ clear: true });
async function healthy(what) {
  const r = await signedGet();
  if (r.status !== 200 || r.json?.retCode !== 0) throw new Error(`${what}: REST not back to normal: HTTP ${r.status} ${r.text}`);
}

run(async () => {
  step('POST /sim/faults: bodies');
  {
    for (const b of ['not json', '[]', '{"nope":{}}', '{"ws_drop":{"code":999}}', '{"ws_drop":{"every":"0s"}}', '{"ws_drop":{"every":"1s","start":"1s"}}', '{"http_5xx":{"code":4000}}', '{"clock_skew":{"skew_ms":"x"}}', '{"ws_drop":{"bogus":1}}']) {
      const r = await rest('POST', '/sim/faults', { body: b });
      eq(r.status, 400, `POST /sim/faults ${b}`, r.text);
      check(r.json && typeof r.json.error === 'string', 'a JSON error', r.text);
    }
    // all or nothing: a bad kind next to a good one sets neither
    await rest('POST', '/sim/faults', { body: { http_429: {}, ws_drop: { code: 1 } } });
    eq((await publicGet()).status, 200, 'a rejected body must not set http_429');
    const g = await setFaults({ http_5xx: { every: '1h', duration: '10s', status: 502 } });
    check(g.faults?.http_5xx?.status === 502, 'POST /sim/faults answers the settings', g);
    const gg = await simGet('/sim/faults');
    check(gg.faults?.http_5xx && Array.isArray(gg.active) && gg.fired && 'ws_drop' in gg.fired, 'GET /sim/faults {faults, active, fired}', gg);
    await setFaults({ http_5xx: null });
    check(!(await simGet('/sim/faults')).faults.http_5xx, '{"http_5xx": null} removes it');
    ok('9 bad bodies 400, all or nothing, GET, null removal');
  }

  step('ws_drop: close code seen by the client');
  {
    const pub = await Ws.open('/v5/public/linear', 'public');
    await pub.subscribe(['orderbook.50.BTCUSDT']);
    const priv = await privateWs();
    await setFaults({ ws_drop: { start: '300ms', code: 4321 } });
    const c = await pub.waitClosed(3000, 'ws_drop');
    eq(c.code, 4321, 'public close code', c);
    eq((await priv.waitClosed(1000, 'ws_drop')).code, 4321, 'private close code');
    eq(await fired('ws_drop'), 1, 'faults_fired.ws_drop');
    // once: a new connection after the activation stays
    const again = await Ws.open('/v5/public/linear', 'public-again');
    await sleep(800);
    check(!again.closed, 'a start fault fires once', again.closed);
    again.close();
    await clear();
    ok(`closed with ${c.code} "${c.reason}"`);
  }

  step('ws_reset: abrupt end, no close frame');
  {
    const pub = await Ws.open('/v5/public/linear', 'public');
    await pub.subscribe(['orderbook.50.BTCUSDT']);
    await setFaults({ ws_reset: { start: '300ms' } });
    const c = await pub.waitClosed(3000, 'ws_reset');
    eq(c.code, 1006, 'close code of a reset (1006: no close frame)', c);
    await clear();
    ok('1006');
  }

  step('ws_stall: no messages, pings unanswered during the window');
  {
    const pub = await Ws.open('/v5/public/linear', 'public');
    await pub.subscribe(['orderbook.50.BTCUSDT']);
    const priv = await privateWs();
    await setFaults({ ws_stall: { start: '200ms', duration: '2s' } });
    await sleep(400);
    pub.drain();
    priv.drain();
    pub.send({ req_id: 'stalled', op: 'ping' });
    priv.send({ req_id: 'stalled-p', op: 'ping' });
    await sleep(1200);
    eq(pub.queue.length, 0, 'public messages during the stall', pub.queue.slice(0, 3));
    eq(priv.queue.length, 0, 'private messages during the stall', priv.queue.slice(0, 3));
    await sleep(900);
    const p = await pub.request({ req_id: 'after', op: 'ping' });
    eq(p.ret_msg, 'pong', 'pong after the stall', p);
    await pub.next((m) => m.topic === 'orderbook.50.BTCUSDT', 2000, 'book messages after the stall');
    check(!pub.queue.some((m) => m.req_id === 'stalled') && !priv.queue.some((m) => m.req_id === 'stalled-p'), 'a ping sent during the stall was answered', [pub.queue.slice(0, 3), priv.queue.slice(0, 3)]);
    check(!pub.closed && !priv.closed, 'a stall closes nothing', [pub.closed, priv.closed]);
    check((await fired('ws_stall')) >= 1, 'faults_fired.ws_stall must count the stall', (await simGet('/sim/stats')).faults_fired);
    pub.close();
    priv.close();
    await clear();
    ok('silent for the window, then served again');
  }

  step('rest_latency');
  {
    const base = await publicGet();
    await setFaults({ rest_latency: { latency_ms: 500 } });
    const r1 = await publicGet(), r2 = await signedGet();
    check(r1.ms >= 480 && r1.ms < 3000 && r2.ms >= 480, `delays ${r1.ms} and ${r2.ms} ms, want ≥ 500 (without: ${base.ms} ms)`);
    eq(r2.json?.retCode, 0, 'a delayed reply is still the answer', r2.text);
    // concurrent: delays overlap, other requests are not blocked
    const t0 = Date.now();
    await Promise.all([publicGet(), publicGet(), publicGet()]);
    check(Date.now() - t0 < 1400, `3 concurrent delayed requests took ${Date.now() - t0} ms`);
    await setFaults({ rest_latency: { latency_ms: 200, jitter_ms: 300 } });
    const ds = [];
    for (let i = 0; i < 5; i++) ds.push((await publicGet()).ms);
    check(ds.every((d) => d >= 190 && d < 680), `latency 200 + jitter ≤ 300 (+ < 180 ms of overhead): ${ds}`);
    await clear();
    const r3 = await publicGet();
    check(r3.ms < 300, `after clear: ${r3.ms} ms`);
    ok(`${r1.ms} / ${r2.ms} ms; jitter ${ds}`);
  }

  step('http_429, http_5xx, http_403_ban');
  {
    await setFaults({ http_429: {} });
    eq((await publicGet()).status, 429, 'http_429 on a public request');
    eq((await signedGet()).status, 429, 'http_429 on a signed request');
    await setFaults({ http_429: null, http_5xx: { status: 502 } });
    eq((await publicGet()).status, 502, 'http_5xx status 502');
    await setFaults({ http_5xx: {} });
    eq((await publicGet()).status, 503, 'http_5xx default status');
    await setFaults({ http_5xx: { probability: 0.5 } });
    const sts = [];
    for (let i = 0; i < 30; i++) sts.push((await publicGet()).status);
    const n5 = sts.filter((s) => s === 503).length;
    check(n5 >= 5 && n5 <= 25, `probability 0.5: ${n5} of 30 were 503`, sts);
    await setFaults({ http_5xx: null, http_403_ban: { start: '100ms', duration: '1500ms' } });
    await sleep(200);
    const b = await publicGet();
    eq(b.status, 403, 'during http_403_ban', b.text);
    check(/access too frequent/.test(b.text), 'ban body "access too frequent"', b.text);
    eq((await signedGet()).status, 403, 'signed request during the ban');
    await sleep(1500);
    eq((await publicGet()).status, 200, 'after the ban');
    check((await fired('http_403_ban')) >= 1, 'faults_fired.http_403_ban must count the ban', (await simGet('/sim/stats')).faults_fired);
    await clear();
    await healthy('after 429/5xx/403');
    ok(`429, 502, 503, ${n5}/30 at p=0.5, 403 for the window`);
  }

  step('retcode_10006 and retcode_10016');
  {
    await setFaults({ retcode_10006: {} });
    const r = await signedGet();
    eq(r.json?.retCode, 10006, 'retcode_10006 on a signed request', r.text);
    eq(r.status, 200, 'HTTP status of an injected 10006', r.text);
    check(r.headers.get('x-bapi-limit-status') !== null, 'rate-limit headers on an injected 10006', Object.fromEntries(r.headers));
    const c = await rest('POST', '/v5/order/create', { body: { category: 'linear', symbol: SYMBOL, side: 'Buy', orderType: 'Limit', qty: '0.001', price: '1000' }, signed: true });
    eq(c.json?.retCode, 10006, 'retcode_10006 on create', c.text);
    eq((await simGet('/sim/orders')).count, 0, 'an order placed despite the injected 10006');
    await setFaults({ retcode_10006: null, retcode_10016: {} });
    eq((await signedGet()).json?.retCode, 10016, 'retcode_10016 on a signed request');
    eq((await publicGet()).json?.retCode, 10016, 'retcode_10016 on a public request');
    await clear();
    await healthy('after retcodes');
    ok('10006, 10016');
  }

  step('maintenance');
  {
    const pub = await Ws.open('/v5/public/linear', 'public');
    await pub.subscribe(['orderbook.50.BTCUSDT']);
    const t0 = Date.now();
    await setFaults({ maintenance: { start: '200ms', duration: '2s' } });
    const c = await pub.waitClosed(2000, 'maintenance');
    check(c.code >= 1000 && c.code !== 1006, 'a close frame at maintenance', c);
    const r = await signedGet();
    eq(r.json?.retCode, 10016, 'REST during maintenance', `HTTP ${r.status} ${r.text}`);
    const refused = await Ws.open('/v5/public/linear', 'during', { expectRefused: true });
    check(refused.openResult !== 'open' || (await refused.waitClosed(1000, 'refused').then(() => true)), 'a new WS connection during maintenance must be refused', refused.openResult);
    refused.close();
    while (Date.now() - t0 < 2400) await sleep(50);
    await healthy('after maintenance');
    const after = await Ws.open('/v5/public/linear', 'after');
    await sleep(500);
    check(!after.closed, 'a WS connection after maintenance was closed', after.closed);
    after.close();
    check((await fired('maintenance')) >= 1, 'faults_fired.maintenance must count the window', (await simGet('/sim/stats')).faults_fired);
    for (const status of [503, 500]) {
      await setFaults({ maintenance: { start: '100ms', duration: '800ms', status } });
      await sleep(200);
      const m = await publicGet();
      eq(m.status, status, `maintenance with status ${status}: HTTP status`, m.text);
      await sleep(900);
    }
    await clear();
    await healthy('after maintenance with status');
    ok('10016, WS closed and refused, then normal; statuses 503 and 500');
  }

  step('malformed: truncated JSON frames');
  {
    const pub = await Ws.open('/v5/public/linear', 'public');
    await pub.subscribe(['orderbook.50.BTCUSDT']);
    await sleep(200);
    await setFaults({ malformed: { start: '100ms', duration: '1s' } });
    await sleep(1300);
    const bad = pub.raw.length;
    check(bad >= 5, `malformed: ${bad} non-JSON frames on a subscribed book in 1 s, want many`, pub.raw.slice(0, 3));
    check(pub.raw.every((s) => s.startsWith('{')), 'malformed frames are truncated JSON', pub.raw.slice(0, 3));
    pub.drain();
    await sleep(500);
    eq(pub.raw.length, 0, 'non-JSON frames after the window');
    check(pub.queue.length > 0, 'good frames after the window');
    // also on replies
    await setFaults({ malformed: {} });
    pub.drain();
    pub.send({ req_id: 'm', op: 'ping' });
    await sleep(300);
    check(pub.raw.length > 0, 'replies are truncated too while malformed is active', pub.queue.slice(0, 2));
    await clear();
    pub.close();
    ok(`${bad} truncated frames`);
  }

  step('book_reset: snapshot with u == 1');
  {
    const pub = await Ws.open('/v5/public/linear', 'public');
    await pub.subscribe(['orderbook.50.BTCUSDT', 'orderbook.1.BTCUSDT']);
    await pub.next((m) => m.topic === 'orderbook.50.BTCUSDT' && m.type === 'delta', 2000, 'a delta before the reset');
    pub.drain(); // the subscription's own snapshots
    await setFaults({ book_reset: { start: '300ms' } });
    for (const t of ['orderbook.50.BTCUSDT', 'orderbook.1.BTCUSDT']) {
      let s; // in order: the stream's messages up to its snapshot
      do s = await pub.next((m) => m.topic === t, 3000, `a ${t} snapshot after book_reset`);
      while (s.type !== 'snapshot');
      eq(s.data.u, 1, `${t}: u of the snapshot after a reset`, s);
      const d = await pub.next((m) => m.topic === t, 2000, `a ${t} message after the reset`);
      eq(d.type, 'delta', `${t}: the message after the reset snapshot`, d);
      eq(d.data.u, 2, `${t}: u of the next delta`, d);
    }
    eq(await fired('book_reset'), 1, 'faults_fired.book_reset');
    pub.close();
    await clear();
    ok('u = 1, then 2');
  }

  step('clock_skew');
  {
    await setFaults({ clock_skew: { skew_ms: 20000 } });
    const r = await signedGet();
    eq(r.json?.retCode, 10002, 'signed request with a true timestamp while the server is 20 s ahead', r.text);
    const t = await publicGet();
    const st = Number(t.json.result.timeSecond) * 1000;
    check(st - Date.now() > 15000, `server time must be ~20 s ahead: ${st - Date.now()} ms`, t.text);
    // a client that syncs to the server time gets through
    const r2 = await rest('GET', '/v5/position/list', { query: 'category=linear&symbol=BTCUSDT', signed: true, ts: Date.now() + 20000 });
    eq(r2.json?.retCode, 0, 'a request stamped with the server time', r2.text);
    const priv = await Ws.open('/v5/private', 'private');
    const a = await priv.auth(env.KEY, env.SECRET, Date.now() + 10000);
    eq(a.success, false, 'WS auth expiring before the skewed server time', a);
    priv.close();
    await sleep(100); // counted at the next tick (20 ms)
    check((await fired('clock_skew')) >= 1, 'faults_fired.clock_skew must count the skew', await simGet('/sim/faults'));
    // a scheduled skew: only during its window
    await setFaults({ clock_skew: { skew_ms: 20000, start: '200ms', duration: '1s' } });
    eq((await signedGet()).json?.retCode, 0, 'skew starting in 200 ms, just set');
    await sleep(400);
    eq((await signedGet()).json?.retCode, 10002, 'skew window 200 ms..1.2 s, at 400 ms');
    await sleep(1000);
    eq((await signedGet()).json?.retCode, 0, 'skew window 200 ms..1.2 s, at 1.4 s');
    await setFaults({ clock_skew: { skew_ms: -20000 } });
    eq((await signedGet()).json?.retCode, 10002, 'signed request while the server is 20 s behind');
    await clear();
    await healthy('after clock_skew');
    ok('10002 while skewed');
  }

  step('/sim/stats counters');
  {
    const s = await simGet('/sim/stats');
    check(s.rest.faulted > 10, 'rest.faulted', s.rest);
    check(s.connections.dropped_total >= 2 && s.connections.reset_total >= 1, 'dropped/reset totals', s.connections);
    check(s.messages.malformed_sent >= 5, 'messages.malformed_sent', s.messages);
    for (const k of ['http_429', 'http_5xx', 'retcode_10006', 'retcode_10016', 'rest_latency', 'malformed']) check(s.faults_fired[k] > 0, `faults_fired.${k}`, s.faults_fired);
    ok(show(s.faults_fired));
  }
});
