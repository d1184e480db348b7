// The operator's page: keeps the ticket at the window and the waiting list
// live. No inline script (CSP).
//
// The page says what it wants through data attributes:
//   <body data-company="slug">                       the company, for the WebSocket
//   <div id="op-live" data-op-topic="queue:branch:1" data-op-url="…/operator/queue">
//     (the window's card) <section id="op-queue">…   re-read when that branch's queue changes
// It subscribes to the branch's topic over the live WebSocket and, on
// `ticket.issued`, `ticket.called` or `ticket.changed`, fetches the region
// again (and once a minute, so that the waited minutes move on). While the
// operator is choosing something in the window's card, or it shows an
// error, only the list is replaced. New rows are highlighted for a moment.
// Once listening, #op-live gets data-live="ready".
(function () {
  "use strict";

  var cfg = document.querySelector("[data-company]");
  var first = document.getElementById("op-live");
  if (!cfg || !first || !window.fetch) return;
  var slug = cfg.getAttribute("data-company");
  var topic = first.getAttribute("data-op-topic");
  if (!topic) return;

  function region() { return document.getElementById("op-live"); }

  function ids(el) {
    var out = {};
    el.querySelectorAll("[data-ticket]").forEach(function (r) { out[r.getAttribute("data-ticket")] = true; });
    return out;
  }

  // Whether the window's card should be left alone: a field in use, or a
  // message the operator has not read yet.
  function keepCard(el) {
    var a = document.activeElement;
    var focused = !!a && el.contains(a) && !el.querySelector("#op-queue").contains(a) && /^(INPUT|SELECT|TEXTAREA)$/.test(a.tagName);
    return focused || !!el.querySelector("[role=alert]");
  }

  var pending = null;
  var ready = false;
  function refresh(delay) {
    clearTimeout(pending);
    pending = setTimeout(function () {
      var now = region();
      if (!now) return;
      fetch(now.getAttribute("data-op-url"), { credentials: "same-origin", headers: { accept: "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          var old = region();
          if (!html || !old) return;
          var box = document.createElement("div");
          box.innerHTML = html;
          var fresh = box.querySelector("#op-live");
          if (!fresh) return;
          var before = ids(old);
          if (keepCard(old)) {
            var list = fresh.querySelector("#op-queue");
            var oldList = old.querySelector("#op-queue");
            if (list && oldList) oldList.replaceWith(list);
          } else {
            if (ready) fresh.setAttribute("data-live", "ready");
            old.replaceWith(fresh);
          }
          region().querySelectorAll("[data-ticket]").forEach(function (r) {
            if (!before[r.getAttribute("data-ticket")]) r.classList.add("op-new");
          });
        })
        .catch(function () { /* the next event or tick tries again */ });
    }, delay);
  }

  var backoff = 1000;
  function connect() {
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    var ws;
    try { ws = new WebSocket(proto + "//" + location.host + "/c/" + slug + "/api/v1/live"); } catch (e) { return; }
    ws.onopen = function () {
      backoff = 1000;
      ws.send(JSON.stringify({ subscribe: [topic] }));
    };
    ws.onmessage = function (m) {
      var ev;
      try { ev = JSON.parse(m.data); } catch (e) { return; }
      if (ev.kind === "subscribed") {
        if ((ev.topics || []).indexOf(topic) >= 0) {
          ready = true;
          var el = region();
          if (el) el.setAttribute("data-live", "ready");
          // Anything that happened before the socket listened.
          refresh(0);
        }
      } else if (ev.kind === "ticket.issued" || ev.kind === "ticket.called" || ev.kind === "ticket.changed") {
        refresh(250);
      }
    };
    ws.onclose = function () {
      ready = false;
      var el = region();
      if (el) el.removeAttribute("data-live");
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 30000);
    };
  }

  setInterval(function () { refresh(0); }, 60000);
  connect();
})();
