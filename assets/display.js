// The display board: the latest calls (ticket → window), live over the
// branch's event stream, each new call with a chime and spoken aloud.
// No inline script (CSP); the page says what it needs on [data-display]:
//   data-events   the SSE stream of the branch's queue
//   data-tz       the company's time zone, for the clock
//   data-speech   the language to speak (uz-UZ, ru-RU, en-US)
//   data-rows     how many calls the board lists
//   data-i18n     the texts this script writes, as JSON
// The server draws the board at load, so a reload always shows the state;
// after a lost connection the board is read again so that nothing is missed.
(function () {
  "use strict";

  var root = document.querySelector("[data-display]");
  if (!root) return;
  var T = {};
  try { T = JSON.parse(root.getAttribute("data-i18n") || "{}"); } catch (e) { T = {}; }
  var tz = root.getAttribute("data-tz") || "UTC";
  var speechLang = root.getAttribute("data-speech") || "uz-UZ";
  var rows = parseInt(root.getAttribute("data-rows"), 10) || 7;
  var eventsUrl = root.getAttribute("data-events");

  function fill(tpl, args) {
    return String(tpl || "").replace(/\{(\w+)\}/g, function (m, k) { return Object.prototype.hasOwnProperty.call(args, k) ? String(args[k]) : m; });
  }
  function once(f) {
    var done = false;
    return function () { if (!done) { done = true; f.apply(null, arguments); } };
  }

  // ---- the clock, in the company's time zone ----
  var timeFmt = null;
  try { timeFmt = new Intl.DateTimeFormat("ru-RU", { timeZone: tz, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }); } catch (e) { timeFmt = null; }
  function tick() {
    var el = root.querySelector("[data-clock]");
    if (el && timeFmt) el.textContent = timeFmt.format(new Date());
  }
  tick();
  setInterval(tick, 1000);

  // ---- the calls on the board ----
  function readCalls(scope) {
    return Array.prototype.map.call(scope.querySelectorAll("[data-call]"), function (tr) {
      return {
        id: tr.getAttribute("data-call"),
        number: tr.getAttribute("data-number"),
        window: tr.getAttribute("data-window"),
        status: tr.getAttribute("data-status"),
      };
    });
  }
  var calls = readCalls(root);

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // A text in the board's second language, under the main one (when the branch has two).
  function two(e, text) {
    if (text) e.appendChild(el("span", "display-l2", text));
    return e;
  }

  function renderNow(arrived) {
    var panel = root.querySelector(".display-now");
    if (!panel) return;
    // The big panel: the newest call whose customer is still on the way.
    var first = calls.filter(function (c) { return c.status === "called"; })[0];
    if (!first) {
      // With recent calls listed, nobody is on the way now: never "no calls yet".
      var idle = calls.length ? (T.between || "") : (T.empty || "");
      var idle2 = calls.length ? T.between2 : T.empty2;
      var shown = panel.querySelector(".display-idle");
      if (!panel.classList.contains("is-empty") || (shown && shown.firstChild && shown.firstChild.textContent !== idle && !panel.querySelector(".display-hours"))) {
        panel.className = "display-now is-empty";
        panel.removeAttribute("data-now");
        panel.replaceChildren(two(el("p", "display-idle", idle), idle2));
      }
      return;
    }
    if (panel.getAttribute("data-now") !== first.id || arrived) {
      panel.className = "display-now";
      panel.setAttribute("data-now", first.id);
      panel.replaceChildren(
        two(el("p", "display-caption", T.now || ""), T.now2),
        el("p", "display-now-number", first.number),
        two(el("p", "display-now-window", fill(T.window, { window: first.window })), T.window2 && fill(T.window2, { window: first.window }))
      );
    }
    if (arrived) {
      panel.classList.remove("arrived");
      void panel.offsetWidth; // restart the animation on a recall
      panel.classList.add("arrived");
    }
  }

  function renderList(freshId) {
    var body = root.querySelector("[data-calls]");
    if (!body) return;
    body.replaceChildren.apply(body, calls.map(function (c) {
      var tr = el("tr", c.status === "serving" || c.status === "done" ? c.status : "");
      if (c.id === freshId) tr.classList.add("fresh");
      tr.setAttribute("data-call", c.id);
      tr.setAttribute("data-number", c.number);
      tr.setAttribute("data-window", c.window);
      tr.setAttribute("data-status", c.status);
      tr.appendChild(el("td", "num", c.number));
      tr.appendChild(el("td", "win", c.window));
      return tr;
    }));
  }

  function onCalled(d) {
    var id = String(d.id);
    calls = calls.filter(function (c) { return c.id !== id; });
    calls.unshift({ id: id, number: String(d.number), window: String(d.window), status: "called" });
    calls = calls.slice(0, rows);
    renderNow(true);
    renderList(id);
    announce(d);
  }

  function onChanged(d) {
    var id = String(d.id);
    var i = calls.findIndex(function (c) { return c.id === id; });
    if (i < 0) return;
    if (d.status === "serving" || d.status === "done" || d.status === "called") calls[i].status = d.status;
    else calls.splice(i, 1);
    renderNow(false);
    renderList(null);
  }

  // ---- sound: a chime made with WebAudio, then the call spoken aloud ----
  var ctx = null;
  var soundOn = false;
  var hint = root.querySelector("[data-sound-hint]");
  function audio() {
    var AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return null;
    if (!ctx) { try { ctx = new AC(); } catch (e) { ctx = null; } }
    return ctx;
  }
  // Browsers allow sound only after a first touch or key (unless the TV's
  // browser is set up to allow it): until then a small hint asks for one.
  function unlock() {
    var c = audio();
    if (c && c.state === "suspended" && c.resume) c.resume();
    if (window.speechSynthesis) {
      try { var u = new SpeechSynthesisUtterance(" "); u.volume = 0; window.speechSynthesis.speak(u); } catch (e) { /* no speech */ }
    }
    soundOn = true;
    if (hint) hint.hidden = true;
    root.setAttribute("data-sound", "on");
  }
  (function () {
    var c = audio();
    if (c && c.state === "running") { soundOn = true; root.setAttribute("data-sound", "on"); }
    else if (hint) hint.hidden = false;
  })();
  document.addEventListener("pointerdown", once(unlock), true);
  document.addEventListener("keydown", once(unlock), true);

  function chime() {
    return new Promise(function (done) {
      var c = audio();
      if (!c || c.state !== "running") { done(); return; }
      var t0 = c.currentTime + 0.05;
      [[659.25, 0], [523.25, 0.42]].forEach(function (n) {
        var o = c.createOscillator();
        var g = c.createGain();
        o.type = "sine";
        o.frequency.value = n[0];
        g.gain.setValueAtTime(0.0001, t0 + n[1]);
        g.gain.exponentialRampToValueAtTime(0.3, t0 + n[1] + 0.03);
        g.gain.exponentialRampToValueAtTime(0.0001, t0 + n[1] + 1.2);
        o.connect(g);
        g.connect(c.destination);
        o.start(t0 + n[1]);
        o.stop(t0 + n[1] + 1.3);
      });
      setTimeout(done, 1500);
    });
  }

  var voices = [];
  function loadVoices() { try { voices = window.speechSynthesis.getVoices() || []; } catch (e) { voices = []; } }
  if (window.speechSynthesis) {
    loadVoices();
    if (window.speechSynthesis.addEventListener) window.speechSynthesis.addEventListener("voiceschanged", loadVoices);
  }
  function voice() {
    var want = speechLang.toLowerCase();
    var base = want.split("-")[0];
    var norm = function (v) { return String(v.lang || "").toLowerCase().replace("_", "-"); };
    return voices.filter(function (v) { return norm(v) === want; })[0] ||
      voices.filter(function (v) { return norm(v).indexOf(base) === 0; })[0] || null;
  }
  function speak(text) {
    return new Promise(function (done) {
      if (!window.speechSynthesis || !soundOn) { done(); return; }
      var finish = once(done);
      try {
        var u = new SpeechSynthesisUtterance(text);
        u.lang = speechLang;
        var v = voice();
        if (v) u.voice = v;
        u.rate = 0.9;
        u.onend = finish;
        u.onerror = finish;
        window.speechSynthesis.speak(u);
      } catch (e) { finish(); return; }
      setTimeout(finish, 10000);
    });
  }
  // "K-007" is said "K 7".
  function spoken(number) { return String(number).replace(/-0*(\d)/, " $1"); }

  var said = [];
  var talking = false;
  function announce(d) {
    var text = fill(T.say, { number: spoken(d.number), window: d.window });
    root.setAttribute("data-last-say", text);
    root.setAttribute("data-said", String((parseInt(root.getAttribute("data-said"), 10) || 0) + 1));
    said.push(text);
    if (!talking) next();
  }
  function next() {
    var text = said.shift();
    if (text === undefined) { talking = false; return; }
    talking = true;
    chime().then(function () { return speak(text); }).then(function () { setTimeout(next, 700); });
  }

  // ---- reading the board again from the server ----
  var syncTimer = null;
  var lastEvent = 0;
  function scheduleSync(ms) {
    clearTimeout(syncTimer);
    syncTimer = setTimeout(sync, ms || 1500);
  }
  function sync() {
    if (!window.fetch || !window.DOMParser) return;
    var started = Date.now();
    fetch(location.href, { credentials: "same-origin", cache: "no-store", headers: { accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        // An event came while the page was read: it may be newer; read again.
        if (lastEvent >= started) { scheduleSync(1500); return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        var panel = root.querySelector(".display-now");
        var fresh = doc.querySelector(".display-now");
        if (panel && fresh) {
          var same = panel.getAttribute("data-now") === fresh.getAttribute("data-now") &&
            panel.classList.contains("is-empty") === fresh.classList.contains("is-empty");
          if (!same || panel.classList.contains("is-empty")) panel.replaceWith(document.importNode(fresh, true));
        }
        var body = doc.querySelector("[data-calls]");
        var mine = root.querySelector("[data-calls]");
        if (body && mine) {
          mine.innerHTML = body.innerHTML;
          calls = readCalls(root);
        }
        ["waiting", "date"].forEach(function (k) {
          var a = root.querySelector('[data-sync="' + k + '"]');
          var b = doc.querySelector('[data-sync="' + k + '"]');
          if (a && b) a.innerHTML = b.innerHTML;
        });
      })
      .catch(function () { /* the next try heals it */ });
  }
  // Once a minute anyway: the day rolls over, and nothing stays stale.
  setInterval(function () { sync(); }, 60000);

  // ---- the live stream ----
  var offline = root.querySelector("[data-offline]");
  var offlineTimer = null;
  function setOnline(on) {
    clearTimeout(offlineTimer);
    if (on) { if (offline) offline.hidden = true; root.setAttribute("data-live", "ready"); }
    else {
      root.removeAttribute("data-live");
      // Only a lasting loss is shown: a quick reconnect goes unnoticed.
      offlineTimer = setTimeout(function () { if (offline) offline.hidden = false; }, 5000);
    }
  }

  function parse(m) {
    try { var ev = JSON.parse(m.data); return ev && ev.data ? ev.data : null; } catch (e) { return null; }
  }

  var es = null;
  var firstReady = true;
  var retry = 1000;
  function connect() {
    if (!window.EventSource || !eventsUrl) return;
    es = new EventSource(eventsUrl);
    es.addEventListener("ready", function () {
      setOnline(true);
      retry = 1000;
      if (!firstReady) sync();
      firstReady = false;
    });
    es.addEventListener("ticket.called", function (m) {
      var d = parse(m);
      if (!d) return;
      lastEvent = Date.now();
      onCalled(d);
      scheduleSync(2500);
    });
    es.addEventListener("ticket.changed", function (m) {
      var d = parse(m);
      if (!d) return;
      lastEvent = Date.now();
      onChanged(d);
      scheduleSync(2500);
    });
    es.addEventListener("ticket.issued", function () { scheduleSync(1500); });
    es.onerror = function () {
      setOnline(false);
      scheduleSync(3000);
      // EventSource retries by itself, unless the server refused it: then start again.
      if (es.readyState === EventSource.CLOSED) {
        es.close();
        setTimeout(connect, retry);
        retry = Math.min(retry * 2, 30000);
      }
    };
  }
  connect();
})();
