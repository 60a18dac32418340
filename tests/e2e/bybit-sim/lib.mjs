// Shared helpers of the bybit-sim end-to-end scripts: signing, REST calls, a WebSocket client
// with a message queue and timeouts, raw sockets, checks with clear failure reports.
//
// Env: BASE (http://127.0.0.1:PORT), WSBASE (ws://127.0.0.1:PORT), KEY, SECRET (an account the
// simulator was started with). The secret is never printed: every output goes through redact().
// `ws` comes from tests/e2e/bybit-api/node_modules (installed there by `npm ci`), no new deps.
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import net from 'node:net';

const require = createRequire(new URL('../bybit-api/package.json', import.meta.url));
export const WebSocket = require('ws');

export const env = {
  BASE: process.env.BASE,
  WSBASE: process.env.WSBASE,
  KEY: process.env.KEY,
  SECRET: process.env.SECRET,
};
export const SYMBOL = 'BTCUSDT';

// ---- output ----
const secrets = () => [env.SECRET, ...(process.env.SECRETS || '').split(',')].filter((s) => s && s.length > 2);
export const redact = (s) => {
  let t = String(s);
  for (const x of secrets()) t = t.split(x).join('<secret>');
  return t;
};
export const show = (v, max = 700) => {
  let s;
  try {
    s = typeof v === 'string' ? v : JSON.stringify(v);
  } catch {
    s = String(v);
  }
  s = redact(s);
  return s.length > max ? s.slice(0, max) + '…' : s;
};
const recent = [];
export const remember = (label, msg) => {
  recent.push(`${label} ${show(msg, 300)}`);
  if (recent.length > 30) recent.shift();
};
let stepName = 'start';
let known = 0;
export function step(name) {
  stepName = name;
}
export function fail(why, got) {
  console.error(`FAIL: ${stepName}: ${redact(why)}`);
  if (got !== undefined) console.error(`  received: ${show(got, 1500)}`);
  if (recent.length) {
    console.error('  last messages (oldest first):');
    for (const l of recent) console.error(`    ${l}`);
  }
  process.exit(1);
}
export const ok = (what) => console.log(`ok: ${stepName}: ${what}`);
export function check(cond, why, got) {
  if (!cond) fail(why, got);
}
export function eq(got, want, what, ctx) {
  if (got !== want) fail(`${what}: got ${show(got)}, want ${show(want)}`, ctx);
}
// A check that fails because of a bug in code this test may not fix: loud, not fatal.
export function knownBug(cond, why, got) {
  if (cond) return true;
  known++;
  console.log(`KNOWN BUG: ${stepName}: ${redact(why)}${got !== undefined ? `\n  received: ${show(got)}` : ''}`);
  return false;
}
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// run(fn): the script body with an overall time limit; exit 0 when it returns.
export function run(fn, overallMs = Number(process.env.OVERALL_MS || 80000)) {
  for (const k of ['BASE', 'WSBASE']) if (!env[k]) fail(`env ${k} is not set`);
  const t = setTimeout(() => fail(`overall timeout of ${overallMs} ms`), overallMs);
  fn().then(
    () => {
      clearTimeout(t);
      console.log(`done${known ? ` (${known} known bug(s))` : ''}`);
      process.exit(0);
    },
    (e) => fail(`exception: ${e && e.stack ? e.stack : e}`),
  );
}

// ---- REST ----
export const hmac = (secret, s) => createHmac('sha256', secret).update(s).digest('hex');

// rest(method, path, opts) → {status, headers, text, json, ms}
// opts: query (string, sent as is), body (object or raw string), signed, key, secret, ts,
// recvWindow, sign (override), base, timeoutMs, contentType.
export async function rest(method, path, o = {}) {
  const base = o.base || env.BASE;
  const q = o.query || '';
  const body = o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = o.contentType || 'application/json';
  if (o.signed) {
    const key = o.key ?? env.KEY, secret = o.secret ?? env.SECRET;
    const ts = String(o.ts ?? Date.now());
    const rw = String(o.recvWindow ?? 5000);
    const payload = method === 'GET' ? q : body || '';
    headers['X-BAPI-API-KEY'] = key;
    headers['X-BAPI-TIMESTAMP'] = ts;
    headers['X-BAPI-RECV-WINDOW'] = rw;
    headers['X-BAPI-SIGN'] = o.sign ?? hmac(secret, ts + key + rw + payload);
    headers['X-BAPI-SIGN-TYPE'] = '2';
  }
  Object.assign(headers, o.headers || {});
  const t0 = Date.now();
  let r;
  try {
    r = await fetch(base + path + (q ? '?' + q : ''), {
      method,
      headers,
      body,
      signal: AbortSignal.timeout(o.timeoutMs || 10000),
    });
  } catch (e) {
    fail(`${method} ${path}: request failed: ${e.message}${e.cause ? ' (' + e.cause.message + ')' : ''}`);
  }
  const text = await r.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const res = { status: r.status, headers: r.headers, text, json, ms: Date.now() - t0 };
  remember(`${method} ${path} ${r.status}`, text);
  return res;
}
// A signed or public call that must succeed (HTTP 200, retCode 0); returns result.
// A 10006 (this script's own pace over the 10/s limit) is retried after the window rolls.
export async function api(method, path, o = {}) {
  let r = await rest(method, path, o);
  for (let i = 0; i < 3 && r.json?.retCode === 10006 && !o.noRetry; i++) {
    await sleep(1050);
    r = await rest(method, path, o);
  }
  if (r.status !== 200 || !r.json || r.json.retCode !== 0) fail(`${method} ${path} ${o.query || ''}: want retCode 0`, `HTTP ${r.status} ${r.text}`);
  return r.json.result;
}
export const get = (path, query, o = {}) => api('GET', path, { ...o, query, signed: o.signed ?? true });
export const post = (path, body, o = {}) => api('POST', path, { ...o, body, signed: o.signed ?? true });
// expects a retCode (HTTP 200)
export async function expectCode(method, path, o, code, what) {
  const r = await rest(method, path, o);
  if (r.status !== 200 || !r.json || r.json.retCode !== code) fail(`${what}: want HTTP 200 retCode ${code}`, `HTTP ${r.status} ${r.text}`);
  return r;
}
export async function simGet(path, base) {
  const r = await rest('GET', path, { base });
  if (r.status !== 200 || !r.json) fail(`GET ${path}: want HTTP 200 JSON`, `HTTP ${r.status} ${r.text}`);
  return r.json;
}
export async function setFaults(obj, base) {
  const r = await rest('POST', '/sim/faults', { body: obj, base });
  if (r.status !== 200) fail(`POST /sim/faults ${show(obj)}: want 200`, `HTTP ${r.status} ${r.text}`);
  return r.json;
}
export const simOrders = (account) => simGet('/sim/orders' + (account ? `?account=${encodeURIComponent(account)}` : ''));
// a price of n ticks away from the best bid (negative: lower), as a string with one decimal
export async function bestBidAsk(symbol = SYMBOL) {
  const r = await api('GET', '/v5/market/orderbook', { query: `category=linear&symbol=${symbol}&limit=1` });
  return { bid: Number(r.b[0][0]), ask: Number(r.a[0][0]) };
}
export const px = (n) => n.toFixed(1);
let linkSeq = 0;
export const linkId = (p = 'e2e') => `${p}-${process.pid}-${Date.now() % 1e7}-${++linkSeq}`;
export function limitOrder(side, price, qty = '0.001', extra = {}) {
  return { category: 'linear', symbol: SYMBOL, side, orderType: 'Limit', qty, price, timeInForce: 'GTC', orderLinkId: linkId(), ...extra };
}

// ---- WebSocket ----
export class Ws {
  constructor(name) {
    this.name = name;
    this.queue = [];
    this.waiters = [];
    this.closed = null; // {code, reason, at}
    this.raw = []; // frames that were not JSON
    this.errors = [];
  }
  static async open(path, name = path, { base, timeoutMs = 5000, expectRefused = false } = {}) {
    const c = new Ws(name);
    c.url = (base || env.WSBASE) + path;
    const ws = new WebSocket(c.url);
    c.ws = ws;
    ws.on('message', (d) => {
      const s = d.toString();
      let m;
      try {
        m = JSON.parse(s);
      } catch {
        c.raw.push(s);
        remember(`${name} <- (not JSON)`, s);
        c._wake();
        return;
      }
      remember(`${name} <-`, m);
      c.queue.push(m);
      c._wake();
    });
    ws.on('close', (code, reason) => {
      c.closed = { code, reason: reason.toString(), at: Date.now() };
      remember(`${name} closed`, `${code} ${reason}`);
      c._wake();
    });
    ws.on('error', (e) => {
      c.errors.push(e.message);
      remember(`${name} error`, e.message);
    });
    const res = await new Promise((resolve) => {
      const t = setTimeout(() => resolve('timeout'), timeoutMs);
      ws.once('open', () => {
        clearTimeout(t);
        resolve('open');
      });
      ws.once('unexpected-response', (req, resp) => {
        clearTimeout(t);
        resolve(`HTTP ${resp.statusCode}`);
        req.destroy();
      });
      ws.once('error', (e) => {
        clearTimeout(t);
        resolve(`error ${e.message}`);
      });
    });
    c.openResult = res;
    if (expectRefused) return c;
    if (res !== 'open') fail(`${name}: WebSocket ${c.url} did not open: ${res}`);
    return c;
  }
  _wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  send(obj) {
    const s = typeof obj === 'string' ? obj : JSON.stringify(obj);
    remember(`${this.name} ->`, s);
    this.ws.send(s);
  }
  // next(pred, ms, what): removes and returns the first queued message matching pred, waiting
  // up to ms; fails with what was received when none comes (or returns null when soft).
  async next(pred, ms, what, { soft = false } = {}) {
    const end = Date.now() + ms;
    for (;;) {
      const i = this.queue.findIndex(pred);
      if (i >= 0) return this.queue.splice(i, 1)[0];
      const left = end - Date.now();
      if (left <= 0 || (this.closed && !this.queue.some(pred))) {
        if (soft) return null;
        fail(`${this.name}: no ${what} within ${ms} ms${this.closed ? ` (closed ${this.closed.code} ${this.closed.reason})` : ''}`,
          this.queue.slice(-8));
      }
      await new Promise((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
  op(op, reqId, ms = 3000) {
    return this.next((m) => m.op === op && (reqId === undefined || m.req_id === reqId || m.reqId === reqId), ms, `"${op}" reply${reqId ? ` to ${reqId}` : ''}`);
  }
  async request(msg, op = msg.op, ms = 3000) {
    this.send(msg);
    return this.op(op, msg.req_id ?? msg.reqId, ms);
  }
  async subscribe(args, ms = 3000) {
    const r = await this.request({ req_id: linkId('sub'), op: 'subscribe', args });
    if (r.success !== true) fail(`${this.name}: subscribe ${args} refused`, r);
    return r;
  }
  async auth(key = env.KEY, secret = env.SECRET, expires = Date.now() + 10000) {
    const sig = hmac(secret, 'GET/realtime' + expires);
    this.send({ req_id: linkId('auth'), op: 'auth', args: [key, expires, sig] });
    return this.next((m) => m.op === 'auth', 3000, 'auth reply');
  }
  async waitClosed(ms, what = 'close') {
    const end = Date.now() + ms;
    while (!this.closed && Date.now() < end) await sleep(25);
    if (!this.closed) fail(`${this.name}: not closed within ${ms} ms (${what})`);
    return this.closed;
  }
  drain() {
    this.queue = [];
    this.raw = [];
  }
  close() {
    try {
      this.ws.terminate();
    } catch {}
  }
}
export async function privateWs(name = 'private', query = '') {
  const c = await Ws.open('/v5/private' + query, name);
  const a = await c.auth();
  if (a.success !== true) fail(`${name}: auth refused`, a);
  return c;
}

// ---- raw TCP, for garbage and half frames ----
export function rawSocket(bytes, { closeAfterMs = 100, port } = {}) {
  const u = new URL(env.BASE);
  return new Promise((resolve) => {
    const s = net.connect(Number(port || u.port), u.hostname);
    let got = '';
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('error', () => {});
    s.on('connect', async () => {
      for (const b of Array.isArray(bytes) ? bytes : [bytes]) {
        s.write(b);
        await sleep(30);
      }
      setTimeout(() => {
        s.destroy();
        resolve(got);
      }, closeAfterMs);
    });
    setTimeout(() => {
      s.destroy();
      resolve(got);
    }, closeAfterMs + 5000);
  });
}
export function wsUpgrade(path) {
  const u = new URL(env.BASE);
  return (
    `GET ${path} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'
  );
}
// a masked client text frame (fin, opcode 1)
export function wsFrame(text, opcode = 1) {
  const p = Buffer.from(text);
  const mask = Buffer.from([1, 2, 3, 4]);
  let h;
  if (p.length < 126) h = Buffer.from([0x80 | opcode, 0x80 | p.length]);
  else {
    h = Buffer.alloc(4);
    h[0] = 0x80 | opcode;
    h[1] = 0x80 | 126;
    h.writeUInt16BE(p.length, 2);
  }
  const m = Buffer.from(p.map((b, i) => b ^ mask[i % 4]));
  return Buffer.concat([h, mask, m]);
}
