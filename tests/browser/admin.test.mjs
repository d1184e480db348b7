// The company admin console in a real browser (Chromium via playwright-core):
// a Russian-speaking admin signs in, sees Russian pages, creates a user with
// a Cyrillic name and finds them in the list; the new user can sign in with
// the password that was shown once.
//
//   IDORA_BIN=target/debug/idora node tests/browser/admin.test.mjs
//
// Starts its own `idora serve --demo` on a free port with a fresh data
// directory, and stops it at the end, also when a check fails.

import assert from "node:assert/strict";
import { run, signIn } from "./lib.mjs";

await run("admin console: Russian pages, create a user, find them, they can sign in", async (server, browser) => {
  const base = server.base;
  const ctx = await browser.newContext({ locale: "ru-RU", viewport: { width: 390, height: 844 } });
  const page = await ctx.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));

  // Sign in: the dashboard speaks Russian.
  await signIn(page, `${base}/c/demo/login`, "admin");
  assert.equal(new URL(page.url()).pathname, "/c/demo/");
  assert.equal(await page.getAttribute("html", "lang"), "ru");
  await page.getByRole("heading", { name: /Здравствуйте/ }).waitFor();
  // On a phone the settings pages are in the bottom bar's "More" sheet.
  await page.locator("details.more > summary").click();
  const users = page.locator("details.more").getByRole("link", { name: "Пользователи" }).first();
  assert.ok(await users.isVisible(), "the Russian nav is shown");

  // The users list, then the new-user form.
  await users.click();
  await page.waitForURL("**/c/demo/admin/users");
  await page.getByRole("heading", { name: "Пользователи" }).waitFor();
  await page.getByRole("link", { name: "Новый пользователь" }).click();
  await page.waitForURL("**/c/demo/admin/users/new");

  // A wrong username keeps what was typed and says why, in Russian.
  await page.fill("input[name=username]", "Дилноза");
  await page.fill("input[name=full_name]", "Дилноза Юсупова");
  await page.evaluate(() => { document.querySelector("form[action$='/admin/users/new']").noValidate = true; });
  await page.getByRole("button", { name: "Создать пользователя" }).click();
  // The error stands next to its field, once (not also at the top of the form).
  const fieldError = (name) => page.locator(`.field:has([name=${name}]) .field-error`);
  await fieldError("username").waitFor();
  assert.match(await fieldError("username").innerText(), /латинск/i);
  assert.equal(await page.locator("p.alert").count(), 0, "no second copy of the error above the form");
  assert.equal(await page.locator(".field-error").count(), 1, "one error, once");
  assert.equal(await page.inputValue("input[name=full_name]"), "Дилноза Юсупова");

  // A phone that is no phone: said next to the phone field, in Russian, once.
  await page.fill("input[name=username]", "dilnoza");
  await page.fill("input[name=phone]", "12-34");
  await page.evaluate(() => { document.querySelector("form[action$='/admin/users/new']").noValidate = true; });
  await page.getByRole("button", { name: "Создать пользователя" }).click();
  await fieldError("phone").waitFor();
  assert.match(await fieldError("phone").innerText(), /Введите номер телефона, например \+998 90 123 45 67/);
  assert.equal(await page.locator("p.alert").count(), 0);
  assert.equal(await page.locator(".field-error").count(), 1, "one error, once");
  assert.equal(await page.inputValue("input[name=phone]"), "12-34", "what was typed stays");

  // Now right (the phone as people write it): a generated password is shown once.
  await page.fill("input[name=phone]", "90 123 45 67");
  await page.fill("input[name=username]", "dilnoza");
  await page.selectOption("select[name=role]", "employee");
  await page.getByRole("button", { name: "Создать пользователя" }).click();
  await page.getByRole("heading", { name: "Пользователь создан" }).waitFor();
  const secrets = await page.locator("code.secret").allInnerTexts();
  assert.equal(secrets[0], "dilnoza");
  const generated = secrets[1];
  assert.ok(generated && generated.length >= 8, `a generated password is shown (got ${generated})`);

  // The user is in the list with the Cyrillic name.
  await page.getByRole("link", { name: "К списку пользователей" }).click();
  await page.waitForURL("**/c/demo/admin/users");
  const row = page.locator("tbody tr").filter({ has: page.getByRole("link", { name: "dilnoza", exact: true }) });
  await row.waitFor();
  assert.match(await row.innerText(), /Дилноза Юсупова/);
  assert.match(await row.innerText(), /Сотрудник/);
  assert.deepEqual(pageErrors, [], "no script errors on the pages");

  // And can sign in with the password that was shown, but must set their
  // own before anything else: every page leads back to the form.
  const other = await browser.newContext({ locale: "ru-RU" });
  const p2 = await other.newPage();
  await signIn(p2, `${base}/c/demo/login`, "dilnoza", generated);
  await p2.getByRole("heading", { name: "Задайте свой пароль" }).waitFor();
  await p2.goto(`${base}/c/demo/tasks`);
  await p2.getByRole("heading", { name: "Задайте свой пароль" }).waitFor();
  assert.equal(new URL(p2.url()).pathname, "/c/demo/password", "no page before the new password");
  await p2.fill("input[name=current_password]", generated);
  await p2.fill("input[name=new_password]", "dilnoza-own-pass-1");
  await Promise.all([p2.waitForNavigation(), p2.getByRole("button", { name: "Сохранить и продолжить" }).click()]);
  await p2.getByRole("heading", { name: /Здравствуйте, Дилноза Юсупова/ }).waitFor();
  await p2.goto(`${base}/c/demo/tasks`);
  assert.equal(new URL(p2.url()).pathname, "/c/demo/tasks", "then every page opens");
  await other.close();
  await ctx.close();
});
