// Chat: the unread badge on "Chats", and a thread panel (#chat) kept live.
// Loaded by every signed-in staff page; no inline script anywhere (CSP).
//
// tasks.js owns the WebSocket and re-dispatches each event as
// `idora:live` on document (and `idora:live-open` when it (re)connects).
// The panel says what it needs through data attributes:
//   data-thread   the thread id (empty for a task whose discussion has not started)
//   data-post     where a message is POSTed (JSON API)
//   data-items    where the rendered items after/before an id are read (HTML)
//   data-files    where files are uploaded (multipart, field "file")
//   data-api      the company's API root (read marks, typing, edit, delete)
(function () {
  "use strict";

  var body = document.querySelector("[data-company]");
  if (!body) return;
  var slug = body.getAttribute("data-company");

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrf-token"] || ""; } catch (e) { return ""; }
  }
  function api(method, url, data) {
    var opts = { method: method, credentials: "same-origin", headers: { accept: "application/json", "x-csrf-token": csrf() } };
    if (data !== undefined) { opts.headers["content-type"] = "application/json"; opts.body = JSON.stringify(data); }
    return fetch(url, opts).then(function (r) {
      return r.text().then(function (t) {
        var v = null;
        try { v = t ? JSON.parse(t) : null; } catch (e) { v = null; }
        if (!r.ok) { var err = new Error((v && v.error && v.error.message) || r.statusText); err.status = r.status; throw err; }
        return v;
      });
    });
  }

  // ---- the badge on "Chats" (top tabs and the phone's bottom bar) ----
  function setBadge(total) {
    document.querySelectorAll('[data-live-badge="chat"]').forEach(function (b) {
      b.textContent = total > 99 ? "99+" : String(total);
      b.hidden = total <= 0;
    });
  }

  var panel = document.getElementById("chat");
  var list = panel && panel.querySelector(".chat-messages");
  var form = panel && panel.querySelector(".chat-compose");
  var text = panel && panel.querySelector("textarea");
  var errorBox = panel && panel.querySelector(".chat-error");
  var typingBox = panel && panel.querySelector(".chat-typing");
  var replyBox = panel && panel.querySelector(".chat-reply");
  var pendingList = panel && panel.querySelector(".chat-pending");
  var replyTo = null;
  var pending = []; // {id, li, xhr}

  function thread() { return panel ? panel.getAttribute("data-thread") || "" : ""; }
  function lastId() {
    var all = list.querySelectorAll("li.msg");
    return all.length ? all[all.length - 1].getAttribute("data-id") : "0";
  }
  function lastDay() {
    var all = list.querySelectorAll("li.msg-day");
    return all.length ? all[all.length - 1].getAttribute("data-day") : "";
  }
  function nearBottom() { return list.scrollHeight - list.scrollTop - list.clientHeight < 80; }
  function toBottom() { list.scrollTop = list.scrollHeight; }
  function showError(msg) {
    if (!errorBox) return;
    errorBox.textContent = msg || "";
    errorBox.hidden = !msg;
  }

  // Reads the messages after the last one shown and appends them; marks
  // the thread read when the page is in view.
  var catching = null;
  function catchUp() {
    if (!panel) return Promise.resolve();
    if (catching) return catching;
    var url = panel.getAttribute("data-items") + "?after=" + lastId() + "&day=" + encodeURIComponent(lastDay());
    var stick = nearBottom();
    catching = fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) {
        catching = null;
        if (!html.trim()) return;
        var empty = list.querySelector(".chat-empty");
        if (empty) empty.remove();
        list.insertAdjacentHTML("beforeend", html);
        dedupe();
        var first = list.querySelector("li.msg[data-thread]");
        if (!thread() && first) panel.setAttribute("data-thread", first.getAttribute("data-thread"));
        if (stick) toBottom();
        markRead();
      })
      .catch(function () { catching = null; });
    return catching;
  }
  // A message can arrive twice (our own answer and its push): keep the first.
  function dedupe() {
    var seen = {};
    list.querySelectorAll("li.msg").forEach(function (li) {
      var id = li.getAttribute("data-id");
      if (seen[id]) li.remove(); else seen[id] = true;
    });
  }
  function replaceOne(id) {
    var li = document.getElementById("m-" + id);
    if (!li) return;
    fetch(panel.getAttribute("data-items") + "?id=" + id, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) {
        if (!html.trim()) return;
        var tmp = document.createElement("ol");
        tmp.innerHTML = html;
        var fresh = tmp.querySelector("li.msg");
        if (fresh) li.replaceWith(fresh);
      });
  }

  var readPending = null;
  function markRead() {
    var th = thread();
    if (!th || document.hidden) return;
    clearTimeout(readPending);
    readPending = setTimeout(function () {
      api("POST", panel.getAttribute("data-api") + "/threads/" + th + "/read", { message_id: parseInt(lastId(), 10) || null })
        .then(function (v) { if (v) setBadge(v.unread); })
        .catch(function () {});
    }, 300);
  }

  // ---- sending ----
  function send(ev) {
    if (ev) ev.preventDefault();
    var body = (text.value || "").trim();
    var ready = pending.filter(function (p) { return p.id; });
    if (pending.some(function (p) { return !p.id; })) return; // still uploading
    if (!body && !ready.length) return;
    var data = { text: body, file_ids: ready.map(function (p) { return p.id; }) };
    if (replyTo) data.reply_to = replyTo;
    var button = form.querySelector(".chat-send");
    button.disabled = true;
    api("POST", panel.getAttribute("data-post"), data)
      .then(function (m) {
        text.value = "";
        pending.forEach(function (p) { p.li.remove(); });
        pending = [];
        setReply(null);
        showError("");
        if (m && m.thread_id && !thread()) panel.setAttribute("data-thread", String(m.thread_id));
        return catchUp().then(toBottom);
      })
      .catch(function (e) { showError(e.message); })
      .then(function () { button.disabled = false; text.focus(); });
  }

  function setReply(li) {
    replyTo = li ? parseInt(li.getAttribute("data-id"), 10) : null;
    if (!replyBox) return;
    replyBox.hidden = !li;
    if (li) {
      replyBox.querySelector(".chat-reply-text").textContent =
        (panel.getAttribute("data-replying") || "{name}").replace("{name}", li.getAttribute("data-author") || "");
      text.focus();
    }
  }

  // ---- files: upload with progress, cancellable ----
  function fmtSize(n) {
    if (n < 1024) return n + " B";
    if (n < 1048576) return Math.round(n / 1024) + " KB";
    return (n / 1048576).toFixed(1) + " MB";
  }
  function upload(file) {
    var li = document.createElement("li");
    li.className = "chat-file";
    var name = document.createElement("span");
    name.textContent = file.name + " · " + fmtSize(file.size);
    var bar = document.createElement("progress");
    bar.max = 100; bar.value = 0;
    var cancel = document.createElement("button");
    cancel.type = "button"; cancel.className = "link"; cancel.textContent = "×";
    cancel.setAttribute("aria-label", panel.getAttribute("data-cancel") || "Cancel");
    li.appendChild(name); li.appendChild(bar); li.appendChild(cancel);
    pendingList.appendChild(li);
    var entry = { id: null, li: li, xhr: new XMLHttpRequest() };
    pending.push(entry);
    var xhr = entry.xhr;
    xhr.open("POST", panel.getAttribute("data-files"));
    xhr.setRequestHeader("x-csrf-token", csrf());
    xhr.setRequestHeader("accept", "application/json");
    xhr.upload.onprogress = function (e) { if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100); };
    xhr.onload = function () {
      var v = null;
      try { v = JSON.parse(xhr.responseText); } catch (e) { v = null; }
      if (xhr.status === 201 && v && v.id) {
        entry.id = v.id;
        bar.value = 100;
        li.classList.add("done");
        if (entry.then) entry.then();
      } else {
        drop(entry);
        showError((v && v.error && v.error.message) || panel.getAttribute("data-upload-failed"));
      }
    };
    xhr.onerror = function () { drop(entry); showError(panel.getAttribute("data-upload-failed")); };
    cancel.onclick = function () { xhr.abort(); drop(entry); };
    var fd = new FormData();
    fd.append("file", file, file.name);
    xhr.send(fd);
    return entry;
  }
  function drop(entry) {
    pending = pending.filter(function (p) { return p !== entry; });
    entry.li.remove();
  }
  function pick(files) { Array.prototype.forEach.call(files || [], upload); }

  // ---- voice notes (MediaRecorder) ----
  var recorder = null;
  function voice(button) {
    if (recorder) { recorder.stop(); return; }
    if (!navigator.mediaDevices || !window.MediaRecorder) { showError(panel.getAttribute("data-upload-failed")); return; }
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      var chunks = [];
      recorder = new MediaRecorder(stream);
      var label = button.querySelector("span");
      var before = label.textContent;
      label.textContent = button.getAttribute("data-stop") || "Stop";
      button.classList.add("recording");
      recorder.ondataavailable = function (e) { if (e.data && e.data.size) chunks.push(e.data); };
      recorder.onstop = function () {
        stream.getTracks().forEach(function (t) { t.stop(); });
        button.classList.remove("recording");
        label.textContent = before;
        recorder = null;
        var type = chunks.length ? chunks[0].type || "audio/webm" : "audio/webm";
        var ext = /ogg/.test(type) ? "ogg" : /mp4/.test(type) ? "m4a" : "webm";
        var blob = new Blob(chunks, { type: type });
        if (!blob.size) return;
        var file = new File([blob], "voice-" + new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-") + "." + ext, { type: type });
        var entry = upload(file);
        entry.then = function () { send(); };
      };
      recorder.start();
    }).catch(function (e) { showError(e.message); });
  }

  // ---- typing ----
  var lastTyping = 0;
  function typing() {
    var th = thread();
    var now = Date.now();
    if (!th || now - lastTyping < 3000) return;
    lastTyping = now;
    api("POST", panel.getAttribute("data-api") + "/threads/" + th + "/typing").catch(function () {});
  }
  var typingTimer = null;
  function showTyping(name) {
    if (!typingBox) return;
    typingBox.textContent = (panel.getAttribute("data-typing") || "{name}…").replace("{name}", name);
    typingBox.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { typingBox.hidden = true; }, 4000);
  }

  // ---- edit and delete one's own ----
  function edit(li) {
    var p = li.querySelector(".msg-text");
    if (!p || li.querySelector(".msg-edit")) return;
    var area = document.createElement("textarea");
    area.className = "msg-edit";
    area.value = p.textContent;
    area.rows = 2;
    var save = document.createElement("button");
    save.type = "button"; save.className = "button"; save.textContent = panel.getAttribute("data-save") || "Save";
    var cancel = document.createElement("button");
    cancel.type = "button"; cancel.className = "link"; cancel.textContent = panel.getAttribute("data-cancel") || "Cancel";
    var box = document.createElement("div");
    box.className = "msg-edit-box";
    box.appendChild(area); box.appendChild(save); box.appendChild(cancel);
    p.hidden = true;
    p.after(box);
    area.focus();
    cancel.onclick = function () { box.remove(); p.hidden = false; };
    save.onclick = function () {
      api("PATCH", panel.getAttribute("data-api") + "/messages/" + li.getAttribute("data-id"), { text: area.value })
        .then(function () { replaceOne(li.getAttribute("data-id")); })
        .catch(function (e) { showError(e.message); });
    };
  }
  function remove(li, button) {
    var q = button.getAttribute("data-confirm");
    if (q && !window.confirm(q)) return;
    api("DELETE", panel.getAttribute("data-api") + "/messages/" + li.getAttribute("data-id"))
      .then(function () { replaceOne(li.getAttribute("data-id")); })
      .catch(function (e) { showError(e.message); });
  }
  // Past its 15 minutes, a message loses its edit and delete buttons.
  function expire() {
    var now = Date.now();
    list.querySelectorAll("li.msg[data-editable-until]").forEach(function (li) {
      if (parseInt(li.getAttribute("data-editable-until"), 10) < now) {
        li.removeAttribute("data-editable-until");
        li.querySelectorAll('[data-act="edit"],[data-act="delete"]').forEach(function (b) { b.remove(); });
      }
    });
  }

  // A photo's thumbnail is made just after the upload: until then it is a
  // 404, so try again a few times.
  document.addEventListener("error", function (e) {
    var img = e.target;
    if (!img || !img.classList || !img.classList.contains("msg-thumb")) return;
    var tries = parseInt(img.getAttribute("data-tries") || "0", 10);
    if (tries >= 20) return;
    img.setAttribute("data-tries", String(tries + 1));
    var base = img.getAttribute("data-src") || img.src.split("?")[0];
    img.setAttribute("data-src", base);
    setTimeout(function () { img.src = base + "?r=" + (tries + 1); }, 400 + tries * 200);
  }, true);

  // The viewer: a photo opens over the page; Escape, a click or "×" closes it.
  function view(a) {
    var d = document.createElement("dialog");
    d.className = "viewer";
    var img = document.createElement("img");
    img.src = a.getAttribute("href");
    img.alt = a.getAttribute("title") || "";
    var close = document.createElement("button");
    close.type = "button"; close.className = "viewer-close"; close.textContent = "×";
    close.setAttribute("aria-label", panel ? panel.getAttribute("data-cancel") || "Close" : "Close");
    d.appendChild(close); d.appendChild(img);
    document.body.appendChild(d);
    d.addEventListener("close", function () { d.remove(); });
    d.addEventListener("click", function () { d.close(); });
    d.showModal();
  }
  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("a[data-viewer]");
    if (!a || e.ctrlKey || e.metaKey || e.shiftKey) return;
    e.preventDefault();
    view(a);
  });

  if (panel) {
    toBottom();
    // Photos load after the page: stay at the newest message while the
    // reader has not scrolled up.
    var pinned = true;
    list.addEventListener("scroll", function () { pinned = nearBottom(); });
    list.addEventListener("load", function () { if (pinned) toBottom(); }, true);
    if (location.hash === "#chat") panel.scrollIntoView();
    markRead();
    setInterval(expire, 30000);
    form.addEventListener("submit", send);
    text.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) send(e);
    });
    text.addEventListener("input", typing);
    panel.querySelectorAll("input[data-pick]").forEach(function (inp) {
      inp.addEventListener("change", function () { pick(inp.files); inp.value = ""; });
    });
    panel.querySelector(".chat-voice").addEventListener("click", function (e) { voice(e.currentTarget); });
    panel.addEventListener("click", function (e) {
      var b = e.target.closest("[data-act]");
      if (!b) return;
      var li = b.closest("li.msg");
      var act = b.getAttribute("data-act");
      if (act === "reply" && li) setReply(li);
      else if (act === "unreply") setReply(null);
      else if (act === "edit" && li) edit(li);
      else if (act === "delete" && li) remove(li, b);
    });
    var older = panel.querySelector(".chat-older");
    if (older) older.addEventListener("click", function () {
      var first = list.querySelector("li.msg");
      var before = first ? first.getAttribute("data-id") : older.getAttribute("data-before");
      fetch(panel.getAttribute("data-items") + "?before=" + before, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) {
          if (!html.trim()) { older.remove(); return; }
          var h = list.scrollHeight;
          var firstDay = list.querySelector("li.msg-day");
          list.insertAdjacentHTML("afterbegin", html);
          // The day line of the old first message may now repeat.
          if (firstDay) {
            var days = list.querySelectorAll('li.msg-day[data-day="' + firstDay.getAttribute("data-day") + '"]');
            if (days.length > 1) firstDay.remove();
          }
          list.scrollTop += list.scrollHeight - h;
        });
    });
    // Drag and drop, and pasting an image, on desktop.
    panel.addEventListener("dragover", function (e) { e.preventDefault(); panel.classList.add("dropping"); });
    panel.addEventListener("dragleave", function () { panel.classList.remove("dropping"); });
    panel.addEventListener("drop", function (e) {
      e.preventDefault();
      panel.classList.remove("dropping");
      if (e.dataTransfer) pick(e.dataTransfer.files);
    });
    text.addEventListener("paste", function (e) {
      var files = e.clipboardData && e.clipboardData.files;
      if (files && files.length) { e.preventDefault(); pick(files); }
    });
    document.addEventListener("visibilitychange", function () { if (!document.hidden) markRead(); });
  }

  document.addEventListener("idora:live", function (e) {
    var ev = e.detail || {};
    var d = ev.data || {};
    if (typeof d.total === "number") setBadge(d.total);
    if (!panel) return;
    var mine = thread() && String(d.thread_id) === thread();
    if (ev.kind === "chat.message") {
      // A task's discussion that started on another page: learn its thread.
      if (!thread() && panel.getAttribute("data-post").indexOf("/tasks/") > 0) catchUp();
      else if (mine) catchUp();
    } else if (ev.kind === "chat.changed" && mine) {
      replaceOne(d.id);
    } else if (ev.kind === "chat.typing" && mine) {
      showTyping(d.name || "");
    } else if (ev.kind === "chat.removed" && mine) {
      location.reload();
    }
  });
  // After a reconnect, what came while the socket was down.
  document.addEventListener("idora:live-open", function () { if (panel) catchUp(); });
})();
