// The admin's Telegram page in a real browser (Chromium via playwright-core):
// with no bot it says so and how to make one; a malformed token is explained
// next to the field with the typing kept; a token Telegram refuses is said
// so; a right one connects the bot (its address and QR), and Disconnect asks
// first and brings the no-bot state back. An employee's profile says to ask
// the administrator.
//
//   IDORA_BIN=target/debug/idora node tests/browser/telegram.test.mjs
//
// Telegram is a tiny stand-in on 127.0.0.1 (getMe knows one token; the rest
// answers "ok"), set through IDORA_TELEGRAM_API_URL before the server starts.

import assert from "node:assert/strict";
import { createServer } from "node:http";
import { run, signIn } from "./lib.mjs";

const TOKEN = "7001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALD7001";

/// A stand-in Bot API: getMe answers for TOKEN (401 for any other),
/// getUpdates waits a moment and has nothing, every other method is "ok".
async function fakeTelegram() {
  const server = createServer((req, res) => {
    const m = req.url.match(/^\/bot([^/]+)\/(\w+)/);
    const reply = (code, body) => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    req.resume();
    if (!m || m[1] !== TOKEN) return reply(401, { ok: false, error_code: 401, description: "Unauthorized" });
    const method = m[2].toLowerCase();
    if (method === "getme") {
      return reply(200, { ok: true, result: {
        id: 7001, is_bot: true, first_name: "Demo Bank", username: "demobank_bot", can_join_groups: true,
        can_read_all_group_messages: false, supports_inline_queries: false, can_connect_to_business: false, has_main_web_app: false,
      } });
    }
    if (method === "getupdates") return setTimeout(() => reply(200, { ok: true, result: [] }), 500);
    return reply(200, { ok: true, result: true });
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return server;
}

const tg = await fakeTelegram();
process.env.IDORA_TELEGRAM_API_URL = `http://127.0.0.1:${tg.address().port}`;

await run("telegram page: no bot, a malformed token, a refused one, connect, disconnect", async (server, browser) => {
  const base = server.base;
  const ctx = await browser.newContext({ locale: "en-GB", viewport: { width: 390, height: 844 } });
  const page = await ctx.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));

  await signIn(page, `${base}/c/demo/login`, "admin");
  await page.goto(`${base}/c/demo/admin/telegram`);
  await page.locator("#tg-none").waitFor();
  const none = await page.locator("#tg-none").innerText();
  assert.match(none, /No Telegram bot is connected yet/);
  assert.match(none, /@BotFather/);
  assert.match(none, /\/newbot/);
  assert.equal(await page.locator("ol.tg-steps li").count(), 5, "numbered steps");

  // A malformed token: said next to the field, what was typed stays.
  await page.fill("input[name=token]", "12345 not a token");
  await page.getByRole("button", { name: "Connect" }).click();
  const err = page.locator(".field:has([name=token]) .field-error");
  await err.waitFor();
  assert.match(await err.innerText(), /does not look like a bot token/);
  assert.equal(await page.inputValue("input[name=token]"), "12345 not a token");
  assert.equal(await page.locator(".field-error").count(), 1, "one error, once");

  // Well-formed, but Telegram does not know it.
  await page.fill("input[name=token]", "9999:AAHdqTcvCH1vGWJxfSeofSAs0K5PALD9999");
  await page.getByRole("button", { name: "Connect" }).click();
  await page.locator(".field-error", { hasText: "Telegram did not accept this token" }).waitFor();

  // The right one: the bot runs, with its address and QR; the token masked.
  await page.fill("input[name=token]", TOKEN);
  await page.getByRole("button", { name: "Connect" }).click();
  await page.waitForURL("**/admin/telegram?done=connected");
  await page.locator("#tg-status", { hasText: "Running" }).waitFor();
  assert.ok(await page.locator("a[href='https://t.me/demobank_bot']").isVisible());
  assert.ok(await page.locator(".tg-qr svg").isVisible(), "a QR of the bot");
  assert.equal(await page.locator("#tg-token").innerText(), "7001:••••••7001");
  assert.ok(!(await page.content()).includes("SeofSAs0K5PALD7001"), "the token is never on the page");

  // Disconnect asks first; then the page is back to its first state.
  page.once("dialog", (d) => d.accept());
  await page.getByRole("button", { name: "Disconnect the bot" }).click();
  await page.waitForURL("**/admin/telegram?done=disconnected");
  await page.locator("#tg-none").waitFor();
  assert.deepEqual(pageErrors, []);

  // An employee cannot open the page; their profile says to ask the admin.
  const ctx2 = await browser.newContext({ locale: "en-GB", viewport: { width: 1280, height: 900 } });
  const emp = await ctx2.newPage();
  await signIn(emp, `${base}/c/demo/login`, "employee");
  const r = await emp.goto(`${base}/c/demo/admin/telegram`);
  assert.equal(r.status(), 403);
  await emp.goto(`${base}/c/demo/profile`);
  await emp.locator("#tg-user-nobot").waitFor();
  assert.match(await emp.locator("#tg-user").innerText(), /Ask your administrator/);
});

tg.close();
