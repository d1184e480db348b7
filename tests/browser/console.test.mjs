// Every form of the platform console and the company admin console, in a
// real browser, in English: companies, departments, branches and their
// hours, the role matrix, branding with a logo upload, users, the profile
// and the audit log. Also checks the small scripts (confirmations, the
// hours editor) and that forms keep what was typed when they fail.
//
//   IDORA_BIN=target/debug/idora node tests/browser/console.test.mjs

import assert from "node:assert/strict";
import { run, signIn } from "./lib.mjs";

// A 1×1 PNG.
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
);

async function submit(page, button) {
  await Promise.all([page.waitForNavigation(), button.click()]);
}

/// An admin page, through the frame: "Settings", then its side menu.
async function openSettings(page, name) {
  await Promise.all([page.waitForNavigation(), page.locator("nav.tabs").getByRole("link", { name: "Settings", exact: true }).click()]);
  await Promise.all([page.waitForNavigation(), page.locator("nav.side-menu").getByRole("link", { name, exact: true }).click()]);
}

function rowOf(page, text) {
  return page.locator("tbody tr").filter({ hasText: text });
}

await run("platform console and company admin console, every form", async (server, browser) => {
  const base = server.base;
  const ctx = await browser.newContext({ locale: "en-US", viewport: { width: 1366, height: 900 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));

  // ---------- platform ----------
  await signIn(page, `${base}/admin/login`, "platform");
  assert.equal(new URL(page.url()).pathname, "/admin");
  await page.getByRole("link", { name: "New company" }).click();
  await page.fill("input[name=name]", "Acme");
  await page.fill("input[name=slug]", "acme");
  await page.fill("input[name=admin_username]", "boss");
  await page.fill("input[name=admin_password]", "boss-password-1");
  await page.fill("input[name=admin_full_name]", "Bobur Saidov");
  assert.equal(await page.inputValue("select[name=timezone]"), "Asia/Tashkent", "Tashkent is chosen first");
  await submit(page, page.getByRole("button", { name: "Create company" }));
  await page.locator("p.notice", { hasText: "«Acme»" }).waitFor();
  assert.match(await rowOf(page, "Acme").innerText(), /Not open/);

  // The public landing of a closed company says so.
  const visitor = await browser.newContext({ locale: "en-US" });
  const v = await visitor.newPage();
  await v.goto(`${base}/c/acme/`);
  await v.getByText("Not open yet").waitFor();
  await v.goto(`${base}/`);
  assert.equal(await v.getByRole("link", { name: /Acme/ }).count(), 0, "a closed company is not on the portal");

  // Open it; closing asks first, and "cancel" changes nothing.
  await submit(page, rowOf(page, "Acme").getByRole("button", { name: "Open" }));
  await page.locator("p.notice", { hasText: "«Acme» is now open" }).waitFor();
  await v.goto(`${base}/`);
  await v.getByRole("link", { name: /Acme/ }).waitFor();
  await v.goto(`${base}/c/acme/`);
  assert.equal(await v.getByText("Not open yet").count(), 0);
  page.once("dialog", (d) => d.dismiss());
  await rowOf(page, "Acme").getByRole("button", { name: "Close" }).click();
  await page.waitForTimeout(300);
  assert.match(await rowOf(page, "Acme").innerText(), /Open/);
  assert.equal(await rowOf(page, "Acme").getByRole("button", { name: "Close" }).count(), 1, "still open after cancel");

  // Edit: a blank name keeps what was chosen and says why; then the right one.
  await rowOf(page, "Acme").getByRole("link", { name: "Edit" }).click();
  await page.selectOption("select[name=timezone]", "Asia/Samarkand");
  await page.fill("input[name=name]", " ");
  await page.evaluate(() => { for (const f of document.forms) f.noValidate = true; });
  await submit(page, page.getByRole("button", { name: "Save" }));
  await page.locator(".field-error, p.alert:visible").first().waitFor();
  assert.equal(await page.inputValue("select[name=timezone]"), "Asia/Samarkand");
  await page.fill("input[name=name]", "Acme Ltd");
  await submit(page, page.getByRole("button", { name: "Save" }));
  await page.locator("p.notice", { hasText: "Acme Ltd" }).waitFor();
  assert.match(await rowOf(page, "Acme Ltd").innerText(), /Asia\/Samarkand/);

  // ---------- company admin ----------
  await signIn(page, `${base}/c/demo/login`, "admin");
  assert.equal(new URL(page.url()).pathname, "/c/demo/");

  // Departments: add, refuse a duplicate (keeping the text), rename and name in
  // Russian (the row's fields live in its cells, its form in the last one),
  // switch off and on.
  await openSettings(page, "Departments");
  await page.fill("form.row-form input[name=name]", "Call centre");
  await submit(page, page.getByRole("button", { name: "Add" }));
  await page.locator("p.notice", { hasText: "Created." }).waitFor();
  await page.fill("form.row-form input[name=name]", "call centre");
  await submit(page, page.getByRole("button", { name: "Add" }));
  await page.locator(".field-error, p.alert:visible", { hasText: "already in use" }).first().waitFor();
  assert.equal(await page.inputValue("form.row-form input[name=name]"), "call centre");
  const dept = page.locator("tbody tr").filter({ has: page.locator("input[value='Call centre']") });
  await dept.locator("input[name=name]").fill("Contact centre");
  await dept.locator("input[name=name_ru]").fill("Контакт-центр");
  await submit(page, dept.getByRole("button", { name: "Save" }));
  await page.locator("p.notice", { hasText: "Saved." }).waitFor();
  const renamed = page.locator("tbody tr").filter({ has: page.locator("input[value='Contact centre']") });
  assert.equal(await renamed.locator("input[name=name_ru]").inputValue(), "Контакт-центр");
  assert.equal(await renamed.locator("input[name=name_en]").inputValue(), "");
  assert.equal(await renamed.locator("input[name=name_en]").getAttribute("placeholder"), "Contact centre", "an empty translation shows its fallback");
  page.once("dialog", (d) => d.accept());
  await submit(page, renamed.getByRole("button", { name: "Switch off" }));
  assert.match(await renamed.innerText(), /Switched off/);
  await submit(page, renamed.getByRole("button", { name: "Switch on" }));
  assert.doesNotMatch(await renamed.innerText(), /Switched off/);
  assert.equal(await renamed.getByRole("button", { name: "Switch off" }).count(), 1);

  // Branches: the hours editor, a refused order of times, then around the clock.
  await openSettings(page, "Branches");
  await page.getByRole("link", { name: "New branch" }).click();
  await page.fill("input[name=name]", "Yunusobod");
  await page.fill("input[name=address]", "Toshkent, Yunusobod 4");
  for (const d of ["mon", "tue", "wed", "thu", "fri"]) {
    await page.fill(`input[name=open_${d}]`, "08:00");
    await page.fill(`input[name=close_${d}]`, "17:00");
  }
  assert.ok(await page.locator("input[name=closed_sun]").isChecked(), "Sunday starts closed");
  assert.ok(await page.locator("input[name=open_sun]").isDisabled(), "a closed day's times are disabled");
  await page.locator("input[name=closed_sat]").check();
  assert.ok(await page.locator("input[name=open_sat]").isDisabled());
  await page.locator("input[name=closed_sat]").uncheck();
  assert.ok(await page.locator("input[name=open_sat]").isEnabled());
  await page.locator("input[name=closed_sat]").check();
  await page.fill("input[name=close_mon]", "07:00");
  await submit(page, page.getByRole("button", { name: "Create branch" }));
  await page.locator(".field-error, p.alert:visible", { hasText: "Monday" }).first().waitFor();
  assert.equal(await page.inputValue("input[name=name]"), "Yunusobod");
  assert.ok(await page.locator("input[name=closed_sat]").isChecked(), "the closed days survive the error");
  await page.fill("input[name=close_mon]", "17:00");
  await submit(page, page.getByRole("button", { name: "Create branch" }));
  await page.locator("p.notice", { hasText: "Created." }).waitFor();
  assert.match(await rowOf(page, "Yunusobod").innerText(), /Mon–Fri 08:00–17:00/);
  await rowOf(page, "Yunusobod").getByRole("link", { name: "Yunusobod" }).click();
  await page.locator("input[name=always]").check();
  assert.ok(await page.locator("[data-hours-days]").isHidden(), "around the clock hides the week");
  await submit(page, page.getByRole("button", { name: "Save" }));
  assert.match(await rowOf(page, "Yunusobod").innerText(), /Around the clock/);

  // Roles: let employees see their department's tasks with the matrix's one Save,
  // and only permissions something checks are offered (no chat yet).
  await openSettings(page, "Roles");
  assert.equal(await page.locator("input[value='employee:chat.use']").count(), 0, "chat is not offered before it exists");
  const view = page.locator("input[value='employee:tasks.view_department']");
  assert.equal(await view.isChecked(), false);
  await view.check();
  await submit(page, page.getByRole("button", { name: "Save all roles" }));
  await page.locator("p.notice", { hasText: "Saved." }).waitFor();
  assert.ok(await page.locator("input[value='employee:tasks.view_department']").isChecked());
  assert.ok(await page.locator("tbody input[type=checkbox][disabled]").first().isChecked(), "the owner keeps everything");

  // Branding: a colour, back to the default, a logo up and down again.
  await openSettings(page, "Branding");
  await page.locator("input[name=primary_color]").fill("#aa3300");
  await submit(page, page.getByRole("button", { name: "Save" }).first());
  await page.locator("p.notice", { hasText: "Saved." }).waitFor();
  const cssUrl = await page.getAttribute("link[href*='brand.css']", "href");
  assert.match(await (await fetch(base + cssUrl)).text(), /#aa3300/);
  await page.locator("input[name=logo]").setInputFiles({ name: "logo.png", mimeType: "image/png", buffer: PNG });
  // The preview is filled in once the browser has read the file.
  await page.locator("img[data-logo-preview]").waitFor({ state: "visible", timeout: 5000 });
  await submit(page, page.getByRole("button", { name: "Upload logo" }));
  await page.locator("p.notice", { hasText: "The logo was uploaded." }).waitFor();
  await page.locator(".topbar img.logo").waitFor();
  await page.locator("input[name=logo]").setInputFiles({ name: "logo.png", mimeType: "image/png", buffer: Buffer.from("not an image") });
  await submit(page, page.getByRole("button", { name: "Upload logo" }));
  await page.locator(".field-error, p.alert:visible", { hasText: "PNG, JPEG, WebP or GIF" }).first().waitFor();
  page.once("dialog", (d) => d.accept());
  await submit(page, page.getByRole("button", { name: "Remove logo" }));
  await page.locator("p.notice", { hasText: "The logo was removed." }).waitFor();
  assert.equal(await page.locator(".topbar img.logo").count(), 0);
  await submit(page, page.getByRole("button", { name: "Use the default colour" }));
  assert.match(await page.inputValue("input[name=primary_color]"), /#1f6feb/);

  // Users: move the manager out of their department and switch them off;
  // then a generated password.
  await openSettings(page, "Users");
  await page.getByRole("link", { name: "manager", exact: true }).click();
  await page.selectOption("select[name=department_id]", "");
  await page.locator("input[name=active]").uncheck();
  await submit(page, page.getByRole("button", { name: "Save" }));
  const manager = page.locator("tbody tr").filter({ has: page.getByRole("link", { name: "manager", exact: true }) });
  assert.match(await manager.innerText(), /Switched off/);
  await manager.getByRole("link", { name: "manager", exact: true }).click();
  page.once("dialog", (d) => d.accept());
  await submit(page, page.getByRole("button", { name: "Reset password" }));
  await page.getByRole("heading", { name: "Password reset" }).waitFor();
  assert.equal((await page.locator("code.secret").allInnerTexts())[0], "manager");
  // One's own role and switch are not offered.
  await page.goto(`${base}/c/demo/admin/users`);
  await page.getByRole("link", { name: "admin", exact: true }).click();
  assert.equal(await page.locator("select[name=role]").count(), 0);
  assert.equal(await page.locator("input[name=active]").count(), 0);

  // The audit log tells the story in words.
  await openSettings(page, "Audit log");
  const log = await page.locator("ul.audit-log").innerText();
  for (const want of ["Permissions changed", "+ See the department’s tasks", "Branch created", "Department changed", "Contact centre", "User changed", "Switched off"]) {
    assert.ok(log.includes(want), `the audit log mentions «${want}»:\n${log}`);
  }
  assert.equal(await page.getByRole("link", { name: /Older/ }).count(), 0, "one page only");

  // Profile: Russian from now on; a wrong current password is refused.
  await page.goto(`${base}/c/demo/profile`);
  await page.fill("input[name=phone]", "+998 90 123 45 67");
  await page.selectOption("select[name=language]", "ru");
  await submit(page, page.locator("form[action$='/profile'] button[type=submit]"));
  assert.equal(await page.getAttribute("html", "lang"), "ru");
  await page.locator("p.notice", { hasText: "Сохранено." }).waitFor();
  assert.match(await page.inputValue("input[name=phone]"), /998/);
  await page.fill("input[name=current_password]", "not-the-password");
  await page.fill("input[name=new_password]", "a-new-password-1");
  await submit(page, page.getByRole("button", { name: "Сменить пароль" }));
  await page.locator(".field-error, p.alert:visible").first().waitFor();

  // An employee has no admin section.
  const emp = await browser.newContext({ locale: "en-US" });
  const e = await emp.newPage();
  await signIn(e, `${base}/c/demo/login`, "employee");
  assert.equal(await e.locator("nav.tabs a[href$='/admin/users']").count(), 0, "no admin section in the employee's menu");
  assert.equal(await e.locator("nav.tabs a[href$='/tasks']").count(), 1, "but tasks are there");
  const r = await e.goto(`${base}/c/demo/admin/users`);
  assert.equal(r.status(), 403);
  // The refusal is drawn in the employee's frame and says whom to ask.
  await e.getByRole("heading", { name: "No access to this page" }).waitFor();
  await e.getByText("ask your company's administrator").waitFor();
  assert.equal(await e.locator("nav.tabs a[href$='/tasks']").count(), 1, "the menu is still there");

  assert.deepEqual(errors, [], "no script errors");
  await emp.close();
  await visitor.close();
  await ctx.close();
});

await run("platform console: figures, contacts and logo, archive, delete with the slug typed, administrators", async (server, browser) => {
  const base = server.base;
  const ctx = await browser.newContext({ locale: "en-US", viewport: { width: 1366, height: 900 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await signIn(page, `${base}/admin/login`, "platform");

  // The figures: one company (the demo), open.
  const figures = page.locator("[data-figures]");
  await figures.waitFor();
  assert.match(await figures.innerText(), /Companies\s+1\s+1 open · 0 closed · 0 archived/);
  assert.match(await rowOf(page, "Demo Bank").innerText(), /Open/);

  // A new company with its contacts and logo.
  await page.getByRole("link", { name: "New company" }).click();
  await page.fill("input[name=name]", "Orient Bank");
  await page.fill("input[name=slug]", "orient");
  await page.fill("input[name=contact_person]", "Dilnoza Karimova");
  await page.fill("input[name=phone]", "90 123 45 67");
  await page.fill("input[name=email]", "office@orient.uz");
  await page.fill("input[name=address]", "Samarqand, Registon 5");
  await page.locator("input[name=logo]").setInputFiles({ name: "logo.png", mimeType: "image/png", buffer: PNG });
  await page.fill("input[name=admin_full_name]", "Bobur Saidov");
  await page.fill("input[name=admin_username]", "boss");
  await page.fill("input[name=admin_password]", "boss-password-1");
  await submit(page, page.getByRole("button", { name: "Create company" }));
  await page.locator("p.notice", { hasText: "«Orient Bank»" }).waitFor();
  assert.match(await figures.innerText(), /Companies\s+2\s+1 open · 1 closed · 0 archived/);
  await rowOf(page, "Orient Bank").getByRole("link", { name: "Edit" }).click();
  assert.equal(await page.inputValue("input[name=contact_person]"), "Dilnoza Karimova");
  assert.equal(await page.inputValue("input[name=phone]"), "+998901234567");
  assert.equal(await page.inputValue("input[name=email]"), "office@orient.uz");
  await page.locator("img[data-logo-preview][src*='/c/orient/logo']").waitFor();
  // A bad e-mail is said next to it; the rest stays as typed.
  await page.fill("input[name=email]", "not-an-email");
  await page.fill("input[name=contact_person]", "Aziz Rahimov");
  await page.evaluate(() => { for (const f of document.forms) f.noValidate = true; });
  await submit(page, page.getByRole("button", { name: "Save" }));
  await page.locator("#f-email-error").waitFor();
  assert.equal(await page.inputValue("input[name=contact_person]"), "Aziz Rahimov");
  await page.fill("input[name=email]", "info@orient.uz");
  await submit(page, page.getByRole("button", { name: "Save" }));
  await page.locator("p.notice", { hasText: "Orient Bank" }).waitFor();

  // Archive (asks first): the company's pages say so with 410.
  await rowOf(page, "Orient Bank").getByRole("link", { name: "Edit" }).click();
  page.once("dialog", (d) => d.accept());
  await submit(page, page.getByRole("button", { name: "Archive company" }));
  await page.locator("p.notice", { hasText: "«Orient Bank» was archived" }).waitFor();
  assert.match(await rowOf(page, "Orient Bank").innerText(), /Archived/);
  assert.match(await figures.innerText(), /1 open · 0 closed · 1 archived/);
  const visitor = await (await browser.newContext({ locale: "ru-RU" })).newPage();
  const gone = await visitor.goto(`${base}/c/orient/login`);
  assert.equal(gone.status(), 410);
  await visitor.getByText("Эта компания в архиве").waitFor();
  // Restored, it comes back closed.
  await submit(page, rowOf(page, "Orient Bank").getByRole("button", { name: "Restore" }));
  await page.locator("p.notice", { hasText: "«Orient Bank» was restored" }).waitFor();
  assert.match(await rowOf(page, "Orient Bank").innerText(), /Not open/);
  assert.equal((await visitor.goto(`${base}/c/orient/login`)).status(), 200);

  // Delete: the slug typed wrong is refused and said; typed right, it goes.
  await rowOf(page, "Orient Bank").getByRole("link", { name: "Edit" }).click();
  await page.fill("input[name=confirm]", "demo");
  await submit(page, page.getByRole("button", { name: "Delete for good" }));
  await page.locator("#f-confirm-error", { hasText: "Type the company's web address" }).waitFor();
  await page.fill("input[name=confirm]", "orient");
  await submit(page, page.getByRole("button", { name: "Delete for good" }));
  await page.locator("p.notice", { hasText: "«Orient Bank» was deleted" }).waitFor();
  assert.equal(await rowOf(page, "Orient Bank").count(), 0);
  assert.equal((await visitor.goto(`${base}/c/orient/login`)).status(), 404);

  // Administrators: add one, give them a new password, remove them; never oneself.
  await page.locator("nav").getByRole("link", { name: "Administrators" }).click();
  assert.match(await rowOf(page, "platform").innerText(), /you/);
  assert.equal(await rowOf(page, "platform").getByRole("button", { name: "Remove" }).count(), 0, "no removing oneself");
  await page.fill("input[name=username]", "nazira");
  await page.fill("input[name=password]", "short");
  await page.evaluate(() => { for (const f of document.forms) f.noValidate = true; });
  await submit(page, page.getByRole("button", { name: "Add administrator" }));
  await page.locator("#f-password-error").waitFor();
  assert.equal(await page.inputValue("input[name=username]"), "nazira");
  await page.fill("input[name=password]", "nazira-pass-1");
  await submit(page, page.getByRole("button", { name: "Add administrator" }));
  await page.locator("p.notice", { hasText: "«nazira» was added" }).waitFor();
  await page.selectOption("select[name=id]", { label: "nazira" });
  await page.fill("input[name=new_password]", "nazira-pass-2");
  await submit(page, page.getByRole("button", { name: "Set password" }));
  await page.locator("p.notice", { hasText: "The password of «nazira» was changed" }).waitFor();
  const other = await (await browser.newContext({ locale: "en-US" })).newPage();
  await signIn(other, `${base}/admin/login`, "nazira", "nazira-pass-2");
  assert.equal(new URL(other.url()).pathname, "/admin");
  page.once("dialog", (d) => d.accept());
  await submit(page, rowOf(page, "nazira").getByRole("button", { name: "Remove" }));
  await page.locator("p.notice", { hasText: "«nazira» was removed" }).waitFor();
  assert.equal(await rowOf(page, "nazira").count(), 0);

  // The system page: version and health.
  await page.locator("nav").getByRole("link", { name: "System" }).click();
  assert.match(await page.locator("[data-version]").innerText(), /^\d+\.\d+\.\d+/);
  assert.equal(await page.getAttribute("[data-health]", "data-health"), "ok");
  assert.deepEqual(errors, []);
});
