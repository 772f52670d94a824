/* Antre TV board: a dumb renderer of server messages, plus the voice player.
 *
 * Every message, from the WebSocket or from a test, goes through antreBoard.handle(msg):
 *   snapshot / update  {type, position, data: board_json (+ calls)} -> redraw counters and queues
 *                      (a snapshot's standing calls fill the large panel and the history, silently)
 *   call               {type, position, data: call_json}    -> show it large, queue chime + clips
 *   heartbeat / pong   {type, position, at}                  -> keeps the board "online"
 * Calls are announced once (keyed by position, counter and number), one after another, never
 * overlapping. The words come from the server (display_board/announce.py); this file holds no
 * language logic. Only numbers and counter/service names are ever shown, nothing personal.
 * No framework, no external files: it runs offline on a TV stick (Chromium 70+).
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("board-config").textContent);
  var STATUS = { open: "Buka", paused: "Jeda", closed: "Tutup" };
  var DAYS = ["Minggu", "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu"];
  var MONTHS = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
    "Oktober", "November", "Desember"];
  var HISTORY = 6;           // previous calls shown
  var KEEP = 100;            // entries kept in the announced / spoken / played hooks
  var QUEUE_MAX = 20;        // announcements waiting while sound is blocked
  var STALE_MS = 120000;     // calls older than this are not spoken once sound comes back
  var GAP_MS = 700;          // silence between two announcements
  var CLIP_TIMEOUT_MS = 10000;
  var OVERLAY_MS = 60000;    // the big "enable sound" card shrinks to a chip after this
  var OFFLINE_GRACE_MS = 3000;
  var heartbeatMs = Math.max(1, Number(config.heartbeat_s) || 10) * 1000;
  var soundKey = "antre.sound";

  var board = {
    state: { board: null, position: 0, latest: null, history: [], lastMessageAt: 0, lastUpdate: 0 },
    announced: [],   // calls accepted for speech: {key, position, number, counter, counter_name, recall}
    audioQueue: [],  // announcements not yet spoken, oldest first
    spoken: [],      // keys of announcements fully played
    played: [],      // audio actually started, in order ("chime", clip names, "tts")
    online: false,
    soundBlocked: false,
    soundEnabled: readStore(soundKey) === "on",
    handle: handle,
    enableSound: enableSound,
  };
  window.antreBoard = board;

  var $ = function (id) { return document.getElementById(id); };
  var seen = {};
  var lastCallPosition = -1;
  var skew = 0;                  // server clock minus this device's clock
  var socket = null;
  var socketOpen = false;
  var attempts = 0;
  var reconnectTimer = null;
  var started = Date.now();

  // ---- small helpers ---------------------------------------------------------------------------

  function readStore(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }
  function writeStore(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* private mode: fine */ }
  }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function keep(list, item) {
    list.push(item);
    if (list.length > KEEP) list.splice(0, list.length - KEEP);
  }
  function serverNow() { return Date.now() + skew; }
  function pad(n) { return (n < 10 ? "0" : "") + n; }

  var dateFormat = null;
  function localParts(ms) {
    try {
      dateFormat = dateFormat || new Intl.DateTimeFormat("en-GB", {
        timeZone: config.timezone, year: "numeric", month: "numeric", day: "numeric",
        hour: "numeric", minute: "numeric", hourCycle: "h23",
      });
      var p = {};
      dateFormat.formatToParts(new Date(ms)).forEach(function (x) { p[x.type] = x.value; });
      return { y: +p.year, m: +p.month, d: +p.day, hh: +p.hour % 24, mm: +p.minute };
    } catch (e) {  // no time-zone data on this device: the offset the server gave
      var t = new Date(ms + (config.utc_offset_min || 0) * 60000);
      return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate(), hh: t.getUTCHours(), mm: t.getUTCMinutes() };
    }
  }
  function hhmm(ms) { var p = localParts(ms); return pad(p.hh) + ":" + pad(p.mm); }

  // ---- rendering -------------------------------------------------------------------------------

  function renderCounters(data) {
    var list = $("counters");
    var counters = Array.isArray(data.counters) ? data.counters : [];
    var latest = board.state.latest;
    list.textContent = "";
    // rows grow a little on a board with few counters and shrink on one with many
    list.style.setProperty("--row", String(Math.max(0.55, Math.min(1.3, 6 / Math.max(1, counters.length)))));
    counters.forEach(function (c) {
      var status = STATUS[c.status] ? c.status : "closed";
      var row = el("li", status);
      if (c.ticket_status === "called") row.classList.add("called");
      if (latest && c.number && latest.counter === c.counter && latest.number === c.number) row.classList.add("latest");
      row.appendChild(el("span", "c-name", c.name));
      row.appendChild(el("span", "c-number", c.number || "—"));
      row.appendChild(el("span", "c-status " + status, STATUS[status]));
      list.appendChild(row);
    });
  }

  function renderQueues(data) {
    var list = $("queues");
    var queues = Array.isArray(data.queues) ? data.queues : [];
    list.textContent = "";
    queues.forEach(function (q) {
      var row = el("li");
      row.appendChild(el("span", "q-name", q.name));
      var waiting = el("span", "q-waiting");
      waiting.appendChild(el("b", "", Number(q.waiting) || 0));
      waiting.appendChild(document.createTextNode(" menunggu"));
      row.appendChild(waiting);
      var next = el("span", "q-next");
      var numbers = Array.isArray(q.next) ? q.next.slice(0, 4) : [];
      if (!numbers.length) next.appendChild(el("span", "none", "Tidak ada antrean"));
      numbers.forEach(function (n) { next.appendChild(el("span", "chip", n)); });
      row.appendChild(next);
      list.appendChild(row);
    });
  }

  function renderNow(flash) {
    var call = board.state.latest;
    var card = $("now-card");
    $("now-number").textContent = call ? call.number : "—";
    $("now-number").classList.toggle("long", !!call && call.number.length > 4);
    $("now-to").textContent = call ? "Silakan menuju" : "Menunggu panggilan";
    $("now-counter").textContent = call ? call.counter_name : "";
    $("now-counter").classList.toggle("long", !!call && call.counter_name.length > 18);
    var recall = !!(call && call.recall);
    $("now-label").textContent = recall ? "Panggilan Ulang" : "Nomor Antrean Dipanggil";
    $("now-label").classList.toggle("recall", recall);
    card.classList.toggle("idle", !call);
    if (flash) {
      card.classList.remove("flash");
      void card.offsetWidth;  // restart the animation
      card.classList.add("flash");
    }
    var list = $("history");
    list.textContent = "";
    if (!board.state.history.length) list.appendChild(el("li", "empty", "Belum ada panggilan"));
    board.state.history.forEach(function (h) {
      var item = el("li");
      item.appendChild(el("span", "h-number", h.number));
      item.appendChild(el("span", "h-counter", h.counter_name));
      list.appendChild(item);
    });
  }

  function renderBoard() {
    var data = board.state.board;
    if (!data) return;
    renderCounters(data);
    renderQueues(data);
  }

  function renderStatus() {
    var offline = !board.online && Date.now() - started > OFFLINE_GRACE_MS;
    $("offline").hidden = !offline;
    $("offline-time").textContent = board.state.lastUpdate ? hhmm(board.state.lastUpdate) : "--:--";
    document.body.classList.toggle("is-offline", offline);
  }

  function renderClock() {
    var p = localParts(serverNow());
    $("clock-time").textContent = pad(p.hh) + ":" + pad(p.mm);
    $("clock-tz").textContent = config.tz_name || "";
    var weekday = new Date(Date.UTC(p.y, p.m - 1, p.d)).getUTCDay();
    $("clock-date").textContent = DAYS[weekday] + ", " + p.d + " " + MONTHS[p.m - 1] + " " + p.y;
  }

  function startTicker() {
    var track = $("ticker-track");
    $("ticker-text").textContent = config.running_text || "";
    var speed = Math.max(60, window.innerWidth * 0.075);  // px per second
    track.style.setProperty("--ticker-s", Math.max(10, track.scrollWidth / speed).toFixed(1) + "s");
  }

  // ---- messages --------------------------------------------------------------------------------

  function handle(msg) {
    if (Array.isArray(msg)) { msg.forEach(handle); return; }
    if (!msg || typeof msg !== "object") return;
    board.state.lastMessageAt = Date.now();
    var position = typeof msg.position === "number" ? msg.position : null;
    if (msg.type === "snapshot" || msg.type === "update") onBoard(msg, position);
    else if (msg.type === "call") onCall(msg, position);
    else if ((msg.type === "heartbeat" || msg.type === "pong") && typeof msg.at === "number") skew = msg.at - Date.now();
    if (position !== null && position > board.state.position) board.state.position = position;
    board.state.lastUpdate = serverNow();
    refreshOnline();
  }

  function onBoard(msg, position) {
    var data = msg.data;
    if (!data || typeof data !== "object") return;
    if (msg.type === "snapshot") {
      if (position !== null && position < board.state.position) {
        // the server's log is a new one (positions start again): forget what was announced
        board.state.position = position;
        lastCallPosition = -1;
        seen = {};
      }
      if (Array.isArray(data.calls)) standing(data.calls);
    }
    if (typeof data.now === "number") skew = data.now - Date.now();
    board.state.board = data;
    renderBoard();
  }

  function callView(c, position) {  // only these fields are ever shown
    return {
      key: position + ":" + c.counter + ":" + c.number, position: position, number: String(c.number),
      counter: c.counter, counter_name: String(c.counter_name || ""), recall: !!c.recall,
    };
  }

  function standing(calls) {  // a snapshot's calls now standing at counters, newest first: shown, not spoken
    var views = calls.filter(function (c) { return c && c.number; }).map(function (c) { return callView(c, null); });
    board.state.latest = views[0] || null;
    board.state.history = views.slice(1, HISTORY + 1);
    renderNow(false);
  }

  function onCall(msg, position) {
    var c = msg.data;
    if (!c || typeof c !== "object" || position === null) return;
    var call = callView(c, position);
    if (seen[call.key] || position < lastCallPosition) return;  // a resume never re-announces
    if (position > lastCallPosition) seen = {};  // only calls at the newest position can come again
    seen[call.key] = true;
    lastCallPosition = position;
    var speech = c.speech && typeof c.speech === "object" ? c.speech : {};
    keep(board.announced, call);
    var previous = board.state.latest ? [board.state.latest].concat(board.state.history) : board.state.history;
    board.state.history = previous.filter(function (h) { return h.number !== call.number; }).slice(0, HISTORY);
    board.state.latest = call;
    patchCounter(c);
    renderNow(true);
    renderBoard();
    enqueue({
      key: call.key, position: position, number: call.number, counter_name: call.counter_name,
      text: String(speech.text || ""), clips: Array.isArray(speech.clips) ? speech.clips.map(String) : [],
      at: Date.now(),
    });
  }

  function patchCounter(c) {  // show the called number at once; the next update confirms it
    var data = board.state.board;
    if (!data || !Array.isArray(data.counters)) return;
    data.counters.forEach(function (row) {
      if (row.counter === c.counter) { row.number = c.number; row.ticket_status = "called"; }
    });
  }

  // ---- connection ------------------------------------------------------------------------------

  function refreshOnline() {
    var fresh = Date.now() - board.state.lastMessageAt <= 3 * heartbeatMs;
    board.online = (config.connect ? socketOpen : true) && fresh;
    renderStatus();
  }

  function connect() {
    reconnectTimer = null;
    if (!config.connect || socket) return;
    // Resume one position back: a call is an update and a call message under one position, and a
    // connection may break between the two; what comes again is redrawn or deduplicated (seen[key]).
    var query = ["after=" + encodeURIComponent(Math.max(0, board.state.position - 1))];
    if (config.token) query.unshift("token=" + encodeURIComponent(config.token));
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + config.ws + "?" + query.join("&");
    var ws;
    try { ws = new WebSocket(url); } catch (e) { scheduleReconnect(0); return; }
    socket = ws;
    ws.onopen = function () { socketOpen = true; };
    ws.onmessage = function (event) {
      attempts = 0;
      var msg;
      try { msg = JSON.parse(event.data); } catch (e) { return; }
      handle(msg);
    };
    ws.onclose = function (event) {
      if (socket !== ws) return;
      socket = null;
      socketOpen = false;
      refreshOnline();
      scheduleReconnect(event.code);
    };
  }

  function scheduleReconnect(code) {
    if (reconnectTimer) return;
    var base = code === 4008 ? 300 : Math.min(30000, 1000 * Math.pow(2, attempts));  // 4008: we were too slow
    attempts = Math.min(attempts + 1, 10);
    reconnectTimer = setTimeout(connect, base / 2 + Math.random() * base / 2);
  }

  function watchdog() {
    refreshOnline();
    renderClock();
    if (socket && socketOpen && Date.now() - board.state.lastMessageAt > 3 * heartbeatMs) {
      var stale = socket;  // silent for three heartbeats: the link is dead even if TCP says otherwise
      socket = null;
      socketOpen = false;
      try { stale.close(); } catch (e) { /* already closing */ }
      scheduleReconnect(0);
    }
  }

  // ---- sound -----------------------------------------------------------------------------------

  var players = [new Audio(), new Audio()];
  players.forEach(function (p) { p.preload = "auto"; });
  var blobs = {};        // clip name -> blob: URL, fetched once so calls still play on a flaky network
  var available = {};
  (config.clips || []).forEach(function (c) { available[c] = true; });
  var playing = false;
  var overlayTimer = null;

  function clipUrl(name) {
    if (blobs[name]) return blobs[name];
    if (name === "chime" || name === "silence") return config.static + "/" + name + ".mp3";
    return config.static + "/voice/" + encodeURIComponent(name) + ".mp3";
  }

  function preloadAll() {
    if (!window.fetch || !window.URL || !URL.createObjectURL) return;
    var names = ["chime"].concat(config.clips || []);
    var next = 0;
    function worker() {
      if (next >= names.length) return Promise.resolve();
      var name = names[next++];
      return fetch(clipUrl(name))
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.blob(); })
        .then(function (b) { blobs[name] = URL.createObjectURL(b); }, function () {
          if (name !== "chime") available[name] = false;
        })
        .then(worker);
    }
    for (var i = 0; i < 4; i++) worker();
  }

  function prime(player, name) {
    player.src = clipUrl(name);
    player.load();
  }

  function playPrimed(player, name) {
    return new Promise(function (resolve, reject) {
      var done = false;
      var timer = setTimeout(function () { finish(new Error("clip timeout")); }, CLIP_TIMEOUT_MS);
      function finish(err) {
        if (done) return;
        done = true;
        clearTimeout(timer);
        player.onended = player.onerror = null;
        if (err) reject(err); else resolve();
      }
      player.onended = function () { finish(); };
      player.onerror = function () { finish(new Error("clip error: " + name)); };
      keep(board.played, name);
      var p;
      try { p = player.play(); } catch (e) { finish(e); return; }
      if (p && p.catch) p.catch(finish);
    });
  }

  function playSequence(names) {  // two players: the next clip loads while this one plays
    var i = 0;
    if (!names.length) return Promise.resolve();
    prime(players[0], names[0]);
    function step() {
      if (i >= names.length) return Promise.resolve();
      var player = players[i % 2];
      if (i + 1 < names.length) prime(players[(i + 1) % 2], names[i + 1]);
      var name = names[i++];
      return playPrimed(player, name).then(step);
    }
    return step();
  }

  function indonesianVoice() {
    if (!window.speechSynthesis) return null;
    var voices = window.speechSynthesis.getVoices() || [];
    for (var i = 0; i < voices.length; i++) if (/^(id|in)([-_]|$)/i.test(voices[i].lang)) return voices[i];
    return null;
  }

  function speak(text) {  // fallback only: an id-ID voice of the device, when clips are missing
    var voice = indonesianVoice();
    if (!voice || !text) return Promise.resolve();
    return new Promise(function (resolve) {
      var u = new SpeechSynthesisUtterance(text);
      var timer = setTimeout(resolve, 20000);
      u.voice = voice;
      u.lang = voice.lang;
      u.rate = 0.9;
      u.onend = u.onerror = function () { clearTimeout(timer); resolve(); };
      keep(board.played, "tts");
      window.speechSynthesis.speak(u);
    });
  }

  function wait(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  function say(item, round) {
    var clipsOk = item.clips.length && item.clips.every(function (c) { return available[c]; });
    var voice = clipsOk
      ? playSequence(item.clips).catch(function (err) {
        if (err && err.name === "NotAllowedError") throw err;
        return speak(item.text);  // a clip failed to load or play
      })
      : speak(item.text);
    return voice.then(function () {
      if (round + 1 < (config.repeat || 1)) return wait(GAP_MS).then(function () { return say(item, round + 1); });
      return undefined;
    });
  }

  function announce(item) {
    return playSequence(["chime"]).then(function () { return say(item, 0); });
  }

  function enqueue(item) {
    board.audioQueue.push(item);
    if (board.audioQueue.length > QUEUE_MAX) board.audioQueue.splice(0, board.audioQueue.length - QUEUE_MAX);
    pump();
  }

  function pump() {
    if (playing || board.soundBlocked || !board.audioQueue.length) return;
    var item = board.audioQueue[0];
    playing = true;
    announce(item).then(function () {
      board.audioQueue.shift();
      keep(board.spoken, item.key);
    }, function (err) {
      if (err && err.name === "NotAllowedError") { soundBlocked(); return; }  // keep it; play after the tap
      board.audioQueue.shift();  // could not be played at all: do not block the others
    }).then(function () {
      playing = false;
      if (!board.soundBlocked) setTimeout(pump, GAP_MS);
    });
  }

  function soundBlocked() {
    board.soundBlocked = true;
    $("sound-hint").hidden = !board.soundEnabled;  // enabled here before: the browser forgot on reload
    $("sound-chip").hidden = false;
    $("sound-overlay").hidden = false;
    try { $("sound-button").focus(); } catch (e) { /* not focusable yet */ }
    clearTimeout(overlayTimer);
    // an unattended TV stays readable: after a minute only the small chip in the header remains
    overlayTimer = setTimeout(function () { $("sound-overlay").hidden = true; }, OVERLAY_MS);
  }

  function enableSound() {  // runs inside the tap / key press, so the browser allows playback
    clearTimeout(overlayTimer);
    $("sound-overlay").hidden = true;
    $("sound-chip").hidden = true;
    board.soundEnabled = true;
    writeStore(soundKey, "on");
    players.forEach(function (p) {
      p.src = clipUrl("silence");
      var r = p.play();
      if (r && r.catch) r.catch(function () { /* the next real play tells */ });
    });
    var now = Date.now();
    board.audioQueue = board.audioQueue.filter(function (item) { return now - item.at < STALE_MS; });
    board.soundBlocked = false;
    setTimeout(pump, 300);
  }

  function probeSound() {  // learn at start-up, not at the first call, whether sound is allowed
    var probe = new Audio(clipUrl("silence"));
    var r;
    try { r = probe.play(); } catch (e) { return; }
    if (r && r.catch) r.catch(function (err) { if (err && err.name === "NotAllowedError") soundBlocked(); });
  }

  function onGesture() { if (board.soundBlocked) enableSound(); }

  // ---- start -----------------------------------------------------------------------------------

  function start() {
    if (config.snapshot && config.snapshot.data && typeof config.snapshot.data.now === "number") {
      skew = config.snapshot.data.now - Date.now();
    }
    renderNow(false);
    renderClock();
    startTicker();
    if (config.snapshot) handle(config.snapshot);
    board.state.lastMessageAt = config.connect ? 0 : Date.now();
    refreshOnline();
    $("sound-button").addEventListener("click", function (e) { e.stopPropagation(); enableSound(); });
    $("sound-chip").addEventListener("click", function (e) { e.stopPropagation(); enableSound(); });
    ["pointerdown", "keydown", "touchstart"].forEach(function (type) {
      document.addEventListener(type, onGesture, true);
    });
    if (window.speechSynthesis && window.speechSynthesis.getVoices) window.speechSynthesis.getVoices();
    window.addEventListener("online", function () {
      if (reconnectTimer) { clearTimeout(reconnectTimer); reconnectTimer = null; }
      attempts = 0;
      connect();
    });
    window.addEventListener("resize", startTicker);
    setInterval(watchdog, 1000);
    preloadAll();
    probeSound();
    connect();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
