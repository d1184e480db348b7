// The electronic queue in a real browser (Chromium via playwright-core): a
// customer takes a ticket on the kiosk page and sees its number and QR; the
// operator, on the operator page, calls the next customer; the display board,
// open all along on a TV, shows the call without reloading.
//
//   IDORA_BIN=target/debug/idora node tests/browser/queue.test.mjs
//
// Starts its own `idora serve --demo` on a free port with a fresh data
// directory, and stops it at the end, also when a check fails.

import assert from "node:assert/strict";
import { PASSWORD, run, signIn } from "./lib.mjs";

function watchErrors(page, errors) {
  page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`));
}

async function api(base, method, path, token, body) {
  const r = await fetch(`${base}/c/demo/api/v1${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

await run("queue: kiosk ticket, operator calls it, the board shows it live", async (server, browser) => {
  const base = server.base;
  const errors = [];

  // The head office keeps fixed hours; the test may run at night, so open it around the clock.
  const login = await api(base, "POST", "/auth/login", null, { username: "admin", password: PASSWORD });
  assert.equal(login.status, 200);
  const admin = login.body.access_token;
  const branches = await api(base, "GET", "/branches", admin);
  const branch = branches.body[0].id;
  assert.equal((await api(base, "PATCH", `/branches/${branch}`, admin, { hours: null })).status, 200);

  // The board on a TV in the hall, open before anyone comes.
  const tvCtx = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
  const tv = await tvCtx.newPage();
  watchErrors(tv, errors);
  await tv.goto(`${base}/c/demo/display/${branch}`);
  await tv.getByText("Oxirgi chaqiruvlar").waitFor();
  await tv.locator("[data-display][data-live=ready]").waitFor({ timeout: 10_000 });
  await tv.evaluate(() => { window.__notReloaded = true; });

  // A customer at the kiosk: Kassa, skips name and phone, gets a ticket.
  const kioskCtx = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
  const kiosk = await kioskCtx.newPage();
  watchErrors(kiosk, errors);
  await kiosk.addInitScript(() => { window.print = () => {}; });
  await kiosk.goto(`${base}/c/demo/kiosk/${branch}`);
  await kiosk.locator("button.kiosk-service", { hasText: "Kassa" }).click();
  await kiosk.locator("[data-step=details]").waitFor();
  await kiosk.locator("button[data-take=skip]").click();
  const number = kiosk.locator("[data-step=ticket] [data-t=number]");
  await number.waitFor();
  const ticket = (await number.textContent()).trim();
  assert.match(ticket, /^K-\d{3}$/, `a kiosk number, got ${ticket}`);
  assert.equal((await kiosk.locator("[data-step=ticket] [data-t=service]").textContent()).trim(), "Kassa");
  const qr = kiosk.locator("[data-step=ticket] img.ticket-qr");
  await qr.waitFor();
  await kiosk.waitForFunction(() => {
    const img = document.querySelector("[data-step=ticket] img.ticket-qr");
    return img && img.complete && img.naturalWidth > 0;
  });
  assert.match(await qr.getAttribute("src"), /^\/t\/demo-[0-9a-f]{32}\/qr\.svg$/);

  // The operator at window 1 calls the next customer.
  const opCtx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const op = await opCtx.newPage();
  watchErrors(op, errors);
  await signIn(op, `${base}/c/demo/login`, "operator");
  await op.goto(`${base}/c/demo/operator`);
  await op.locator(".op-list, table").first().getByText(ticket).waitFor();
  await Promise.all([op.waitForNavigation(), op.locator("button.op-call").click()]);
  assert.equal((await op.locator(".op-current .op-number").textContent()).trim(), ticket, "the operator sees whom they called");

  // The board shows the call, big, with the window, and has not reloaded.
  await tv.locator(".display-now-number", { hasText: ticket }).waitFor({ timeout: 10_000 });
  const win = tv.locator(".display-now-window");
  assert.equal((await win.evaluate((e) => e.firstChild.textContent)).trim(), "1-oyna");
  // The head office's board speaks Uzbek and, beneath it, Russian.
  assert.equal((await win.locator(".display-l2").textContent()).trim(), "Окно 1");
  await tv.locator(`[data-calls] tr[data-number="${ticket}"]`).waitFor();
  assert.equal(await tv.evaluate(() => window.__notReloaded === true), true, "the board updated without a reload");

  assert.deepEqual(errors, [], "no script errors");
});
