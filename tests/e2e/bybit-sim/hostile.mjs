// bybit-sim against a hostile client (issue 10, items 11, 12, 13 and 16): every pipeline of up
// to 4 requests on one keep-alive connection is answered in full and in order, chunked bodies
// are read, two different Content-Length headers are refused, half-open connections do not keep
// a new client waiting, and WebSocket protocol errors close with the RFC 6455 codes.
// Env: BASE, WSBASE, KEY, SECRET (lib.mjs); PHASE=pipeline|exhaust.
import net from 'node:net';
import { bestBidAsk, check, eq, limitOrder, linkId, ok, px, rest, run, sleep, step, env } from './lib.mjs';

const url = new URL(env.BASE);
const PORT = +url.port;

// Writes raw bytes on a fresh connection and reads until `want` full responses (each with a
// Content-Length) have arrived or ms passed. Returns {responses: [{status, body}], closed}.
function raw(bytes, want, ms = 3000) {
  return new Promise((resolve) => {
    const s = net.connect(PORT, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const out = [];
    let closed = false;
    const done = () => {
      clearTimeout(t);
      s.destroy();
      resolve({ responses: out, closed, rest: buf.toString('latin1') });
    };
    const t = setTimeout(done, ms);
    s.on('error', () => {});
    s.on('connect', () => s.write(bytes));
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) break;
        const head = buf.subarray(0, end).toString('latin1');
        const m = /content-length:\s*(\d+)/i.exec(head);
        const len = m ? +m[1] : 0;
        if (buf.length < end + 4 + len) break;
        const status = +head.split(' ')[1];
        out.push({ status, head, body: buf.subarray(end + 4, end + 4 + len).toString() });
        buf = buf.subarray(end + 4 + len);
      }
      if (out.length >= want) done();
    });
    s.on('end', () => {
      closed = true;
      done();
    });
  });
}

const G = 'GET /v5/market/time HTTP/1.1\r\nHost: x\r\n\r\n';
const P = 'POST /sim/reset HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}';

async function pipelines() {
  step('pipelines');
  const mixes = [];
  for (let n = 1; n <= 4; n++)
    for (let m = 0; m < 1 << n; m++) {
      let s = '';
      for (let i = 0; i < n; i++) s += m & (1 << i) ? 'P' : 'G';
      mixes.push(s);
    }
  eq(mixes.length, 30, 'mixes of 1..4 G/P requests');
  for (const mix of mixes) {
    const t0 = Date.now();
    const r = await raw([...mix].map((c) => (c === 'P' ? P : G)).join(''), mix.length);
    eq(r.responses.length, mix.length, `replies to the pipeline ${mix} (within 3 s)`, r.rest);
    [...mix].forEach((c, i) => {
      const x = r.responses[i];
      eq(x.status, 200, `${mix}: status of reply ${i + 1}`, x.head);
      if (c === 'G') check(/"timeSecond"/.test(x.body), `${mix}: reply ${i + 1} is not /v5/market/time's`, x.body);
      else check(!/timeSecond/.test(x.body), `${mix}: reply ${i + 1} is not /sim/reset's`, x.body);
    });
    check(Date.now() - t0 < 2000, `${mix}: answered in ${Date.now() - t0} ms`);
  }
  // and the simulator still serves another client at once
  const t0 = Date.now();
  const r = await raw(G, 1, 2000);
  eq(r.responses.length, 1, 'a new client after the pipelines');
  check(Date.now() - t0 < 1000, `a new client waited ${Date.now() - t0} ms`);
  ok('30 pipelines (G/P mixes of 1 to 4 requests) answered in full and in order; others served');
}

async function framing() {
  step('framing');
  const body = '{"clear":true}';
  let chunked = `POST /sim/faults HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
  chunked += `5\r\n${body.slice(0, 5)}\r\n${(body.length - 5).toString(16)}\r\n${body.slice(5)}\r\n0\r\n\r\n`;
  let r = await raw(chunked + G, 2);
  eq(r.responses.length, 2, 'replies to a chunked POST and a GET after it');
  eq(r.responses[0].status, 200, 'chunked POST /sim/faults status', r.responses[0].body);
  check(/"faults"/.test(r.responses[0].body), 'the chunked body was not read', r.responses[0].body);
  eq(r.responses[1].status, 200, 'the GET after a chunked POST');

  const smuggle = 'POST /sim/faults HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\nContent-Length: 2\r\n\r\n' + body;
  r = await raw(smuggle + G, 2);
  eq(r.responses.length, 1, 'one reply to two different Content-Length headers (then closed)', r.rest);
  eq(r.responses[0].status, 400, 'two different Content-Length headers');
  check(/conflicting content-length/.test(r.responses[0].body), 'the 400 says why', r.responses[0].body);
  check(/connection: close/i.test(r.responses[0].head), 'the 400 closes the connection', r.responses[0].head);

  const same = 'POST /sim/faults HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\nContent-Length: 14\r\n\r\n' + body;
  r = await raw(same, 1);
  eq(r.responses[0] && r.responses[0].status, 200, 'two equal Content-Length headers');

  const both = 'POST /sim/faults HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\nTransfer-Encoding: chunked\r\n\r\n' + body;
  r = await raw(both, 1);
  eq(r.responses[0] && r.responses[0].status, 400, 'Content-Length with Transfer-Encoding');
  const gz = 'POST /sim/faults HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n';
  r = await raw(gz, 1);
  eq(r.responses[0] && r.responses[0].status, 501, 'Transfer-Encoding: gzip');
  check(/transfer-encoding not supported/.test(r.responses[0].body), 'the 501 says why', r.responses[0].body);
  const badchunk = 'POST /sim/faults HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n';
  r = await raw(badchunk, 1);
  eq(r.responses[0] && r.responses[0].status, 400, 'a malformed chunk size');
  ok('chunked bodies read; conflicting Content-Length, CL+TE, unknown codings, bad chunks refused');
}

// WebSocket frames by hand: an unmasked client frame must close with 1002, invalid UTF-8 in a
// text frame with 1007. Resolves {code, buf, text}: code is the close code of the server's close
// frame (1005 when it has none, 'eof' for a close without one, null when nothing came within
// 3 s); with untilText, the first text frame's payload ends the wait instead (text).
function wsRaw(frame, untilText = false) {
  return new Promise((resolve) => {
    const s = net.connect(PORT, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let upgraded = false;
    const t = setTimeout(() => {
      s.destroy();
      resolve({ code: null, buf, text: null });
    }, 3000);
    s.on('error', () => {});
    s.on('connect', () =>
      s.write(
        'GET /v5/public/linear HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      ),
    );
    const finish = (code, text = null) => {
      clearTimeout(t);
      s.destroy();
      resolve({ code, buf, text });
    };
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const e = buf.indexOf('\r\n\r\n');
        if (e < 0) return;
        upgraded = true;
        buf = buf.subarray(e + 4);
        s.write(frame);
      }
      // look for a close frame (opcode 8) from the server
      let p = 0;
      while (p + 2 <= buf.length) {
        const op = buf[p] & 0x0f;
        let len = buf[p + 1] & 0x7f,
          h = 2;
        if (len === 126) {
          if (p + 4 > buf.length) return;
          len = buf.readUInt16BE(p + 2);
          h = 4;
        } else if (len === 127) return;
        if (p + h + len > buf.length) return;
        if (op === 8) return finish(len >= 2 ? buf.readUInt16BE(p + h) : 1005);
        if (op === 1 && untilText) return finish(null, buf.subarray(p + h, p + h + len).toString());
        p += h + len;
      }
    });
    s.on('end', () => finish('eof'));
  });
}

function frame(op, payload, masked) {
  const head = [0x80 | op, (masked ? 0x80 : 0) | payload.length];
  if (!masked) return Buffer.concat([Buffer.from(head), payload]);
  const key = Buffer.from([1, 2, 3, 4]);
  const m = Buffer.from(payload.map((b, i) => b ^ key[i % 4]));
  return Buffer.concat([Buffer.from(head), key, m]);
}

async function wsProtocol() {
  step('websocket protocol');
  const ping = Buffer.from('{"op":"ping"}');
  let r = await wsRaw(frame(1, Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), true));
  eq(r.code, 1007, 'close code after invalid UTF-8 in a text frame (RFC 6455 8.1)');
  // RFC 6455 5.1: a server MUST close the connection on a frame that is not masked
  r = await wsRaw(frame(1, ping, false));
  eq(r.code, 1002, 'close code after an unmasked client frame (RFC 6455 5.1)');
  // the same {"op":"ping"} masked is answered (not closed): the 1002 is for the mask alone
  r = await wsRaw(frame(1, ping, true), true);
  check(/"ret_msg":"pong"/.test(r.text), 'a masked {"op":"ping"} is answered with a pong', r.text);
  ok('unmasked client frame closed with 1002, invalid UTF-8 in a text frame with 1007');
}

// PHASE=exhaust, against a simulator with http.max_connections=50, http.head_timeout=2s: 120
// connections that send half a request each; a new client is served at once all the same.
async function exhaust() {
  step('connection exhaustion');
  const held = [];
  for (let i = 0; i < 120; i++) {
    const s = net.connect(PORT, '127.0.0.1');
    s.on('error', () => {});
    s.on('connect', () => s.write('GET /v5/market/time HTTP/1.1\r\nHost: x\r\nX-Slow: '));
    held.push(s);
  }
  await sleep(500);
  for (let i = 0; i < 5; i++) {
    const t0 = Date.now();
    const r = await raw(G, 1, 2000);
    eq(r.responses.length, 1, `request ${i + 1} with 120 half-open connections held`);
    check(Date.now() - t0 < 500, `request ${i + 1} waited ${Date.now() - t0} ms`);
  }
  // the half-open ones are closed within the head timeout (2 s) or evicted
  await sleep(2600);
  const open = held.filter((s) => !s.destroyed && s.readyState === 'open' && !s.readableEnded).length;
  held.forEach((s) => s.destroy());
  check(open === 0, `${open} half-open connections still open 3 s later`);
  ok('120 half-open requests: new clients served at once, the slow ones closed');
}

// items 14 and 15: out-of-range recv_window and timestamps are refused, not clamped; a NUL in a
// string is refused, not cut short
async function numbers() {
  step('numbers and strings');
  const { bid } = await bestBidAsk();
  const order = () => limitOrder('Buy', px(bid * 0.9));
  const code = async (o) => {
    const r = await rest('POST', '/v5/order/create', { signed: true, body: order(), ...o });
    return r.json?.retCode;
  };
  eq(await code({ recvWindow: '9223372036854775808', ts: 0 }), 10002, 'recv_window 2^63 with timestamp 0');
  eq(await code({ recvWindow: '9223372036854775807', ts: 0 }), 10002, 'recv_window 2^63-1 with timestamp 0');
  eq(await code({ recvWindow: '600000000', ts: 0 }), 10001, 'recv_window 600000000 with timestamp 0');
  eq(await code({ recvWindow: '60001' }), 10001, 'recv_window 60001');
  eq(await code({ recvWindow: '0' }), 10001, 'recv_window 0');
  eq(await code({ recvWindow: '-5000' }), 10002, 'recv_window -5000');
  eq(await code({ ts: '99999999999999999999' }), 10002, 'a timestamp of 20 digits');
  eq(await code({ ts: '-1' }), 10002, 'a negative timestamp');
  eq(await code({ ts: '1e12' }), 10002, 'a timestamp in exponent form');
  const body = JSON.stringify(order()).replace(/"orderLinkId":"[^"]*"/, '"orderLinkId":"ab\\u0000cd"');
  check(body.includes('ab\\u0000cd'), 'the test body holds the escape', body);
  const r = await rest('POST', '/v5/order/create', { signed: true, body });
  eq(r.json?.retCode, 10001, 'an orderLinkId holding \\u0000', r.text);
  check(/NUL/.test(r.json?.retMsg), 'the 10001 says why', r.text);
  const literal = JSON.stringify({ ...order(), orderLinkId: linkId('bs') + '\\u0000' }); // a backslash, then u0000: legal
  const r2 = await rest('POST', '/v5/order/create', { signed: true, body: literal });
  // (refused for its backslash, which orderLinkId does not allow, but not as a NUL)
  check(r2.json && !/NUL/.test(r2.json.retMsg), 'an escaped backslash before u0000 taken for a NUL', r2.text);
  ok('recv_window 2^63, 0, 60001 and bad timestamps refused (10001/10002); NUL in strings refused (10001)');
}

run(async () => {
  if (process.env.PHASE === 'exhaust') return exhaust();
  await numbers();
  await pipelines();
  await framing();
  await wsProtocol();
});
