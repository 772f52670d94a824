/* Antre kiosk: choose a service, then a priority class; issue a ticket and open its print view.
   Also checks in tickets booked on a phone (QR scanner = keyboard, or typed code).
   Talks only to POST /api/v1/tickets and POST /api/v1/tickets/{token}/check-in (docs/web-plan.md),
   with the kiosk's device token from localStorage as "Authorization: Bearer". */
(function () {
  'use strict';
  var TOKEN_KEY = 'antre.kiosk.token';
  var PAPER_KEY = 'antre.kiosk.paper';
  var IDLE_MS = 45000;            // back to the start screen after this long without a touch
  var RELOAD_MS = 10 * 60000;     // reload the idle start screen (fresh opening hours, new code)
  var TIMEOUT_MS = 12000;

  var $ = function (id) { return document.getElementById(id); };
  var screens = ['s-service', 's-priority', 's-busy', 's-checkin', 's-setup'];
  var current = 's-service';
  var choice = { service: null, name: '', key: null, keyFor: '' };
  var sending = false;
  var idleTimer = 0;
  var lastRetry = null;

  // ?token=... registers this device once; ?paper=58 selects 58 mm paper
  var params = new URLSearchParams(location.search);
  if (params.get('token')) localStorage.setItem(TOKEN_KEY, params.get('token'));
  if (params.get('paper')) localStorage.setItem(PAPER_KEY, params.get('paper') === '58' ? '58' : '80');
  if (params.get('token') || params.get('paper')) history.replaceState(null, '', location.pathname);

  function deviceToken() { return localStorage.getItem(TOKEN_KEY) || ''; }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var a = new Uint8Array(16);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return (b + 256).toString(16).slice(1); }).join('');
  }

  function show(id) {
    current = id;
    screens.forEach(function (s) { $(s).hidden = s !== id; });
    var h = $(id).querySelector('h1');
    if (h) h.focus({ preventScroll: true });
    if (id === 's-checkin') { $('checkin-code').value = ''; $('checkin-code').focus(); }
    if (id === 's-setup') $('setup-token').focus();
    touch();
  }

  function start() {
    choice = { service: null, name: '', key: null, keyFor: '' };
    sending = false;
    hideError();
    $('checkin-result').textContent = '';
    $('checkin-result').className = 'result';
    show(deviceToken() ? 's-service' : 's-setup');
  }

  function touch() {
    clearTimeout(idleTimer);
    if (current === 's-service') {
      idleTimer = setTimeout(function () { location.reload(); }, RELOAD_MS);
    } else if (current !== 's-setup' && current !== 's-busy') {
      idleTimer = setTimeout(start, IDLE_MS);
    }
  }

  function call(method, path, body) {
    var ctrl = new AbortController();
    var t = setTimeout(function () { ctrl.abort(); }, TIMEOUT_MS);
    return fetch(path, {
      method: method,
      headers: { 'Content-Type': 'application/json', 'Authorization': 'Bearer ' + deviceToken() },
      body: body ? JSON.stringify(body) : undefined,
      signal: ctrl.signal,
      credentials: 'omit'
    }).then(function (r) {
      clearTimeout(t);
      return r.json().catch(function () { return {}; }).then(function (data) { return { ok: r.ok, status: r.status, data: data }; });
    }, function () {
      clearTimeout(t);
      return { ok: false, status: 0, data: { message_id: 'Tidak dapat terhubung ke server.', message_en: 'Cannot reach the server.' } };
    });
  }

  function showError(data, retry) {
    $('err-id').textContent = data.message_id || 'Terjadi kesalahan.';
    $('err-en').textContent = data.message_en || 'Something went wrong.';
    lastRetry = retry || null;
    $('err-retry').hidden = !retry;
    $('s-error').hidden = false;
    (retry ? $('err-retry') : $('err-ok')).focus();
    touch();
  }
  function hideError() { $('s-error').hidden = true; lastRetry = null; }

  function rejected(res) {
    if (res.status === 401 || res.status === 403) {
      localStorage.removeItem(TOKEN_KEY);
      show('s-setup');
      showError({ message_id: 'Token perangkat kiosk ditolak. Hubungi petugas.', message_en: 'The kiosk device token was refused. Please call staff.' });
      return;
    }
    showError(res.data, res.status === 0 || res.status === 503 ? retryIssue : null);
  }

  // One idempotency key per intent (service + priority): a double tap or a retry after a lost
  // answer sends the same key, so the server never makes two tickets for it.
  function issue(priority) {
    if (sending || !choice.service) return;
    var intent = choice.service + '|' + priority;
    if (choice.keyFor !== intent) { choice.key = newKey(); choice.keyFor = intent; }
    choice.priority = priority;
    sending = true;
    show('s-busy');
    call('POST', '/api/v1/tickets', { service: choice.service, priority: priority, idempotency_key: choice.key })
      .then(function (res) {
        if (res.ok && res.data.token && res.data.checked_in === false) {
          // the server did not take our device token and booked it as a remote (phone) ticket:
          // give that ticket back and ask for a valid token instead
          call('POST', '/api/v1/tickets/' + encodeURIComponent(res.data.token) + '/cancel', {});
          sending = false;
          rejected({ status: 401, data: {} });
          return;
        }
        if (res.ok && res.data.token) {
          var paper = localStorage.getItem(PAPER_KEY) === '58' ? '&paper=58' : '';
          location.assign('/kiosk/ticket/' + encodeURIComponent(res.data.token) + '?print=1' + paper);
          return;
        }
        sending = false;
        show('s-priority');
        rejected(res);
      });
  }
  function retryIssue() { hideError(); issue(choice.priority); }

  function tokenFrom(text) {
    var v = (text || '').trim();
    var m = v.match(/\/t\/([^\/?#\s]+)/);
    return m ? decodeURIComponent(m[1]) : v;
  }

  // Modules' QR codes (an e-Lampid receipt: .../lampid/r/<receipt>) check in at their own endpoint.
  var MODULE_CHECKINS = (function () {
    var el = document.getElementById('module-checkins');
    try { return el ? JSON.parse(el.textContent) : []; } catch (e) { return []; }
  })();
  function checkInPath(text) {
    var v = (text || '').trim();
    for (var i = 0; i < MODULE_CHECKINS.length; i++) {
      var at = v.indexOf(MODULE_CHECKINS[i][0]);
      if (at >= 0) {
        var code = v.slice(at + MODULE_CHECKINS[i][0].length).split(/[\/?#\s]/)[0];
        if (code) return MODULE_CHECKINS[i][1].replace('{code}', encodeURIComponent(decodeURIComponent(code)));
      }
    }
    var token = tokenFrom(v);
    return token ? '/api/v1/tickets/' + encodeURIComponent(token) + '/check-in' : '';
  }

  function checkIn(evt) {
    evt.preventDefault();
    var input = $('checkin-code');
    var path = checkInPath(input.value);
    var out = $('checkin-result');
    input.value = '';
    if (!path || sending) return;
    sending = true;
    out.className = 'result';
    out.textContent = 'Memproses… · Working…';
    call('POST', path).then(function (res) {
      sending = false;
      out.textContent = '';
      if (res.ok) {
        out.className = 'result ok';
        var t = res.data;
        add(out, 'strong', 'Check-in berhasil. Silakan duduk dan tunggu panggilan.');
        add(out, 'span', 'Checked in. Please take a seat and wait to be called.', 'en');
        add(out, 'span', t.number || '', 'num');
        add(out, 'span', (t.service_name || '') + (t.people_ahead != null ? ' · ' + t.people_ahead + ' orang di depan Anda' : ''));
        if (t.eta && t.eta.text) add(out, 'span', 'Perkiraan dipanggil ' + t.eta.text + ' · Estimated call time', 'en');
      } else if (res.status === 401 || res.status === 403) {
        rejected(res);
      } else {
        out.className = 'result err';
        add(out, 'strong', res.data.message_id || 'Check-in gagal.');
        add(out, 'span', res.data.message_en || 'Check-in failed.', 'en');
      }
      input.focus();
      touch();
    });
  }

  function add(parent, tag, text, cls) {
    var el = document.createElement(tag);
    el.textContent = text;
    if (cls) el.className = cls;
    parent.appendChild(el);
    return el;
  }

  function tick() {
    var clock = $('clock');
    try {
      clock.textContent = new Intl.DateTimeFormat('id-ID', { hour: '2-digit', minute: '2-digit', timeZone: clock.dataset.tz }).format(new Date()).replace('.', ':');
    } catch (e) { clock.textContent = ''; }
  }

  document.addEventListener('DOMContentLoaded', function () {
    Array.prototype.forEach.call(document.querySelectorAll('.svc'), function (btn) {
      btn.addEventListener('click', function () {
        if (btn.getAttribute('aria-disabled') === 'true') {
          showError({
            message_id: btn.dataset.name + ' sedang tutup. Jam hari ini: ' + btn.dataset.hours + '.',
            message_en: 'This service is closed now. Today: ' + btn.dataset.hours + '.'
          });
          return;
        }
        choice.service = btn.dataset.service;
        choice.name = btn.dataset.name;
        $('chosen-name').textContent = choice.name;
        show('s-priority');
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll('.pri'), function (btn) {
      btn.addEventListener('click', function () { issue(btn.dataset.priority); });
    });
    Array.prototype.forEach.call(document.querySelectorAll('[data-back]'), function (btn) {
      btn.addEventListener('click', start);
    });
    $('to-checkin').addEventListener('click', function () { show('s-checkin'); });
    $('checkin-form').addEventListener('submit', checkIn);
    $('setup-form').addEventListener('submit', function (evt) {
      evt.preventDefault();
      var v = $('setup-token').value.trim();
      if (!v) return;
      localStorage.setItem(TOKEN_KEY, v);
      $('setup-token').value = '';
      start();
    });
    $('err-ok').addEventListener('click', function () { hideError(); if (current === 's-checkin') $('checkin-code').focus(); });
    $('err-retry').addEventListener('click', function () { if (lastRetry) lastRetry(); });
    ['pointerdown', 'keydown'].forEach(function (e) { document.addEventListener(e, touch, { passive: true }); });
    document.addEventListener('contextmenu', function (e) { e.preventDefault(); });
    // a returning print view or the back button: never resend from a stale screen
    window.addEventListener('pageshow', function (e) { if (e.persisted) start(); });
    // keep the scanner's keystrokes going into the code field while checking in
    document.addEventListener('click', function () {
      if (current === 's-checkin' && $('s-error').hidden && document.activeElement.tagName !== 'INPUT') $('checkin-code').focus();
    });
    tick();
    setInterval(tick, 15000);
    start();
  });
})();
