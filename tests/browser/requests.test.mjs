// Requests in a real browser: a dispatcher filters the list, picks two
// requests and assigns them in one go, and sees the assignee change; then
// on a request's page writes an internal note (badged "Internal") and a
// reply to the client (badged "To the client").
//
//   IDORA_BIN=target/debug/idora node tests/browser/requests.test.mjs
//
// The category comes from the admin API (`POST /request-categories`). To
// run against a server already seeded with one, give IDORA_BASE and
// CATEGORY_ID.

import assert from "node:assert/strict";
import { launchBrowser, run, signIn } from "./lib.mjs";

async function api(base, method, path, token, body) {
  const r = await fetch(`${base}/c/demo/api/v1${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  let v = null;
  try { v = JSON.parse(text); } catch { v = text; }
  return { status: r.status, body: v };
}

async function token(base, username) {
  const r = await api(base, "POST", "/auth/login", null, { username, password: "idora-demo" });
  assert.equal(r.status, 200, `login ${username}`);
  return r.body.access_token;
}

async function category(base, tok) {
  if (process.env.CATEGORY_ID) return Number(process.env.CATEGORY_ID);
  const r = await api(base, "POST", "/request-categories", tok, {
    names: { uz: "Karta bloklangan", ru: "Карта заблокирована", en: "Card blocked" },
    fields: [],
    team_ids: [],
    auto_assign: false,
    sla: { first_response_minutes: 30, resolution_minutes: 480 },
  });
  assert.equal(r.status, 201, `a category: ${JSON.stringify(r.body)}`);
  return r.body.id;
}

async function body(server, browser) {
  const base = server.base;
  const errors = [];
  const dir = await token(base, "director");
  const users = (await api(base, "GET", "/users", await token(base, "admin"))).body;
  const employee = users.find((u) => u.username === "employee");
  // Categories are the admin's (requests.manage); the director dispatches.
  const cat = await category(base, await token(base, "admin"));
  const tag = `T${Date.now() % 100000}`;
  const filed = [];
  for (const [subject, name, priority] of [[`${tag} karta bloklandi`, "Aziz Karimov", "urgent"], [`${tag} PIN unutildi`, "Vali Aliyev", "normal"], [`${tag} karta muddati`, "Sami Xasanov", "normal"]]) {
    const r = await api(base, "POST", "/requests", dir, {
      category_id: cat, subject, text: `${subject}: batafsil`, priority,
      client: { name, phone: `+99890${String(1000000 + filed.length * 1111 + (Date.now() % 1000)).slice(-7)}` },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    filed.push(r.body.id);
  }

  const ctx = await browser.newContext({ locale: "en-US", viewport: { width: 1366, height: 900 } });
  const page = await ctx.newPage();
  page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`));
  await signIn(page, `${base}/c/demo/login`, "director");
  await page.goto(`${base}/c/demo/lang?set=en&next=/c/demo/requests`);
  await page.getByRole("heading", { name: "Requests" }).waitFor();

  // Search and a filter: the three by their words, then the urgent one.
  await page.fill("#f-q", tag);
  await page.locator("details.rq-more summary").click();
  await page.selectOption("#f-priority", "urgent");
  await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Show" }).click()]);
  let rows = page.locator("table.rq-list tbody tr");
  await page.waitForFunction(() => document.querySelectorAll("table.rq-list tbody tr").length === 1, null, { timeout: 10_000 })
    .catch(async () => {
      // The index catches up after the commit: read again.
      await page.reload();
    });
  assert.equal(await rows.count(), 1, "the urgent one only");
  assert.match(await rows.first().innerText(), /karta bloklandi/);

  // Without the priority: all three; pick two and assign them to the employee.
  await page.selectOption("#f-priority", "");
  await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Show" }).click()]);
  rows = page.locator("table.rq-list tbody tr");
  assert.equal(await rows.count(), 3, "the three filed");
  assert.ok(await page.locator(".rq-bulk-act").first().isHidden(), "the bulk bar waits for a pick");
  const picked = [filed[0], filed[2]];
  for (const id of picked) await page.check(`tr[data-id="${id}"] input[name=ids]`);
  await page.locator(".rq-bulk.has").waitFor();
  assert.equal(await page.locator(".rq-bulk-n").innerText(), "✓ 2");
  await page.selectOption("#bulk-assignee", String(employee.id));
  await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Assign", exact: true }).click()]);
  await page.getByText("Done: 2. Not changed: 0.").waitFor();
  for (const id of picked) {
    assert.equal((await page.locator(`tr[data-id="${id}"] td.rq-assignee`).innerText()).trim(), employee.full_name || employee.username);
  }
  assert.match(await page.locator(`tr[data-id="${filed[1]}"] td.rq-assignee`).innerText(), /Nobody yet/);

  // Live: a request filed elsewhere brings the "new changes" cue to the open list.
  await page.locator("html[data-requests-live=ready]").waitFor({ timeout: 10_000 });
  assert.ok(await page.locator(".rq-changed").isHidden());
  const more = await api(base, "POST", "/requests", dir, { category_id: cat, subject: `${tag} yana bittasi`, text: "batafsil", client: { name: "Olim", phone: "+998907770011" } });
  assert.equal(more.status, 201);
  await page.locator(".rq-changed").waitFor({ state: "visible", timeout: 10_000 });

  // The request page: an internal note by default, then a reply to the client.
  await page.locator(`tr[data-id="${filed[0]}"] a.rq-link`).click();
  await page.getByRole("heading", { name: `${tag} karta bloklandi` }).waitFor();
  assert.ok(await page.locator('.rq-compose input[value="internal"]').isChecked(), "an internal note unless chosen otherwise");
  await page.fill("#f-text", "Check the passport first");
  await Promise.all([page.waitForNavigation(), page.locator(".rq-send").click()]);
  const note = page.locator("li.rq-msg", { hasText: "Check the passport first" });
  await note.waitFor();
  assert.ok(await note.locator(".rq-internal").isVisible(), "the note is badged Internal");
  await page.check('.rq-compose input[value="public"]');
  assert.ok(await page.getByText("The client will read this reply.").isVisible(), "the composer says who reads it");
  assert.equal((await page.locator(".rq-send").innerText()).trim(), "Send to client");
  await page.fill("#f-text", "Your card is unblocked");
  await Promise.all([page.waitForNavigation(), page.locator(".rq-send").click()]);
  const reply = page.locator("li.rq-msg", { hasText: "Your card is unblocked" });
  await reply.waitFor();
  assert.equal(await reply.locator(".rq-internal").count(), 0, "a reply is not internal");
  assert.ok(await reply.getByText("To the client").isVisible());
  await page.getByText("The reply is sent to the client.").waitFor();

  // Live: the assignee has the page open; a colleague's note appears without a click.
  const empCtx = await browser.newContext({ locale: "ru-RU", viewport: { width: 390, height: 844 } });
  const emp = await empCtx.newPage();
  emp.on("pageerror", (e) => errors.push(`${emp.url()}: ${e.message}`));
  await signIn(emp, `${base}/c/demo/login`, "employee");
  await emp.goto(`${base}/c/demo/requests/${filed[0]}`);
  await emp.locator("html[data-requests-live=ready]").waitFor({ timeout: 10_000 });
  const said = await api(base, "POST", `/requests/${filed[0]}/messages`, dir, { text: "Mijoz qayta qo'ng'iroq qildi", internal: true });
  assert.equal(said.status, 201);
  await emp.locator("li.rq-msg", { hasText: "Mijoz qayta qo'ng'iroq qildi" }).waitFor({ timeout: 10_000 });
  await empCtx.close();

  // The API agrees: one internal, one public.
  const msgs = (await api(base, "GET", `/requests/${filed[0]}/messages`, dir)).body.items;
  assert.deepEqual(msgs.filter((m) => !m.from_client).map((m) => [m.text, m.internal]).slice(-3),
    [["Check the passport first", true], ["Your card is unblocked", false], ["Mijoz qayta qo'ng'iroq qildi", true]]);
  assert.deepEqual(errors, [], "no script errors");
}

if (process.env.IDORA_BASE) {
  const browser = await launchBrowser();
  try {
    await body({ base: process.env.IDORA_BASE }, browser);
    console.log("ok - requests (on a running server)");
  } catch (e) {
    console.error("FAILED - requests:", e && e.stack ? e.stack : e);
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
} else {
  await run("requests: filter, bulk assignment, internal note and public reply", body);
}
