// A client's request on a phone (real Chromium, 390 px): they pick a
// category, fill its form with a photo and land on the status page, which
// follows the request live: a message written from another tab (and a
// staff reply through the staff API) appears without a reload, an internal
// note never does; the client writes back from the page.
//
//   IDORA_BIN=target/debug/idora node tests/browser/request.test.mjs

import assert from "node:assert/strict";
import { PASSWORD, run } from "./lib.mjs";

const PHONE = { viewport: { width: 390, height: 844 }, locale: "ru-RU", isMobile: true, hasTouch: true };
// A 1×1 PNG.
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");

async function api(base, method, path, token, body) {
  const r = await fetch(`${base}/c/demo/api/v1${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = text; }
  return { status: r.status, body: json };
}

await run("request: a client files from a phone and follows the request live", async (server, browser) => {
  const base = server.base;
  const errors = [];
  const ctx = await browser.newContext(PHONE);
  await ctx.addCookies([{ name: "idora_lang", value: "ru", url: base }]);
  const page = await ctx.newPage();
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });

  // The categories as big cards; the first one's form.
  await page.goto(`${base}/c/demo/request`);
  const cards = page.locator("a.rq-cat");
  // The demo (with its history) has three categories.
  assert.ok((await cards.count()) >= 3, "the demo's categories are offered");
  const box = await cards.first().boundingBox();
  assert.ok(box.height >= 60 && box.width >= 340, `a card is big enough to tap: ${JSON.stringify(box)}`);
  await cards.first().click();
  await page.waitForSelector("form[data-rq-form]");
  const hp = await page.locator("input[name=website]").boundingBox();
  assert.ok(!hp || hp.x + hp.width <= 0, `the honeypot is out of sight: ${JSON.stringify(hp)}`);

  // Sent without the choice: the browser asks for it first; then the form is filled.
  await page.check("input[name='fields.card_type'][value=humo]");
  await page.fill("#f-last4", "4321");
  await page.fill("#rq-text", "Банкомат не вернул карту");
  await page.fill("#rq-name", "Азиз Каримов");
  await page.fill("#rq-phone", "+998 90 123 45 67");
  await page.setInputFiles("#rq-files", { name: "photo.png", mimeType: "image/png", buffer: PNG });
  await Promise.all([page.waitForURL(/\/r\/demo-[0-9a-f]{32}$/), page.click("button.rq-submit")]);

  // The status page: the number, the status in words, the answers, the photo.
  const number = (await page.textContent(".rq-number")).trim();
  assert.match(number, /^R-\d{6}$/);
  assert.ok((await page.textContent(".rq-answers")).includes("Humo"));
  assert.equal(await page.locator(".rq-thread img.rq-thumb").count(), 1, "the photo shows in the conversation");
  const thumb = await page.locator(".rq-thread img.rq-thumb").getAttribute("src");
  assert.equal((await page.request.get(base + thumb)).status(), 200, "the photo opens");
  await page.waitForSelector("[data-rq-live][data-live=ready]");
  const url = page.url();

  // A message from another tab appears here without a reload.
  const other = await ctx.newPage();
  await other.goto(url);
  await other.fill("#rq-reply", "Карта была Humo, последние цифры 4321");
  await Promise.all([other.waitForURL(/sent=1/), other.click(".rq-write button[type=submit]")]);
  await page.locator(".rq-msg", { hasText: "последние цифры 4321" }).waitFor({ timeout: 10_000 });
  assert.ok(page.url() === url, "no reload: the page stayed");

  // A staff reply (the staff API) appears live; an internal note never does.
  const id = Number(number.slice(2));
  const admin = (await api(base, "POST", "/auth/login", null, { username: "admin", password: PASSWORD })).body.access_token;
  const note = await api(base, "POST", `/requests/${id}/messages`, admin, { text: "Внутренняя заметка: проверить банкомат", internal: true });
  assert.equal(note.status, 201, JSON.stringify(note.body));
  const reply = await api(base, "POST", `/requests/${id}/messages`, admin, { text: "Ваша карта в отделении", internal: false });
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
  await page.locator(".rq-msg", { hasText: "Ваша карта в отделении" }).waitFor({ timeout: 10_000 });
  assert.equal(await page.locator("text=Внутренняя заметка").count(), 0, "the note is not shown");

  // The client writes back from the page itself.
  await page.fill("#rq-reply", "Спасибо, приду завтра");
  await Promise.all([page.waitForURL(/sent=1/), page.click(".rq-write button[type=submit]")]);
  await page.locator(".rq-msg.mine", { hasText: "Спасибо, приду завтра" }).waitFor();
  const wide = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  assert.equal(wide, false, "nothing wider than the phone");
  assert.deepEqual(errors, [], "no script errors");
  await ctx.close();
}, { history: true });
