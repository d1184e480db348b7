// The kiosk for a visitor (real Chromium): the name is typed on the screen's
// own keyboard (Latin and Cyrillic, switch, space, backspace, big keys), the
// kiosk and the tracking page name the branch once, in the visitor's
// language, and a company numbering tickets by service shows each ticket's
// source as a small mark (kiosk ticket, tracking page, operator's list).
//
//   IDORA_BIN=target/debug/idora node tests/browser/kiosk.test.mjs

import assert from "node:assert/strict";
import { PASSWORD, run, signIn } from "./lib.mjs";

async function api(base, method, path, token, body) {
  const r = await fetch(`${base}/c/demo/api/v1${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

await run("kiosk: on-screen keyboard, one branch name, the source mark", async (server, browser) => {
  const base = server.base;
  const errors = [];
  const admin = (await api(base, "POST", "/auth/login", null, { username: "admin", password: PASSWORD })).body.access_token;
  const branch = (await api(base, "GET", "/branches", admin)).body[0].id;
  // Open around the clock (the test may run at night); tickets numbered by service.
  assert.equal((await api(base, "PATCH", `/branches/${branch}`, admin, { hours: null })).status, 200);
  const rules = (await api(base, "GET", "/queue-settings", admin)).body;
  assert.equal((await api(base, "PUT", "/queue-settings", admin, { ...rules, numbering: "by_service" })).status, 200);

  const ctx = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: "ru-RU" });
  await ctx.addInitScript(() => { window.print = () => {}; });
  const kiosk = await ctx.newPage();
  kiosk.on("pageerror", (e) => errors.push(e.message));
  kiosk.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  await kiosk.goto(`${base}/c/demo/kiosk/${branch}?lang=ru`);
  await kiosk.locator("[data-kiosk][data-ready]").waitFor();

  // The branch, once, in Russian.
  assert.equal((await kiosk.locator(".kiosk-head .q-brand-text span").textContent()).trim(), "Головной офис");
  assert.ok(!(await kiosk.locator("body").innerText()).includes("Bosh ofis"), "no Uzbek branch name on a Russian kiosk");

  await kiosk.locator("button.kiosk-service", { hasText: "Касса" }).click();
  await kiosk.locator("[data-step=details]").waitFor();
  const osk = kiosk.locator("[data-osk]");
  assert.ok(!(await osk.isVisible()), "the keyboard waits until the name field is touched");

  // Touching the name field opens the keyboard: Cyrillic first on a Russian kiosk.
  await kiosk.locator("#kiosk-name").click();
  await osk.waitFor({ state: "visible" });
  const layout = (name) => kiosk.locator(`[data-osk] [data-layout=${name}]`);
  assert.ok(await layout("cyrillic").isVisible());
  assert.ok(!(await layout("latin").isVisible()));
  const key = (c) => kiosk.locator(`[data-osk] [data-layout]:not([hidden]) [data-char="${c}"]`);
  const ctl = (k) => kiosk.locator(`[data-osk] [data-layout]:not([hidden]) [data-osk-key=${k}]`);
  // Big enough for a finger: at least 56 px each way.
  for (const el of [key("Н"), key("Ў"), ctl("back"), ctl("switch"), ctl("done")]) {
    const box = await el.boundingBox();
    assert.ok(box && box.width >= 56 && box.height >= 56, `a key of ${box && box.width}x${box && box.height} px`);
  }
  for (const c of ["Н", "И", "Л"]) await key(c).click();
  assert.equal(await kiosk.locator("#kiosk-name").inputValue(), "Нил", "a name starts with a capital, the rest small");
  assert.equal((await kiosk.locator("[data-osk-preview]").textContent()), "Нил", "the keyboard shows what was typed");
  // The switch key: Latin letters.
  await ctl("switch").click();
  assert.ok(await layout("latin").isVisible());
  assert.ok(!(await layout("cyrillic").isVisible()));
  await ctl("space").click();
  await key("A").click();
  await key("Z").click();
  assert.equal(await kiosk.locator("#kiosk-name").inputValue(), "Нил Az");
  await ctl("back").click();
  await ctl("back").click();
  await ctl("switch").click();
  for (const c of ["У", "Ф", "А", "Р"]) await key(c).click();
  assert.equal(await kiosk.locator("#kiosk-name").inputValue(), "Нил Уфар");
  await ctl("done").click();
  await osk.waitFor({ state: "hidden" });

  // The ticket: the branch in Russian, the source mark, the name kept.
  await kiosk.locator("button[data-take=full]").click();
  await kiosk.locator("[data-step=ticket]:not([hidden])").waitFor();
  const number = (await kiosk.locator("[data-step=ticket] [data-t=number]").textContent()).trim();
  assert.match(number, /^[A-Z0-9]{1,3}-\d{3}$/);
  assert.ok(!number.startsWith("K-"), `numbered by service, got ${number}`);
  assert.equal((await kiosk.locator("[data-step=ticket] .ticket-branch").textContent()).trim(), "Головной офис");
  const mark = kiosk.locator("[data-step=ticket] .ticket-source");
  assert.ok(await mark.isVisible(), "the kiosk ticket shows its source");
  assert.equal((await mark.textContent()).trim(), "Киоск");
  // The tracking page, on the visitor's Russian phone: one branch name, in Russian, and the mark.
  const track = (await kiosk.locator("[data-step=ticket] img.ticket-qr").getAttribute("src")).replace(/\/qr\.svg$/, "");
  const phone = await browser.newContext({ viewport: { width: 360, height: 800 }, locale: "ru-RU" });
  const tp = await phone.newPage();
  tp.on("pageerror", (e) => errors.push(e.message));
  await tp.goto(base + track);
  const where = await tp.locator(".track-where").innerText();
  assert.ok(where.includes("Головной офис"), where);
  assert.ok(!where.includes("Bosh ofis"), `one name, in Russian: ${where}`);
  assert.equal((where.match(/Головной офис/g) || []).length, 1, where);
  assert.equal((await tp.locator(".track-source .source-mark").textContent()).trim(), "Киоск");

  // The operator's list marks the ticket too.
  const opCtx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const op = await opCtx.newPage();
  op.on("pageerror", (e) => errors.push(e.message));
  await signIn(op, `${base}/c/demo/login`, "operator");
  await op.goto(`${base}/c/demo/operator`);
  const row = op.locator("tr[data-ticket]", { hasText: number });
  await row.waitFor();
  assert.ok(await row.locator(".source-mark").isVisible(), "the operator sees the ticket's source");
  assert.ok((await row.innerText()).includes("Нил Уфар"), "the name typed on the kiosk's keyboard reaches the operator");

  // Numbered by source again: the number says it, no mark.
  assert.equal((await api(base, "PUT", "/queue-settings", admin, { ...rules, numbering: "by_source" })).status, 200);
  await tp.reload();
  assert.equal(await tp.locator(".track-source").count(), 0, "by source, the number says where it came from");
  await op.reload();
  assert.equal(await op.locator("tr[data-ticket] .source-mark").count(), 0);

  assert.deepEqual(errors, [], "no script or console errors");
});
