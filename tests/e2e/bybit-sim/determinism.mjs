// Faults from the configuration, and determinism: simulators A and B (same seed, same faults
// from --set) answer a scripted sequence of requests with the same statuses and count the same
// faults_fired; C (another seed, the same faults from a YAML file) differs. ws_drop from the
// configuration closes connections with its code.
// Env: BASE_A, BASE_B, BASE_C (and WSBASE_A).
import { check, eq, ok, rest, run, show, simGet, step, Ws } from './lib.mjs';

const { BASE_A, BASE_B, BASE_C, WSBASE_A } = process.env;
const seq = async (base) => {
  const out = [];
  for (let i = 0; i < 60; i++) {
    const r = await rest('GET', '/v5/market/time', { base });
    out.push(r.status === 200 ? `${r.json?.retCode}` : `H${r.status}`);
  }
  return out.join(' ');
};

run(async () => {
  step('faults from --set and YAML fire');
  const a = await seq(BASE_A), b = await seq(BASE_B), c = await seq(BASE_C);
  for (const [n, s] of [['A', a], ['B', b], ['C', c]]) {
    check(s.includes('H502') && s.includes('10016') && s.includes('0'), `${n}: want a mix of HTTP 502 (http_5xx status 502), 10016 and OK`, s);
  }
  ok(`A: ${a}`);

  step('same seed, same sequence');
  eq(b, a, 'statuses of B (same seed as A)');
  const fa = (await simGet('/sim/stats', BASE_A)).faults_fired, fb = (await simGet('/sim/stats', BASE_B)).faults_fired;
  for (const k of ['http_5xx', 'retcode_10016']) eq(fb[k], fa[k], `faults_fired.${k} of B vs A`, { A: fa, B: fb });
  check(c !== a, 'C (another seed) answered exactly like A: the seed does not matter?', c);
  ok(`fired A ${show(fa)}; C differs`);

  step('ws_drop from the configuration');
  const w = await Ws.open('/v5/public/linear', 'public-A', { base: WSBASE_A });
  const cl = await w.waitClosed(3500, 'ws_drop every 1s from --set');
  eq(cl.code, 4001, 'close code from faults.ws_drop.code', cl);
  ok('closed with 4001');
}, 60000);
