// Drives headless Chromium through its DevTools protocol and checks a page the way a person
// reads it. No npm package: Node's own WebSocket (node --experimental-websocket, Node >= 20.10)
// and fetch; loopback only.
//
//   node --experimental-websocket cdp.mjs live   URL SCREENSHOT.png
//   node --experimental-websocket cdp.mjs report URL SCREENSHOT.png VERDICT.json
//
// Prints "ok: ..." lines and exits 0, or prints "FAIL: ..." and exits 1. Every wait is bounded.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [mode, url, shot, verdictPath] = process.argv.slice(2);
const CHROME = process.env.CHROMIUM || "chromium";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let chrome, profile;

function fail(msg) {
  console.log("FAIL: " + msg);
  finish(1);
}
function finish(code) {
  try { chrome && chrome.kill("SIGKILL"); } catch (e) { /* gone */ }
  try { profile && rmSync(profile, { recursive: true, force: true }); } catch (e) { /* kept */ }
  process.exit(code);
}
setTimeout(() => fail("timed out after 90 s"), 90000).unref();

async function launch() {
  profile = mkdtempSync(join(tmpdir(), "soak-cdp-"));
  chrome = spawn(CHROME, ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-extensions", "--disable-background-networking", "--disable-sync",
    "--disable-component-update", "--no-default-browser-check", "--mute-audio",
    "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
    "--user-data-dir=" + profile, "--window-size=1280,1800", "about:blank"],
    { stdio: ["ignore", "ignore", "pipe"] });
  chrome.stderr.on("data", () => {}); // chromium's own chatter
  const portFile = join(profile, "DevToolsActivePort");
  for (let i = 0; i < 300 && !existsSync(portFile); i++) await sleep(100);
  if (!existsSync(portFile)) fail("chromium did not start (no DevToolsActivePort)");
  const port = readFileSync(portFile, "utf8").split("\n")[0];
  let pages = [];
  for (let i = 0; i < 300; i++) { // 30 s: a loaded machine starts chromium slowly
    try {
      pages = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json())
        .filter((t) => t.type === "page");
    } catch (e) { /* not listening yet */ }
    if (pages.length) break;
    await sleep(100);
  }
  if (!pages.length) fail("chromium has no page");
  return pages[0].webSocketDebuggerUrl;
}

// A minimal CDP session over one page's WebSocket.
function session(wsUrl) {
  const ws = new WebSocket(wsUrl);
  let id = 0;
  const pending = new Map(), listeners = [];
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.id && pending.has(m.id)) {
      const { res, rej } = pending.get(m.id);
      pending.delete(m.id);
      m.error ? rej(new Error(m.error.message)) : res(m.result);
    } else if (m.method) {
      for (const l of listeners) l(m);
    }
  };
  const opened = new Promise((res, rej) => { ws.onopen = res; ws.onerror = rej; });
  return {
    opened,
    send(method, params = {}) {
      const i = ++id;
      ws.send(JSON.stringify({ id: i, method, params }));
      return new Promise((res, rej) => pending.set(i, { res, rej }));
    },
    on(fn) { listeners.push(fn); },
  };
}

async function main() {
  const s = session(await launch());
  await s.opened;
  const errors = [];
  s.on((m) => {
    if (m.method === "Runtime.exceptionThrown")
      errors.push(m.params.exceptionDetails.exception?.description || m.params.exceptionDetails.text);
    if (m.method === "Runtime.consoleAPICalled" && m.params.type === "error")
      errors.push(m.params.args.map((a) => a.value ?? a.description).join(" "));
    if (m.method === "Log.entryAdded" && m.params.entry.level === "error")
      errors.push(m.params.entry.text + " " + (m.params.entry.url || ""));
  });
  await s.send("Runtime.enable");
  await s.send("Log.enable");
  await s.send("Page.enable");
  await s.send("Emulation.setDeviceMetricsOverride",
    { width: 1280, height: 1800, deviceScaleFactor: 1, mobile: false });
  await s.send("Page.navigate", { url });
  const js = async (expr) => {
    const r = await s.send("Runtime.evaluate", { expression: expr, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error(expr + ": " + r.exceptionDetails.text);
    return r.result.value;
  };
  const until = async (what, expr, ms) => {
    for (const t0 = Date.now(); Date.now() - t0 < ms; await sleep(200)) {
      try { if (await js(expr)) return; } catch (e) { /* not loaded yet */ }
    }
    fail(what + " (waited " + ms / 1000 + " s)");
  };
  // the points each chart plots, from the DOM: path vertices and dots of its series
  const pointsJs = `[...document.querySelectorAll("svg.chart")].map((svg) => ({
      label: svg.getAttribute("aria-label"),
      points: [...svg.querySelectorAll("path[d]")].reduce((n, p) =>
        n + (p.getAttribute("d").match(/[ML]/g) || []).length, 0) +
        svg.querySelectorAll("circle").length + svg.querySelectorAll("rect[fill]:not([fill=none]) title").length }))`;
  const charts = async () => js(pointsJs);
  const screenshot = async () => {
    const r = await s.send("Page.captureScreenshot", { format: "png", captureBeyondViewport: true });
    writeFileSync(shot, Buffer.from(r.data, "base64"));
    console.log("ok: screenshot " + shot);
  };

  if (mode === "live") {
    await js("window.__soakMark = 1");
    const want = ["memory", "CPU", "File descriptors and threads", "Processes and zombies",
      "Disk: artifacts folder", "Disk: free space", "timeline"];
    await until("the live page draws its charts",
      `document.querySelectorAll("#charts svg.chart").length >= ${want.length}`, 30000);
    await until("every chart has plotted points",
      `(${pointsJs}).filter((c) => c.points > 0).length >= ${want.length}`, 20000);
    for (const c of await charts()) {
      if (!want.includes(c.label)) continue;
      if (c.points < 1) fail("chart '" + c.label + "' has no plotted points");
      console.log(`ok: chart '${c.label}' plots ${c.points} points`);
    }
    await until("the gate table shows the crash",
      `[...document.querySelectorAll("#gates tr")].some((r) => r.dataset.gate === "crashes" &&
         r.cells[3].textContent === "fail" && parseFloat(r.cells[2].textContent) >= 1)`, 30000);
    console.log("ok: the gate table shows the crash (crashes: fail)");
    const n0 = +(await js(`document.getElementById("samples").textContent`));
    const d0 = await js(`document.querySelector("#charts svg.chart path[d]").getAttribute("d")`);
    await until("a later sample appears without a reload",
      `+document.getElementById("samples").textContent > ${n0} &&
       document.querySelector("#charts svg.chart path[d]").getAttribute("d") !== ${JSON.stringify(d0)}`,
      15000);
    if ((await js("window.__soakMark")) !== 1) fail("the page was reloaded");
    console.log(`ok: the page updates without a reload (samples ${n0} -> ` +
      (await js(`document.getElementById("samples").textContent`)) + ")");
    const log = await js(`document.getElementById("log").textContent`);
    if (!/\S/.test(log)) fail("no log lines on the page");
    console.log("ok: the log tail shows " + log.split("\n").length + " lines");
  } else if (mode === "report") {
    const v = JSON.parse(readFileSync(verdictPath, "utf8"));
    await until("the report loads", `document.readyState === "complete"`, 10000);
    const banner = await js(`document.querySelector(".banner").textContent`);
    if (banner !== (v.pass ? "PASS" : "FAIL")) fail(`the banner says ${banner}, verdict.json pass is ${v.pass}`);
    console.log("ok: the verdict reads " + banner);
    // what a person sees first: the verdict comes before every other section
    const first = await js(`document.querySelector("h2").id`);
    if (first !== "verdict") fail("the first section is '" + first + "', not the verdict");
    const gate = v.gates.find((g) => g.name === "crashes");
    const meta = await js(`document.querySelector(".meta").textContent`);
    const m = meta.match(/crashes and hangs: (\d+)/);
    const shown = await js(`document.querySelectorAll("#crashes ~ h3[id^=crash-]").length`);
    const rows = await js(`document.querySelectorAll("tr.crash").length`);
    const cell = await js(`[...document.querySelectorAll("#verdict ~ table tr")].find((r) =>
        r.cells[0] && r.cells[0].textContent.startsWith("crashes"))?.cells[2].textContent`);
    if (!gate || !m) fail("no crash count in the report or in verdict.json");
    if (+m[1] !== gate.value || parseFloat(cell) !== gate.value || shown !== gate.value)
      fail(`crash counts differ: verdict.json ${gate.value}, head ${m[1]}, gate row ${cell}, sections ${shown}`);
    console.log(`ok: crashes ${gate.value} in verdict.json, the head, the gate row and the crash sections`);
    // a planned stop (soak's own SIGTERM at the end) is listed, but not as a crash
    if (rows !== gate.value) fail(`${rows} event rows drawn as crashes, verdict.json says ${gate.value}`);
    const stop = await js(`(() => {
        const rows = [...document.querySelectorAll("tr")].filter((r) => r.cells.length === 5);
        const i = rows.findIndex((r) => r.cells[2].textContent === "stop" &&
                                        /duration reached/.test(r.cells[3].textContent));
        const exit = rows.slice(i + 1).find((r) => r.cells[2].textContent === "exit");
        return i < 0 ? "no stop row" : !exit ? "no exit after the stop" :
               exit.classList.contains("crash") || rows[i].classList.contains("crash") ? "drawn as a crash" : "";
      })()`);
    if (stop) fail("the planned stop: " + stop);
    console.log("ok: the planned stop is listed, not as a crash");
    const mem = (await charts()).find((c) => c.label === "memory");
    if (!mem || mem.points < 1) fail("no memory chart with points");
    console.log(`ok: the memory chart plots ${mem.points} points`);
    const link = await js(`[...document.querySelectorAll("#verdict ~ table a")].map((a) => a.getAttribute("href")).join(" ")`);
    if (!v.pass && !/#crashes/.test(link)) fail("the failing crashes gate does not link to its evidence");
  } else {
    fail("mode must be live or report");
  }
  await screenshot();
  if (errors.length) fail("console errors: " + errors.join(" | "));
  console.log("ok: no console errors");
  finish(0);
}
main().catch((e) => fail(e.stack || String(e)));
