// The customer's tracking page: their ticket's place and status, live.
// Any event on the ticket's stream (its own changes, its branch's calls)
// makes the page read /t/{token}/status again, a moment later, once. When
// the ticket is called the phone vibrates and the window shows large.
// No inline script (CSP); the page says what it needs on [data-track]:
//   data-token, data-id, data-status, data-csrf, data-i18n (JSON)
//   [data-show="a b"]   shown only while the status is a or b
//   [data-f][data-tpl]  a value filled from the status ({n}, {low}, {high}, {window})
(function () {
  "use strict";

  var root = document.querySelector("[data-track]");
  if (!root) return;
  var T = {};
  try { T = JSON.parse(root.getAttribute("data-i18n") || "{}"); } catch (e) { T = {}; }
  var base = "/t/" + root.getAttribute("data-token");
  var csrf = root.getAttribute("data-csrf") || "";
  var status = root.getAttribute("data-status");
  var title = document.title;
  var FINAL = ["done", "no_show", "cancelled", "transferred", "expired"];

  function fill(tpl, args) {
    return String(tpl || "").replace(/\{(\w+)\}/g, function (m, k) { return Object.prototype.hasOwnProperty.call(args, k) ? String(args[k]) : m; });
  }
  function field(name, args) {
    var el = root.querySelector('[data-f="' + name + '"]');
    if (!el) return;
    if (name === "ahead" && Number(args.n) === 0 && el.hasAttribute("data-zero")) el.textContent = el.getAttribute("data-zero");
    else el.textContent = fill(el.getAttribute("data-tpl"), args);
  }

  function ring() {
    if (navigator.vibrate) { try { navigator.vibrate([400, 200, 400, 200, 800]); } catch (e) { /* not allowed */ } }
    var box = root.querySelector(".track-called");
    if (box) { box.classList.remove("ring"); void box.offsetWidth; box.classList.add("ring"); }
    document.title = (T.called_title || "") + " · " + title;
  }

  function apply(s) {
    var was = status;
    status = s.status;
    root.setAttribute("data-status", status);
    root.querySelectorAll("[data-show]").forEach(function (el) {
      el.hidden = el.getAttribute("data-show").split(" ").indexOf(status) < 0;
    });
    field("ahead", { n: s.people_ahead });
    var est = s.estimate_minutes || { low: 0, high: 0 };
    field("wait", { low: est.low, high: est.high });
    field("window", { window: s.window || "" });
    var box = root.querySelector("[data-cancel-box]");
    if (box) box.hidden = !s.can_cancel;
    if (status === "called" && was !== "called") ring();
    if (status !== "called") document.title = title;
    if (FINAL.indexOf(status) >= 0) stop();
  }

  // ---- reading the status ----
  var timer = null;
  function refresh(ms) {
    clearTimeout(timer);
    timer = setTimeout(load, ms);
  }
  function load() {
    return fetch(base + "/status", { credentials: "same-origin", cache: "no-store", headers: { accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) { if (s && s.status) apply(s); })
      .catch(function () { /* the next event or the next minute tries again */ });
  }

  // ---- live ----
  var es = null;
  var first = true;
  var retry = 1000;
  var stopped = false;
  var liveNote = root.querySelector(".track-live");
  function connect() {
    if (stopped || !window.EventSource) return;
    es = new EventSource(base + "/events");
    es.addEventListener("ready", function () {
      retry = 1000;
      if (liveNote) liveNote.classList.remove("off");
      root.setAttribute("data-live", "ready");
      if (!first) refresh(100);
      first = false;
    });
    ["ticket.called", "ticket.changed", "ticket.issued"].forEach(function (kind) {
      es.addEventListener(kind, function (m) {
        var ev = null;
        try { ev = JSON.parse(m.data); } catch (e) { ev = null; }
        // This ticket's own topic (it follows the ticket across a transfer,
        // which gives it a new id); the branch's topic only moves its place.
        var mine = !!(ev && typeof ev.topic === "string" && ev.topic.indexOf("ticket:") === 0);
        // Called again (a recall): tell the customer again.
        if (mine && kind === "ticket.called" && status === "called") ring();
        refresh(mine ? 50 : 800);
      });
    });
    es.onerror = function () {
      if (liveNote) liveNote.classList.add("off");
      root.removeAttribute("data-live");
      refresh(2000);
      if (es.readyState === EventSource.CLOSED && !stopped) {
        es.close();
        setTimeout(connect, retry);
        retry = Math.min(retry * 2, 30000);
      }
    };
  }
  function stop() {
    stopped = true;
    if (es) { es.close(); es = null; }
  }
  if (FINAL.indexOf(status) < 0) connect();
  // Phones pause pages in the background: read again when it is looked at.
  document.addEventListener("visibilitychange", function () { if (!document.hidden && !stopped) load(); });
  setInterval(function () { if (!stopped) load(); }, 60000);

  // ---- cancelling, with a confirmation ----
  var cancelBtn = root.querySelector("[data-cancel]");
  var confirmBox = root.querySelector("[data-confirm]");
  var error = root.querySelector("[data-cancel-error]");
  function showConfirm(on) {
    if (confirmBox) confirmBox.hidden = !on;
    if (cancelBtn) cancelBtn.hidden = on;
    if (error && on) error.hidden = true;
  }
  root.addEventListener("click", function (e) {
    var t = e.target;
    if (!(t instanceof Element)) return;
    if (t.closest("[data-cancel]")) { showConfirm(true); return; }
    if (t.closest("[data-cancel-no]")) { showConfirm(false); return; }
    var yes = t.closest("[data-cancel-yes]");
    if (!yes) return;
    yes.disabled = true;
    fetch(base + "/cancel", {
      method: "POST",
      credentials: "same-origin",
      headers: { accept: "application/json", "x-csrf-token": csrf },
    })
      .then(function (r) {
        yes.disabled = false;
        if (r.ok) return r.json().then(function (s) { showConfirm(false); apply(s); });
        showConfirm(false);
        if (error) { error.textContent = T.cancel_failed || ""; error.hidden = false; }
        return load();
      }, function () {
        yes.disabled = false;
        if (error) { error.textContent = T.network || ""; error.hidden = false; }
      });
  });
})();
