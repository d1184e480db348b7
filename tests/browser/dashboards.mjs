// Screenshots of every role's home dashboard at phone and desktop size, for
// a human to look at (not a test). Needs a running demo server:
//
//   idora serve --demo --data /tmp/dash-demo --listen 127.0.0.1:8397
//   BASE=http://127.0.0.1:8397 OUT=/tmp/dash LANGS=uz,ru,en node tests/browser/dashboards.mjs

import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const BASE = process.env.BASE || "http://127.0.0.1:8397";
const OUT = process.env.OUT || "/tmp/dash";
const LANGS = (process.env.LANGS || "uz").split(",");
const ROLES = (process.env.ROLES || "employee,manager,director,owner,operator,admin").split(",");
const LOCALES = { ru: "ru-RU", uz: "uz-UZ", en: "en-US" };
const VIEWPORTS = { phone: { width: 360, height: 800 }, desktop: { width: 1366, height: 768 } };

mkdirSync(OUT, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
});
const problems = [];
for (const lang of LANGS) {
  for (const [vp, viewport] of Object.entries(VIEWPORTS)) {
    for (const role of ROLES) {
      const ctx = await browser.newContext({ viewport, locale: LOCALES[lang] });
      const page = await ctx.newPage();
      page.on("console", (m) => { if (m.type() === "error" && !/favicon/.test(m.location().url || "")) problems.push(`console (${role} ${page.url()}): ${m.text()}`); });
      await page.goto(`${BASE}/c/demo/login?lang=${lang}`);
      await page.fill("input[name=username]", role);
      await page.fill("input[name=password]", "idora-demo");
      await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
      await page.goto(`${BASE}/c/demo/?lang=${lang}`);
      const file = `${OUT}/${lang}-${vp}-${role}.png`;
      await page.screenshot({ path: file, fullPage: true });
      const keys = (await page.evaluate(() => document.body.innerText)).match(/\b(desk|dash|tasks|operator)\.[a-z_]+(\.[a-z_]+)*\b/g);
      if (keys) problems.push(`${file}: untranslated ${[...new Set(keys)].join(", ")}`);
      if (await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1)) problems.push(`${file}: wider than the viewport`);
      await ctx.close();
    }
  }
}
await browser.close();
console.log(problems.length ? problems.join("\n") : "no problems");
