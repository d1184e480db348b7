// The inboxes and a forced password change, in a real browser (Chromium via
// playwright-core), on a bare demo company:
//
// 1. The director's approval inbox: tasks a manager gives outside her
//    department wait for the director. The navigation badge and the
//    "Waiting for my approval" tab show how many; when the director approves
//    one in another page, and when the manager gives another, the badge and
//    the tab of the page left open change without a reload.
// 2. A forced password change: a user an admin created with a generated
//    password signs in and must choose their own before any other page
//    opens (every other address leads back to the form); then the home
//    dashboard opens.
//
//   IDORA_BIN=target/debug/idora CHROMIUM_PATH=$(command -v chromium) node tests/browser/inbox.test.mjs

import assert from "node:assert/strict";
import { PASSWORD, run, signIn } from "./lib.mjs";

/// A JSON API call as `token` (or none).
async function api(base, method, path, token, body) {
  const r = await fetch(`${base}/c/demo/api/v1${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

async function token(base, username, password = PASSWORD) {
  const r = await api(base, "POST", "/auth/login", null, { username, password });
  assert.equal(r.status, 200, `${username} signs in`);
  return r.json.access_token;
}

function watchErrors(page, errors) {
  page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`));
  // (A form answered 422 on purpose is logged by Chromium as a failed load: not an error of ours.)
  page.on("console", (m) => {
    if (m.type() === "error" && !/status of 422/.test(m.text())) errors.push(`${page.url()}: console: ${m.text()}`);
  });
}

/// The navigation badge's number as the reader sees it, "" when hidden.
async function badge(page) {
  const b = page.locator("nav.tabs [data-inbox-badge], header [data-inbox-badge]").first();
  if ((await b.count()) === 0) return "";
  return (await b.isVisible()) ? (await b.innerText()).trim() : "";
}

async function tabCount(page, inbox) {
  return (await page.locator(`[data-inbox="${inbox}"]`).innerText()).trim();
}

/// Waits until `read()` gives `want` (live updates take a moment).
async function until(read, want, what) {
  const end = Date.now() + 10_000;
  let got;
  for (;;) {
    got = await read();
    if (got === want) return;
    if (Date.now() > end) assert.fail(`${what}: wanted ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

await run("inbox: the director's approval badge and tab, live", async (server, browser) => {
  const base = server.base;
  const errors = [];
  const manager = await token(base, "manager");
  const users = (await api(base, "GET", "/users", manager)).json;
  const operator = users.find((u) => u.username === "operator").id;
  const give = async (title) => {
    const r = await api(base, "POST", "/tasks", manager, { title, assignee_id: operator, deadline: "2030-06-01T18:00:00+05:00", points: 3 });
    assert.equal(r.status, 201, "the manager gives a task");
    assert.equal(r.json.status, "awaiting_approval", "outside her department it waits for a director");
    return r.json.id;
  };

  const ctx = await browser.newContext({ locale: "en-US", viewport: { width: 1366, height: 900 } });
  const page = await ctx.newPage();
  watchErrors(page, errors);
  await signIn(page, `${base}/c/demo/login`, "director");
  assert.equal(await badge(page), "", "nothing waits yet: no badge");

  const first = await give("Navbat tizimini sozlash");
  await give("Kassa hisobotini tekshirish");
  await page.goto(`${base}/c/demo/tasks?tab=approval`);
  assert.equal(await badge(page), "2", "the navigation badge shows how many wait");
  assert.equal(await tabCount(page, "approval"), "2", "and so does the tab");
  assert.equal(await page.getByRole("link", { name: /Waiting for my approval/ }).getAttribute("aria-current"), "page");
  await page.getByRole("link", { name: "Navbat tizimini sozlash", exact: true }).waitFor();
  await page.locator("body[data-live=ready]").waitFor({ timeout: 10_000 });
  await page.evaluate(() => { window.__notReloaded = true; });

  // In another page the director approves one: the first page follows.
  const other = await ctx.newPage();
  watchErrors(other, errors);
  await other.goto(`${base}/c/demo/tasks/${first}`);
  await Promise.all([other.waitForLoadState("load"), other.getByRole("button", { name: "Approve", exact: true }).click()]);
  await other.getByText("Approved.").first().waitFor();
  await until(() => badge(page), "1", "the badge after one approval");
  await until(() => tabCount(page, "approval"), "1", "the tab after one approval");
  assert.equal(await badge(other), "1", "the page that approved shows it too");

  // The manager gives another: it arrives the same way.
  await give("Filial jadvalini yangilash");
  await until(() => badge(page), "2", "the badge after a new task to approve");
  await until(() => tabCount(page, "approval"), "2", "the tab after a new task to approve");
  assert.ok(await page.evaluate(() => window.__notReloaded === true), "all without a reload");

  // On a phone the badge sits on the bottom bar's Tasks.
  await page.setViewportSize({ width: 360, height: 800 });
  const phone = page.locator(".bottombar [data-inbox-badge]");
  assert.ok(await phone.isVisible(), "the bottom bar carries the badge");
  assert.equal((await phone.innerText()).trim(), "2");
  assert.deepEqual(errors, [], "no script or console errors");
  await ctx.close();
});

await run("inbox: a generated password must be replaced before any page", async (server, browser) => {
  const base = server.base;
  const errors = [];
  const admin = await token(base, "admin");
  const made = await api(base, "POST", "/users", admin, { username: "sevara", full_name: "Sevara Olimova", role: "employee", language: "en" });
  assert.equal(made.status, 201, "the admin creates the user");
  const generated = made.json.password;
  assert.ok(generated && generated.length >= 8, "with a generated password, shown once");

  const ctx = await browser.newContext({ locale: "en-US", viewport: { width: 390, height: 844 } });
  const page = await ctx.newPage();
  watchErrors(page, errors);
  await signIn(page, `${base}/c/demo/login`, "sevara", generated);
  const form = page.getByRole("heading", { name: "Choose your password" });
  await form.waitFor();
  assert.equal(new URL(page.url()).pathname, "/c/demo/password");

  // Every other address leads back to the form.
  for (const path of ["/c/demo/", "/c/demo/tasks", "/c/demo/profile", "/c/demo/notifications", "/c/demo/tasks?tab=mine"]) {
    await page.goto(`${base}${path}`);
    await form.waitFor();
    assert.equal(new URL(page.url()).pathname, "/c/demo/password", `${path} sends back to the form`);
  }
  assert.equal(await page.locator(".bottombar a[href$='/tasks']").count(), 0, "no way around it in the navigation");

  // The given password again is not a new one; then their own is taken.
  await page.fill("input[name=current_password]", generated);
  await page.fill("input[name=new_password]", generated);
  await Promise.all([page.waitForLoadState("load"), page.getByRole("button", { name: "Save and continue" }).click()]);
  await form.waitFor();
  await page.fill("input[name=current_password]", generated);
  await page.fill("input[name=new_password]", "sevara-own-pass-1");
  await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Save and continue" }).click()]);
  await page.getByRole("heading", { name: /Hello, Sevara Olimova/ }).waitFor();
  assert.equal(new URL(page.url()).pathname, "/c/demo/", "then the home dashboard");
  await page.goto(`${base}/c/demo/tasks`);
  assert.equal(new URL(page.url()).pathname, "/c/demo/tasks", "and every page opens");

  // The generated password is spent; the chosen one signs in.
  assert.equal((await api(base, "POST", "/auth/login", null, { username: "sevara", password: generated })).status, 401);
  assert.equal((await api(base, "POST", "/auth/login", null, { username: "sevara", password: "sevara-own-pass-1" })).status, 200);
  assert.deepEqual(errors, [], "no script or console errors");
  await ctx.close();
});
