// Screenshots of every admin page at phone and desktop size, for a human to
// look at (not a test). Needs a running demo server:
//
//   idora serve --demo --data /tmp/pages-demo --listen 127.0.0.1:8391
//   BASE=http://127.0.0.1:8391 OUT=/tmp/shots LANGS=ru,uz,en node tests/browser/screenshots.mjs

import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const BASE = process.env.BASE || "http://127.0.0.1:8391";
const OUT = process.env.OUT || "/tmp/shots";
const LANGS = (process.env.LANGS || "ru").split(",");
const PASSWORD = "idora-demo";
const VIEWPORTS = { phone: { width: 360, height: 800 }, desktop: { width: 1366, height: 768 } };
const LOCALES = { ru: "ru-RU", uz: "uz-UZ", en: "en-US" };

mkdirSync(OUT, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});

const problems = [];

async function shot(page, name, lang, vp) {
  const file = `${OUT}/${lang}-${vp}-${name}.png`;
  await page.screenshot({ path: file, fullPage: true });
  // Untranslated keys look like "admin.users.title".
  const text = await page.evaluate(() => document.body.innerText);
  const keys = text.match(/\b(admin|platform|portal|profile|dash|home|nav|login|error|validation)\.[a-z_]+(\.[a-z_]+)*\b/g);
  if (keys) problems.push(`${file}: untranslated ${[...new Set(keys)].join(", ")}`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  if (overflow) problems.push(`${file}: page wider than the viewport`);
}

async function go(page, path) {
  const r = await page.goto(BASE + path);
  if ((!r || r.status() >= 400) && !path.includes("no-such")) problems.push(`${path}: status ${r && r.status()}`);
}

async function login(page, path, user) {
  await go(page, path);
  await page.fill("input[name=username]", user);
  await page.fill("input[name=password]", PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
}

for (const lang of LANGS) {
  for (const [vp, viewport] of Object.entries(VIEWPORTS)) {
    const ctx = await browser.newContext({ viewport, locale: LOCALES[lang] });
    const page = await ctx.newPage();
    page.on("console", (m) => { if (m.type() === "error") problems.push(`console (${page.url()}): ${m.text()}`); });
    page.on("pageerror", (e) => problems.push(`page error (${page.url()}): ${e.message}`));

    await go(page, "/");
    await shot(page, "portal", lang, vp);
    await go(page, "/c/demo/");
    await shot(page, "landing", lang, vp);
    await go(page, "/c/demo/login");
    await shot(page, "login", lang, vp);

    // Platform console.
    await login(page, "/admin/login", "platform");
    await shot(page, "platform-companies", lang, vp);
    await go(page, "/admin/companies/new");
    await shot(page, "platform-new", lang, vp);
    const slug = `shot-${lang}-${vp}`;
    await page.fill("input[name=name]", `Test ${lang} ${vp}`);
    await page.fill("input[name=slug]", "Bad Slug");
    await page.fill("input[name=admin_username]", "boss");
    await page.evaluate(() => document.querySelector("form[action='/admin/companies/new']").noValidate = true);
    await Promise.all([page.waitForNavigation(), page.click("form[action='/admin/companies/new'] button[type=submit]")]);
    await shot(page, "platform-new-error", lang, vp);
    await page.fill("input[name=slug]", slug);
    await Promise.all([page.waitForNavigation(), page.click("form[action='/admin/companies/new'] button[type=submit]")]);
    await shot(page, "platform-created", lang, vp);
    await go(page, "/admin/companies/demo");
    await shot(page, "platform-edit", lang, vp);
    await go(page, "/admin");
    await shot(page, "platform-companies-after", lang, vp);
    await go(page, `/c/${slug}/`);
    await shot(page, "landing-inactive", lang, vp);

    // Company admin console.
    await login(page, "/c/demo/login", "admin");
    await shot(page, "dashboard-admin", lang, vp);
    await go(page, "/c/demo/profile");
    await shot(page, "profile", lang, vp);
    await go(page, "/c/demo/admin/users");
    await shot(page, "users", lang, vp);
    await go(page, "/c/demo/admin/users/new");
    await shot(page, "user-new", lang, vp);
    await go(page, "/c/demo/admin/users");
    await Promise.all([page.waitForNavigation(), page.click("a:text-is('manager')")]);
    await shot(page, "user-edit", lang, vp);
    await go(page, "/c/demo/admin/departments");
    await shot(page, "departments", lang, vp);
    await go(page, "/c/demo/admin/branches");
    await shot(page, "branches", lang, vp);
    await Promise.all([page.waitForNavigation(), page.click("table a >> nth=0")]);
    await shot(page, "branch-edit", lang, vp);
    await go(page, "/c/demo/admin/branches/new");
    await shot(page, "branch-new", lang, vp);
    await go(page, "/c/demo/admin/roles");
    await shot(page, "roles", lang, vp);
    await go(page, "/c/demo/admin/branding");
    await shot(page, "branding", lang, vp);
    await go(page, "/c/demo/admin/company");
    await shot(page, "company", lang, vp);
    await go(page, "/c/demo/admin/audit");
    await shot(page, "audit", lang, vp);

    // The owner's everyday pages, and the phone's "More" sheet and account menu.
    await page.context().clearCookies();
    await login(page, "/c/demo/login", "owner");
    await shot(page, "dashboard-owner", lang, vp);
    for (const [name, path] of [["tasks", "/c/demo/tasks"], ["tasks-all", "/c/demo/tasks?tab=all"], ["task-new", "/c/demo/tasks/new"],
      ["calendar", "/c/demo/calendar"], ["operator", "/c/demo/operator"], ["queue-stats", "/c/demo/queue/stats"],
      ["notifications", "/c/demo/notifications"], ["queue-services", "/c/demo/admin/queue/services"], ["categories", "/c/demo/admin/categories"]]) {
      await go(page, path);
      await shot(page, name, lang, vp);
    }
    await go(page, "/c/demo/no-such-page");
    if (vp === "phone") {
      await page.click("details.more > summary");
      await page.screenshot({ path: `${OUT}/${lang}-${vp}-more-sheet.png` });
      await page.keyboard.press("Escape");
      await page.click("details.account > summary");
      await page.screenshot({ path: `${OUT}/${lang}-${vp}-account-menu.png` });
      await page.keyboard.press("Escape");
    }
    await page.screenshot({ path: `${OUT}/${lang}-${vp}-not-found.png` });

    // A role with no admin section.
    await page.context().clearCookies();
    await login(page, "/c/demo/login", "employee");
    await shot(page, "dashboard-employee", lang, vp);
    await page.goto(BASE + "/c/demo/admin/users"); // 403, on purpose
    await shot(page, "forbidden", lang, vp);
    await ctx.close();
  }
}

await browser.close();
if (problems.length) {
  console.log(problems.join("\n"));
} else {
  console.log("no problems found");
}
