// Tasks in a real browser (Chromium via playwright-core): a manager hands a
// task to an employee in the pages; the employee, whose task list is
// already open in a second browser, sees the notification arrive without
// reloading (the bell's count and a toast), opens the task, starts it and
// submits it; the manager, whose task page follows along live, accepts it,
// and the points awarded show on the task page of both.
//
//   IDORA_BIN=target/debug/idora node tests/browser/tasks.test.mjs
//
// Starts its own `idora serve --demo` on a free port with a fresh data
// directory, and stops it at the end, also when a check fails.

import assert from "node:assert/strict";
import { run, signIn } from "./lib.mjs";

function watchErrors(page, errors) {
  page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`));
}

/// Sets a mark on the page's window; it survives as long as the page is not reloaded.
async function mark(page) {
  await page.evaluate(() => { window.__notReloaded = true; });
}

async function notReloaded(page) {
  return page.evaluate(() => window.__notReloaded === true);
}

await run("tasks: create, live notification, start, submit, accept, points", async (server, browser) => {
  const base = server.base;
  const errors = [];
  const title = `Kvartal hisoboti ${Date.now() % 100000}`;

  // The employee, in Russian on a phone, waits on their task list.
  const empCtx = await browser.newContext({ locale: "ru-RU", viewport: { width: 390, height: 844 } });
  const emp = await empCtx.newPage();
  watchErrors(emp, errors);
  await signIn(emp, `${base}/c/demo/login`, "employee");
  await emp.goto(`${base}/c/demo/tasks`);
  await emp.getByRole("heading", { name: "Задачи" }).waitFor();
  assert.ok(await emp.locator("#bell-count").isHidden(), "no unread notifications at first");
  await emp.locator("body[data-live=ready]").waitFor({ timeout: 10_000 });
  await mark(emp);

  // The manager, in English on a desktop, creates the task in the pages.
  const mgrCtx = await browser.newContext({ locale: "en-US", viewport: { width: 1366, height: 900 } });
  const mgr = await mgrCtx.newPage();
  watchErrors(mgr, errors);
  await signIn(mgr, `${base}/c/demo/login`, "manager");
  await mgr.getByRole("link", { name: "Tasks", exact: true }).first().click();
  await mgr.waitForURL("**/c/demo/tasks");
  await mgr.getByRole("link", { name: "New task" }).click();
  await mgr.waitForURL("**/c/demo/tasks/new");

  // A missing assignee is refused with the service's words; what was typed stays.
  await mgr.fill("input[name=title]", title);
  await mgr.fill("textarea[name=description]", "Birinchi chorak bo‘yicha.\nJadval bilan.");
  await mgr.fill("input[name=points]", "7");
  await mgr.evaluate(() => { document.querySelector("form[action$='/tasks/new']").noValidate = true; });
  await Promise.all([mgr.waitForNavigation(), mgr.getByRole("button", { name: "Create task" }).click()]);
  // The reason, once: next to the assignee field.
  const why = mgr.locator(".field-error, p.alert:visible");
  await why.first().waitFor();
  assert.equal(await why.count(), 1, "the error is shown once");
  assert.match(await why.first().innerText(), /active employee/i);
  assert.equal(await mgr.inputValue("input[name=title]"), title);

  const assignee = await mgr.locator("select[name=assignee_id] option", { hasText: "Bekzod Aliyev" }).getAttribute("value");
  await mgr.selectOption("select[name=assignee_id]", assignee);
  assert.ok((await mgr.inputValue("input[name=deadline]")).length >= 16, "the deadline is filled in for tomorrow");
  await Promise.all([mgr.waitForNavigation(), mgr.getByRole("button", { name: "Create task" }).click()]);
  assert.match(new URL(mgr.url()).pathname, /^\/c\/demo\/tasks\/\d+$/);
  await mgr.locator("p.notice", { hasText: "The task was created" }).waitFor();
  await mgr.getByRole("heading", { name: title }).waitFor();
  assert.equal(await mgr.locator(".task-head .badge").innerText(), "New");
  assert.match(await mgr.locator("time[data-countdown]").innerText(), /left$/);
  await mark(mgr);

  // The employee hears of it without reloading: the bell counts it, a toast
  // names it, and the list shows it.
  await emp.locator("#bell-count:not([hidden])").waitFor({ timeout: 10_000 });
  assert.equal(await emp.locator("#bell-count").innerText(), "1");
  const toast = emp.locator("#toasts .toast", { hasText: title });
  await toast.waitFor();
  assert.match(await toast.innerText(), /Новая задача для вас/);
  await emp.locator("#live-region a.task-link", { hasText: title }).waitFor({ timeout: 10_000 });
  assert.ok(await notReloaded(emp), "the employee's page was not reloaded");

  // The employee opens it from the list, starts and submits it.
  await Promise.all([emp.waitForNavigation(), emp.locator("#live-region a.task-link", { hasText: title }).click()]);
  await emp.getByRole("heading", { name: title }).waitFor();
  assert.ok(await emp.locator("#bell-count").isHidden(), "opening the task reads its notification");
  assert.equal(await emp.locator(".task-head .badge").innerText(), "Новая");
  assert.equal(await emp.getByRole("button", { name: "Принять и закрыть" }).count(), 0, "the assignee does not accept their own work");
  await Promise.all([emp.waitForNavigation(), emp.getByRole("button", { name: "Начать работу" }).click()]);
  await emp.locator("p.notice", { hasText: "Работа начата" }).waitFor();
  assert.equal(await emp.locator(".task-head .badge").innerText(), "В работе");
  await emp.fill("textarea[name=comment]", "Tayyor, jadval ilova qilindi.");
  await Promise.all([emp.waitForNavigation(), emp.getByRole("button", { name: "Отправить на проверку" }).click()]);
  await emp.locator("p.notice", { hasText: "Отправлено на проверку" }).waitFor();
  assert.equal(await emp.locator(".task-head .badge").innerText(), "На проверке");
  await mark(emp);

  // The manager's task page followed along live, with the result note in
  // the history; sending back without a reason is refused.
  await mgr.locator(".task-head .badge", { hasText: "Under review" }).waitFor({ timeout: 10_000 });
  assert.ok(await notReloaded(mgr), "the manager's page was not reloaded");
  await mgr.locator("ol.history blockquote", { hasText: "Tayyor, jadval ilova qilindi." }).waitFor();
  await Promise.all([mgr.waitForNavigation(), mgr.getByRole("button", { name: "Send back" }).click()]);
  await mgr.locator(".actions-card .field-error").waitFor();
  assert.equal(await mgr.locator(".task-head .badge").innerText(), "Under review", "nothing changed");

  // The manager accepts it: completed, points awarded.
  await Promise.all([mgr.waitForNavigation(), mgr.getByRole("button", { name: "Accept and complete" }).click()]);
  await mgr.locator("p.notice", { hasText: "points are awarded" }).waitFor();
  assert.equal(await mgr.locator(".task-head .badge").innerText(), "Completed");
  assert.equal(await mgr.locator(".awarded").innerText(), "7 awarded");
  assert.match(await mgr.locator("ol.history").innerText(), /Under review\s*→\s*Completed/);

  // And the employee's open page shows it too, without reloading.
  await emp.locator(".task-head .badge", { hasText: "Выполнена" }).waitFor({ timeout: 10_000 });
  assert.equal(await emp.locator(".awarded").innerText(), "начислено 7");
  assert.ok(await notReloaded(emp), "the employee's page was not reloaded");

  assert.deepEqual(errors, [], "no script errors on the pages");
  await empCtx.close();
  await mgrCtx.close();
});
