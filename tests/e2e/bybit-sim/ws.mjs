// WebSockets of bybit-sim: public linear (books with snapshot then deltas, u +1 per message,
// seq; publicTrade; ping; subscribe/unsubscribe acks and errors), private (auth good, bad,
// expired; topics; pong format; max_active_time accepted or refused), /v5/trade order entry
// (auth, create/amend/cancel, duplicate reqId 20006), a market that moves (resting order filled
// by synthetic taker flow: execution, order, position, wallet; maker fee), PostOnly crossing,
// and DCP (cancelled ~3 s after the last dcp.future connection is gone, not before).
// Run by test_bybit_sim_ws.sh against a simulator with market.taker_per_s=50.
import {
  bestBidAsk, check, env, eq, get, hmac, limitOrder, linkId, ok, post, privateWs, px, rest, run, simOrders, sleep, step,
  SYMBOL, Ws,
} from './lib.mjs';

const isNumStr = (v) => typeof v === 'string' && v !== '' && Number.isFinite(Number(v));

// applies book messages of one topic; checks snapshot first, u +1, seq increasing, sorted sides
function bookChecker(topic, depth) {
  const st = { n: 0, snapshots: 0, deltas: 0, u: null, seq: null, bids: new Map(), asks: new Map() };
  st.apply = (m) => {
    const d = m.data;
    check(m.type === 'snapshot' || m.type === 'delta', `${topic}: type`, m);
    check(d && d.s === SYMBOL && Array.isArray(d.b) && Array.isArray(d.a), `${topic}: data {s,b,a}`, m);
    check(Number.isInteger(d.u) && Number.isInteger(d.seq) && Number.isInteger(m.ts) && Number.isInteger(m.cts), `${topic}: u, seq, ts, cts integers`, m);
    if (st.n === 0) eq(m.type, 'snapshot', `${topic}: first message type`, m);
    if (m.type === 'snapshot') {
      st.snapshots++;
      st.bids = new Map(d.b);
      st.asks = new Map(d.a);
      check(d.b.length <= depth && d.a.length <= depth && d.b.length > 0, `${topic}: snapshot levels ≤ ${depth}`, { b: d.b.length, a: d.a.length });
      // the synthetic book has 200 levels a side, less what takers ate: 50 full, 200 most
      if (depth === 50) check(d.b.length === depth && d.a.length === depth, `${topic}: a full snapshot has ${depth} levels a side`, { b: d.b.length, a: d.a.length });
      if (depth === 200) check(d.b.length >= 150 && d.a.length >= 150, `${topic}: a snapshot has ≥ 150 levels a side`, { b: d.b.length, a: d.a.length });
    } else {
      st.deltas++;
      eq(d.u, st.u + 1, `${topic}: u of a delta (previous ${st.u})`, m);
      for (const [p, s] of d.b) s === '0' ? st.bids.delete(p) : st.bids.set(p, s);
      for (const [p, s] of d.a) s === '0' ? st.asks.delete(p) : st.asks.set(p, s);
    }
    if (st.seq !== null) check(d.seq >= st.seq, `${topic}: seq went back ${st.seq} → ${d.seq}`, m);
    for (const lv of [...d.b, ...d.a]) check(isNumStr(lv[0]) && isNumStr(lv[1]), `${topic}: levels are strings`, lv);
    st.u = d.u;
    st.seq = d.seq;
    st.n++;
    const bb = Math.max(...[...st.bids.keys()].map(Number)), ba = Math.min(...[...st.asks.keys()].map(Number));
    check(bb < ba, `${topic}: local book crossed after u=${d.u} (bid ${bb} ask ${ba})`, m);
    check(st.bids.size <= depth + 5 && st.asks.size <= depth + 5, `${topic}: local book grew past the depth`, { b: st.bids.size, a: st.asks.size });
  };
  return st;
}

run(async () => {
  step('public: ping, subscribe, books, trades');
  {
    const pub = await Ws.open('/v5/public/linear', 'public');
    const p = await pub.request({ req_id: 'p-1', op: 'ping' });
    eq(p.success, true, 'pong success', p);
    eq(p.ret_msg, 'pong', 'pong ret_msg', p);
    eq(p.op, 'ping', 'pong op', p);
    eq(p.req_id, 'p-1', 'pong req_id', p);
    check(typeof p.conn_id === 'string' && p.conn_id, 'pong conn_id', p);
    const topics = ['orderbook.1.BTCUSDT', 'orderbook.50.BTCUSDT', 'orderbook.200.BTCUSDT', 'publicTrade.BTCUSDT'];
    const ack = await pub.request({ req_id: 's-1', op: 'subscribe', args: topics });
    eq(ack.success, true, 'subscribe success', ack);
    eq(ack.op, 'subscribe', 'subscribe op', ack);
    eq(ack.ret_msg, '', 'subscribe ret_msg', ack);
    const books = { 'orderbook.1.BTCUSDT': bookChecker('orderbook.1.BTCUSDT', 1), 'orderbook.50.BTCUSDT': bookChecker('orderbook.50.BTCUSDT', 50), 'orderbook.200.BTCUSDT': bookChecker('orderbook.200.BTCUSDT', 200) };
    const trades = [];
    const end = Date.now() + 2500;
    while (Date.now() < end) {
      const m = await pub.next((x) => x.topic, 2000, 'a topic message');
      if (books[m.topic]) books[m.topic].apply(m);
      else if (m.topic === 'publicTrade.BTCUSDT') {
        eq(m.type, 'snapshot', 'publicTrade type', m);
        check(Array.isArray(m.data) && m.data.length > 0, 'publicTrade data', m);
        for (const t of m.data) {
          check(Number.isInteger(t.T) && t.s === SYMBOL && (t.S === 'Buy' || t.S === 'Sell') && isNumStr(t.v) && isNumStr(t.p) && typeof t.i === 'string' && t.i, 'publicTrade item {T,s,S,v,p,i}', t);
          trades.push(t);
        }
      } else check(false, 'a message of a topic not subscribed', m);
    }
    for (const [t, st] of Object.entries(books)) {
      check(st.snapshots === 1 && st.deltas >= 10, `${t}: want one snapshot (no fault is set) and ≥ 10 deltas in 2.5 s`, { snapshots: st.snapshots, deltas: st.deltas });
    }
    check(trades.length >= 1, 'publicTrade: no trade in 2.5 s with taker_per_s=50', trades);
    // a second subscription to a held topic is refused; a bad topic is refused
    const again = await pub.request({ req_id: 's-2', op: 'subscribe', args: ['orderbook.50.BTCUSDT'] });
    eq(again.success, false, 'subscribe to a held topic', again);
    const bad = await pub.request({ req_id: 's-3', op: 'subscribe', args: ['orderbook.3.BTCUSDT'] });
    eq(bad.success, false, 'subscribe to orderbook.3', bad);
    check(bad.ret_msg.length > 0, 'an error message', bad);
    // unsubscribe: the topic stops
    const un = await pub.request({ req_id: 'u-1', op: 'unsubscribe', args: ['orderbook.1.BTCUSDT', 'orderbook.200.BTCUSDT'] });
    eq(un.success, true, 'unsubscribe success', un);
    eq(un.op, 'unsubscribe', 'unsubscribe op', un);
    await sleep(150);
    pub.drain();
    await sleep(700);
    const stray = pub.queue.find((m) => m.topic === 'orderbook.1.BTCUSDT' || m.topic === 'orderbook.200.BTCUSDT');
    check(!stray, 'book messages after unsubscribe', stray);
    check(pub.queue.some((m) => m.topic === 'orderbook.50.BTCUSDT'), 'orderbook.50 must go on after the others were unsubscribed', pub.queue.slice(-3));
    // resubscribe: a snapshot first again, for a new subscriber on the same stream
    const pub2 = await Ws.open('/v5/public/linear', 'public2');
    await pub2.subscribe(['orderbook.50.BTCUSDT', 'orderbook.1.ETHUSDT']);
    const s2 = await pub2.next((m) => m.topic === 'orderbook.50.BTCUSDT', 2000, 'orderbook.50 on a second connection');
    eq(s2.type, 'snapshot', 'first message on a second subscriber', s2);
    const e = await pub2.next((m) => m.topic === 'orderbook.1.ETHUSDT', 2000, 'orderbook.1.ETHUSDT');
    eq(e.data.s, 'ETHUSDT', 'ETHUSDT book symbol', e);
    pub.close();
    pub2.close();
    ok(Object.entries(books).map(([t, s]) => `${t} ${s.snapshots}+${s.deltas}`).join(', ') + `, ${trades.length} trades`);
  }

  step('private: auth, topics, pong, max_active_time');
  {
    const bad = await Ws.open('/v5/private', 'priv-bad');
    const exp = Date.now() + 10000;
    bad.send({ req_id: 'a1', op: 'auth', args: [env.KEY, exp, hmac('wrong', 'GET/realtime' + exp)] });
    const r1 = await bad.op('auth');
    eq(r1.success, false, 'auth with a bad signature', r1);
    const r2 = await bad.auth(env.KEY, env.SECRET, Date.now() - 1000);
    eq(r2.success, false, 'auth with an expired time', r2);
    const r3 = await bad.auth('no-such-key', 'x');
    eq(r3.success, false, 'auth with an unknown key', r3);
    const s = await bad.request({ req_id: 'a2', op: 'subscribe', args: ['order'] });
    eq(s.success, false, 'subscribe after failed auths', s);
    const good = await bad.auth();
    eq(good.success, true, 'auth after failures', good);
    eq(good.op, 'auth', 'auth op', good);
    check(typeof good.conn_id === 'string', 'auth conn_id', good);
    const rep = await bad.auth();
    eq(rep.success, false, 'a second auth on one connection', rep);
    bad.close();

    const priv = await privateWs('private');
    const ack = await priv.request({ req_id: 'sub', op: 'subscribe', args: ['order', 'execution', 'position', 'wallet', 'dcp.future'] });
    eq(ack.success, true, 'private subscribe', ack);
    const t0 = Date.now();
    const pong = await priv.request({ req_id: 'pp', op: 'ping' }, 'pong');
    eq(pong.op, 'pong', 'private pong op', pong);
    eq(pong.req_id, 'pp', 'private pong req_id', pong);
    check(Array.isArray(pong.args) && pong.args.length === 1 && /^\d+$/.test(pong.args[0]) && Math.abs(Number(pong.args[0]) - t0) < 5000, 'private pong args ["<ms>"]', pong);
    check(typeof pong.conn_id === 'string', 'private pong conn_id', pong);
    check(!('success' in pong), 'private pong has no success field (Bybit private format)', pong);
    const badTopic = await priv.request({ req_id: 'sub2', op: 'subscribe', args: ['orders'] });
    eq(badTopic.success, false, 'private subscribe to "orders"', badTopic);
    priv.close();
    for (const q of ['30s', '600s', '10m', '45s']) {
      const c = await Ws.open(`/v5/private?max_active_time=${q}`, `mat-${q}`, { expectRefused: true });
      eq(c.openResult, 'open', `max_active_time=${q} must be accepted`);
      c.close();
    }
    for (const q of ['29s', '601s', '11m', 'abc', '0s', '-30s', '30']) {
      const c = await Ws.open(`/v5/private?max_active_time=${q}`, `mat-${q}`, { expectRefused: true });
      check(c.openResult !== 'open', `max_active_time=${q} must be refused`, c.openResult);
      c.close();
    }
    ok('bad/expired/unknown refused, good accepted, pong ["ms"], max_active_time 30s..600s');
  }

  step('/v5/trade order entry');
  {
    const { bid } = await bestBidAsk();
    const tr = await Ws.open('/v5/trade', 'trade');
    const a = await tr.auth();
    eq(a.success, true, 'trade auth', a);
    const hdr = () => ({ 'X-BAPI-TIMESTAMP': String(Date.now()), 'X-BAPI-RECV-WINDOW': '8000' });
    const o = limitOrder('Buy', px(bid * 0.97));
    tr.send({ reqId: 'c-1', header: hdr(), op: 'order.create', args: [o] });
    const c = await tr.next((m) => m.reqId === 'c-1', 3000, 'order.create reply');
    eq(c.retCode, 0, 'order.create retCode', c);
    eq(c.op, 'order.create', 'order.create op', c);
    check(c.data?.orderId && c.data.orderLinkId === o.orderLinkId, 'order.create data', c);
    check(c.header?.['X-Bapi-Limit'] && c.header['X-Bapi-Limit-Status'] !== undefined && c.header['X-Bapi-Limit-Reset-Timestamp'], 'rate-limit header of a trade reply', c);
    check(typeof c.connId === 'string', 'connId', c);
    const rt = await get('/v5/order/realtime', `category=linear&symbol=BTCUSDT&orderId=${c.data.orderId}`);
    eq(rt.list?.[0]?.orderStatus, 'New', 'order placed over WS, seen over REST', rt);
    tr.send({ reqId: 'c-1', header: hdr(), op: 'order.create', args: [limitOrder('Buy', px(bid * 0.97))] });
    const dup = await tr.next((m) => m.reqId === 'c-1', 3000, 'reply to a duplicate reqId');
    eq(dup.retCode, 20006, 'duplicate reqId', dup);
    tr.send({ reqId: 'a-1', header: hdr(), op: 'order.amend', args: [{ category: 'linear', symbol: SYMBOL, orderId: c.data.orderId, price: px(bid * 0.96) }] });
    const am = await tr.next((m) => m.reqId === 'a-1', 3000, 'order.amend reply');
    eq(am.retCode, 0, 'order.amend retCode', am);
    eq(am.op, 'order.amend', 'order.amend op', am);
    tr.send({ reqId: 'x-1', header: hdr(), op: 'order.cancel', args: [{ category: 'linear', symbol: SYMBOL, orderId: c.data.orderId }] });
    const cc = await tr.next((m) => m.reqId === 'x-1', 3000, 'order.cancel reply');
    eq(cc.retCode, 0, 'order.cancel retCode', cc);
    tr.send({ reqId: 'x-2', header: hdr(), op: 'order.cancel', args: [{ category: 'linear', symbol: SYMBOL, orderId: c.data.orderId }] });
    const cc2 = await tr.next((m) => m.reqId === 'x-2', 3000, 'second order.cancel reply');
    check([110001, 110008].includes(cc2.retCode), 'cancel of a cancelled order over WS', cc2);
    tr.send({ reqId: 'e-1', header: { 'X-BAPI-TIMESTAMP': String(Date.now() - 60000), 'X-BAPI-RECV-WINDOW': '5000' }, op: 'order.create', args: [limitOrder('Buy', px(bid * 0.97))] });
    eq((await tr.next((m) => m.reqId === 'e-1', 3000, 'reply to a stale header')).retCode, 10002, 'stale X-BAPI-TIMESTAMP');
    tr.send({ reqId: 'e-2', header: hdr(), op: 'order.frobnicate', args: [{}] });
    eq((await tr.next((m) => m.reqId === 'e-2', 3000, 'reply to an unknown op')).retCode, 10001, 'unknown trade op');
    tr.send({ reqId: 'e-3', header: hdr(), op: 'order.create', args: [{ category: 'linear', symbol: SYMBOL }] });
    eq((await tr.next((m) => m.reqId === 'e-3', 3000, 'reply to a create without fields')).retCode, 10001, 'create without side/qty');
    tr.close();
    ok('create, dup reqId 20006, amend, cancel, 10002, 10001');
  }

  step('a market that moves: resting order filled by taker flow');
  {
    const priv = await privateWs('priv-fill');
    await priv.subscribe(['order', 'execution', 'position', 'wallet']);
    let filled = null, tries = 0;
    const fills = [];
    while (!filled && tries++ < 4) {
      const { bid } = await bestBidAsk();
      const o = limitOrder('Buy', px(bid), '0.003');
      const c = await post('/v5/order/create', o);
      // the first order message of ours: New when it rests; when the market moved through
      // our price between the book read and the create, it took liquidity at once: try again
      const first = await priv.next((m) => m.topic === 'order' && m.data?.some((x) => x.orderId === c.orderId), 3000, 'order message');
      if (first.data.find((x) => x.orderId === c.orderId).orderStatus !== 'New') {
        await rest('POST', '/v5/order/cancel', { body: { category: 'linear', symbol: SYMBOL, orderId: c.orderId }, signed: true });
        continue;
      }
      const newMsg = first;
      check(typeof newMsg.id === 'string' && Number.isInteger(newMsg.creationTime), 'private message id and creationTime', newMsg);
      const item = newMsg.data.find((x) => x.orderId === c.orderId);
      eq(item.category, 'linear', 'order item category', item);
      const ex = await priv.next((m) => m.topic === 'execution' && m.data?.some((x) => x.orderId === c.orderId), 6000, 'an execution', { soft: true });
      if (!ex) {
        await post('/v5/order/cancel', { category: 'linear', symbol: SYMBOL, orderId: c.orderId });
        continue; // the market moved away; again at the new best bid
      }
      for (const x of ex.data.filter((y) => y.orderId === c.orderId)) fills.push(x);
      const x = fills[0];
      for (const f of ['execId', 'execPrice', 'execQty', 'execFee', 'execTime', 'orderPrice', 'orderQty', 'leavesQty']) check(typeof x[f] === 'string' && x[f] !== '', `execution ${f}`, x);
      eq(x.execType, 'Trade', 'execType', x);
      eq(x.isMaker, true, 'a resting order fills as maker', x);
      eq(x.side, 'Buy', 'execution side', x);
      const value = Number(x.execPrice) * Number(x.execQty);
      check(Math.abs(Number(x.execFee) - value * 0.0002) < 1e-6 + value * 1e-6, `maker fee 0.02% of ${value}`, x);
      filled = c.orderId;
      const om = await priv.next((m) => m.topic === 'order' && m.data?.some((y) => y.orderId === c.orderId && (y.orderStatus === 'PartiallyFilled' || y.orderStatus === 'Filled')), 3000, 'order PartiallyFilled/Filled message');
      const oi = om.data.find((y) => y.orderId === c.orderId);
      check(Number(oi.cumExecQty) > 0 && Number(oi.cumExecQty) + Number(oi.leavesQty) === 0.003, 'cumExecQty + leavesQty = qty', oi);
      const pm = await priv.next((m) => m.topic === 'position' && m.data?.some((y) => y.symbol === SYMBOL), 3000, 'position message');
      const pi = pm.data.find((y) => y.symbol === SYMBOL);
      eq(pi.side, 'Buy', 'position side', pi);
      check(Number(pi.size) > 0 && isNumStr(pi.entryPrice) && isNumStr(pi.markPrice) && Number.isInteger(pi.positionIdx), 'position fields', pi);
      const wm = await priv.next((m) => m.topic === 'wallet', 3000, 'wallet message');
      check(JSON.stringify(wm.data).includes('USDT'), 'wallet message with USDT', wm);
      await post('/v5/order/cancel-all', { category: 'linear', symbol: SYMBOL });
    }
    check(filled, 'no fill of an order at the best bid in 4 tries of 6 s with taker_per_s=50');
    ok(`${fills.length} execution(s), order, position, wallet messages`);

    step('PostOnly crossing: ack OK, then Cancelled EC_PostOnlyWillTakeLiquidity');
    const { ask } = await bestBidAsk();
    const po = limitOrder('Buy', px(ask + 5), '0.001', { timeInForce: 'PostOnly' });
    const c = await rest('POST', '/v5/order/create', { body: po, signed: true });
    eq(c.json?.retCode, 0, 'PostOnly crossing: the ack is OK', c.text);
    const cm = await priv.next((m) => m.topic === 'order' && m.data?.some((y) => y.orderId === c.json.result.orderId && y.orderStatus === 'Cancelled'), 3000, 'order Cancelled for the PostOnly');
    const ci = cm.data.find((y) => y.orderId === c.json.result.orderId);
    eq(ci.rejectReason, 'EC_PostOnlyWillTakeLiquidity', 'rejectReason', ci);
    eq(Number(ci.cumExecQty), 0, 'PostOnly never executes', ci);
    check(!priv.queue.some((m) => m.topic === 'execution' && m.data.some((y) => y.orderId === ci.orderId)), 'an execution for the PostOnly', priv.queue);
    priv.close();
    ok('PostOnly acked then cancelled');
  }

  step('DCP');
  {
    await post('/v5/order/cancel-all', { category: 'linear', symbol: SYMBOL });
    await post('/v5/order/disconnected-cancel-all', { timeWindow: 3, product: 'DERIVATIVES' });
    const a = await privateWs('dcp-a'), b = await privateWs('dcp-b');
    await a.subscribe(['dcp.future']);
    await b.subscribe(['dcp.future', 'order']);
    const { bid } = await bestBidAsk();
    const ids = [];
    for (let i = 0; i < 2; i++) ids.push((await post('/v5/order/create', limitOrder('Buy', px(bid * (0.95 - i / 100))))).orderId);
    a.close();
    await sleep(4500);
    eq((await simOrders(env.KEY)).count, 2, 'orders open 4.5 s after one of two dcp.future connections dropped');
    const t0 = Date.now();
    b.close();
    let left = 2;
    while (left > 0 && Date.now() - t0 < 8000) {
      await sleep(100);
      left = (await simOrders(env.KEY)).count;
    }
    const dt = Date.now() - t0;
    eq(left, 0, 'open orders 8 s after the last dcp.future connection dropped');
    check(dt >= 2800 && dt <= 5500, `DCP cancelled after ${dt} ms, want about 3000`);
    for (const id of ids) {
      const h = await get('/v5/order/realtime', `category=linear&symbol=BTCUSDT&openOnly=1&orderId=${id}`);
      eq(h.list?.[0]?.orderStatus, 'Cancelled', `order ${id} status`, h);
      eq(h.list[0].cancelType, 'CancelByDCP', `order ${id} cancelType`, h.list[0]);
    }
    const open = await get('/v5/order/realtime', 'category=linear&symbol=BTCUSDT');
    eq(open.list.length, 0, 'open orders over REST after DCP', open);
    void linkId;
    ok(`cancelled by DCP after ${dt} ms, not while a connection remained`);
  }
});
