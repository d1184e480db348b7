// Chat in a real browser (Chromium via playwright-core): the manager and
// the employee have the same task open in two pages. The manager writes and
// sends a photo; the employee's page shows the message and the photo's
// thumbnail without a reload, and its "Chats" badge moves; the employee
// answers, quoting the message, and the manager's page shows it live. A
// direct chat from the Chats page works the same way.
//
//   IDORA_BIN=target/debug/idora node tests/browser/chat.test.mjs

import assert from "node:assert/strict";
import { run, signIn } from "./lib.mjs";

// A 64×48 PNG, blue (made here so the test needs no file on disk).
import { deflateSync } from "node:zlib";
function png(w, h) {
  const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4); c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2;
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) { const o = y * (w * 3 + 1) + 1 + x * 3; raw[o] = 31; raw[o + 1] = 111; raw[o + 2] = 235; }
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

function watch(page, errors) {
  page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") errors.push(`${page.url()}: ${m.text()}`); });
}

async function badge(page) {
  const b = page.locator('nav.tabs a[href$="/chats"] .nav-badge');
  if ((await b.count()) === 0 || (await b.isHidden())) return 0;
  return parseInt(await b.textContent(), 10);
}

await run("chat: a task's discussion live between two pages, with a photo and the badge", async (server, browser) => {
  const base = server.base;
  const errors = [];
  const open = async (who, locale) => {
    const ctx = await browser.newContext({ locale, viewport: { width: 1366, height: 900 } });
    const page = await ctx.newPage();
    watch(page, errors);
    await signIn(page, `${base}/c/demo/login`, who);
    return page;
  };
  const man = await open("manager", "en-US");
  const emp = await open("employee", "ru-RU");

  // The manager gives the employee a task; both open it.
  await man.goto(`${base}/c/demo/tasks/new`);
  await man.fill("input[name=title]", "Hisobotni tekshirish");
  const assignee = await man.locator("select[name=assignee_id] option", { hasText: "Bekzod Aliyev" }).getAttribute("value");
  await man.selectOption("select[name=assignee_id]", assignee);
  await Promise.all([man.waitForNavigation(), man.getByRole("button", { name: "Create task" }).click()]);
  const taskUrl = man.url();
  assert.match(taskUrl, /\/tasks\/\d+/);
  await emp.goto(taskUrl);
  await emp.evaluate(() => { window.__stay = true; });
  await emp.locator("body[data-live=ready]").waitFor();

  // The manager writes: the employee's page shows it at once.
  await man.locator("#chat textarea").fill("Bekzod, mana namuna: https://bank.uz/namuna");
  await man.locator("#chat .chat-send").click();
  await man.locator("#chat li.msg.mine", { hasText: "mana namuna" }).waitFor();
  const msg = emp.locator("#chat li.msg", { hasText: "mana namuna" });
  await msg.waitFor({ timeout: 10_000 });
  assert.equal(await msg.locator("a[href='https://bank.uz/namuna']").count(), 1, "the link is a link");

  // A photo: uploaded with progress, sent, and its thumbnail appears on the other page.
  await man.locator("#chat input[data-pick=files]").setInputFiles({ name: "kvitansiya.png", mimeType: "image/png", buffer: png(64, 48) });
  await man.locator("#chat .chat-file.done").waitFor({ timeout: 10_000 });
  await man.locator("#chat .chat-send").click();
  const thumb = emp.locator("#chat li.msg img.msg-thumb");
  await thumb.waitFor({ timeout: 15_000 });
  await emp.waitForFunction(() => { const i = document.querySelector("#chat img.msg-thumb"); return i && i.complete && i.naturalWidth > 0; }, null, { timeout: 15_000 });
  assert.equal(await emp.evaluate(() => window.__stay), true, "no reload");

  // The employee's badge: reading on an open page leaves nothing unread.
  await emp.waitForFunction(() => { const b = document.querySelector('nav.tabs a[href$="/chats"] .nav-badge'); return !b || b.hidden || b.textContent === "0"; });
  // Elsewhere (the chats list in another tab), a new message moves the badge up.
  const list = await emp.context().newPage();
  watch(list, errors);
  await list.goto(`${base}/c/demo/chats`);
  await list.locator("body[data-live=ready]").waitFor();
  await emp.close();
  const was = await badge(list);
  await man.locator("#chat textarea").fill("Yana bir savol");
  await man.locator("#chat textarea").press("Enter");
  await list.waitForFunction((n) => { const b = document.querySelector('nav.tabs a[href$="/chats"] .nav-badge'); return b && !b.hidden && parseInt(b.textContent, 10) === n + 1; }, was, { timeout: 10_000 });

  // The employee answers from the task page, quoting the first message; the manager sees it live.
  const emp2 = await list.context().newPage();
  watch(emp2, errors);
  await emp2.goto(taskUrl);
  await emp2.locator("#chat li.msg", { hasText: "mana namuna" }).locator("[data-act=reply]").click();
  await emp2.locator("#chat textarea").fill("Хорошо, проверю");
  await emp2.locator("#chat .chat-send").click();
  const answer = man.locator("#chat li.msg", { hasText: "Хорошо, проверю" });
  await answer.waitFor({ timeout: 10_000 });
  assert.match(await answer.locator(".msg-quote").textContent(), /Malika Yusupova/);

  assert.deepEqual(errors, [], "no console errors");
});
