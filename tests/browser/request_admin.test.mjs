// Request categories' form builder in a real phone-size browser: "Add
// field" makes rows, a choice shows its options, rows move and go, the saved
// form is the rows in their order; the templates' preview shows the text
// with sample data at the template it was asked for. No console error (the
// script and the icons pass the CSP), and nothing wider than the screen.
//
//   IDORA_BIN=target/debug/idora node tests/browser/request_admin.test.mjs

import assert from "node:assert/strict";
import { run, signIn, PASSWORD } from "./lib.mjs";

const PHONE = { width: 360, height: 800 };

await run("request admin: the form builder and the template preview", async (server, browser) => {
  const ctx = await browser.newContext({ locale: "ru-RU", viewport: PHONE, hasTouch: true, isMobile: true });
  const page = await ctx.newPage();
  const errors = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(`${page.url()}: ${m.text()}`); });
  page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`));
  const base = `${server.base}/c/demo`;
  await signIn(page, `${base}/login`, "admin");

  await page.goto(`${base}/admin/request-categories/new`);
  await page.fill("input[name=name_uz]", "Pul o‘tkazmasi");
  await page.locator("label.ra-icon-choice", { has: page.locator("input[value=transfer]") }).click();
  const rows = page.locator("#ra-fields > li");
  assert.equal(await rows.count(), 1, "one blank row to start with");
  await rows.nth(0).locator("input[name$='-key']").fill("amount");
  await rows.nth(0).locator("select[data-ra-type]").selectOption("number");
  await rows.nth(0).locator("input[name$='-uz']").fill("Summa");
  assert.equal(await rows.nth(0).locator("[data-ra-options]").isVisible(), false, "a number has no options");

  await page.click("[data-ra-add]");
  const second = rows.nth(1);
  await second.locator("input[name$='-key']").fill("bank");
  await second.locator("select[data-ra-type]").selectOption("choice");
  assert.ok(await second.locator("[data-ra-options]").isVisible(), "a choice shows its options");
  await second.locator("input[name$='-uz']").fill("Bank");
  await second.locator("textarea").fill("kapital = Kapitalbank | Капиталбанк\nipak = Ipak yo‘li");
  await second.locator("input[name$='-required']").check();
  await second.locator("[data-ra-up]").click();

  await page.click("[data-ra-add]");
  assert.equal(await rows.count(), 3);
  await rows.nth(2).locator("[data-ra-remove]").click();
  assert.equal(await rows.count(), 2, "a row goes");
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(w <= PHONE.width, `the form builder is ${w}px wide`);

  await Promise.all([page.waitForURL(/request-categories\?done=saved/), page.locator(".ra-actions button[type=submit]").click()]);
  assert.ok(await page.getByText("Pul o‘tkazmasi").isVisible(), "listed");

  const login = await fetch(`${base}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password: PASSWORD }),
  });
  const token = (await login.json()).access_token;
  const cats = await (await fetch(`${base}/api/v1/request-categories`, { headers: { authorization: `Bearer ${token}` } })).json();
  const cat = cats.find((c) => c.names.uz === "Pul o‘tkazmasi");
  assert.equal(cat.icon, "transfer");
  assert.deepEqual(cat.fields.map((f) => [f.key, f.type, f.required]), [["bank", "choice", true], ["amount", "number", false]]);
  assert.deepEqual(cat.fields[0].options[0], { key: "kapital", labels: { uz: "Kapitalbank", ru: "Капиталбанк", en: "" } });

  // The preview of the Russian "resolved" template, shown at that template.
  await page.goto(`${base}/admin/request-templates`);
  const form = page.locator("#t-done-ru");
  await form.locator("textarea").fill("{client_name}, заявка {number} решена");
  await Promise.all([page.waitForURL(/#t-done-ru$/), form.locator("button[value=preview]").click()]);
  const preview = page.locator("#t-done-ru .ra-preview");
  assert.match(await preview.innerText(), /Азиз Каримов, заявка R-000123 решена/);
  assert.ok(await preview.isVisible());

  assert.deepEqual(errors, [], "no console errors");
  await ctx.close();
});
