// Each role's home dashboard in a real browser, on the demo company with its
// weeks of history: the figures a role needs now, each a link to the list it
// counts, nothing wider than a 360 px phone, and no console error.
//
//   IDORA_BIN=target/debug/idora node tests/browser/dashboards.test.mjs
//
// The history is written relative to the moment the server starts, so only
// the figures that do not depend on the time of day are pinned here (the
// integration tests in tests/it/home.rs pin all of them on a fixed clock).

import assert from "node:assert/strict";
import { run, signIn } from "./lib.mjs";

async function figure(page, id) {
  const el = page.locator(`#${id}`);
  return { n: (await el.locator(".figure-n").textContent()).trim(), href: await el.getAttribute("href") };
}

await run("dashboards: each role's figures and links, on a phone", async (server, browser) => {
  const base = server.base;
  const problems = [];
  async function as(role) {
    const ctx = await browser.newContext({ locale: "ru-RU", viewport: { width: 360, height: 800 } });
    const page = await ctx.newPage();
    page.on("console", (m) => { if (m.type() === "error" && !/favicon/.test(m.location().url || "")) problems.push(`${role}: ${m.text()}`); });
    page.on("pageerror", (e) => problems.push(`${role}: ${e.message}`));
    await signIn(page, `${base}/c/demo/login`, role);
    await page.goto(`${base}/c/demo/`);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    assert.equal(wide, false, `${role}'s home is no wider than the phone`);
    return page;
  }

  // The employee: two late, one sent back with the reviewer's reason; the
  // late figure opens the list of exactly those.
  const emp = await as("employee");
  assert.equal((await figure(emp, "n-overdue")).n, "2");
  assert.equal((await figure(emp, "n-redo")).n, "1");
  assert.match(await emp.locator("#desk-mine").textContent(), /Chilonzor filiali summalari/);
  // All-time points: the 55 of the last five weeks and what the older weeks of the demo earned.
  assert.ok(Number(await emp.locator("#points-total").textContent()) > 55, "points from the whole history");
  await emp.click("#n-overdue");
  await emp.waitForURL(/status=overdue/);
  const late = await emp.locator("table.tasks tbody tr").count();
  assert.equal(late, 2, "the list shows the two late tasks");

  // The manager: two to review (the figure opens the review inbox), Jasur among the overloaded.
  const man = await as("manager");
  assert.deepEqual(await figure(man, "n-review"), { n: "2", href: "/c/demo/tasks?tab=review" });
  assert.equal(await man.locator("#desk-team li.overloaded", { hasText: "Jasur Ergashev" }).count(), 1, "Jasur is marked overloaded");

  // The director: two tasks and one deadline to decide, four late across three departments.
  const dir = await as("director");
  assert.equal((await figure(dir, "n-approval")).n, "2");
  assert.equal((await figure(dir, "n-extensions")).n, "1");
  assert.equal((await dir.locator("#n-overdue").textContent()).trim(), "4");
  assert.equal(await dir.locator("#desk-overdue li").count(), 3);
  assert.ok((await dir.locator("#desk-best li").count()) >= 3, "the best of the month are listed");
  await dir.click("#n-approval");
  await dir.waitForURL(/tab=approval/);
  assert.equal(await dir.locator("table.tasks tbody tr").count(), 2, "the approval inbox lists both");

  // The operator: their window, and figures that open it.
  const op = await as("operator");
  assert.match(await op.locator("#desk-window h2").textContent(), /1/);
  assert.equal((await figure(op, "n-waiting")).href, "/c/demo/operator");

  // The admin: the setup checklist, branding still to do.
  const adm = await as("admin");
  assert.equal(await adm.locator('#desk-setup li.done').count(), 5);

  assert.deepEqual(problems, [], "no console errors");
}, { history: true });
