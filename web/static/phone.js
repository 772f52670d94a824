/* Phone page: live ticket over WebSocket (/ws/ticket/<token>?after=<pos>) with reconnect, backoff
   and resume; polls GET /api/v1/tickets/<token> every 15 s while the socket is down. ES5, no framework. */
(function () {
  'use strict';
  var B = JSON.parse(document.getElementById('boot').textContent);
  var W = B.words, T = encodeURIComponent(B.token), pos = B.ticket.position || 0;
  var last = null, ws = null, live = false, done = false, retry = 0;
  var pollTimer = 0, dogTimer = 0, againTimer = 0, audio = null, fmt = null;
  function $(id) { return document.getElementById(id); }
  // a module's script on this page (the feedback card) follows the ticket: onTicket(f) calls f now and on each render
  var watchers = [];
  window.antrePhone = { token: B.token, onTicket: function (f) { watchers.push(f); if (last) f(last); } };
  try { fmt = new Intl.DateTimeFormat('id-ID', { hour: '2-digit', minute: '2-digit', timeZone: B.timezone }); } catch (e) { fmt = null; }
  function hm(d) { return fmt ? fmt.format(d).replace('.', ':') : d.toTimeString().slice(0, 5); }
  function text(id, s) { var e = $(id); if (e.textContent !== s) e.textContent = s; }
  function kind(d) { return d.status === 'waiting' && !d.checked_in ? 'remote' : d.status; }
  function fill(s, d) { return s.replace('{counter}', d.counter_name || 'loket'); }
  function isNear(d) { return !!d && d.status === 'waiting' && d.checked_in && d.people_ahead != null && d.people_ahead <= 3; }
  function aheadText(d) { return d.people_ahead == null ? '\u2013' : d.people_ahead + ' orang'; }
  function etaText(d) { return d.eta ? d.eta.text : '\u2013'; }

  function banner(id, cls, main, en) {
    var box = $(id);
    if (!main) { if (box.firstChild) box.textContent = ''; return; }
    var div = document.createElement('div'), s = document.createElement('strong'), e = document.createElement('span');
    div.className = 'banner ' + cls; s.textContent = main; e.className = 'en'; e.textContent = en;
    div.appendChild(s); div.appendChild(e);
    box.textContent = ''; box.appendChild(div);
  }

  function buzz(pattern, beeps) {
    try { if (navigator.vibrate) navigator.vibrate(pattern); } catch (e) { /* not allowed yet */ }
    if (!audio) return;
    for (var i = 0; i < beeps; i++) {
      var t = audio.currentTime + i * 0.4, o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = 880; g.gain.setValueAtTime(0.0001, t);
      g.gain.exponentialRampToValueAtTime(0.4, t + 0.02); g.gain.exponentialRampToValueAtTime(0.0001, t + 0.3);
      o.connect(g); g.connect(audio.destination); o.start(t); o.stop(t + 0.32);
    }
  }

  function render(d, recall) {
    var prev = last, k = kind(d), w = W[k] || W.waiting, waiting = d.status === 'waiting';
    last = d;
    document.body.className = 'st-' + k;
    text('num', d.number); text('svc', d.service_name);
    text('st-id', w[0]); text('st-en', w[1]); text('dt-id', fill(w[2], d)); text('dt-en', fill(w[3], d));
    $('facts').hidden = $('eta-note').hidden = !waiting;
    text('ahead', aheadText(d)); text('eta', etaText(d));
    $('checkin').hidden = k !== 'remote';
    $('cancel').hidden = !(waiting || d.status === 'missed');
    if (B.notify && $('wa')) $('wa').hidden = !waiting;
    var called = d.status === 'called', near = isNear(d);
    banner('call', 'call', called ? 'Silakan menuju ' + (d.counter_name || 'loket') : '', 'Please go to ' + (d.counter_name || 'the counter'));
    banner('near', 'near', near ? (d.people_ahead === 0 ? 'Anda berikutnya!' : 'Tinggal ' + d.people_ahead + ' orang lagi') : '',
      'Almost your turn: please stay near the waiting room.');
    if (prev) {
      if (called && (prev.status !== 'called' || prev.counter !== d.counter || recall)) {
        buzz([400, 150, 400, 150, 800], 3);
      } else if (near && !isNear(prev)) {
        buzz([200, 100, 200], 1);
        say('Sebentar lagi giliran Anda. ' + aheadText(d) + ' di depan Anda.');
      } else if (waiting && (aheadText(prev) !== aheadText(d) || etaText(prev) !== etaText(d))) {
        say('Di depan Anda ' + aheadText(d) + '. Perkiraan dipanggil ' + etaText(d) + '.');
      }
      if (prev.number !== d.number) say('Nomor baru Anda ' + d.number + ', ' + d.service_name + '.');
      if (prev.status !== d.status && !called) say(w[0] + '. ' + fill(w[2], d));
    }
    document.title = (called ? '\uD83D\uDD14 ' : '') + d.number + ' \u00B7 ' + w[0];
    text('updated', hm(new Date()));
    for (var i = 0; i < watchers.length; i++) watchers[i](d);
    if (d.status === 'done' || d.status === 'cancelled') finish();
  }

  function say(s) { $('say').textContent = s; }

  function setLive(on) {
    live = on;
    var c = $('conn');
    c.className = 'conn' + (on ? '' : ' off');
    c.textContent = on ? 'Terhubung \u00B7 Live' : done ? 'Selesai \u00B7 Ended' : 'Terputus \u00B7 Offline';
  }

  function finish() {
    done = true;
    stopPoll(); clearTimeout(againTimer); clearTimeout(dogTimer);
    if (ws) { ws.onclose = null; ws.close(); ws = null; }
    setLive(false);
  }

  function connect() {
    clearTimeout(againTimer);
    if (done || ws) return;
    if (!window.WebSocket) { down(); return; }
    var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/ticket/' + T + '?after=' + pos;
    try { ws = new WebSocket(url); } catch (e) { down(); return; }
    ws.onopen = function () { retry = 0; setLive(true); stopPoll(); watch(); };
    ws.onmessage = function (e) {
      watch();
      var m; try { m = JSON.parse(e.data); } catch (x) { return; }
      // a heartbeat at P means every message up to P has arrived: P is the resume point
      if (typeof m.position === 'number') pos = m.position;
      if ((m.type === 'snapshot' || m.type === 'update') && m.data) {
        render(m.data, m.type === 'update' && last && last.status === 'called' && m.data.status === 'called');
      }
    };
    ws.onclose = function (e) { ws = null; down(e.code); };
  }

  // no message (not even a heartbeat) for three heartbeats: the link is dead even if the socket is not
  function watch() {
    clearTimeout(dogTimer);
    dogTimer = setTimeout(function () {
      if (ws) { ws.onclose = null; ws.close(); ws = null; down(); }
    }, (B.heartbeat_s * 2.5 + 2) * 1000);
  }

  function down(code) {
    clearTimeout(dogTimer);
    setLive(false);
    if (done) return;
    if (code === 4004) { gone(); return; }          // unknown ticket, or dropped at the end of its day
    if (code === 4400 || code === 4403) { finish(); return; }
    startPoll();
    var wait = code === 4008 ? 300 : Math.min(30000, 500 * Math.pow(2, retry++)) * (0.5 + Math.random() / 2);
    againTimer = setTimeout(connect, wait);
  }

  function startPoll() { if (!pollTimer) pollTimer = setInterval(poll, 15000); }
  function stopPoll() { clearInterval(pollTimer); pollTimer = 0; }
  function poll() {
    if (live || done) return;
    fetch('/api/v1/tickets/' + T, { cache: 'no-store', credentials: 'omit' }).then(function (r) {
      if (r.status === 404) { gone(); return null; }
      return r.ok ? r.json() : null;
    }).then(function (d) {
      if (d && !live && (d.position == null || d.position >= pos)) { if (d.position != null) pos = d.position; render(d, false); }
    }).catch(function () { /* still offline */ });
  }
  function gone() {
    text('st-id', 'Tiket tidak ditemukan'); text('st-en', 'Ticket not found');
    text('dt-id', 'Nomor antrean hanya berlaku pada hari pengambilan.'); text('dt-en', 'Queue numbers are valid on the day they are taken.');
    $('cancel').hidden = true;
    finish();
  }

  function postCancel() {
    if (!last || !window.confirm('Batalkan nomor antrean ' + last.number + '?\nCancel ticket ' + last.number + '?')) return;
    var btn = $('cancel');
    btn.disabled = true;
    fetch('/api/v1/tickets/' + T + '/cancel', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}', credentials: 'omit'
    }).then(function (r) {
      return r.json().then(function (d) { return { ok: r.ok, d: d }; });
    }).then(function (x) {
      btn.disabled = false;
      if (x.ok) { text('err', ''); render(x.d, false); } else { text('err', (x.d.message_id || 'Gagal.') + ' ' + (x.d.message_en || '')); }
    }, function () {
      btn.disabled = false;
      text('err', 'Tidak dapat terhubung. Coba lagi. \u00B7 Cannot connect; try again.');
    });
  }

  function enableNotify() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (Ctx && !audio) { try { audio = new Ctx(); } catch (e) { audio = null; } }
    if (audio && audio.resume) audio.resume();
    buzz([80], 1);
    var b = $('notify');
    b.className = 'btn on';
    b.firstChild.textContent = 'Getar & bunyi aktif \u2713';
    b.lastChild.textContent = 'Vibration & sound on';
  }

  var nb = $('notify');
  if (navigator.vibrate || window.AudioContext || window.webkitAudioContext) {
    nb.hidden = false;
    nb.addEventListener('click', enableNotify);
  }
  // Text messages (WhatsApp / SMS) when the facility enables them: the number is sent once, and only
  // its masked form comes back; the page keeps nothing.
  function showSub(s) {
    var on = !!(s && s.subscribed);
    $('wa-on').hidden = !on; $('wa-off').hidden = !on;
    if (on) {
      text('wa-on', 'Pemberitahuan aktif ke ' + s.phone + ' \u00B7 Messages on to ' + s.phone);
      $('wa-phone').value = '';
    }
  }
  function sub(method, body) {
    var save = $('wa-save'), off = $('wa-off');
    save.disabled = off.disabled = true;
    var init = { method: method, credentials: 'omit', headers: {} };
    if (body) { init.headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
    return fetch('/api/v1/tickets/' + T + '/notify', init).then(function (r) {
      return r.json().then(function (d) { return { ok: r.ok, d: d }; });
    }).then(function (x) {
      save.disabled = off.disabled = false;
      if (x.ok) { text('err', ''); showSub(x.d); } else { text('err', (x.d.message_id || 'Gagal.') + ' ' + (x.d.message_en || '')); }
    }, function () {
      save.disabled = off.disabled = false;
      text('err', 'Tidak dapat terhubung. Coba lagi. \u00B7 Cannot connect; try again.');
    });
  }
  if (B.notify && $('wa')) {
    $('wa-form').addEventListener('submit', function (e) {
      e.preventDefault();
      var v = $('wa-phone').value.replace(/^\s+|\s+$/g, '');
      if (v) sub('PUT', { phone: v });
    });
    $('wa-off').addEventListener('click', function () { sub('DELETE', null); });
    fetch('/api/v1/tickets/' + T + '/notify', { cache: 'no-store', credentials: 'omit' })
      .then(function (r) { return r.ok ? r.json() : null; }).then(showSub).catch(function () { /* offline */ });
  }

  $('cancel').addEventListener('click', postCancel);
  document.addEventListener('visibilitychange', function () {
    if (!document.hidden && !live && !done) { retry = 0; poll(); connect(); }
  });
  window.addEventListener('online', function () { if (!live && !done) { retry = 0; connect(); } });
  render(B.ticket, false);
  if (!done) connect();
})();
