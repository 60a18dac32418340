// The reference of bench/sim-speed: a minimal hand-rolled Bybit mock in Node.js, the kind of
// thing a user writes instead of running bybit-sim. Node's http module plus the `ws` package
// (from tests/e2e/bybit-api/node_modules), one process, no market:
//   GET  /v5/market/time       {"retCode":0,...,"result":{"timeSecond","timeNano"}}
//   POST /v5/order/create      checks X-BAPI-SIGN (HMAC-SHA256 of ts+key+recv_window+body) and
//   POST /v5/order/cancel      the recv window, parses the body, keeps the open orders in a Map,
//                              answers {"retCode":0,...,"result":{"orderId","orderLinkId"}}
//   ws /v5/public/linear       subscribe/ping replies; every 20 ms one orderbook.50.BTCUSDT
//                              delta (a snapshot on subscribe), the same size as bybit-sim's,
//                              serialized once and sent to every subscriber.
// Prints "listening on http://127.0.0.1:PORT". Env: KEY, SECRET (defaults K, S),
// WS_MODULE (path of the ws package), INTERVAL_MS (20), LEVELS (changed levels per delta, 42:
// about 1 KB a message, the size of bybit-sim's orderbook.50 deltas).
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { WebSocketServer } = require(process.env.WS_MODULE || 'ws');
const KEY = process.env.KEY || 'K';
const SECRET = process.env.SECRET || 'S';
const INTERVAL_MS = Number(process.env.INTERVAL_MS || 20);
const LEVELS = Number(process.env.LEVELS || 42);

const open = new Map(); // orderId -> orderLinkId

function reply(res, code, msg, result) {
  const body = JSON.stringify({ retCode: code, retMsg: msg, result: result || {},
    retExtInfo: {}, time: Date.now() });
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function signedOk(req, body) {
  const key = req.headers['x-bapi-api-key'];
  const ts = req.headers['x-bapi-timestamp'];
  const rw = req.headers['x-bapi-recv-window'] || '5000';
  const sign = req.headers['x-bapi-sign'] || '';
  if (key !== KEY) return 10003;
  const now = Date.now();
  if (!(now - Number(rw) <= Number(ts) && Number(ts) < now + 1000)) return 10002;
  const want = createHmac('sha256', SECRET).update(ts + key + rw + body).digest('hex');
  if (sign.length !== want.length || !timingSafeEqual(Buffer.from(sign), Buffer.from(want)))
    return 10004;
  return 0;
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url.startsWith('/v5/market/time')) {
    const ns = process.hrtime.bigint(); // any clock will do for a mock
    const ms = Date.now();
    return reply(res, 0, 'OK', { timeSecond: String(Math.floor(ms / 1000)),
      timeNano: String(BigInt(ms) * 1000000n + (ns % 1000000n)) });
  }
  if (req.method !== 'POST') return reply(res, 10001, 'unknown endpoint');
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString();
    const bad = signedOk(req, body);
    if (bad) return reply(res, bad, 'error sign!');
    let p;
    try {
      p = JSON.parse(body);
    } catch {
      return reply(res, 10001, 'params error');
    }
    if (req.url === '/v5/order/create') {
      const orderId = randomUUID();
      open.set(orderId, p.orderLinkId || '');
      return reply(res, 0, 'OK', { orderId, orderLinkId: p.orderLinkId || '' });
    }
    if (req.url === '/v5/order/cancel') {
      const link = open.get(p.orderId);
      if (link === undefined) return reply(res, 110001, 'order not exists or too late to cancel');
      open.delete(p.orderId);
      return reply(res, 0, 'OK', { orderId: p.orderId, orderLinkId: link });
    }
    return reply(res, 10001, 'unknown endpoint');
  });
});
server.keepAliveTimeout = 60000;

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
const subs = new Set();
let u = 0;
let mid = 60000;

function levels(n, side) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const px = side > 0 ? mid + 0.1 * (1 + i * 3) : mid - 0.1 * (1 + i * 3);
    out.push([px.toFixed(1), (Math.random() * 5).toFixed(3)]);
  }
  return out;
}

function book(type, n) {
  return JSON.stringify({ topic: 'orderbook.50.BTCUSDT', type, ts: Date.now(),
    data: { s: 'BTCUSDT', b: levels(n, -1), a: levels(n, 1), u, seq: u * 7 }, cts: Date.now() });
}

wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    let m;
    try {
      m = JSON.parse(data.toString());
    } catch {
      return;
    }
    if (m.op === 'ping') {
      ws.send(JSON.stringify({ success: true, ret_msg: 'pong', conn_id: 'c', req_id: m.req_id, op: 'ping' }));
    } else if (m.op === 'subscribe') {
      ws.send(JSON.stringify({ success: true, ret_msg: '', conn_id: 'c', req_id: m.req_id, op: 'subscribe' }));
      if ((m.args || []).includes('orderbook.50.BTCUSDT')) {
        subs.add(ws);
        ws.send(book('snapshot', 50));
      }
    }
  });
  ws.on('close', () => subs.delete(ws));
});

server.on('upgrade', (req, socket, head) => {
  if (!req.url.startsWith('/v5/public/linear')) return socket.destroy();
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
});

setInterval(() => {
  if (!subs.size) return;
  mid += (Math.random() - 0.5);
  u++;
  const msg = book('delta', LEVELS / 2);
  for (const ws of subs) ws.send(msg);
}, INTERVAL_MS);

server.listen(0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
