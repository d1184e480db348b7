// The reports in a real browser, on the demo company with its ninety days
// of history: the director's company report (charts, departments with
// totals, the period picker, the branch comparison) and an employee's own
// figures (today, this week, this month, the points chart, no colleague's
// row), each at phone and desktop size, with nothing wider than the screen
// and no console error.
//
//   IDORA_BIN=target/debug/idora node tests/browser/reports.test.mjs

import assert from "node:assert/strict";
import { run, signIn } from "./lib.mjs";

const SIZES = [["phone", { width: 360, height: 800 }], ["desktop", { width: 1366, height: 800 }]];

await run("reports: the director's company report and an employee's own figures", async (server, browser) => {
  const base = server.base;
  const problems = [];
  async function as(role, viewport) {
    const ctx = await browser.newContext({ locale: "ru-RU", viewport });
    const page = await ctx.newPage();
    // (The 403 the test asks for on purpose is not a problem of the page.)
    page.on("console", (m) => {
      if (m.type() === "error" && !/favicon/.test(m.location().url || "") && !/status of 403/.test(m.text())) problems.push(`${role}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`${role}: ${e.message}`));
    await signIn(page, `${base}/c/demo/login`, role);
    return page;
  }
  async function fits(page, what) {
    const wide = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    assert.equal(wide, false, `${what} is no wider than the screen`);
  }

  for (const [size, viewport] of SIZES) {
    // The director lands on the company's report.
    const dir = await as("director", viewport);
    const resp = await dir.goto(`${base}/c/demo/reports`);
    assert.equal(resp.status(), 200);
    const current = dir.locator("nav.report-tabs .chip[aria-current=page]");
    assert.equal((await current.textContent()).trim(), "Компания");
    for (const tab of ["Мои показатели", "Отдел", "Рейтинг", "Филиалы", "Заявки", "Очередь"]) {
      assert.equal(await dir.locator("nav.report-tabs .chip", { hasText: tab }).count(), 1, `${size}: the ${tab} tab`);
    }
    // Charts drawn on the server, each with a title a screen reader reads.
    const charts = dir.locator(".report-chart svg[role=img]");
    assert.ok((await charts.count()) >= 1, `${size}: the company report has charts`);
    const chartTitle = await charts.first().locator("title").first().textContent();
    assert.ok(chartTitle.trim().length > 0, "the chart has a title");
    // The departments, with the company's totals under them.
    const rows = dir.locator("section.report-section").first().locator("table.report-table tbody tr");
    assert.ok((await rows.count()) >= 3, `${size}: a row per department`);
    assert.equal(await dir.locator("section.report-section").first().locator("tfoot tr").count(), 1, "a totals row");
    assert.match(await dir.locator("a", { hasText: "Excel (XLSX)" }).getAttribute("href"), /\/api\/v1\/reports\/company\.xlsx\?/);
    await fits(dir, `${size}: the company report`);

    // Another period: this week, then the week before.
    await dir.locator("nav.period-picker .chip", { hasText: "Неделя" }).click();
    await dir.waitForURL(/period=week/);
    const week = (await dir.locator(".period-now").textContent()).trim();
    assert.match(week, /^\d\d\.\d\d\.\d{4} — \d\d\.\d\d\.\d{4}$/, "a week from Monday to Sunday");
    await dir.locator(".period-step a[aria-label='Предыдущий период']").click();
    await dir.waitForLoadState();
    assert.notEqual((await dir.locator(".period-now").textContent()).trim(), week, "the week before");

    // The branches side by side.
    await dir.locator("nav.report-tabs .chip", { hasText: "Филиалы" }).click();
    await dir.waitForURL(/reports\/branches/);
    assert.ok((await dir.locator("table.report-table tbody tr").count()) >= 2, "a row per branch");
    await fits(dir, `${size}: the branch comparison`);
    await dir.context().close();

    // An employee lands on their own figures.
    const emp = await as("employee", viewport);
    assert.equal((await emp.goto(`${base}/c/demo/reports`)).status(), 200);
    assert.equal(await emp.locator("nav.report-tabs").count(), 0, "one report: no tabs");
    const periods = emp.locator(".my-periods .my-period h2");
    assert.deepEqual(await periods.allTextContents(), ["Сегодня", "Эта неделя", "Этот месяц"]);
    assert.ok((await emp.locator(".report-chart svg[role=img]").count()) >= 1, `${size}: the points chart`);
    const mine = emp.locator("section.report-section").first().locator("table.report-table tbody tr");
    assert.equal(await mine.count(), 1, "only their own row");
    const text = await emp.locator("main").textContent();
    for (const colleague of ["Jasur Ergashev", "Gulnora Saidova", "Shahzod Mirzayev"]) {
      assert.ok(!text.includes(colleague), `${size}: no row of ${colleague}`);
    }
    await fits(emp, `${size}: the employee's figures`);
    // The company's report is not theirs.
    assert.equal((await emp.goto(`${base}/c/demo/reports/company`)).status(), 403);
    await emp.context().close();
  }
  assert.deepEqual(problems, [], "no console errors");
}, { history: true });
