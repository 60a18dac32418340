// Bad input: malformed JSON, an oversized body (413), unknown paths (404), wrong methods (405),
// wrong types and missing fields, unknown WS ops and topics, garbage WS frames, garbage HTTP,
// a client that sends half a WebSocket frame and disconnects. Each gets a Bybit-shaped error or
// a clean close, and the simulator keeps serving everyone else (checked after each group).
import {
  check, eq, knownBug, ok, rawSocket, rest, run, sleep, step, SYMBOL, Ws, wsFrame, wsUpgrade,
} from './lib.mjs';

const stillServing = async (what) => {
  const r = await rest('GET', '/v5/market/time');
  if (r.status !== 200 || r.json?.retCode !== 0) throw new Error(`not serving after ${what}: HTTP ${r.status} ${r.text}`);
};

run(async () => {
  step('malformed JSON bodies');
  for (const body of ['{', '{"category":"linear",', 'not json', '[]', '"str"', '123', 'null', '']) {
    const r = await rest('POST', '/v5/order/create', { body, signed: true });
    eq(r.status, 200, `HTTP status for body ${JSON.stringify(body)}`, r.text);
    check(r.json && r.json.retCode === 10001 && typeof r.json.retMsg === 'string' && 'time' in r.json, `body ${JSON.stringify(body)}: want the envelope with retCode 10001`, r.text);
    await sleep(110);
  }
  // unsigned garbage: the key check comes first
  const u = await rest('POST', '/v5/order/create', { body: '{oops' });
  check(u.json && u.json.retCode === 10003, 'unsigned garbage body: 10003', u.text);
  await stillServing('malformed JSON');
  ok('8 malformed bodies → 10001');

  step('body over 64 KiB');
  {
    const big = JSON.stringify({ category: 'linear', pad: 'x'.repeat(70 * 1024) });
    const r = await rest('POST', '/v5/order/create', { body: big, signed: true });
    eq(r.status, 413, 'HTTP status of a 70 KiB body', r.text);
    const edge = JSON.stringify({ category: 'linear', symbol: SYMBOL, orderId: 'nope', pad: 'x'.repeat(60 * 1024) });
    const r2 = await rest('POST', '/v5/order/cancel', { body: edge, signed: true });
    eq(r2.json?.retCode, 110001, 'a 60 KiB body is read and handled', r2.text);
    await stillServing('413');
    ok('413 over the cap, 60 KiB handled');
  }

  step('unknown paths and wrong methods');
  {
    for (const p of ['/v5/nope', '/', '/v5/order/create/', '/v5', '/' + 'a'.repeat(3000)]) {
      const r = await rest('GET', p);
      check(r.status === 404 || r.status === 400 || r.status === 414, `GET ${p.slice(0, 40)}: want 404 (or 400/414)`, `HTTP ${r.status} ${r.text}`);
    }
    const n = await rest('GET', '/v5/nope');
    eq(n.json?.retCode, 10001, 'the 404 body is Bybit-shaped', n.text);
    for (const [m, p] of [['GET', '/v5/order/create'], ['POST', '/v5/market/time'], ['DELETE', '/v5/order/cancel'], ['PUT', '/v5/position/list']]) {
      const r = await rest(m, p, m === 'POST' || m === 'PUT' ? { body: '{}' } : {});
      eq(r.status, 405, `${m} ${p}`, r.text);
    }
    await stillServing('404/405');
    ok('404 and 405');
  }

  step('wrong types and missing fields');
  {
    const cases = [
      ['/v5/order/create', { category: 'linear', symbol: SYMBOL, side: 1, orderType: 'Limit', qty: '0.001', price: '1000' }],
      ['/v5/order/create', { category: 'linear', symbol: ['BTCUSDT'], side: 'Buy', orderType: 'Limit', qty: '0.001', price: '1000' }],
      ['/v5/order/create', { category: 'linear', symbol: SYMBOL, side: 'Buy', orderType: 'Limit', qty: { v: 1 }, price: '1000' }],
      ['/v5/order/create', { category: 'linear', symbol: SYMBOL, side: 'Buy', orderType: 'Limit', qty: '-0.001', price: '1000' }],
      ['/v5/order/create', { category: 'linear', symbol: SYMBOL, side: 'Buy', orderType: 'Limit', qty: 'abc', price: '1000' }],
      ['/v5/order/create', { category: 'linear', symbol: SYMBOL, side: 'Buy', orderType: 'Limit', qty: '0.001', price: '-5' }],
      ['/v5/order/create', { category: 'linear', symbol: SYMBOL, side: 'Buy', orderType: 'Limit', qty: '0.001', price: 'NaN' }],
      ['/v5/order/create', { category: 'linear', symbol: SYMBOL, side: 'Buy', orderType: 'Limit', qty: '1e400', price: '1000' }],
      ['/v5/order/create', { category: 'linear', symbol: 'NOPEUSDT', side: 'Buy', orderType: 'Limit', qty: '0.001', price: '1000' }],
      ['/v5/order/create', { category: 'linear', symbol: SYMBOL, side: 'Buy', orderType: 'Limit', qty: '0.001', price: '1000', orderLinkId: 'bad id!' }],
      ['/v5/order/create', { category: 7 }],
      ['/v5/order/create', {}],
      ['/v5/order/amend', { category: 'linear', symbol: SYMBOL, orderId: 5 }],
      ['/v5/order/amend', { category: 'linear' }],
      ['/v5/order/cancel', { category: 'linear', symbol: SYMBOL }],
      ['/v5/order/cancel', { symbol: SYMBOL, orderId: 'x' }],
      ['/v5/order/create-batch', { category: 'linear', request: 'x' }],
      ['/v5/order/create-batch', { category: 'linear', request: [1, null, 'x'] }],
      ['/v5/order/create-batch', { category: 'linear' }],
      ['/v5/order/disconnected-cancel-all', { timeWindow: [3] }],
      ['/v5/order/disconnected-cancel-all', { timeWindow: 10, product: 'NOPE' }],
    ];
    for (const [p, b] of cases) {
      const r = await rest('POST', p, { body: b, signed: true });
      eq(r.status, 200, `HTTP status of ${p} ${JSON.stringify(b)}`, r.text);
      check(r.json && typeof r.json.retCode === 'number' && typeof r.json.retMsg === 'string', `${p}: want the envelope`, r.text);
      if (p.endsWith('create-batch') && Array.isArray(b.request)) {
        check(r.json.retExtInfo?.list?.every((e) => e.code !== 0), `${p} ${JSON.stringify(b)}: every item must fail`, r.text);
      } else {
        check(r.json.retCode !== 0, `${p} ${JSON.stringify(b)}: want an error retCode`, r.text);
      }
      await sleep(110);
    }
    for (const q of ['category=linear&symbol=BTCUSDT&limit=-1', 'category=linear&symbol=BTCUSDT&openOnly=7', 'category=linear&symbol=%ZZ', 'category', '&&&=', 'category=linear&symbol=' + 'A'.repeat(500)]) {
      const r = await rest('GET', '/v5/order/realtime', { query: q, signed: true });
      if (q.includes('%ZZ')) {
        // libwebsockets refuses a bad %-escape before wsrv sees the request
        knownBug(r.status === 200 && r.json, 'lib/wsrv.c (libwebsockets): a bad %-escape in the query gets an HTML 403, not a Bybit-shaped error (TODO in wsrv)', `HTTP ${r.status} ${r.text.slice(0, 120)}`);
        check(r.status === 200 || r.status === 400 || r.status === 403, 'bad %-escape: a 4xx at least', `HTTP ${r.status}`);
        continue;
      }
      eq(r.status, 200, `realtime ?${q.slice(0, 40)}`, r.text);
      check(r.json && typeof r.json.retCode === 'number', `realtime ?${q.slice(0, 40)}: want the envelope`, r.text);
      const r2 = await rest('GET', '/v5/market/orderbook', { query: q });
      check(r2.status === 200 && r2.json && (r2.json.retCode !== 0 || q.includes('openOnly')), `orderbook ?${q.slice(0, 40)}: want an error envelope`, r2.text);
    }
    await stillServing('wrong types');
    ok(`${cases.length} bodies and 6 queries answered with retCodes`);
  }

  step('WS: unknown ops, topics, wrong types, garbage frames');
  {
    const pub = await Ws.open('/v5/public/linear', 'public');
    const bad = [
      [{ req_id: 'b1', op: 'frobnicate' }, 'frobnicate'],
      [{ req_id: 'b2', op: 'subscribe', args: ['orderbook.7.BTCUSDT'] }, 'subscribe'],
      [{ req_id: 'b3', op: 'subscribe', args: ['publicTrade.NOPE'] }, 'subscribe'],
      [{ req_id: 'b4', op: 'subscribe', args: 'orderbook.50.BTCUSDT' }, 'subscribe'],
      [{ req_id: 'b5', op: 'subscribe', args: [42] }, 'subscribe'],
      [{ req_id: 'b6', op: 'subscribe', args: [] }, 'subscribe'],
      [{ req_id: 'b7', op: 'unsubscribe', args: [null] }, 'unsubscribe'],
      [{ req_id: 'b8', op: 'auth', args: ['k', 1, 's'] }, 'auth'],
      [{ req_id: 'b9', op: 'subscribe', args: ['order'] }, 'subscribe'],
    ];
    for (const [m, op] of bad) {
      const r = await pub.request(m, op);
      eq(r.success, false, `public ${JSON.stringify(m)}: success`, r);
      check(typeof r.ret_msg === 'string' && r.ret_msg.length > 0 && r.conn_id, 'a message and conn_id', r);
    }
    for (const g of ['garbage', '{', '[1,2]', '{"op":5}', '"x"', 'null']) {
      pub.send(g);
      const r = await pub.next((x) => x.success === false, 2000, `an error reply to ${g}`);
      check(typeof r.ret_msg === 'string', 'ret_msg', r);
    }
    pub.ws.send(Buffer.from([0xff, 0x00, 0x13]), { binary: true });
    await sleep(200);
    const ping = await pub.request({ req_id: 'after', op: 'ping' }, 'ping');
    eq(ping.ret_msg, 'pong', 'ping after garbage', ping);
    check(!pub.closed, 'public connection closed by garbage (errors should be replies)', pub.closed);
    pub.close();
    const priv = await Ws.open('/v5/private', 'private');
    const s = await priv.request({ req_id: 'p1', op: 'subscribe', args: ['order'] });
    eq(s.success, false, 'private subscribe before auth', s);
    const s2 = await priv.request({ req_id: 'p2', op: 'subscribe', args: ['orderbook.50.BTCUSDT'] });
    eq(s2.success, false, 'public topic on the private stream', s2);
    priv.send('}{');
    await priv.next((x) => x.success === false, 2000, 'an error reply to }{');
    priv.close();
    const trade = await Ws.open('/v5/trade', 'trade');
    trade.send('not json');
    const t = await trade.next((x) => typeof x.retCode === 'number', 2000, 'a trade error reply');
    eq(t.retCode, 10001, 'trade garbage retCode', t);
    trade.send({ reqId: 'x1', op: 'order.create', args: [{}] });
    const t2 = await trade.next((x) => x.reqId === 'x1', 2000, 'reply to an unauthenticated order.create');
    check(t2.retCode !== 0, 'order.create before auth must fail', t2);
    trade.close();
    const refused = await Ws.open('/v5/public/spot', 'spot', { expectRefused: true });
    check(refused.openResult !== 'open', 'an unknown WS path must be refused', refused.openResult);
    await stillServing('WS garbage');
    ok('errors as replies; unknown WS path refused');
  }

  step('raw TCP: half frames, garbage HTTP, abrupt closes');
  {
    const up = wsUpgrade('/v5/public/linear');
    const frame = wsFrame(JSON.stringify({ req_id: 'half', op: 'subscribe', args: ['orderbook.50.BTCUSDT'] }));
    // upgrade, then half a frame, then close
    const g1 = await rawSocket([up, frame.subarray(0, 9)], { closeAfterMs: 150 });
    check(g1.startsWith('HTTP/1.1 101'), 'raw upgrade must get 101', g1.slice(0, 200));
    // a header claiming a huge payload, then close
    const huge = Buffer.from([0x81, 0xff, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]);
    await rawSocket([up, huge], { closeAfterMs: 100 });
    // an unmasked client frame (a protocol error): the server closes
    const unmasked = Buffer.concat([Buffer.from([0x81, 5]), Buffer.from('hello')]);
    const g3 = await rawSocket([up, unmasked], { closeAfterMs: 500 });
    check(g3.startsWith('HTTP/1.1 101'), 'upgrade before the unmasked frame', g3.slice(0, 200));
    // a reserved opcode
    await rawSocket([up, wsFrame('x', 0x3)], { closeAfterMs: 300 });
    // plain garbage, half an HTTP request, a huge header
    const g5 = await rawSocket(['\x00\x01garbage\r\n\r\n'], { closeAfterMs: 300 });
    check(g5 === '' || /^HTTP\/1\.[01] 4\d\d/.test(g5), 'garbage request: a 4xx or a close', g5.slice(0, 200));
    await rawSocket(['GET /v5/market/time HTTP/1.1\r\nHost: x\r\n'], { closeAfterMs: 100 });
    // (a POST whose body never completes: test_bybit_sim_rest.sh, on a simulator of its own)
    const g8 = await rawSocket(['GET /v5/market/time HTTP/1.1\r\nHost: x\r\nX-Big: ' + 'y'.repeat(100000) + '\r\n\r\n'], { closeAfterMs: 500 });
    check(g8 === '' || /^HTTP\/1\.[01] 4\d\d/.test(g8), 'a 100 KB header: a 4xx or a close', g8.slice(0, 200));
    // many at once
    await Promise.all(Array.from({ length: 20 }, (_, i) => rawSocket([up, frame.subarray(0, 3 + i)], { closeAfterMs: 50 })));
    await sleep(200);
    await stillServing('raw TCP garbage');
    const pub = await Ws.open('/v5/public/linear', 'public-after');
    await pub.subscribe(['orderbook.1.BTCUSDT']);
    await pub.next((m) => m.topic === 'orderbook.1.BTCUSDT', 3000, 'a book message after the garbage');
    pub.close();
    ok('simulator still serving REST and WS');
  }
});
