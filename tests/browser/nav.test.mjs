// The page frame in a real browser: the phone's bottom bar and its "More"
// sheet reach every page of the owner; no page a role can open is wider
// than a 360 px screen; no console error anywhere, live updates included;
// the desktop tabs fit from 1024 px; error pages keep the signed-in frame;
// dates and times read dd.mm.yyyy and 24-hour in an en-US browser; one log
// line per request, without the query.
//
//   IDORA_BIN=target/debug/idora node tests/browser/nav.test.mjs
//   (SHOTS=/tmp/nav-shots also saves a screenshot of every page visited)

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { run, signIn } from "./lib.mjs";

const PHONE = { width: 360, height: 800 };
const SHOTS = process.env.SHOTS || "";
if (SHOTS) mkdirSync(SHOTS, { recursive: true });

/// Console errors (a CSP refusal is one) and uncaught exceptions.
function watch(page, errors) {
  page.on("console", (m) => { if (m.type() === "error") errors.push(`${page.url()}: ${m.text()}`); });
  page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`));
}

async function phoneContext(browser, locale = "en-US") {
  return browser.newContext({ locale, viewport: PHONE, hasTouch: true, isMobile: true });
}

/// The page is no wider than the screen.
async function fits(page, what) {
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(w <= PHONE.width, `${what} (${page.url()}) is ${w}px wide on a ${PHONE.width}px screen`);
  // No label of the bottom bar spills out of its place (a word cut or overlapping).
  const spilled = await page.locator("nav.bottombar > a, nav.bottombar summary")
    .evaluateAll((as) => as.filter((a) => a.scrollWidth > a.clientWidth + 1).map((a) => a.textContent.trim()));
  assert.deepEqual(spilled, [], `${what}: bottom bar labels fit`);
}

async function shot(page, name) {
  if (SHOTS) await page.screenshot({ path: `${SHOTS}/${name.replace(/[^a-z0-9-]+/gi, "_")}.png`, fullPage: true });
}

const path = (u) => new URL(u).pathname;

await run("phone navigation reaches every page of the owner; desktop tabs fit", async (server, browser) => {
  const base = server.base;
  const errors = [];

  // On a desktop: the places in the top tabs and the settings side menu.
  const desk = await browser.newContext({ locale: "en-US", viewport: { width: 1024, height: 768 } });
  const d = await desk.newPage();
  watch(d, errors);
  await signIn(d, `${base}/c/demo/login`, "owner");
  const tabs = await d.locator("nav.tabs a").evaluateAll((as) => as.map((a) => a.pathname));
  assert.ok(tabs.length >= 4 && tabs.length <= 7, `a few top tabs: ${tabs}`);
  for (const width of [1024, 1280, 1366]) {
    await d.setViewportSize({ width, height: 768 });
    const cut = await d.locator("nav.tabs").evaluate((nav) => {
      const r = nav.getBoundingClientRect();
      return nav.scrollWidth > nav.clientWidth
        ? ["the strip scrolls"]
        : [...nav.querySelectorAll("a")].filter((a) => a.getBoundingClientRect().right > r.right + 0.5).map((a) => a.textContent);
    });
    assert.deepEqual(cut, [], `no tab cut off at ${width}px`);
  }
  await d.setViewportSize({ width: 1366, height: 768 });
  await d.getByRole("link", { name: "Settings", exact: true }).click();
  await d.locator("nav.side-menu a[aria-current=page]").waitFor();
  await shot(d, "desktop-owner-settings");
  const side = await d.locator("nav.side-menu a").evaluateAll((as) => as.map((a) => a.pathname));
  assert.ok(side.length >= 8, `the settings side menu lists the admin pages: ${side}`);
  assert.equal(await d.locator(".bottombar").isVisible(), false, "no bottom bar on a desktop");
  // The whole name beside the avatar on a desktop.
  assert.equal(await d.locator(".account-name").innerText(), "Aziz Karimov");
  const desktopPlaces = new Set([...tabs.filter((p) => !p.endsWith("/admin")), ...side]);

  // On a phone: only the bottom bar and the "More" sheet.
  const ctx = await phoneContext(browser);
  const page = await ctx.newPage();
  watch(page, errors);
  await signIn(page, `${base}/c/demo/login`, "owner");
  assert.equal(await page.locator("nav.tabs").isVisible(), false, "no top tabs on a phone");
  const bar = page.locator("nav.bottombar");
  assert.ok(await bar.isVisible(), "a bottom bar on a phone");
  const inBar = await bar.locator(":scope > a").evaluateAll((as) => as.map((a) => a.pathname));
  assert.ok(inBar.length >= 3 && inBar.length <= 4, `3-4 places and "More": ${inBar}`);
  // Every link of the bar and of the sheet fits the screen, none is cut.
  const more = page.locator("details.more > summary");
  await more.click();
  await page.locator(".sheet").waitFor();
  await shot(page, "phone-owner-more");
  const inSheet = await page.locator(".sheet a").evaluateAll((as) => as.map((a) => a.pathname));
  // A tap on the dimmed page above the sheet closes it.
  await page.mouse.click(180, 20);
  await page.locator(".sheet").waitFor({ state: "hidden" });

  const reached = new Set();
  for (const target of [...inBar, ...inSheet]) {
    await page.goto(`${base}/c/demo/`);
    const viaSheet = !inBar.includes(target);
    if (viaSheet) {
      await page.locator("details.more > summary").click();
    }
    const link = page.locator(viaSheet ? `.sheet a[href="${target}"]` : `nav.bottombar > a[href="${target}"]`);
    assert.ok(await link.isVisible(), `${target} is on the phone's navigation`);
    const [resp] = await Promise.all([page.waitForNavigation(), link.click()]);
    assert.equal(resp.status(), 200, `${target} opens`);
    assert.equal(path(page.url()).replace(/\/$/, ""), target.replace(/\/$/, ""));
    await page.waitForLoadState("networkidle");
    await fits(page, target);
    // Where you are is marked: in the bar, or on "More".
    const marked = await page.locator("nav.bottombar > a.active, nav.bottombar .more-button.active").count();
    assert.equal(marked, 1, `${target}: one place marked in the bottom bar`);
    await shot(page, `phone-owner${target.replace("/c/demo", "")}`);
    reached.add(target);
  }
  const missing = [...desktopPlaces].filter((p) => !reached.has(p));
  assert.deepEqual(missing, [], "the phone reaches every place of the desktop navigation");

  // The avatar opens the account menu with the whole name.
  await page.locator("details.account > summary").click();
  assert.equal(await page.locator(".account-who strong").innerText(), "Aziz Karimov");
  assert.match(await page.locator("details.account .avatar").innerText(), /^AK$/);
  const box = await page.locator(".account-menu").boundingBox();
  assert.ok(box.x >= 0 && box.x + box.width <= PHONE.width, "the account menu is on the screen");
  await shot(page, "phone-owner-account");
  await page.keyboard.press("Escape");
  assert.equal(await page.locator(".account-menu").isVisible(), false, "Escape closes it");

  // In settings, the selected side-menu item is scrolled into view.
  await page.goto(`${base}/c/demo/admin/audit`);
  const sel = await page.locator("nav.side-menu a[aria-current=page]").boundingBox();
  assert.ok(sel && sel.x >= 0 && sel.x + sel.width <= PHONE.width, "the selected settings tab is visible");
  await fits(page, "audit");
  assert.deepEqual(errors, []);
});

const ROLES = ["owner", "director", "admin", "manager", "employee", "operator"];
// Pages that are not for a person on a phone's frame: the kiosk and the
// board are full-screen signage; files and feeds are not pages.
const SKIP = /\/(logout|lang|kiosk|display|live)(\/|$|\?)|\.(ics|csv|xlsx|svg|png)$|\/export/;

await run("no page a role can open is wider than 360 px, and none logs an error", async (server, browser) => {
  const base = server.base;
  for (const role of ROLES) {
    const errors = [];
    const ctx = await phoneContext(browser, role === "operator" ? "ru-RU" : "uz-UZ");
    const page = await ctx.newPage();
    watch(page, errors);
    await signIn(page, `${base}/c/demo/login`, role);
    // Every link of the company's pages, one per shape of address (ids
    // folded), breadth first from the home page.
    const seen = new Set();
    const queue = [`${base}/c/demo/`];
    let visited = 0;
    while (queue.length && visited < 45) {
      const url = queue.shift();
      const resp = await page.goto(url);
      visited++;
      assert.ok(resp.status() < 400, `${role}: ${url} answers ${resp.status()}`);
      await page.waitForLoadState("networkidle");
      await fits(page, `${role}'s page`);
      const links = await page.locator("a[href]").evaluateAll((as) => as.map((a) => a.href));
      for (const l of links) {
        const u = new URL(l);
        if (u.origin !== base || !u.pathname.startsWith("/c/demo/") || SKIP.test(u.pathname)) continue;
        const shape = u.pathname.replace(/\/\d+(?=\/|$)/g, "/:id") + (u.searchParams.get("tab") ? `?tab=${u.searchParams.get("tab")}` : "");
        if (seen.has(shape)) continue;
        seen.add(shape);
        queue.push(u.origin + u.pathname + (u.searchParams.get("tab") ? `?tab=${u.searchParams.get("tab")}` : ""));
      }
    }
    assert.ok(visited >= 5, `${role}: ${visited} pages`);
    assert.deepEqual(errors, [], `${role}: no console errors`);
    console.log(`  ${role}: ${visited} pages fit 360 px`);
    await ctx.close();
  }
});

await run("error pages keep the frame; dates read dd.mm.yyyy; one log line per request", async (server, browser) => {
  const base = server.base;
  const errors = [];
  const ctx = await phoneContext(browser);
  const page = await ctx.newPage();
  watch(page, errors);
  await signIn(page, `${base}/c/demo/login`, "employee");

  // 404 and 403: what happened, where to go, and the menu is still there.
  let resp = await page.goto(`${base}/c/demo/no-such-page?token=SECRET123`);
  assert.equal(resp.status(), 404);
  await page.getByRole("heading", { name: "Page not found" }).waitFor();
  assert.ok(await page.locator("nav.bottombar").isVisible(), "the 404 page keeps the signed-in frame");
  await page.getByRole("link", { name: "Go to the home page" }).waitFor();
  await fits(page, "404");
  await shot(page, "phone-employee-404");
  resp = await page.goto(`${base}/c/demo/admin/roles`);
  assert.equal(resp.status(), 403);
  await page.getByRole("heading", { name: "No access to this page" }).waitFor();
  assert.match(await page.locator(".error-page").innerText(), /administrator/);
  assert.ok(await page.locator("nav.bottombar").isVisible(), "the 403 page keeps the signed-in frame");
  // 405: a page address asked with the wrong method, from the page itself.
  const s405 = await page.evaluate(async () => {
    const headers = JSON.parse(document.body.getAttribute("hx-headers"));
    return (await fetch("/c/demo/profile", { method: "PUT", headers })).status;
  });
  assert.equal(s405, 405);
  await page.goto(`${base}/c/demo/`);
  // Signed out: the plain frame.
  const anon = await (await browser.newContext({ locale: "en-US" })).newPage();
  resp = await anon.goto(`${base}/c/demo/nothing-here`);
  assert.equal(resp.status(), 404);
  await anon.getByRole("heading", { name: "Page not found" }).waitFor();

  // Icons: the favicon and the web app manifest.
  const icon = await page.locator("link[rel=icon]").first().getAttribute("href");
  assert.equal((await page.request.get(base + icon)).status(), 200);
  const manifest = await page.request.get(`${base}/c/demo/manifest.webmanifest`);
  assert.equal(manifest.status(), 200);
  const m = await manifest.json();
  assert.equal(m.start_url, "/c/demo/");
  for (const i of m.icons) assert.equal((await page.request.get(base + i.src)).status(), 200, i.src);
  assert.equal((await page.request.get(`${base}/favicon.ico`)).status(), 200);

  // Dates and times in an en-US browser: dd.mm.yyyy and 24-hour, sent as ISO.
  await signIn(page, `${base}/c/demo/login`, "manager");
  await page.goto(`${base}/c/demo/tasks/new`);
  const shown = page.locator("#f-deadline");
  assert.equal(await shown.getAttribute("type"), "text");
  assert.match(await shown.inputValue(), /^\d\d\.\d\d\.\d{4} \d\d:\d\d$/, "the deadline reads dd.mm.yyyy hh:mm");
  await shown.fill("05.01.2031 14:30");
  assert.equal(await page.inputValue("input[name=deadline]"), "2031-01-05T14:30");
  await shown.fill("31.02.2031 14:30");
  assert.equal(await shown.evaluate((i) => i.validity.valid), false, "31 February is refused");
  // A live update under the CSP: the employee's phone follows their task
  // list while the manager gives them a task with that deadline.
  const empCtx = await phoneContext(browser, "uz-UZ");
  const emp = await empCtx.newPage();
  watch(emp, errors);
  await signIn(emp, `${base}/c/demo/login`, "employee");
  await emp.goto(`${base}/c/demo/tasks`);
  await emp.locator("body[data-live=ready]").waitFor({ timeout: 10_000 });
  const title = `Kassa hisoboti ${Date.now() % 100000}`;
  await page.fill("input[name=title]", title);
  await shown.fill("05.01.2031 14:30");
  const assignee = await page.locator("select[name=assignee_id] option", { hasText: "Bekzod Aliyev" }).getAttribute("value");
  await page.selectOption("select[name=assignee_id]", assignee);
  await Promise.all([page.waitForNavigation(), page.locator("form[action$='/tasks/new'] button[type=submit]").click()]);
  assert.match(path(page.url()), /^\/c\/demo\/tasks\/\d+$/);
  assert.match(await page.locator("main").innerText(), /05\.01\.2031|2031-01-05/, "the deadline was kept");
  await emp.locator("#live-region a.task-link", { hasText: title }).waitFor({ timeout: 10_000 });
  await emp.locator("#bell-count").waitFor({ timeout: 10_000 });
  await fits(emp, "the live task list");
  await shot(emp, "phone-employee-live");
  await empCtx.close();

  await page.goto(`${base}/c/demo/tasks?tab=all`);
  const from = page.locator("#f-due_from");
  if (await from.count()) {
    await from.fill("7.3.2030");
    assert.equal(await page.inputValue("input[name=due_from]"), "2030-03-07");
  }
  await shot(page, "phone-manager-tasks-all");

  // One line per request at info: method, path, status, time; no query.
  await new Promise((r) => setTimeout(r, 300));
  const log = server.logTail(100000).replace(/\x1b\[[0-9;]*m/g, "");
  const line = log.split("\n").find((l) => l.includes("/c/demo/no-such-page"));
  assert.ok(line, "the 404 was logged");
  assert.match(line, /INFO/);
  assert.match(line, /method=GET/);
  assert.match(line, /status=404/);
  assert.match(line, /ms=\d/);
  assert.equal(log.split("\n").filter((l) => l.includes("/c/demo/no-such-page")).length, 1, "one line for it");
  assert.ok(!log.includes("SECRET123"), "the query string is never logged");
  // The error pages above were asked for on purpose: their status is no error of the page.
  assert.deepEqual(errors.filter((e) => !/Failed to load resource: the server responded with a status of 40[345]/.test(e)), []);
});
