// Tasks: live notifications, live task pages and deadline countdowns.
// Loaded by pages of signed-in staff; no inline script anywhere (CSP).
//
// The page says what it wants through data attributes:
//   <body data-company="slug">             the company, for the WebSocket
//   <time data-countdown="RFC3339" …>      a live countdown to a deadline
//   <div id="live-region" data-live-task="7" data-live-url="…" data-unread="2">
//                                          re-read when that task changes
//   [data-live-tasks]                      a list page: re-read when a task it shows changes
//   [data-inbox-badge] [data-inbox-label]  the navigation badge of the inboxes (and its words)
//   [data-inbox="approval"|"review"]       a tab's count; #n-approval, #n-review: the home figures
// Once the socket is listening, <body> gets data-live="ready".
(function () {
  "use strict";

  var cfg = document.querySelector("[data-company]");
  if (!cfg) return;
  var slug = cfg.getAttribute("data-company");

  // ---- deadline countdowns: <time data-countdown="RFC3339" data-late="…" data-left="…"> ----
  function plural(n, unit) { return n + "\u00a0" + unit; }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-countdown"));
      if (isNaN(due)) return;
      var ms = due - now;
      var late = ms < 0;
      ms = Math.abs(ms);
      var d = Math.floor(ms / 86400000);
      var h = Math.floor((ms % 86400000) / 3600000);
      var m = Math.floor((ms % 3600000) / 60000);
      var s = Math.floor((ms % 60000) / 1000);
      var units = (el.getAttribute("data-units") || "d,h,min,s").split(",");
      var parts = [];
      if (d) parts.push(plural(d, units[0]));
      if (d || h) parts.push(plural(h, units[1]));
      parts.push(plural(m, units[2]));
      if (!d) parts.push(plural(s, units[3]));
      var label = el.getAttribute(late ? "data-late" : "data-left") || "";
      el.textContent = label.replace("{time}", parts.join(" "));
      el.classList.toggle("late", late);
      el.classList.toggle("soon", !late && due - now < 3600000);
    });
  }
  tick();
  setInterval(tick, 1000);

  // ---- the notification bell and toasts, over the live WebSocket ----
  var toasts = document.getElementById("toasts");

  function setCount(n) {
    var badge = document.getElementById("bell-count");
    if (!badge) return;
    badge.textContent = n > 99 ? "99+" : String(n);
    badge.hidden = n <= 0;
  }

  function toast(text, href) {
    if (!toasts) return;
    var a = document.createElement(href ? "a" : "div");
    a.className = "toast";
    a.textContent = text;
    if (href) a.href = href;
    toasts.appendChild(a);
    setTimeout(function () { a.classList.add("gone"); }, 7000);
    setTimeout(function () { a.remove(); }, 7600);
  }

  // The pushed text is in the account's language (or the company's); the
  // page may be in the browser's. Ask the API for the same notification in
  // the page's language, and fall back to the pushed text.
  function announce(n) {
    var href = n.request_id ? "/c/" + slug + "/requests/" + n.request_id
      : n.task_id ? "/c/" + slug + "/tasks/" + n.task_id + (n.thread_id ? "#chat" : "")
      : n.thread_id ? "/c/" + slug + "/chats/" + n.thread_id : null;
    var done = false;
    function show(text) { if (!done) { done = true; toast(text, href); } }
    setTimeout(function () { show(n.text); }, 2000);
    if (!window.fetch) { show(n.text); return; }
    fetch("/c/" + slug + "/api/v1/notifications", { credentials: "same-origin", headers: { accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (page) {
        var found = page && page.items && page.items.filter(function (i) { return i.id === n.id; })[0];
        show(found ? found.text : n.text);
      })
      .catch(function () { show(n.text); });
  }

  // ---- the inboxes' counts: the badge, the tabs and the home figures ----
  // The server sends {approval, review, total, label} on the user's own
  // topic whenever a task enters or leaves one of their inboxes.
  function setInbox(d) {
    var total = d.total || 0;
    document.querySelectorAll("[data-inbox-badge]").forEach(function (b) {
      b.textContent = total > 99 ? "99+" : String(total);
      if (d.label) b.title = d.label;
      b.hidden = total <= 0;
    });
    document.querySelectorAll("[data-inbox-label]").forEach(function (l) {
      if (d.label) l.textContent = " (" + d.label + ")";
      l.hidden = total <= 0;
    });
    ["approval", "review"].forEach(function (k) {
      var n = d[k] || 0;
      document.querySelectorAll('[data-inbox="' + k + '"]').forEach(function (c) {
        c.textContent = String(n);
        c.classList.toggle("has", n > 0);
      });
      var fig = document.getElementById("n-" + k);
      var num = fig && fig.querySelector(".figure-n");
      if (num) {
        num.textContent = String(n);
        fig.classList.toggle("alert", n > 0);
      }
    });
  }

  function region() { return document.getElementById("live-region"); }
  function watchedTask() {
    var r = document.querySelector("[data-live-task]");
    return r ? r.getAttribute("data-live-task") : null;
  }
  function listPage() { return !!document.querySelector("[data-live-tasks]"); }
  // Whether a list page shows that task (new ones arrive with a notification).
  function shown(id) {
    var r = region();
    var tail = "/tasks/" + id;
    return !!r && Array.prototype.some.call(r.querySelectorAll("a[href]"), function (a) {
      return a.getAttribute("href").slice(-tail.length) === tail;
    });
  }

  var backoff = 1000;
  function connect() {
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    var ws;
    try { ws = new WebSocket(proto + "//" + location.host + "/c/" + slug + "/api/v1/live"); } catch (e) { return; }
    ws.onopen = function () {
      backoff = 1000;
      document.dispatchEvent(new CustomEvent("idora:live-open"));
      if (watchedTask() || listPage()) ws.send(JSON.stringify({ subscribe: ["tasks"] }));
    };
    ws.onmessage = function (m) {
      var ev;
      try { ev = JSON.parse(m.data); } catch (e) { return; }
      // Other scripts (chat.js) hear every event too.
      document.dispatchEvent(new CustomEvent("idora:live", { detail: ev }));
      if (ev.kind === "hello") {
        cfg.setAttribute("data-live", "ready");
      } else if (ev.kind === "notification" && ev.data) {
        setCount(ev.data.unread || 0);
        announce(ev.data);
        refresh(150);
      } else if (ev.kind === "inbox" && ev.data) {
        setInbox(ev.data);
      } else if (ev.kind === "task.changed" && ev.data) {
        var watched = watchedTask();
        if (watched && String(ev.data.id) === watched) refresh(150);
        else if (!watched && listPage() && shown(ev.data.id)) refresh(600);
      }
    };
    ws.onclose = function () {
      cfg.removeAttribute("data-live");
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 30000);
    };
  }

  // Whether the user is in the middle of something inside the live region:
  // a focused field or typed text that a refresh would throw away.
  function busy(r) {
    var a = document.activeElement;
    if (a && r.contains(a) && /^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName)) return true;
    var typed = false;
    r.querySelectorAll("textarea").forEach(function (t) { if (t.value !== t.defaultValue) typed = true; });
    return typed;
  }

  // Re-reads the live region of the page (the task card, the list) without
  // losing the user's place: htmx swaps the element by id.
  var pending = null;
  function refresh(delay) {
    var r = region();
    if (!r || !window.htmx) return;
    clearTimeout(pending);
    pending = setTimeout(function () {
      var now = region();
      if (!now) return;
      if (busy(now)) { refresh(3000); return; }
      var url = now.getAttribute("data-live-url") || location.pathname + location.search;
      window.htmx.ajax("GET", url, { target: "#live-region", select: "#live-region", swap: "outerHTML" });
    }, delay);
  }
  document.body.addEventListener("htmx:afterSwap", function () {
    tick();
    var r = region();
    if (r && r.hasAttribute("data-unread")) setCount(parseInt(r.getAttribute("data-unread"), 10) || 0);
  });

  connect();
})();
