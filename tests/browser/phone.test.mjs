// Two things on a 360 px phone (real Chromium): the booking page's day strip
// scrolls sideways with a visible cue (a fade and an arrow on the side with
// more days) and shows the chosen day; a task card gives the title the
// card's whole width, with status and deadline below it.
//
//   IDORA_BIN=target/debug/idora node tests/browser/phone.test.mjs

import assert from "node:assert/strict";
import { run, signIn } from "./lib.mjs";

const PHONE = { viewport: { width: 360, height: 800 }, locale: "ru-RU", isMobile: true, hasTouch: true };

await run("phone: the booking day strip shows more days and the chosen one; task titles get the width", async (server, browser) => {
  const base = server.base;
  const errors = [];
  const ctx = await browser.newContext(PHONE);
  const page = await ctx.newPage();
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });

  // The booking page: the last day that can be chosen.
  await page.goto(`${base}/c/demo/visit/book?branch=1&service=1`);
  const days = page.locator("ul.visit-days a.visit-day");
  assert.ok((await days.count()) > 3, "several days to choose from");
  const last = await days.last().getAttribute("href");
  await page.goto(base + last);
  const strip = page.locator("ul.visit-days");
  const cue = page.locator("[data-scroll-cue]");
  await cue.locator("xpath=.").and(page.locator("[data-cue-ready]")).waitFor();
  const geo = await strip.evaluate((s) => ({ scroll: s.scrollWidth, client: s.clientWidth }));
  assert.ok(geo.scroll > geo.client, `the strip is wider than the phone (${geo.scroll} > ${geo.client})`);

  // The chosen day is in view, not hidden off to the right.
  const chosen = page.locator("ul.visit-days [aria-current=date]");
  const [sb, cb] = [await strip.boundingBox(), await chosen.boundingBox()];
  assert.ok(cb.x >= sb.x - 1 && cb.x + cb.width <= sb.x + sb.width + 1, `the chosen day is in view: ${JSON.stringify({ sb, cb })}`);

  // A cue on the side with more days, none on the side without.
  const cueOpacity = (side) => cue.evaluate((el, side) => getComputedStyle(el, side).opacity, side);
  const settle = () => page.waitForTimeout(300);
  await strip.evaluate((s) => { s.scrollLeft = s.scrollWidth; });
  await settle();
  assert.equal(await cueOpacity("::after"), "0", "at the end: no arrow to the right");
  assert.equal(await cueOpacity("::before"), "1", "at the end: the arrow to the left");
  await strip.evaluate((s) => { s.scrollLeft = 0; });
  await settle();
  assert.equal(await cueOpacity("::after"), "1", "at the start: more days to the right");
  assert.equal(await cueOpacity("::before"), "0");
  assert.equal(await cue.evaluate((el) => getComputedStyle(el, "::after").content), '"›"');

  // Task cards: the title spans the card; status and deadline come below it.
  await signIn(page, `${base}/c/demo/login`, "director");
  await page.goto(`${base}/c/demo/tasks?tab=all`);
  const rows = page.locator("table.tasks tbody tr");
  assert.ok((await rows.count()) > 3, "the demo has tasks");
  for (let i = 0; i < 3; i++) {
    const row = rows.nth(i);
    const card = await row.boundingBox();
    const title = await row.locator("a.task-link").boundingBox();
    const titleCell = await row.locator("td").first().boundingBox();
    const status = await row.locator(".badge").first().boundingBox();
    assert.ok(titleCell.width >= card.width * 0.9, `the title's cell spans the card: ${titleCell.width} of ${card.width}`);
    assert.ok(title.x - card.x < 40, `the title starts at the card's left edge, not after a label: ${title.x - card.x} px in`);
    assert.ok(status.y >= title.y + title.height - 1, "the status is below the title");
  }
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  assert.ok(!overflow, "the page fits the phone");
  assert.deepEqual(errors, [], "no script or console errors");
}, { history: true });
