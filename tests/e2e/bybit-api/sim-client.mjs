// End-to-end proof that bybit-sim speaks real Bybit v5: a third-party client, tiagosiebler's
// `bybit-api` SDK, trades against it with nothing changed but its base URLs.
//
// Why bybit-api 4.7.7 (exact pin in package.json): the latest release when this test was
// written; it declares no `engines`, and runs on Node.js 20 (the machines' Node) as is. On
// Node.js 18 (Debian's fallback) its signing needs the global Web Crypto API, which Node 18 has
// only as `require('node:crypto').webcrypto`: we install that as globalThis.crypto below, so the
// SDK's own signing code still runs. Its REST client takes `baseUrl`; its WebsocketClient takes
// one `wsUrl` for every connection it opens, hence one client per stream (public, private).
// docs/bybit-api-client-notes.md lists what the SDK sends and expects.
//
// Env: BASE (http://127.0.0.1:PORT), WSBASE (ws://127.0.0.1:PORT), KEY, SECRET.
// Exit 0 when every step passed; 1 with a FAIL line and what was received otherwise.
import { webcrypto } from 'node:crypto';

if (!globalThis.crypto) globalThis.crypto = webcrypto; // Node 18: see above

const { RestClientV5, WebsocketClient } = await import('bybit-api');

const { BASE, WSBASE, KEY, SECRET } = process.env;
for (const [k, v] of Object.entries({ BASE, WSBASE, KEY, SECRET })) {
  if (!v) {
    console.error(`FAIL: env ${k} is not set`);
    process.exit(2);
  }
}
const SYMBOL = 'BTCUSDT';
const CATEGORY = 'linear';
const OVERALL_MS = Number(process.env.OVERALL_MS || 60000);
const STEP_MS = Number(process.env.STEP_MS || 10000);

// ---- output: never print the secret, keep the last messages for the failure report ----
const redact = (s) => String(s).split(SECRET).join('<secret>');
const show = (v) => {
  let s;
  try {
    s = typeof v === 'string' ? v : JSON.stringify(v, (k, x) => (k === 'requestOptions' ? undefined : x));
  } catch {
    s = String(v);
  }
  s = redact(s);
  return s.length > 600 ? s.slice(0, 600) + '…' : s;
};
const recent = []; // [label, message] last received messages, for failure reports
const remember = (label, msg) => {
  recent.push(`${label} ${show(msg)}`);
  if (recent.length > 40) recent.shift();
};
let step = 'start';
function fail(why, got) {
  console.error(`FAIL: ${step}: ${redact(why)}`);
  if (got !== undefined) console.error(`  received: ${show(got)}`);
  if (recent.length) {
    console.error('  last messages received (oldest first):');
    for (const line of recent) console.error(`    ${line}`);
  }
  process.exit(1);
}
const ok = (what) => console.log(`ok: ${what}`);
setTimeout(() => fail(`overall timeout of ${OVERALL_MS} ms`), OVERALL_MS);
process.on('unhandledRejection', (e) => fail('unhandled rejection', e));
process.on('uncaughtException', (e) => fail(`uncaught exception: ${e && e.stack}`));

// waitFor(pred, what): resolves with pred()'s first truthy value, polls every 20 ms
async function waitFor(pred, what, ms = STEP_MS, got = () => undefined) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) fail(`timed out after ${ms} ms waiting for ${what}`, got());
    await new Promise((r) => setTimeout(r, 20));
  }
}
// call(fn, what): a REST call with a deadline; retCode must be 0
async function call(what, fn) {
  let timer;
  const deadline = new Promise((_, rej) => {
    timer = setTimeout(() => rej(new Error(`no reply within ${STEP_MS} ms`)), STEP_MS);
  });
  let res;
  try {
    res = await Promise.race([fn(), deadline]);
  } catch (e) {
    fail(`${what} failed`, e instanceof Error ? e.message : e);
  } finally {
    clearTimeout(timer);
  }
  remember(`rest ${what}`, res);
  if (!res || res.retCode !== 0) fail(`${what}: retCode ${res && res.retCode}, expected 0`, res);
  if (typeof res.retMsg !== 'string') fail(`${what}: retMsg is not a string`, res);
  if (!res.result || typeof res.result !== 'object') fail(`${what}: no result object`, res);
  return res;
}

// ---- clients ----
// The SDK logs through this; trace carries "Received PONG", which proves our ping was answered.
function makeLogger(label, pongs) {
  return {
    trace: (msg, ctx) => {
      if (typeof msg === 'string' && msg.startsWith('Received PONG')) pongs.n++;
    },
    info: (...a) => remember(`${label} info`, a.map(show).join(' ')),
    error: (...a) => {
      console.error(`${label} error: ${a.map(show).join(' ')}`);
      remember(`${label} error`, a.map(show).join(' '));
    },
  };
}

// HTTP options for axios: a short timeout; no proxy from the environment for loopback
const rest = new RestClientV5(
  { key: KEY, secret: SECRET, baseUrl: BASE, recv_window: 5000, parseAPIRateLimits: true },
  { timeout: STEP_MS, proxy: false },
);

// pingInterval 1 s instead of 10 s so that a ping/pong round happens within the test; the
// message sent ({"op":"ping"}) and the 1 s pong timeout are the SDK's defaults
const wsCommon = { pingInterval: 1000, reconnectTimeout: 500 };
const privPongs = { n: 0 };
const pubPongs = { n: 0 };
const wsPriv = new WebsocketClient(
  { ...wsCommon, key: KEY, secret: SECRET, wsUrl: `${WSBASE}/v5/private` },
  makeLogger('ws-private', privPongs),
);
const wsPub = new WebsocketClient(
  { ...wsCommon, wsUrl: `${WSBASE}/v5/public/linear` },
  makeLogger('ws-public', pubPongs),
);

const ev = { priv: [], pub: [] }; // every event: {kind, e}
function watch(ws, label, list) {
  for (const kind of ['open', 'authenticated', 'response', 'update', 'exception', 'reconnect', 'reconnected', 'close']) {
    ws.on(kind, (e) => {
      list.push({ kind, e });
      if (kind !== 'update') remember(`${label} ${kind}`, kind === 'open' ? { wsKey: e.wsKey, wsUrl: e.wsUrl } : e);
      // the SDK reconnects when the server closes the socket or a pong is late (1 s)
      if (kind === 'reconnect') fail(`${label}: connection lost (server closed it, or no pong within 1 s of a ping)`);
    });
  }
}
watch(wsPriv, 'ws-private', ev.priv);
watch(wsPub, 'ws-public', ev.pub);
const subAck = (list, topic) =>
  list.find(
    ({ kind, e }) =>
      (kind === 'response' || kind === 'exception') && e.op === 'subscribe' && String(e.req_id || '').split(',').includes(topic),
  );

// ---- 1. server time ----
step = 'getServerTime';
const t0 = Date.now();
const timeRes = await call('getServerTime', () => rest.getServerTime());
{
  const { timeSecond, timeNano } = timeRes.result;
  if (!/^\d+$/.test(timeSecond ?? '') || !/^\d+$/.test(timeNano ?? ''))
    fail('result.timeSecond and result.timeNano must be strings of digits', timeRes);
  if (Math.abs(Number(timeSecond) * 1000 - t0) > 5000) fail('timeSecond is more than 5 s off the local clock', timeRes);
  // the SDK's time sync (enable_time_sync) reads the envelope's `time`, not result.timeSecond
  if (typeof timeRes.time !== 'number' || Math.abs(timeRes.time - t0) > 5000)
    fail('envelope `time` must be a number of ms near the local clock', timeRes);
  ok(`server time ${timeSecond}`);
}

// ---- 2. instrument filters and order book ----
step = 'getInstrumentsInfo';
const instr = await call('getInstrumentsInfo', () => rest.getInstrumentsInfo({ category: CATEGORY, symbol: SYMBOL }));
const inst = (instr.result.list || []).find((i) => i.symbol === SYMBOL);
if (!inst || !inst.priceFilter || !inst.lotSizeFilter) fail(`no ${SYMBOL} with priceFilter and lotSizeFilter`, instr);
const tick = inst.priceFilter.tickSize;
const decimals = (s) => (String(s).split('.')[1] || '').length;
if (!(Number(tick) > 0)) fail('tickSize is not a positive number string', inst);

step = 'getOrderbook';
const book = await call('getOrderbook', () => rest.getOrderbook({ category: CATEGORY, symbol: SYMBOL, limit: 50 }));
const { b, a, s } = book.result;
if (s !== SYMBOL) fail(`result.s is ${s}, expected ${SYMBOL}`, book);
if (!Array.isArray(b) || !b.length || !Array.isArray(a) || !a.length) fail('empty bids or asks', book);
const isLevel = (l) => Array.isArray(l) && typeof l[0] === 'string' && typeof l[1] === 'string';
if (![...b, ...a].every(isLevel)) fail('levels must be [price, size] string pairs', book);
const bestBid = Number(b[0][0]);
const bestAsk = Number(a[0][0]);
if (!(bestBid < bestAsk)) fail(`crossed or empty book: best bid ${bestBid}, best ask ${bestAsk}`, book);
for (let i = 1; i < b.length; i++) if (!(Number(b[i][0]) < Number(b[i - 1][0]))) fail('bids not sorted high to low', book);
for (let i = 1; i < a.length; i++) if (!(Number(a[i][0]) > Number(a[i - 1][0]))) fail('asks not sorted low to high', book);
ok(`order book: best bid ${b[0][0]}, best ask ${a[0][0]}, ${b.length}+${a.length} levels`);

// ---- 3. private stream: auth, subscribe to `order` ----
step = 'private ws auth';
wsPriv.subscribeV5('order', CATEGORY);
await waitFor(() => ev.priv.find((x) => x.kind === 'authenticated' || x.kind === 'exception'), 'auth reply', STEP_MS, () => ev.priv);
{
  const first = ev.priv.find((x) => x.kind === 'authenticated' || x.kind === 'exception');
  if (first.kind !== 'authenticated' || first.e.success !== true) fail('auth was refused', first.e);
}
ok('private ws authenticated');
step = 'private ws subscribe order';
{
  const ack = await waitFor(() => subAck(ev.priv, 'order'), 'subscribe ack for `order`', STEP_MS, () => ev.priv);
  if (ack.kind !== 'response' || ack.e.success !== true) fail('subscribe to `order` refused', ack.e);
}
ok('subscribed to order');

// ---- 4. a PostOnly Buy below the best bid ----
step = 'submitOrder';
const tickN = Number(tick);
const price = (Math.floor((bestBid * 0.98) / tickN) * tickN).toFixed(decimals(tick));
let qty = inst.lotSizeFilter.minOrderQty;
{
  const stepQ = Number(inst.lotSizeFilter.qtyStep || qty);
  const minNotional = Number(inst.lotSizeFilter.minNotionalValue || 0);
  let q = Number(qty);
  while (q * Number(price) < minNotional) q += stepQ;
  qty = q.toFixed(decimals(inst.lotSizeFilter.qtyStep || qty));
}
const orderLinkId = `e2e-bybitapi-${Date.now()}`;
const created = await call('submitOrder', () =>
  rest.submitOrder({
    category: CATEGORY,
    symbol: SYMBOL,
    side: 'Buy',
    orderType: 'Limit',
    qty,
    price,
    timeInForce: 'PostOnly',
    orderLinkId,
  }),
);
const orderId = created.result.orderId;
if (!orderId || created.result.orderLinkId !== orderLinkId) fail('ack must carry orderId and our orderLinkId', created);
if (!created.rateLimitApi) fail('no X-Bapi-Limit, X-Bapi-Limit-Status, X-Bapi-Limit-Reset-Timestamp headers on a signed reply', created);
ok(`order ${orderId} (${orderLinkId}) acknowledged: Buy ${qty} @ ${price} PostOnly`);

// ---- 5. the order is open: REST and stream ----
step = 'getActiveOrders (open)';
const findOrder = async () => {
  const r = await call('getActiveOrders', () =>
    rest.getActiveOrders({ category: CATEGORY, symbol: SYMBOL, orderLinkId }),
  );
  return (r.result.list || []).find((o) => o.orderLinkId === orderLinkId) ? r : null;
};
// the acknowledgement may come before the state change: poll
const open = await waitFor(findOrder, 'the order in getActiveOrders');
{
  const o = open.result.list.find((x) => x.orderLinkId === orderLinkId);
  const want = { orderId, symbol: SYMBOL, side: 'Buy', orderType: 'Limit', orderStatus: 'New', timeInForce: 'PostOnly' };
  for (const [k, v] of Object.entries(want)) if (o[k] !== v) fail(`getActiveOrders: ${k} is ${o[k]}, expected ${v}`, o);
  if (Number(o.price) !== Number(price) || Number(o.qty) !== Number(qty)) fail('getActiveOrders: price or qty differ', o);
}
ok('order listed by getActiveOrders as New');

const orderUpdates = () =>
  ev.priv
    .filter((x) => x.kind === 'update' && x.e.topic === 'order')
    .flatMap((x) => (Array.isArray(x.e.data) ? x.e.data : []))
    .filter((o) => o.orderLinkId === orderLinkId);
const streamStatus = (status) => orderUpdates().find((o) => o.orderStatus === status);
step = 'order stream New';
{
  const o = await waitFor(() => streamStatus('New'), 'orderStatus New on the `order` stream', STEP_MS, () =>
    ev.priv.filter((x) => x.kind === 'update').map((x) => x.e),
  );
  if (o.orderId !== orderId || o.symbol !== SYMBOL || o.category !== CATEGORY) fail('order stream: wrong orderId, symbol or category', o);
}
ok('order stream: New');

// ---- 6. cancel all ----
step = 'cancelAllOrders';
const cancelled = await call('cancelAllOrders', () => rest.cancelAllOrders({ category: CATEGORY, symbol: SYMBOL }));
if (!(cancelled.result.list || []).some((o) => o.orderId === orderId)) fail('cancel-all list lacks our order', cancelled);
ok('cancel-all acknowledged');
step = 'order stream Cancelled';
{
  const o = await waitFor(() => streamStatus('Cancelled'), 'orderStatus Cancelled on the `order` stream', STEP_MS, () =>
    ev.priv.filter((x) => x.kind === 'update').map((x) => x.e),
  );
  if (o.orderId !== orderId) fail('order stream: wrong orderId', o);
}
ok('order stream: Cancelled');
step = 'getActiveOrders (gone)';
await waitFor(async () => !(await findOrder()), 'the order to leave getActiveOrders');
ok('order no longer in getActiveOrders');

// ---- 7. public order book stream ----
step = 'public ws orderbook';
const topic = `orderbook.50.${SYMBOL}`;
wsPub.subscribeV5(topic, CATEGORY);
{
  const ack = await waitFor(() => subAck(ev.pub, topic), `subscribe ack for ${topic}`, STEP_MS, () => ev.pub);
  if (ack.kind !== 'response' || ack.e.success !== true) fail(`subscribe to ${topic} refused`, ack.e);
  ok(`subscribed to ${topic}`);
  // a snapshot first, then deltas whose u goes up by one; a later snapshot restarts the count
  let seen = 0;
  let lastU = null;
  let deltas = 0;
  await waitFor(() => {
    const msgs = ev.pub.filter((x) => x.kind === 'update' && x.e.topic === topic).map((x) => x.e);
    for (; seen < msgs.length && deltas < 3; seen++) {
      const m = msgs[seen];
      const d = m.data || {};
      if (typeof m.ts !== 'number' || d.s !== SYMBOL || typeof d.u !== 'number' || !Array.isArray(d.b) || !Array.isArray(d.a))
        fail('book message lacks ts, data.s, data.u, data.b or data.a', m);
      if (m.type === 'snapshot') {
        lastU = d.u;
        deltas = 0;
      } else if (m.type === 'delta') {
        if (lastU === null) fail('delta before any snapshot', m);
        if (d.u !== lastU + 1) fail(`delta u ${d.u} after u ${lastU}: not consecutive`, m);
        lastU = d.u;
        deltas++;
      } else fail(`type ${m.type}, expected snapshot or delta`, m);
    }
    return deltas >= 3;
  }, 'a snapshot and 3 consecutive deltas', STEP_MS, () => ev.pub.filter((x) => x.kind === 'update').slice(-5).map((x) => x.e));
  ok(`orderbook: snapshot then 3 deltas, last u ${lastU}`);
}

// ---- 8. keep-alive: each connection answered a ping, none reconnected ----
step = 'ping/pong';
await waitFor(() => privPongs.n > 0 && pubPongs.n > 0, 'a pong on both connections (SDK pings every 1 s here)');
ok(`pongs: private ${privPongs.n}, public ${pubPongs.n}; no reconnects`);

// ---- 9. the simulator's own view: no open order left ----
step = 'GET /sim/orders';
{
  const url = `${BASE}/sim/orders?account=${encodeURIComponent(KEY)}`;
  let body;
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(STEP_MS) });
    const text = await r.text();
    if (r.status !== 200) fail(`HTTP ${r.status}`, text);
    body = JSON.parse(text);
  } catch (e) {
    fail('request failed', e.message);
  }
  const list = Array.isArray(body) ? body : body.orders ?? body.list ?? body.result?.list;
  if (!Array.isArray(list)) fail('expected a JSON array of orders (or an object with orders/list)', body);
  if (list.length) fail(`${list.length} open orders left`, body);
}
ok('simulator has no open order');

// ---- 10. close ----
step = 'close';
wsPriv.closeAll(true);
wsPub.closeAll(true);
await waitFor(
  () => ev.priv.some((x) => x.kind === 'close') && ev.pub.some((x) => x.kind === 'close'),
  'both connections to close',
  5000,
);
console.log('PASS: bybit-api client against bybit-sim');
process.exit(0);
