// REST API of bybit-sim as a Bybit v5 client sees it: market data, signing (10001-10004),
// orders (create, amend, cancel, cancel-all, create-batch, realtime), positions, wallet, DCP
// arming, rate limits (10006 and the X-Bapi-Limit* headers), and the /sim/... and /metrics
// endpoints. Run by test_bybit_sim_rest.sh against a fresh simulator.
import {
  api, bestBidAsk, check, env, eq, expectCode, fail, get, hmac, limitOrder, ok, post, px, rest, run, simGet,
  simOrders, SYMBOL, step,
} from './lib.mjs';

const isNumStr = (v) => typeof v === 'string' && v !== '' && Number.isFinite(Number(v));
const KEY2 = process.env.KEY2, SECRET2 = process.env.SECRET2;

run(async () => {
  step('market time');
  {
    const t0 = Date.now();
    const r = await api('GET', '/v5/market/time');
    check(isNumStr(r.timeSecond) && isNumStr(r.timeNano), 'timeSecond/timeNano must be numeric strings', r);
    check(Math.abs(Number(r.timeSecond) - t0 / 1000) < 5, 'timeSecond is not the current time', r);
    check(Math.abs(Number(BigInt(r.timeNano) / 1000000n) - t0) < 5000, 'timeNano is not the current time', r);
    ok(`timeSecond ${r.timeSecond}`);
  }

  step('instruments info');
  {
    const r = await api('GET', '/v5/market/instruments-info', { query: 'category=linear&symbol=BTCUSDT' });
    eq(r.list?.length, 1, 'list length', r);
    const i = r.list[0];
    eq(i.symbol, 'BTCUSDT', 'symbol', i);
    eq(i.status, 'Trading', 'status', i);
    eq(i.priceFilter?.tickSize, '0.1', 'tickSize', i);
    eq(i.lotSizeFilter?.qtyStep, '0.001', 'qtyStep', i);
    eq(i.lotSizeFilter?.minOrderQty, '0.001', 'minOrderQty', i);
    check(isNumStr(i.lotSizeFilter.minNotionalValue) && isNumStr(i.priceFilter.minPrice) && isNumStr(i.priceFilter.maxPrice), 'filters must be numeric strings', i);
    check('nextPageCursor' in r, 'nextPageCursor missing', r);
    const all = await api('GET', '/v5/market/instruments-info', { query: 'category=linear' });
    const syms = all.list.map((x) => x.symbol).sort().join(',');
    eq(syms, 'BTCUSDT,ETHUSDT', 'symbols without a symbol filter', all);
    await expectCode('GET', '/v5/market/instruments-info', { query: 'category=linear&symbol=NOPEUSDT' }, 10001, 'unknown symbol');
    await expectCode('GET', '/v5/market/instruments-info', { query: 'category=spot&symbol=BTCUSDT' }, 10001, 'category spot');
    await expectCode('GET', '/v5/market/instruments-info', { query: 'symbol=BTCUSDT' }, 10001, 'no category');
    ok('BTCUSDT filters, both symbols, errors 10001');
  }

  step('order book');
  for (const limit of [1, 50, 200]) {
    const r = await api('GET', '/v5/market/orderbook', { query: `category=linear&symbol=BTCUSDT&limit=${limit}` });
    eq(r.s, 'BTCUSDT', 's', r);
    eq(r.b.length, limit, `bid levels for limit=${limit}`, r);
    eq(r.a.length, limit, `ask levels for limit=${limit}`, r);
    for (const lv of [...r.b, ...r.a]) check(lv.length === 2 && isNumStr(lv[0]) && isNumStr(lv[1]), 'levels must be [price,size] strings', lv);
    for (let i = 1; i < limit; i++) {
      check(Number(r.b[i][0]) < Number(r.b[i - 1][0]), 'bids must go high → low', r.b.slice(0, i + 1));
      check(Number(r.a[i][0]) > Number(r.a[i - 1][0]), 'asks must go low → high', r.a.slice(0, i + 1));
    }
    check(Number(r.b[0][0]) < Number(r.a[0][0]), 'crossed book', r);
    check(Number.isInteger(r.ts) && Number.isInteger(r.u) && Number.isInteger(r.seq), 'ts, u, seq must be integers', { ts: r.ts, u: r.u, seq: r.seq });
  }
  for (const bad of ['limit=0', 'limit=201', 'limit=x']) await expectCode('GET', '/v5/market/orderbook', { query: `category=linear&symbol=BTCUSDT&${bad}` }, 10001, bad);
  await expectCode('GET', '/v5/market/orderbook', { query: 'category=linear&symbol=XXX' }, 10001, 'unknown symbol');
  ok('limits 1, 50, 200; sorted string levels; bad limits 10001');

  step('signing');
  {
    // GET: the query as sent, not re-sorted
    const q = 'symbol=BTCUSDT&category=linear';
    await get('/v5/position/list', q);
    const ts = String(Date.now());
    const sorted = 'category=linear&symbol=BTCUSDT';
    const wrong = hmac(env.SECRET, ts + env.KEY + '5000' + sorted);
    await expectCode('GET', '/v5/position/list', { query: q, signed: true, ts, sign: wrong }, 10004, 'signature over the re-sorted query');
    // POST: the raw body bytes, spaces and all
    const raw = `{ "timeWindow" : 10,  "product":"DERIVATIVES" }`;
    await post('/v5/order/disconnected-cancel-all', raw);
    const ts2 = String(Date.now());
    const sigCompact = hmac(env.SECRET, ts2 + env.KEY + '5000' + JSON.stringify(JSON.parse(raw)));
    await expectCode('POST', '/v5/order/disconnected-cancel-all', { body: raw, signed: true, ts: ts2, sign: sigCompact }, 10004, 'signature over a re-serialised body');
    await expectCode('GET', '/v5/position/list', { query: q, signed: true, key: 'no-such-key', secret: 'x' }, 10003, 'unknown key');
    await expectCode('GET', '/v5/position/list', { query: q }, 10003, 'no key at all');
    await expectCode('GET', '/v5/position/list', { query: q, signed: true, ts: Date.now() - 6000 }, 10002, 'timestamp 6 s old (recv_window 5000)');
    await get('/v5/position/list', q, { ts: Date.now() - 6000, recvWindow: 10000 }); // a larger window takes it
    await expectCode('GET', '/v5/position/list', { query: q, signed: true, ts: Date.now() + 3000 }, 10002, 'timestamp 3 s ahead');
    await expectCode('GET', '/v5/position/list', { query: q, signed: true, sign: '0'.repeat(64) }, 10004, 'wrong signature');
    await expectCode('GET', '/v5/position/list', { query: q, signed: true, secret: 'other-secret' }, 10004, 'signed with another secret');
    await expectCode('POST', '/v5/order/cancel', { body: { category: 'linear', symbol: SYMBOL, orderId: 'x' }, signed: true, sign: 'abc' }, 10004, 'POST wrong signature');
    // the signature is lowercase hex; an uppercase one is accepted or refused with 10004, never an OK
    const ts3 = String(Date.now());
    const up = hmac(env.SECRET, ts3 + env.KEY + '5000' + q).toUpperCase();
    const r = await rest('GET', '/v5/position/list', { query: q, signed: true, ts: ts3, sign: up });
    check(r.json && (r.json.retCode === 0 || r.json.retCode === 10004), 'uppercase hex signature', r.text);
    ok('query as sent, raw body, 10002 / 10003 / 10004');
  }

  step('rate-limit headers');
  {
    const r = await rest('POST', '/v5/order/cancel', { body: { category: 'linear', symbol: SYMBOL, orderId: 'nope-1' }, signed: true });
    eq(r.json?.retCode, 110001, 'cancel of an unknown order', r.text);
    const h = (n) => r.headers.get(n);
    eq(h('x-bapi-limit'), '10', 'X-Bapi-Limit of cancel', Object.fromEntries(r.headers));
    check(/^\d+$/.test(h('x-bapi-limit-status') || '') && Number(h('x-bapi-limit-status')) <= 9, 'X-Bapi-Limit-Status must be the remaining count (≤ 9 after one)', Object.fromEntries(r.headers));
    const reset = Number(h('x-bapi-limit-reset-timestamp'));
    check(reset > Date.now() - 2000 && reset < Date.now() + 2000, 'X-Bapi-Limit-Reset-Timestamp must be a ms time within the second', Object.fromEntries(r.headers));
    for (const [m, p, q] of [['GET', '/v5/order/realtime', 'category=linear&symbol=BTCUSDT'], ['GET', '/v5/account/wallet-balance', 'accountType=UNIFIED']]) {
      const x = await rest(m, p, { query: q, signed: true });
      check(x.headers.get('x-bapi-limit') && x.headers.get('x-bapi-limit-status') && x.headers.get('x-bapi-limit-reset-timestamp'), `rate-limit headers missing on ${p}`, Object.fromEntries(x.headers));
    }
    ok('X-Bapi-Limit, -Status, -Reset-Timestamp');
  }

  step('create / realtime / amend / cancel');
  const { bid, ask } = await bestBidAsk();
  check(bid > 1000 && ask > bid, 'a sane BTCUSDT book', { bid, ask });
  {
    const o = limitOrder('Buy', px(bid * 0.97));
    const c = await post('/v5/order/create', o);
    check(typeof c.orderId === 'string' && c.orderId.length > 0, 'create must return orderId', c);
    eq(c.orderLinkId, o.orderLinkId, 'orderLinkId echoed', c);
    const rt = await get('/v5/order/realtime', `category=linear&symbol=BTCUSDT&orderId=${c.orderId}`);
    eq(rt.list?.length, 1, 'realtime by orderId', rt);
    const x = rt.list[0];
    eq(x.orderStatus, 'New', 'orderStatus', x);
    eq(x.price, o.price, 'price', x);
    eq(Number(x.qty), 0.001, 'qty', x);
    eq(x.side, 'Buy', 'side', x);
    eq(x.timeInForce, 'GTC', 'timeInForce', x);
    for (const f of ['leavesQty', 'cumExecQty', 'cumExecValue', 'cumExecFee', 'createdTime', 'updatedTime']) check(isNumStr(x[f]), `order field ${f} must be a numeric string`, x);
    const byLink = await get('/v5/order/realtime', `category=linear&symbol=BTCUSDT&orderLinkId=${o.orderLinkId}`);
    eq(byLink.list?.[0]?.orderId, c.orderId, 'realtime by orderLinkId', byLink);
    // duplicate orderLinkId
    const dup = await rest('POST', '/v5/order/create', { body: o, signed: true });
    check(dup.json && dup.json.retCode !== 0, 'a second create with the same orderLinkId must fail', dup.text);
    // amend
    const np = px(bid * 0.96);
    const a = await post('/v5/order/amend', { category: 'linear', symbol: SYMBOL, orderId: c.orderId, price: np, qty: '0.002' });
    eq(a.orderId, c.orderId, 'amend orderId', a);
    const rt2 = await get('/v5/order/realtime', `category=linear&symbol=BTCUSDT&orderId=${c.orderId}`);
    eq(rt2.list[0].price, np, 'price after amend', rt2.list[0]);
    eq(Number(rt2.list[0].qty), 0.002, 'qty after amend', rt2.list[0]);
    const so = await simOrders(env.KEY);
    check(so.list.some((x) => x.orderId === c.orderId && x.account === env.KEY), '/sim/orders?account must list the open order with its account', so);
    // cancel
    const cc = await post('/v5/order/cancel', { category: 'linear', symbol: SYMBOL, orderLinkId: o.orderLinkId });
    eq(cc.orderId, c.orderId, 'cancel by orderLinkId', cc);
    const open = await get('/v5/order/realtime', `category=linear&symbol=BTCUSDT&openOnly=0`);
    check(!open.list.some((x) => x.orderId === c.orderId), 'cancelled order still listed as open (openOnly=0)', open);
    const hist = await get('/v5/order/realtime', `category=linear&symbol=BTCUSDT&openOnly=1&orderId=${c.orderId}`);
    eq(hist.list?.[0]?.orderStatus, 'Cancelled', 'status after cancel (openOnly=1)', hist);
    eq(hist.list[0].cancelType, 'CancelByUser', 'cancelType', hist.list[0]);
    const again = await rest('POST', '/v5/order/cancel', { body: { category: 'linear', symbol: SYMBOL, orderId: c.orderId }, signed: true });
    check(again.json && [110001, 110008].includes(again.json.retCode), 'cancel of a cancelled order: 110001 or 110008', again.text);
    await expectCode('POST', '/v5/order/amend', { body: { category: 'linear', symbol: SYMBOL, orderId: c.orderId, price: np }, signed: true }, again.json.retCode, 'amend of a cancelled order');
    await expectCode('POST', '/v5/order/cancel', { body: { category: 'linear', symbol: SYMBOL, orderId: 'no-such-order' }, signed: true }, 110001, 'cancel unknown order');
    await expectCode('POST', '/v5/order/amend', { body: { category: 'linear', symbol: SYMBOL, price: np }, signed: true }, 10001, 'amend without ids');
    ok('New → amended → Cancelled (CancelByUser); errors 110001/110008/10001');
  }

  step('create errors');
  {
    const bad = [
      [{ ...limitOrder('Buy', px(bid * 0.97)), side: 'Up' }, 10001, 'bad side'],
      [{ ...limitOrder('Buy', px(bid * 0.97)), orderType: 'Stop' }, 10001, 'bad orderType'],
      [{ ...limitOrder('Buy', px(bid * 0.97)), qty: undefined }, 10001, 'no qty'],
      [{ ...limitOrder('Buy', px(bid * 0.97)), price: undefined }, 10001, 'Limit without price'],
      [{ ...limitOrder('Buy', px(bid * 0.97)), timeInForce: 'XYZ' }, 10001, 'bad timeInForce'],
      [{ ...limitOrder('Buy', px(bid * 0.97)), category: 'spot' }, 10001, 'category spot'],
      [{ ...limitOrder('Buy', px(bid * 0.97)), symbol: undefined }, 10001, 'no symbol'],
      [{ ...limitOrder('Buy', px(bid * 0.97)), qty: '0.0015' }, 10001, 'qty off the step'],
      [{ ...limitOrder('Buy', px(bid * 0.97)), price: (bid * 0.97).toFixed(2) + '3' }, 10001, 'price off the tick'],
      [{ ...limitOrder('Buy', px(bid * 0.97)), orderLinkId: 'x'.repeat(37) }, 10001, 'orderLinkId of 37 chars'],
      [{ ...limitOrder('Buy', px(bid * 0.97)), qty: '50' }, 110007, 'qty beyond the balance'],
    ];
    for (const [b, code, what] of bad) {
      const r = await rest('POST', '/v5/order/create', { body: b, signed: true });
      if (code === 10001) check(r.status === 200 && r.json && r.json.retCode !== 0, `${what}: want an error retCode`, r.text);
      else eq(r.json?.retCode, code, what, r.text);
      await new Promise((res) => setTimeout(res, 110)); // stay under 10/s
    }
    ok(`${bad.length} bad creates refused`);
  }

  step('cancel-all');
  {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await post('/v5/order/create', limitOrder('Buy', px(bid * (0.95 - i / 100))))).orderId);
    const before = await simOrders(env.KEY);
    eq(before.count, 3, '/sim/orders count before cancel-all', before);
    eq(before.list.length, 3, '/sim/orders list length', before);
    const r = await post('/v5/order/cancel-all', { category: 'linear', symbol: SYMBOL });
    eq(r.list?.length, 3, 'cancel-all list length', r);
    check(ids.every((id) => r.list.some((x) => x.orderId === id)), 'cancel-all must list every order', r);
    eq((await simOrders(env.KEY)).count, 0, '/sim/orders count after cancel-all');
    await expectCode('POST', '/v5/order/cancel-all', { body: { category: 'linear' }, signed: true }, 10001, 'cancel-all without symbol or settleCoin');
    const r2 = await post('/v5/order/cancel-all', { category: 'linear', settleCoin: 'USDT' });
    eq(r2.list?.length, 0, 'cancel-all by settleCoin with nothing open', r2);
    ok('3 orders cancelled, list returned');
  }

  step('create-batch');
  {
    const req = [limitOrder('Buy', px(bid * 0.95)), { ...limitOrder('Buy', px(bid * 0.95)), side: 'Nope' }, limitOrder('Sell', px(ask * 1.05))];
    const r = await rest('POST', '/v5/order/create-batch', { body: { category: 'linear', request: req }, signed: true });
    eq(r.json?.retCode, 0, 'batch retCode', r.text);
    const list = r.json.result.list, ext = r.json.retExtInfo.list;
    eq(list?.length, 3, 'result.list length', r.json);
    eq(ext?.length, 3, 'retExtInfo.list length', r.json);
    eq(ext.map((e) => e.code === 0).join(), 'true,false,true', 'per-item codes', ext);
    check(list[0].orderId && list[2].orderId && !list[1].orderId, 'orderIds of the good items only', list);
    eq(list[0].orderLinkId, req[0].orderLinkId, 'item 0 orderLinkId', list);
    eq((await simOrders(env.KEY)).count, 2, 'open orders after the batch');
    await expectCode('POST', '/v5/order/create-batch', { body: { category: 'linear', request: Array.from({ length: 11 }, () => limitOrder('Buy', px(bid * 0.9))) }, signed: true }, 10001, '11 orders in a batch');
    await expectCode('POST', '/v5/order/create-batch', { body: { category: 'linear', request: [] }, signed: true }, 10001, 'empty batch');
    await post('/v5/order/cancel-all', { category: 'linear', symbol: SYMBOL });
    ok('2 of 3 placed; per-item codes; 11 and 0 refused');
  }

  step('position and wallet');
  {
    const p = await get('/v5/position/list', 'category=linear&symbol=BTCUSDT');
    eq(p.list?.length, 1, 'position list length', p);
    const x = p.list[0];
    eq(x.symbol, SYMBOL, 'symbol', x);
    eq(x.side, '', 'side of a flat position', x);
    eq(Number(x.size), 0, 'size', x);
    for (const f of ['size', 'avgPrice', 'positionValue', 'markPrice', 'unrealisedPnl', 'cumRealisedPnl']) check(typeof x[f] === 'string', `position ${f} must be a string`, x);
    check(Number.isInteger(x.positionIdx), 'positionIdx must be an integer', x);
    await expectCode('GET', '/v5/position/list', { query: 'category=linear', signed: true }, 10001, 'position list without symbol or settleCoin');
    const w = await get('/v5/account/wallet-balance', 'accountType=UNIFIED');
    const a = w.list?.[0];
    check(a && isNumStr(a.totalEquity) && isNumStr(a.totalAvailableBalance), 'totalEquity/totalAvailableBalance strings', w);
    const usdt = a.coin?.find((c) => c.coin === 'USDT');
    check(usdt && isNumStr(usdt.walletBalance) && isNumStr(usdt.equity), 'USDT coin with walletBalance/equity strings', w);
    eq(Number(usdt.walletBalance), 100000, 'initial USDT balance of KEY', usdt);
    const w2 = await get('/v5/account/wallet-balance', 'accountType=UNIFIED', { key: KEY2, secret: SECRET2 });
    eq(Number(w2.list[0].coin.find((c) => c.coin === 'USDT').walletBalance), 50000, 'initial USDT balance of KEY2', w2);
    await expectCode('GET', '/v5/account/wallet-balance', { query: 'accountType=SPOT', signed: true }, 10001, 'accountType SPOT');
    ok('flat position, wallets 100000 and 50000');
  }

  step('market order: position, fee, wallet');
  {
    const w0 = Number((await get('/v5/account/wallet-balance', 'accountType=UNIFIED')).list[0].coin.find((c) => c.coin === 'USDT').walletBalance);
    const o = { category: 'linear', symbol: SYMBOL, side: 'Buy', orderType: 'Market', qty: '0.01', orderLinkId: `mkt-${Date.now()}` };
    const c = await post('/v5/order/create', o);
    let x;
    for (let i = 0; i < 50; i++) {
      const h = await get('/v5/order/realtime', `category=linear&symbol=BTCUSDT&openOnly=1&orderId=${c.orderId}`);
      x = h.list[0];
      if (x && x.orderStatus === 'Filled') break;
      await new Promise((res) => setTimeout(res, 100));
    }
    eq(x?.orderStatus, 'Filled', 'market order status', x);
    eq(Number(x.cumExecQty), 0.01, 'cumExecQty', x);
    const value = Number(x.cumExecValue), fee = Number(x.cumExecFee);
    check(value > 0 && Math.abs(fee - value * 0.00055) < 0.01, `taker fee must be 0.055% of ${value}`, x);
    const p = (await get('/v5/position/list', 'category=linear&symbol=BTCUSDT')).list[0];
    eq(p.side, 'Buy', 'position side', p);
    eq(Number(p.size), 0.01, 'position size', p);
    const w1 = Number((await get('/v5/account/wallet-balance', 'accountType=UNIFIED')).list[0].coin.find((c) => c.coin === 'USDT').walletBalance);
    check(Math.abs(w0 - fee - w1) < 0.01, `wallet must drop by the fee ${fee}: ${w0} → ${w1}`);
    const close = await post('/v5/order/create', { ...o, side: 'Sell', reduceOnly: true, orderLinkId: `mkt2-${Date.now()}` });
    check(close.orderId, 'closing order', close);
    let p2;
    for (let i = 0; i < 30; i++) {
      p2 = (await get('/v5/position/list', 'category=linear&symbol=BTCUSDT')).list[0];
      if (Number(p2.size) === 0) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    eq(Number(p2.size), 0, 'position size after the reduce-only sell', p2);
    ok(`filled, fee ${fee}, wallet ${w0} → ${w1}, flat again`);
  }

  step('disconnected-cancel-all arming');
  {
    await post('/v5/order/disconnected-cancel-all', { timeWindow: 3, product: 'DERIVATIVES' });
    await post('/v5/order/disconnected-cancel-all', { timeWindow: 300 });
    for (const w of [2, 301, 'x']) await expectCode('POST', '/v5/order/disconnected-cancel-all', { body: { timeWindow: w }, signed: true }, 10001, `timeWindow ${w}`);
    await expectCode('POST', '/v5/order/disconnected-cancel-all', { body: {}, signed: true }, 10001, 'no timeWindow');
    ok('3 and 300 accepted; 2, 301, x, missing refused');
  }

  step('rate limit 10006');
  {
    await new Promise((res) => setTimeout(res, 1100)); // a fresh window
    const one = () => rest('POST', '/v5/order/cancel', { body: { category: 'linear', symbol: SYMBOL, orderId: 'nope' }, signed: true });
    const rs = await Promise.all(Array.from({ length: 13 }, one));
    const codes = rs.map((r) => r.json?.retCode);
    eq(codes.filter((c) => c === 110001).length, 10, 'requests let through in one second (limit 10)', codes);
    eq(codes.filter((c) => c === 10006).length, 3, 'requests answered 10006', codes);
    const limited = rs.find((r) => r.json?.retCode === 10006);
    eq(limited.status, 200, 'HTTP status of a 10006', limited.text);
    eq(limited.headers.get('x-bapi-limit-status'), '0', 'X-Bapi-Limit-Status when limited', Object.fromEntries(limited.headers));
    // per endpoint and per account: others still go through in the same second
    await expectCode('POST', '/v5/order/amend', { body: { category: 'linear', symbol: SYMBOL, orderId: 'nope', price: '1' }, signed: true }, 110001, 'amend while cancel is limited');
    await expectCode('POST', '/v5/order/cancel', { body: { category: 'linear', symbol: SYMBOL, orderId: 'nope' }, signed: true, key: KEY2, secret: SECRET2 }, 110001, 'cancel of another account while KEY is limited');
    await new Promise((res) => setTimeout(res, 1100));
    await expectCode('POST', '/v5/order/cancel', { body: { category: 'linear', symbol: SYMBOL, orderId: 'nope' }, signed: true }, 110001, 'cancel after the window rolled');
    ok(`codes ${codes.join(',')}`);
  }

  step('/sim endpoints and /metrics');
  {
    const st = await simGet('/sim/stats');
    for (const k of ['connections', 'messages', 'rest', 'orders', 'faults_fired']) check(st[k] && typeof st[k] === 'object', `/sim/stats.${k} missing`, st);
    check(st.rest.requests > 50 && st.rest.signature_errors >= 8 && st.rest.rate_limited >= 3, '/sim/stats.rest counters must reflect this run', st.rest);
    check(st.orders.created >= 6 && st.orders.cancelled >= 5, '/sim/stats.orders counters', st.orders);
    check(!JSON.stringify(st).includes(env.SECRET), 'a secret in /sim/stats');
    const m = await rest('GET', '/metrics');
    eq(m.status, 200, '/metrics status', m.text);
    check(/^# TYPE bybit_sim_rest_requests_total counter$/m.test(m.text), '/metrics: TYPE line of bybit_sim_rest_requests_total', m.text.slice(0, 800));
    const mr = /^bybit_sim_rest_requests_total (\d+)/m.exec(m.text);
    check(mr && Number(mr[1]) >= st.rest.requests, 'bybit_sim_rest_requests_total sample', m.text.slice(0, 800));
    check(/^bybit_sim_ws_connections\{kind="public"\} \d+/m.test(m.text), 'bybit_sim_ws_connections{kind="public"}', m.text.slice(0, 800));
    check(/^bybit_sim_faults_fired_total\{kind="ws_drop"\} 0/m.test(m.text), 'bybit_sim_faults_fired_total{kind="ws_drop"}', m.text);
    for (const line of m.text.split('\n')) check(line === '' || line.startsWith('#') || /^[a-z_]+(\{[^}]*\})? -?[0-9.e+]+$/.test(line), 'a /metrics line that is not Prometheus text', line);
    const health = await rest('GET', '/health');
    eq(health.status, 200, '/health', health.text);
    // reset: orders gone, wallet back
    await post('/v5/order/create', limitOrder('Buy', px(bid * 0.9)));
    eq((await simOrders()).count, 1, '/sim/orders count (all accounts) before reset');
    const rr = await rest('POST', '/sim/reset');
    eq(rr.status, 200, 'POST /sim/reset', rr.text);
    eq((await simOrders()).count, 0, '/sim/orders count after reset');
    const w = await get('/v5/account/wallet-balance', 'accountType=UNIFIED');
    eq(Number(w.list[0].coin.find((c) => c.coin === 'USDT').walletBalance), 100000, 'balance after reset', w);
    eq((await rest('GET', '/sim/reset')).status, 405, 'GET /sim/reset');
    eq((await rest('GET', '/sim/nope')).status, 404, 'GET /sim/nope');
    ok('stats, metrics, health, reset');
  }
});
