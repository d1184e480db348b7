// The staff's request pages: picking rows for a bulk change, the composer's
// attachments, and live updates — a list hears `request.changed` on the
// `requests` topic and offers a refresh; a request page refreshes when its
// request changes or a message arrives in its thread.
(function () {
  "use strict";
  var cfg = document.querySelector("[data-company]");
  var slug = cfg && cfg.getAttribute("data-company");
  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrf-token"] || ""; } catch (e) { return ""; }
  }

  // ---- bulk: how many are picked ----
  var bulk = document.getElementById("bulk");
  function picks() { return document.querySelectorAll('input[name="ids"][form="bulk"]'); }
  function count() {
    if (!bulk) return;
    var n = Array.prototype.filter.call(picks(), function (b) { return b.checked; }).length;
    var label = bulk.querySelector(".rq-bulk-n");
    bulk.classList.toggle("has", n > 0);
    if (label) label.textContent = n > 0 ? "✓ " + n : label.getAttribute("data-none");
  }
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t && t.hasAttribute && t.hasAttribute("data-pick-all")) {
      picks().forEach(function (b) { b.checked = t.checked; });
    }
    if (t && (t.name === "ids" || (t.hasAttribute && t.hasAttribute("data-pick-all")))) count();
  });
  count();

  // ---- the composer's attachments ----
  var form = document.querySelector(".rq-compose");
  if (form) {
    var input = form.querySelector("[data-attach]");
    var list = form.querySelector(".rq-files");
    var ids = form.querySelector('input[name="file_ids"]');
    var uploading = 0;
    input.addEventListener("change", function () {
      Array.prototype.forEach.call(input.files || [], function (file) {
        var li = document.createElement("li");
        li.textContent = file.name + " …";
        list.appendChild(li);
        uploading++;
        var fd = new FormData();
        fd.append("file", file, file.name);
        fetch(form.getAttribute("data-files"), { method: "POST", body: fd, credentials: "same-origin",
          headers: { accept: "application/json", "x-csrf-token": csrf() } })
          .then(function (r) { return r.json().then(function (v) { return { ok: r.status === 201, v: v }; }); })
          .then(function (res) {
            if (res.ok && res.v && res.v.id) {
              ids.value = ids.value ? ids.value + "," + res.v.id : String(res.v.id);
              li.textContent = "📎 " + file.name;
            } else {
              li.textContent = (res.v && res.v.error && res.v.error.message) || form.getAttribute("data-upload-failed");
              li.className = "field-error";
            }
          })
          .catch(function () { li.textContent = form.getAttribute("data-upload-failed"); li.className = "field-error"; })
          .then(function () { uploading--; });
      });
      input.value = "";
    });
    form.addEventListener("submit", function (e) { if (uploading > 0) e.preventDefault(); });
  }

  // ---- live ----
  var listPage = document.querySelector("[data-live-requests]");
  var page = document.querySelector("[data-live-request]");
  if (!slug || (!listPage && !page)) return;
  function busy() {
    var a = document.activeElement;
    if (a && /^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName) && a.type !== "checkbox") return true;
    var typed = false;
    document.querySelectorAll("textarea").forEach(function (t) { if (t.value !== t.defaultValue) typed = true; });
    return typed || Array.prototype.some.call(picks(), function (b) { return b.checked; });
  }
  var timer = null;
  function changed() {
    var cue = document.querySelector(".rq-changed");
    if (page && !busy()) {
      clearTimeout(timer);
      timer = setTimeout(function () { location.reload(); }, 300);
      return;
    }
    if (cue) cue.hidden = false;
  }
  var backoff = 1000;
  function connect() {
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    var ws;
    try { ws = new WebSocket(proto + "//" + location.host + "/c/" + slug + "/api/v1/live"); } catch (e) { return; }
    ws.onopen = function () { backoff = 1000; ws.send(JSON.stringify({ subscribe: ["requests"] })); };
    ws.onmessage = function (m) {
      var ev;
      try { ev = JSON.parse(m.data); } catch (e) { return; }
      if (ev.kind === "hello") {
        document.documentElement.setAttribute("data-requests-live", "ready");
      } else if (ev.kind === "request.changed" && ev.data) {
        if (listPage) changed();
        else if (page && String(ev.data.id) === page.getAttribute("data-live-request")) changed();
      } else if (ev.kind === "chat.message" && ev.data && page && String(ev.data.thread_id) === page.getAttribute("data-thread")) {
        changed();
      }
    };
    ws.onclose = function () { setTimeout(connect, backoff); backoff = Math.min(backoff * 2, 30000); };
  }
  connect();
})();
