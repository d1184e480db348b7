// The queue kiosk: choose a service, optionally leave a name and a phone
// and say whether you need priority, take a ticket; or check in with a
// booking code. The ticket comes from the JSON API and is printed on the
// kiosk's 80 mm receipt printer. No inline script anywhere (CSP): the page
// says what it needs through data attributes on [data-kiosk]:
//   data-slug, data-branch   where tickets are taken
//   data-csrf                the browser's CSRF token (sent as x-csrf-token)
//   data-tz                  the company's time zone, for the clock and the ticket
//   data-home                the kiosk's own URL in the company's language
//   data-lang, data-default-lang, data-idle-ms, data-open
//   data-i18n                the few texts this script writes, as JSON
(function () {
  "use strict";

  var root = document.querySelector("[data-kiosk]");
  if (!root) return;
  var T = {};
  try { T = JSON.parse(root.getAttribute("data-i18n") || "{}"); } catch (e) { T = {}; }
  var slug = root.getAttribute("data-slug");
  var branch = root.getAttribute("data-branch");
  var csrf = root.getAttribute("data-csrf") || "";
  var tz = root.getAttribute("data-tz") || "UTC";
  var home = root.getAttribute("data-home") || location.pathname;
  var lang = root.getAttribute("data-lang");
  var defaultLang = root.getAttribute("data-default-lang");
  var idleMs = parseInt(root.getAttribute("data-idle-ms"), 10) || 300000;
  var open = root.getAttribute("data-open") === "true";
  var api = "/c/" + slug + "/api/v1/branches/" + branch;

  function fill(tpl, args) {
    return String(tpl || "").replace(/\{(\w+)\}/g, function (m, k) { return Object.prototype.hasOwnProperty.call(args, k) ? String(args[k]) : m; });
  }
  function format(opts) {
    try { return new Intl.DateTimeFormat("ru-RU", Object.assign({ timeZone: tz }, opts)); } catch (e) { return null; }
  }
  var timeFmt = format({ hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  var stampFmt = format({ day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });

  // ---- the clock, in the company's time zone ----
  var clock = root.querySelector("[data-clock]");
  function tick() { if (clock && timeFmt) clock.textContent = timeFmt.format(new Date()); }
  tick();
  setInterval(tick, 5000);

  // ---- idleness: any touch or key counts ----
  var lastTouch = Date.now();
  function touched() { lastTouch = Date.now(); }
  ["pointerdown", "keydown", "input"].forEach(function (ev) { document.addEventListener(ev, touched, true); });
  function idle() { return Date.now() - lastTouch >= idleMs; }

  if (!open) {
    // Closed: look again every minute, so that the kiosk opens with the
    // branch; a visitor's language goes back to the company's when idle.
    setInterval(function () {
      if (lang !== defaultLang && idle()) location.href = home;
      else if (Date.now() - lastTouch > 30000) location.reload();
    }, 60000);
    return;
  }

  var steps = Array.prototype.slice.call(root.querySelectorAll("[data-step]"));
  var nameInput = root.querySelector("#kiosk-name");
  var current = "start";
  var st = fresh();
  var timers = [];

  function fresh() { return { service: null, serviceName: "", priority: "normal", phone: "", code: "", busy: false }; }
  function stepEl(name) { return steps.filter(function (s) { return s.getAttribute("data-step") === name; })[0]; }

  function show(name) {
    current = name;
    if (name !== "details" && typeof closeKeyboard === "function") closeKeyboard();
    steps.forEach(function (s) { s.hidden = s.getAttribute("data-step") !== name; });
    clearError();
    window.scrollTo(0, 0);
  }

  function showError(text) {
    var step = stepEl(current);
    var el = step && step.querySelector("[data-error]");
    if (!el) return;
    el.textContent = text || T.generic || "";
    el.hidden = false;
  }
  function clearError() {
    root.querySelectorAll("[data-error]").forEach(function (e) { e.hidden = true; e.textContent = ""; });
  }

  function setBusy(on) {
    st.busy = on;
    root.classList.toggle("is-busy", on);
    var step = stepEl(current);
    if (!step) return;
    step.querySelectorAll("button").forEach(function (b) {
      if (on) { b.setAttribute("data-was-disabled", b.disabled ? "1" : ""); b.disabled = true; }
      else if (b.hasAttribute("data-was-disabled")) { b.disabled = b.getAttribute("data-was-disabled") === "1"; b.removeAttribute("data-was-disabled"); }
    });
    if (!on) renderCode();
  }

  // ---- the phone number and the booking code, typed on the on-screen keypad ----
  function phoneText(d) {
    return [d.slice(0, 2), d.slice(2, 5), d.slice(5, 7), d.slice(7, 9)].filter(Boolean).join(" ");
  }
  function renderPhone() {
    var el = root.querySelector("[data-phone-display]");
    if (el) el.textContent = phoneText(st.phone);
  }
  function renderCode() {
    var digits = root.querySelectorAll("[data-code-display] .digit");
    for (var i = 0; i < digits.length; i++) {
      digits[i].textContent = st.code.charAt(i);
      digits[i].classList.toggle("next", i === st.code.length);
    }
    var ok = root.querySelector("[data-checkin]");
    if (ok && !st.busy) ok.disabled = st.code.length !== 6;
  }
  function key(k) {
    var field = current === "booking" ? "code" : current === "details" ? "phone" : null;
    if (!field || st.busy) return;
    var max = field === "code" ? 6 : 9;
    var v = st[field];
    if (k === "back") v = v.slice(0, -1);
    else if (k === "clear") v = "";
    else if (/^[0-9]$/.test(k) && v.length < max) v += k;
    st[field] = v;
    clearError();
    if (field === "code") renderCode(); else renderPhone();
  }

  // ---- the name, typed on the on-screen keyboard (a kiosk has no other) ----
  // Letters go at the end; a word starts with a capital, the rest is small.
  var osk = root.querySelector("[data-osk]");
  var oskPreview = root.querySelector("[data-osk-preview]");
  var firstLayout = lang === "ru" ? "cyrillic" : "latin";
  function renderName() {
    if (oskPreview && nameInput) oskPreview.textContent = nameInput.value;
  }
  function layout(name) {
    if (!osk) return;
    osk.querySelectorAll("[data-layout]").forEach(function (l) { l.hidden = l.getAttribute("data-layout") !== name; });
    osk.setAttribute("data-current", name);
  }
  function openKeyboard() {
    if (!osk || !osk.hidden) return;
    osk.hidden = false;
    root.classList.add("is-typing");
    renderName();
  }
  function closeKeyboard() {
    if (!osk) return;
    osk.hidden = true;
    root.classList.remove("is-typing");
    if (nameInput && document.activeElement === nameInput) nameInput.blur();
  }
  function typeName(k, ch) {
    if (!nameInput || st.busy) return;
    var v = nameInput.value;
    var max = parseInt(nameInput.getAttribute("maxlength"), 10) || 80;
    if (k === "back") v = v.slice(0, -1);
    else if (k === "space") { if (v && !/[\s-]$/.test(v)) v += " "; }
    else if (k === "switch") { layout(osk.getAttribute("data-current") === "cyrillic" ? "latin" : "cyrillic"); return; }
    else if (k === "done") { closeKeyboard(); return; }
    else if (ch) {
      var start = v === "" || /[\s-]$/.test(v);
      v += start ? ch.toUpperCase() : ch.toLowerCase();
    }
    nameInput.value = v.slice(0, max);
    clearError();
    renderName();
  }
  if (osk) {
    layout(firstLayout);
    // Keys do not take the focus away from the field.
    osk.addEventListener("mousedown", function (e) { e.preventDefault(); });
  }
  if (nameInput) {
    nameInput.addEventListener("focus", openKeyboard);
    nameInput.addEventListener("click", openKeyboard);
    nameInput.addEventListener("input", renderName);
  }

  function setPriority(p) {
    st.priority = p;
    root.querySelectorAll("[data-priority]").forEach(function (b) {
      b.setAttribute("aria-checked", b.getAttribute("data-priority") === p ? "true" : "false");
    });
  }

  function chooseService(el) {
    st.service = el.getAttribute("data-service");
    st.serviceName = el.getAttribute("data-name") || "";
    var title = root.querySelector("[data-service-title]");
    if (title) title.textContent = st.serviceName;
    show("details");
  }

  // ---- taking the ticket ----
  function send(url, body, what) {
    if (st.busy) return;
    setBusy(true);
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", accept: "application/json", "x-csrf-token": csrf },
      body: JSON.stringify(body),
    })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) { return { status: r.status, ok: r.ok, body: j }; });
      })
      .then(function (res) {
        setBusy(false);
        if (res.ok) showTicket(res.body);
        else showError(errorText(res, what));
      }, function () {
        setBusy(false);
        showError(T.network);
      });
  }

  // What went wrong, in the kiosk's words. What was typed stays.
  function errorText(res, what) {
    var err = (res.body && res.body.error) || {};
    if (res.status === 429) return T.busy;
    if (err.kind === "company_inactive") return T.closed;
    if (what === "checkin") {
      if (res.status === 404) return T.code_not_found;
      if (res.status === 409) return T.already;
      if (res.status === 422) return T.code_format;
    } else {
      if (res.status === 409) return T.closed;
      if (res.status === 422 && err.field === "phone") return T.phone;
      if (res.status === 422 && err.field === "name") return T.name;
    }
    return T.generic;
  }

  function take(full) {
    if (!st.service) return;
    var body = { service_id: Number(st.service), source: "kiosk", priority: st.priority };
    if (full) {
      var name = nameInput ? nameInput.value.trim() : "";
      if (name) body.name = name;
      if (st.phone) {
        if (st.phone.length !== 9) { showError(T.phone); return; }
        body.phone = "+998" + st.phone;
      }
    }
    send(api + "/tickets", body, "ticket");
  }

  function checkIn() {
    if (st.code.length !== 6) { showError(T.code_format); return; }
    send(api + "/check-in", { code: st.code }, "checkin");
  }

  // ---- the ticket: on screen, then on paper ----
  function put(name, text) {
    var el = root.querySelector('[data-t="' + name + '"]');
    if (el) el.textContent = text;
  }
  function row(name, visible) {
    var el = root.querySelector('[data-row="' + name + '"]');
    if (el) el.hidden = !visible;
  }

  function showTicket(d) {
    var svc = root.querySelector('[data-service="' + d.service_id + '"]');
    put("number", d.number || "");
    // Numbered by service: a small mark says where the ticket came from.
    var src = root.querySelector('[data-t="source"]');
    var srcText = (T.sources || {})[d.source] || "";
    if (src) {
      src.textContent = srcText;
      src.parentNode.hidden = !(srcText && root.getAttribute("data-by-service") === "true");
    }
    put("service", svc ? svc.getAttribute("data-name") : st.serviceName);
    var ahead = Number(d.people_ahead) || 0;
    put("ahead", ahead > 0 ? fill(T.ahead, { n: ahead }) : T.next);
    var est = d.estimate_minutes || { low: 0, high: 0 };
    put("wait", fill(T.minutes, { low: est.low, high: est.high }));
    row("wait", est.high > 0);
    var booked = d.booked_for ? new Date(d.booked_for) : null;
    row("booked", !!booked);
    if (booked && timeFmt) put("booked", timeFmt.format(booked));
    put("time", stampFmt ? stampFmt.format(new Date()) : "");
    var qr = root.querySelector('[data-t="qr"]');
    var status = root.querySelector("[data-ticket-status]");
    if (status) status.textContent = T.printing || "";
    var countdown = root.querySelector("[data-countdown]");
    if (countdown) countdown.textContent = "";
    show("ticket");
    root.setAttribute("data-ticket-shown", d.number || "");
    printed = false;
    if (qr && d.qr_svg_url) {
      var go = once(printNow);
      qr.addEventListener("load", go, { once: true });
      qr.addEventListener("error", go, { once: true });
      qr.src = d.qr_svg_url;
      later(go, 2500);
    } else {
      later(printNow, 300);
    }
  }

  function once(f) {
    var done = false;
    return function () { if (!done) { done = true; f(); } };
  }
  function later(f, ms) { timers.push(setTimeout(f, ms)); }
  function clearTimers() { timers.forEach(clearTimeout); timers = []; }

  // The receipt is as long as the ticket: 72 mm wide in print (queue.css),
  // so its length is the screen ticket's, scaled, plus a little paper.
  var pageRule = -1;
  function pageLength() {
    var ticket = root.querySelector("[data-ticket]");
    var sheet = Array.prototype.filter.call(document.styleSheets, function (s) {
      return s.href && s.href.indexOf("/queue.css") > 0;
    })[0];
    if (!ticket || !sheet) return;
    var box = ticket.getBoundingClientRect();
    if (!box.width) return;
    var mm = Math.ceil(box.height * 72 / box.width + 8);
    try {
      if (pageRule >= 0 && pageRule < sheet.cssRules.length) sheet.deleteRule(pageRule);
      pageRule = sheet.insertRule("@page { size: 80mm " + mm + "mm; margin: 0; }", sheet.cssRules.length);
      root.setAttribute("data-page-mm", String(mm));
    } catch (e) { pageRule = -1; }
  }

  var printed = false;
  function printNow() {
    if (current !== "ticket") return;
    pageLength();
    try { window.print(); } catch (e) { /* no printer: the screen shows the ticket */ }
    afterPrint();
  }
  function afterPrint() {
    if (printed || current !== "ticket") return;
    printed = true;
    var status = root.querySelector("[data-ticket-status]");
    if (status) status.textContent = T.printed || "";
    var left = 15;
    var countdown = root.querySelector("[data-countdown]");
    function step() {
      if (current !== "ticket") return;
      if (left <= 0) { reset(true); return; }
      if (countdown) countdown.textContent = fill(T.back_in, { s: left });
      left -= 1;
      later(step, 1000);
    }
    step();
  }
  window.addEventListener("afterprint", afterPrint);

  // ---- back to the start ----
  // After a ticket the next person comes: in the company's language again.
  function reset(nextPerson) {
    if (nextPerson && lang !== defaultLang) { location.href = home; return; }
    clearTimers();
    st = fresh();
    if (nameInput) nameInput.value = "";
    closeKeyboard();
    layout(firstLayout);
    renderPhone();
    renderCode();
    setPriority("normal");
    root.classList.remove("is-busy");
    root.removeAttribute("data-ticket-shown");
    show("start");
    refreshStart();
  }

  // Re-reads the waiting counts (and whether the branch is still open).
  var refreshing = false;
  function refreshStart() {
    if (refreshing || !window.fetch || !window.DOMParser) return;
    refreshing = true;
    fetch(location.href, { credentials: "same-origin", headers: { accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        refreshing = false;
        if (!html || current !== "start") return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("[data-kiosk]");
        if (!fresh) return;
        if (fresh.getAttribute("data-open") !== "true") { location.reload(); return; }
        var now = doc.querySelector("[data-services]");
        var mine = root.querySelector("[data-services]");
        if (now && mine) mine.innerHTML = now.innerHTML;
      }, function () { refreshing = false; });
  }

  // ---- input ----
  document.addEventListener("click", function (e) {
    var t = e.target;
    if (!(t instanceof Element)) return;
    var el;
    if ((el = t.closest("[data-service]"))) { chooseService(el); return; }
    if ((el = t.closest("[data-key]"))) { key(el.getAttribute("data-key")); return; }
    if ((el = t.closest("[data-char]"))) { typeName("char", el.getAttribute("data-char")); return; }
    if ((el = t.closest("[data-osk-key]"))) { typeName(el.getAttribute("data-osk-key")); return; }
    if ((el = t.closest("[data-priority]"))) { setPriority(el.getAttribute("data-priority")); return; }
    if ((el = t.closest("[data-take]"))) { take(el.getAttribute("data-take") === "full"); return; }
    if ((el = t.closest("[data-checkin]"))) { checkIn(); return; }
    if ((el = t.closest("[data-go]"))) {
      var to = el.getAttribute("data-go");
      if (to === "start") reset(current === "ticket");
      else { show(to); if (to === "booking") renderCode(); }
    }
  });

  // A hardware keyboard or a number pad works too.
  document.addEventListener("keydown", function (e) {
    if (e.target === nameInput) {
      if (e.key === "Enter") { e.preventDefault(); closeKeyboard(); take(true); }
      else if (e.key === "Escape") closeKeyboard();
      return;
    }
    if (/^[0-9]$/.test(e.key)) key(e.key);
    else if (e.key === "Backspace") { e.preventDefault(); key("back"); }
    else if (e.key === "Enter" && current === "booking") checkIn();
    else if (e.key === "Escape" && current !== "start") reset(current === "ticket");
  });

  // After five quiet minutes on any step: the start again, in the company's language.
  setInterval(function () {
    if (!idle()) return;
    touched();
    if (lang !== defaultLang) { location.href = home; return; }
    if (current !== "start") reset(); else refreshStart();
  }, 5000);
  // The counts on the first screen stay fresh.
  setInterval(function () { if (current === "start" && !st.busy) refreshStart(); }, 30000);

  renderPhone();
  renderCode();
  root.setAttribute("data-ready", "true");
})();
