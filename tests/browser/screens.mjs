// Screenshots of the queue's public screens at TV sizes (1920x1080 and
// 1080x1920), for a human to look at (not a test): the kiosk's steps (with
// the on-screen keyboard open), the ticket, the tracking page and the
// display board, in each language asked for. Needs a running demo server
// with today's queue (not --demo-bare); it opens both branches around the
// clock so that the screens are open at any hour:
//
//   idora serve --demo --data /tmp/screens-demo --listen 127.0.0.1:8392
//   BASE=http://127.0.0.1:8392 OUT=/tmp/screens LANGS=uz,ru node tests/browser/screens.mjs

import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const BASE = process.env.BASE || "http://127.0.0.1:8392";
const OUT = process.env.OUT || "/tmp/screens";
const LANGS = (process.env.LANGS || "uz,ru").split(",");
const PASSWORD = "idora-demo";
const VIEWPORTS = { wide: { width: 1920, height: 1080 }, tall: { width: 1080, height: 1920 } };
const LOCALES = { ru: "ru-RU", uz: "uz-UZ", en: "en-US" };

mkdirSync(OUT, { recursive: true });

async function api(method, path, token, body) {
  const r = await fetch(`${BASE}/c/demo/api/v1${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

const admin = (await api("POST", "/auth/login", null, { username: "admin", password: PASSWORD })).body.access_token;
const branches = (await api("GET", "/branches", admin)).body.map((b) => b.id);
for (const b of branches) await api("PATCH", `/branches/${b}`, admin, { hours: null });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});

const problems = [];

async function shot(page, name) {
  const file = `${OUT}/${name}.png`;
  await page.screenshot({ path: file });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  if (overflow) problems.push(`${file}: wider than the screen`);
  const tall = await page.evaluate(() => document.documentElement.scrollHeight > window.innerHeight + 1);
  if (tall) problems.push(`${file}: taller than the screen (scrolls)`);
}

for (const lang of LANGS) {
  for (const [vp, viewport] of Object.entries(VIEWPORTS)) {
    const ctx = await browser.newContext({ viewport, locale: LOCALES[lang] });
    await ctx.addInitScript(() => { window.print = () => {}; });
    const page = await ctx.newPage();
    page.on("console", (m) => { if (m.type() === "error") problems.push(`console (${page.url()}): ${m.text()}`); });
    page.on("pageerror", (e) => problems.push(`page error (${page.url()}): ${e.message}`));
    const tag = `${lang}-${vp}`;
    const kiosk = `/c/demo/kiosk/${branches[0]}?lang=${lang}`;

    await page.goto(BASE + kiosk);
    await page.locator("[data-kiosk][data-ready]").waitFor();
    await shot(page, `${tag}-kiosk-start`);
    await page.locator("button.kiosk-service").first().click();
    await page.locator("[data-step=details]").waitFor();
    for (const d of "901234567") await page.locator(`[data-keypad=phone] [data-key="${d}"]`).click();
    await shot(page, `${tag}-kiosk-details`);
    await page.locator("#kiosk-name").click();
    for (const c of lang === "ru" ? ["Н", "И", "Л", "У", "Ф", "А", "Р"] : ["N", "I", "L", "U", "F", "A", "R"]) {
      await page.locator(`[data-osk] [data-layout]:not([hidden]) [data-char="${c}"]`).click();
    }
    await shot(page, `${tag}-kiosk-keyboard`);
    await page.locator("[data-osk] [data-layout]:not([hidden]) [data-osk-key=done]").click();
    await page.locator("button[data-take=full]").click();
    await page.locator("[data-step=ticket]:not([hidden])").waitFor();
    await page.waitForTimeout(600);
    await shot(page, `${tag}-kiosk-ticket`);
    const qr = await page.locator("[data-step=ticket] img.ticket-qr").getAttribute("src");
    await page.goto(BASE + kiosk);
    await page.locator("[data-kiosk][data-ready]").waitFor();
    await page.locator("button[data-go=booking]").click();
    for (const d of "1234") await page.locator(`[data-keypad=code] [data-key="${d}"]`).click();
    await shot(page, `${tag}-kiosk-booking`);

    // The tracking page of the ticket just taken, as the customer's phone would show it at this size.
    await page.goto(BASE + qr.replace(/\/qr\.svg$/, ""));
    await shot(page, `${tag}-track`);

    // The operator at window 1 calls the next customer: the board shows a call.
    if (vp === "tall") {
      const op = (await api("POST", "/auth/login", null, { username: "operator", password: PASSWORD })).body.access_token;
      await api("POST", "/operator/call-next", op);
    }
    for (const b of branches) {
      await page.goto(`${BASE}/c/demo/display/${b}`);
      await page.waitForTimeout(400);
      await shot(page, `${tag}-display-${b}`);
    }
    await page.goto(`${BASE}/c/demo/display/${branches[0]}?lang=${lang}`);
    await page.waitForTimeout(400);
    await shot(page, `${tag}-display-${branches[0]}-${lang}`);
    await ctx.close();
  }
}

await browser.close();
if (problems.length) {
  console.log(problems.join("\n"));
  process.exitCode = 1;
} else {
  console.log(`screens in ${OUT}`);
}
