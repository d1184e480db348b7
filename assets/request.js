// The client's request pages. No inline script (CSP); the pages say what
// they need in attributes:
//   [data-color]        a category's colour, painted as --cat
//   button[data-busy]   the words of a form's button while it is sent
//   [data-rq-live=url]  the status page's event stream: on a new message,
//                       status or notice the page is read again and each
//                       [data-part] (by id) replaced; the writing box is
//                       kept while it stays (what the client typed stays).
(function () {
  "use strict";

  document.querySelectorAll("[data-color]").forEach(function (el) {
    var c = el.getAttribute("data-color");
    if (!/^#[0-9a-fA-F]{6}$/.test(c || "")) return;
    el.style.setProperty("--cat", c);
    el.querySelectorAll(".rq-cat-icon").forEach(function (i) { i.style.setProperty("--cat", c); });
  });

  // A form sent back with a mistake: the field at fault, in view and ready.
  var bad = document.querySelector("form [aria-invalid=true], form .invalid input, form .alert");
  if (bad) {
    if (bad.focus && bad.matches("input, textarea, select")) bad.focus({ preventScroll: true });
    bad.scrollIntoView({ block: "center" });
  }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!(form instanceof HTMLFormElement)) return;
    var btn = form.querySelector("button[data-busy]");
    if (!btn) return;
    // After this event: a disabled button would not be sent.
    setTimeout(function () { btn.disabled = true; btn.textContent = btn.getAttribute("data-busy"); }, 0);
  });

  var root = document.querySelector("[data-rq-live]");
  if (!root || !window.EventSource || !window.DOMParser) return;
  var url = root.getAttribute("data-rq-live");

  function messageIds(doc) {
    var out = {};
    doc.querySelectorAll("[data-message]").forEach(function (m) { out[m.getAttribute("data-message")] = true; });
    return out;
  }

  var busy = false, again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    var seen = messageIds(document);
    fetch(location.pathname, { credentials: "same-origin", cache: "no-store", headers: { accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        doc.querySelectorAll("[data-part]").forEach(function (fresh) {
          var old = document.getElementById(fresh.id);
          if (!old) return;
          if (old.hasAttribute("data-keep") && fresh.hasAttribute("data-keep")) return;
          old.replaceWith(document.importNode(fresh, true));
        });
        document.querySelectorAll("[data-message]").forEach(function (m) {
          if (!seen[m.getAttribute("data-message")]) m.classList.add("fresh");
        });
        var note = document.querySelector("[data-live-note]");
        if (note && es) note.hidden = false;
      })
      .catch(function () { /* the next event tries again */ })
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }

  var es = null, retry = 1000, first = true;
  function connect() {
    es = new EventSource(url);
    es.addEventListener("ready", function () {
      retry = 1000;
      var note = document.querySelector("[data-live-note]");
      if (note) note.hidden = false;
      root.setAttribute("data-live", "ready");
      if (!first) refresh();
      first = false;
    });
    ["request.message", "request.status", "request.notice"].forEach(function (kind) {
      es.addEventListener(kind, refresh);
    });
    es.onerror = function () {
      var note = document.querySelector("[data-live-note]");
      if (note) note.hidden = true;
      root.removeAttribute("data-live");
      if (es.readyState === EventSource.CLOSED) {
        es.close();
        setTimeout(connect, retry);
        retry = Math.min(retry * 2, 30000);
      }
    };
  }
  connect();
  document.addEventListener("visibilitychange", function () { if (!document.hidden) refresh(); });
})();
