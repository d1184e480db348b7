// Shared helpers of the browser tests: a fresh demo server on a free port,
// Chromium, and signing in.

import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const PASSWORD = "idora-demo";

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.unref();
    s.on("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/// Starts `idora serve --demo` (IDORA_BIN) with a fresh data directory and
/// waits for /readyz. `stop()` ends it and removes the directory.
/// The demo starts bare (no history) unless `history` is set: the tests count
/// from zero; the dashboards' test wants the weeks of history.
export async function startServer(timeoutMs = 60_000, { history = false } = {}) {
  const bin = resolve(process.env.IDORA_BIN || "target/debug/idora");
  const dir = mkdtempSync(join(tmpdir(), "idora-browser-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const logFile = join(dir, "server.log");
  const log = openSync(logFile, "w");
  const child = spawn(bin, ["serve", "--demo", ...(history ? [] : ["--demo-bare"]), "--data", join(dir, "data"), "--listen", `127.0.0.1:${port}`], {
    stdio: ["ignore", log, log],
  });
  let spawnError = null;
  child.on("error", (e) => { spawnError = e; });
  const alive = () => spawnError === null && child.exitCode === null && child.signalCode === null;
  const kill = () => { if (alive()) child.kill("SIGTERM"); };
  process.on("exit", kill);
  const server = {
    base,
    logTail(lines = 40) {
      try { return readFileSync(logFile, "utf8").split("\n").slice(-lines).join("\n"); } catch { return ""; }
    },
    async stop() {
      kill();
      if (alive()) await new Promise((r) => child.once("exit", r));
      child.removeAllListeners("error");
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (!alive()) {
      const tail = server.logTail();
      await server.stop();
      throw new Error(`idora (${bin}) did not start: ${spawnError ? spawnError.message : `exit code ${child.exitCode}`}\n${tail}`);
    }
    try {
      if ((await fetch(`${base}/readyz`)).ok) return server;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) {
      await server.stop();
      throw new Error(`idora did not become ready at ${base} within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

/// Signs in on a login page and waits until the browser has left it.
export async function signIn(page, loginUrl, username, password = PASSWORD) {
  await page.goto(loginUrl);
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", password);
  await Promise.all([page.waitForURL((u) => !u.pathname.endsWith("/login")), page.click("form button[type=submit]")]);
}

/// Runs `body(server, browser)` and reports: exit code 1 on any failure,
/// with the server's log; the server and the browser always stop.
export async function run(name, body, options = {}) {
  let server;
  let browser;
  try {
    server = await startServer(undefined, options);
    browser = await launchBrowser();
    await body(server, browser);
    console.log(`ok - ${name}`);
  } catch (e) {
    console.error(`FAILED - ${name}:`, e && e.stack ? e.stack : e);
    if (server) console.error("--- server log (tail) ---\n" + server.logTail());
    process.exitCode = 1;
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
  }
}
