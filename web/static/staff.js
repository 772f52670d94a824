/* Antre staff console: log in, choose a counter, operate it.
   HTTP: /api/v1/auth/{me,login,logout}, GET+POST /api/v1/counters/{id}[/{action}],
   POST /api/v1/staff/tickets/{ticket_id}/{action}; every POST sends X-CSRF-Token.
   Push: /ws/counter/{id}?after=<pos> (session cookie), reconnect with backoff; polls while down. */
(function () {
  'use strict';
  var F = JSON.parse(document.getElementById('facility').textContent);
  var SVC = {}, CTR = {};
  F.services.forEach(function (s) { SVC[s.code] = s; });
  F.counters.forEach(function (c) { CTR[c.id] = c; });
  var KEYS = { n: 'a-next', r: 'a-recall', s: 'a-start', c: 'a-complete', k: 'a-skip', u: 'a-undo' };
  var UNDO_WORDS = { call: 'panggilan', miss: 'lewati', complete: 'selesai' };

  var me = null, counter = null, view = null, busy = false, missed = [];
  var ws = null, live = false, pos = 0, retry = 0, pollTimer = 0, dogTimer = 0, againTimer = 0, toastTimer = 0;
  var skew = 0, skewFromPush = false;  // server clock minus this PC's clock (Date header, then heartbeats)
  function now() { return Date.now() + skew; }
  var tzFmt = null;
  try { tzFmt = new Intl.DateTimeFormat('id-ID', { hour: '2-digit', minute: '2-digit', timeZone: F.timezone }); } catch (e) { tzFmt = null; }

  function $(id) { return document.getElementById(id); }
  function hm(ms) { var d = new Date(ms); return tzFmt ? tzFmt.format(d).replace('.', ':') : d.toTimeString().slice(0, 5); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function svcName(code) { return SVC[code] ? SVC[code].name : code; }

  // ---- HTTP ---------------------------------------------------------------------------------
  function api(method, path, body, key) {
    var headers = { 'Accept': 'application/json' };
    if (method !== 'GET') {
      headers['Content-Type'] = 'application/json';
      if (me && me.csrf) headers['X-CSRF-Token'] = me.csrf;
    }
    if (key) headers['Idempotency-Key'] = key;
    return fetch(path, {
      method: method, headers: headers, credentials: 'same-origin', cache: 'no-store',
      body: method === 'GET' ? undefined : JSON.stringify(body || {})
    }).then(function (r) {
      var server = Date.parse(r.headers.get('Date') || '');
      if (!isNaN(server) && !skewFromPush) skew = server + 500 - Date.now();
      if (r.status === 204) return { ok: true, status: 204, data: {} };
      return r.json().catch(function () { return {}; }).then(function (d) { return { ok: r.ok, status: r.status, data: d }; });
    }, function () {
      return { ok: false, status: 0, data: { message_id: 'Tidak dapat terhubung ke server.', message_en: 'Cannot reach the server.' } };
    }).then(function (res) {
      if (res.status === 401 && path.indexOf('/auth/') < 0) { sessionEnded(); }
      if (res.status === 403 && res.data.code === 'csrf_failed') { refreshMe(); }
      return res;
    });
  }

  // A press (call next, complete, ...): one Idempotency-Key, sent again with the same key while no
  // answer came (network down, 503), so a press whose answer was lost is never carried out twice.
  function newKey() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return 'press-' + Array.prototype.map.call(bytes, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }
  function command(path, body) {
    var key = newKey(), tries = 0;
    function attempt() {
      return api('POST', path, body, key).then(function (res) {
        if ((res.status === 0 || res.status === 503) && ++tries < 3) {
          return new Promise(function (ok) { setTimeout(ok, 600 * tries); }).then(attempt);
        }
        return res;
      });
    }
    return attempt();
  }

  function refreshMe() {
    return api('GET', '/api/v1/auth/me').then(function (res) { if (res.ok) me = res.data; return res; });
  }

  // ---- messages -----------------------------------------------------------------------------
  function toast(kind, main, en) {
    var box = $('toast'), div = el('div', kind);
    div.appendChild(el('strong', null, main));
    if (en) div.appendChild(el('span', 'en', en));
    box.textContent = '';
    box.appendChild(div);
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { box.textContent = ''; }, kind === 'err' ? 9000 : 4000);
  }
  function fail(data) { toast('err', data.message_id || 'Permintaan ditolak.', data.message_en || 'Request refused.'); }

  // ---- views --------------------------------------------------------------------------------
  function showView(id) {
    ['v-loading', 'v-login', 'v-pick', 'v-console'].forEach(function (v) { $(v).hidden = v !== id; });
    $('who').hidden = !me;
    $('pick-inline').hidden = id !== 'v-console' || $('counter-pick').options.length < 2;
  }

  function showLogin(message) {
    me = null;
    stopLive();
    showView('v-login');
    var err = $('login-error');
    err.hidden = !message;
    if (message) { err.textContent = ''; err.appendChild(el('strong', null, message.message_id)); err.appendChild(el('span', 'en', message.message_en)); }
    $('login-user').focus();
  }

  function sessionEnded() {
    if (me) showLogin({ message_id: 'Sesi berakhir. Silakan masuk lagi.', message_en: 'Your session ended. Please log in again.' });
  }

  function myCounters() {
    var ids = me.counters && me.counters.length ? me.counters : (me.role === 'admin' ? Object.keys(CTR) : []);
    return ids.filter(function (id) { return CTR[id]; });
  }

  function afterLogin() {
    $('user-name').textContent = me.username;
    var ids = myCounters(), pick = $('counter-pick'), grid = $('pick-grid');
    pick.textContent = ''; grid.textContent = '';
    ids.forEach(function (id) {
      var c = CTR[id], o = el('option', null, c.name);
      o.value = id; pick.appendChild(o);
      var b = el('button');
      b.type = 'button';
      b.appendChild(el('strong', null, c.name));
      b.appendChild(el('span', null, c.services.map(svcName).join(', ')));
      b.addEventListener('click', function () { openCounter(id); });
      grid.appendChild(b);
    });
    var saved = (location.hash || '').slice(1) || sessionStorage.getItem('antre.counter');
    if (saved && ids.indexOf(saved) >= 0) openCounter(saved);
    else if (ids.length === 1) openCounter(ids[0]);
    else if (!ids.length) { showView('v-pick'); grid.appendChild(el('p', 'empty', 'Akun ini tidak memegang loket mana pun. · This account has no counters.')); }
    else showView('v-pick');
  }

  function openCounter(id) {
    stopLive();
    counter = id; view = null; pos = 0; retry = 0;
    sessionStorage.setItem('antre.counter', id);
    history.replaceState(null, '', '#' + id);
    $('counter-pick').value = id;
    var c = CTR[id];
    $('c-name').textContent = c.name;
    $('c-services').textContent = 'Layanan: ' + c.services.map(svcName).join(', ');
    var p = F.ratio;
    $('policy').textContent = 'Urutan panggilan: darurat, lalu ' + p[0] + ' prioritas : ' + p[1] + ' umum · Call order: emergency, then ' + p[0] + ' priority : ' + p[1] + ' general';
    try { missed = JSON.parse(sessionStorage.getItem('antre.missed.' + id) || '[]'); } catch (e) { missed = []; }
    showView('v-console');
    load();
    connect();
  }

  function load() {
    return api('GET', '/api/v1/counters/' + encodeURIComponent(counter)).then(function (res) {
      if (res.ok) render(res.data); else if (res.status !== 401) fail(res.data);
    });
  }

  // ---- render -------------------------------------------------------------------------------
  function render(v) {
    if (!v || v.counter !== counter) return;
    view = v;
    var status = v.status, open = status === 'open', cur = v.current;
    var pill = $('c-status');
    pill.className = 'pill ' + status;
    pill.textContent = status === 'open' ? 'Buka · Open' : status === 'paused' ? 'Jeda · Paused' + (v.pause_reason ? ' (' + v.pause_reason + ')' : '') : 'Tutup · Closed';
    if (v.name) $('c-name').textContent = v.name;

    var box = document.querySelector('.current');
    if (cur) {
      box.className = 'card current ' + cur.status;
      $('cur-num').textContent = cur.number;
      $('cur-meta').textContent = svcName(cur.service) + ' · ' + (cur.status === 'serving' ? 'Sedang dilayani · Serving' : 'Dipanggil · Called');
    } else {
      box.className = 'card current';
      $('cur-num').textContent = '\u2013';
      $('cur-meta').textContent = open ? 'Belum ada tiket dipanggil · No ticket called' : 'Loket belum dibuka · Counter not open';
    }
    var called = cur && cur.status === 'called', serving = cur && cur.status === 'serving';
    $('a-next').disabled = !open;
    $('next-en').textContent = cur ? 'Selesaikan ' + cur.number + ' lalu panggil berikutnya · Complete and call next' : 'Call next';
    $('a-recall').disabled = !called;
    $('a-start').disabled = !called;
    $('a-complete').disabled = !(called || serving);
    $('a-skip').disabled = !called;
    $('a-transfer').disabled = !cur;
    $('a-open').disabled = open;
    $('a-pause').disabled = status !== 'open';
    $('a-close').disabled = status === 'closed';
    renderStages(cur);
    renderUndo();

    // a ticket that is current or waiting again is no longer "missed"
    var present = {};
    if (cur) present[cur.ticket_id] = 1;
    (v.waiting || []).forEach(function (w) { present[w.ticket_id] = 1; });
    setMissed(missed.filter(function (m) { return !present[m.ticket_id]; }));
    renderWaiting(v.waiting || []);
  }

  var stageFor = null;
  function renderStages(cur) {
    var sel = $('next-stage');
    var id = cur ? cur.ticket_id : null;
    if (stageFor === id && sel.options.length) return;
    stageFor = id;
    sel.textContent = '';
    var none = el('option', null, 'Pulang / selesai · Visit ends');
    none.value = '';
    sel.appendChild(none);
    var stages = cur && SVC[cur.service] ? SVC[cur.service].next_stages : [];
    stages.forEach(function (code) { var o = el('option', null, svcName(code)); o.value = code; sel.appendChild(o); });
    sel.disabled = !stages.length;
  }

  function renderUndo() {
    var u = view && view.undo, left = u ? Math.round((u.until - now()) / 1000) : 0;
    var info = $('undo-info');
    if (u && left > 0) {
      info.textContent = 'Bisa membatalkan ' + (UNDO_WORDS[u.action] || u.action) + ' (' + Math.floor(left / 60) + ':' + ('0' + (left % 60)).slice(-2) + ')';
    } else {
      info.textContent = '';
    }
  }

  function why(w) {
    var p = F.priorities[w.priority] || [w.priority, w.priority];
    var badges = [], reasons = [];
    badges.push(['badge p-' + w.priority, p[0]]);
    if (w.lane === 'emergency') reasons.push('Darurat: selalu paling depan');
    else if (w.lane === 'priority') reasons.push('Jalur prioritas, bergantian ' + F.ratio[0] + ':' + F.ratio[1] + ' dengan umum');
    else reasons.push('Jalur umum, urut kedatangan');
    if (w.appointment_at) { badges.push(['badge info', 'Janji ' + hm(w.appointment_at)]); reasons.push('diurutkan pada jam janji'); }
    if (!w.checked_in) { badges.push(['badge warn', 'Belum check-in']); reasons.push('dilewati sampai datang, tempat ditahan ' + F.checkin_grace_min + ' mnt'); }
    if (w.channel === 'web') badges.push(['badge', 'Online']);
    return { badges: badges, reason: reasons.join('; ') };
  }

  function row(w, index, isMissed) {
    var li = el('li', 'w-row' + (w.checked_in === false ? ' remote' : ''));
    li.appendChild(el('span', 'w-pos', isMissed ? '' : String(index + 1)));
    li.appendChild(el('span', 'w-num', w.number));
    var whyBox = el('span', 'w-why'), badges = el('span', 'w-badges');
    if (isMissed) {
      badges.appendChild(el('span', 'badge warn', 'Terlewat · Missed'));
      whyBox.appendChild(badges);
      whyBox.appendChild(el('span', 'w-reason', svcName(w.service) + ' · dilewati ' + hm(w.at)));
    } else {
      var y = why(w);
      y.badges.forEach(function (b) { badges.appendChild(el('span', b[0], b[1])); });
      whyBox.appendChild(badges);
      whyBox.appendChild(el('span', 'w-reason', y.reason));
    }
    li.appendChild(whyBox);
    var mins = isMissed ? null : Math.max(0, Math.floor((now() - w.waiting_since) / 60000));
    li.appendChild(el('span', 'w-wait', mins == null ? '' : mins + ' mnt'));
    var act = el('span', 'w-act');
    if (isMissed) act.appendChild(button('Antrekan lagi', 'btn secondary', function () { requeue(w); }));
    act.appendChild(button('Panggil', 'btn secondary', function () { callSpecific(w); }));
    if (!isMissed) act.appendChild(button('Pindah', 'btn secondary', function () { transfer(w); }));
    li.appendChild(act);
    return li;
  }

  function button(label, cls, onClick) {
    var b = el('button', cls, label);
    b.type = 'button';
    b.addEventListener('click', onClick);
    return b;
  }

  function renderWaiting(list) {
    var box = $('wait'), services = CTR[counter].services;
    box.textContent = '';
    $('w-count').textContent = String(list.length);
    if (!list.length) { box.appendChild(el('p', 'empty', 'Tidak ada yang menunggu · Nobody is waiting')); return; }
    services.forEach(function (code) {
      var mine = list.filter(function (w) { return w.service === code; });
      if (!mine.length) return;
      if (services.length > 1) box.appendChild(el('h3', 'svc-title', svcName(code) + ' (' + mine.length + ')'));
      var ol = el('ol', 'wait-list');
      mine.forEach(function (w, i) { ol.appendChild(row(w, i, false)); });
      box.appendChild(ol);
    });
  }

  function setMissed(list) {
    missed = list.slice(-20);
    sessionStorage.setItem('antre.missed.' + counter, JSON.stringify(missed));
    var ul = $('missed');
    ul.textContent = '';
    var all = missed.concat((view && view.missed) || []).filter(function (m, i, arr) {
      return arr.map(function (x) { return x.ticket_id; }).indexOf(m.ticket_id) === i;
    });
    all.forEach(function (m) { ul.appendChild(row(m, 0, true)); });
    $('missed-box').hidden = !all.length;
  }

  // ---- actions ------------------------------------------------------------------------------
  function act(action, body, btnId) {
    if (busy) return Promise.resolve(false);
    busy = true;
    var b = btnId ? $(btnId) : null;
    if (b) b.setAttribute('data-busy', '');
    return command('/api/v1/counters/' + encodeURIComponent(counter) + '/' + action, body).then(function (res) {
      busy = false;
      if (b) b.removeAttribute('data-busy');
      if (res.ok) { if (res.data && res.data.counter) render(res.data); return true; }
      if (res.status !== 401) fail(res.data);
      return false;
    });
  }

  function ticketAct(id, action, body) {
    return command('/api/v1/staff/tickets/' + encodeURIComponent(id) + '/' + action, body).then(function (res) {
      if (!res.ok) { if (res.status !== 401) fail(res.data); return false; }
      load();
      return true;
    });
  }

  function callNext() {
    var stage = $('next-stage').value;
    if (view && view.current && stage) {
      act('complete', { next_service: stage }, 'a-next').then(function (ok) { if (ok) act('call-next', {}, 'a-next'); });
    } else {
      act('call-next', { complete_current: !!(view && view.current) }, 'a-next');
    }
  }

  function complete() {
    var stage = $('next-stage').value;
    var num = view && view.current ? view.current.number : '';
    act('complete', stage ? { next_service: stage } : {}, 'a-complete').then(function (ok) {
      if (ok && stage) toast('ok', num + ' dikirim ke ' + svcName(stage), 'Sent to the next stage');
    });
  }

  function skip() {
    var cur = view && view.current;
    if (!cur) return;
    act('skip', {}, 'a-skip').then(function (ok) {
      if (ok) setMissed(missed.concat([{ ticket_id: cur.ticket_id, number: cur.number, service: cur.service, at: now() }]));
    });
  }

  function undo() {
    act('undo', {}, 'a-undo').then(function (ok) { if (ok) toast('ok', 'Tindakan terakhir dibatalkan.', 'Last action undone.'); });
  }

  function requeue(m) {
    ticketAct(m.ticket_id, 'requeue', {}).then(function (ok) {
      if (ok) { setMissed(missed.filter(function (x) { return x.ticket_id !== m.ticket_id; })); toast('ok', m.number + ' masuk antrean lagi', 'Back in the queue'); }
    });
  }

  // ---- dialogs ------------------------------------------------------------------------------
  function dialog(id, setup, submit) {
    var d = $(id), form = d.querySelector('form'), err = d.querySelector('.dlg-err');
    form.reset();
    err.hidden = true;
    setup(form);
    d.returnValue = '';
    d.onclose = null;
    form.onsubmit = function (evt) {
      evt.preventDefault();
      var problem = submit(form);
      if (problem) { err.hidden = false; err.textContent = problem; return; }
      d.close();
    };
    d.showModal();
  }

  function reasonOf(form) {
    var r = form.querySelector('input[name="reason"]:checked');
    if (!r) return '';
    return r.value === 'other' ? form.elements.other.value.trim() : r.value;
  }

  function callSpecific(w) {
    var cur = view && view.current;
    dialog('dlg-call', function (form) {
      $('dc-num').textContent = w.number;
      $('dc-complete-row').hidden = !cur;
    }, function (form) {
      var reason = reasonOf(form);
      if (!reason) return 'Alasan wajib diisi. · A reason is required.';
      var first = cur && form.elements.complete.checked ? act('complete', {}) : Promise.resolve(true);
      first.then(function (ok) {
        if (ok) act('call', { ticket_id: w.ticket_id, reason: reason }).then(function (done) {
          if (done) setMissed(missed.filter(function (x) { return x.ticket_id !== w.ticket_id; }));
        });
      });
      return '';
    });
  }

  function transfer(w) {
    dialog('dlg-transfer', function () {
      $('dt-num').textContent = w.number;
      var sel = $('dt-service');
      sel.textContent = '';
      F.services.forEach(function (s) {
        if (s.code === w.service) return;
        var o = el('option', null, s.name);
        o.value = s.code; sel.appendChild(o);
      });
    }, function (form) {
      var to = $('dt-service').value;
      if (!to) return 'Pilih layanan tujuan. · Choose a service.';
      ticketAct(w.ticket_id, 'transfer', { to_service: to, reason: form.elements.reason.value.trim() }).then(function (ok) {
        if (ok) toast('ok', w.number + ' dipindahkan ke ' + svcName(to), 'Transferred');
      });
      return '';
    });
  }

  function pause() {
    dialog('dlg-pause', function () {}, function (form) {
      var reason = reasonOf(form);
      if (!reason) return 'Pilih atau tulis alasan. · Choose or type a reason.';
      act('pause', { reason: reason }, 'a-pause');
      return '';
    });
  }

  // ---- live updates -------------------------------------------------------------------------
  function setLive(on) {
    live = on;
    var c = $('c-conn');
    c.className = 'conn' + (on ? '' : ' off');
    c.textContent = on ? 'Langsung · Live' : 'Terputus · Reconnecting';
  }

  function stopLive() {
    clearTimeout(againTimer); clearTimeout(dogTimer); clearInterval(pollTimer); pollTimer = 0;
    if (ws) { ws.onclose = null; ws.close(); ws = null; }
    setLive(false);
  }

  function connect() {
    clearTimeout(againTimer);
    if (ws || !counter || !me) return;
    var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/counter/' + encodeURIComponent(counter) + (pos ? '?after=' + pos : '');
    try { ws = new WebSocket(url); } catch (e) { down(); return; }
    ws.onopen = function () { retry = 0; setLive(true); clearInterval(pollTimer); pollTimer = 0; watch(); };
    ws.onmessage = function (e) {
      watch();
      var m; try { m = JSON.parse(e.data); } catch (x) { return; }
      if (m.type === 'heartbeat' && typeof m.at === 'number') { skew = m.at - Date.now(); skewFromPush = true; }
      if (typeof m.position === 'number') pos = m.position;  // a heartbeat at P: complete up to P
      if ((m.type === 'snapshot' || m.type === 'update') && m.data) render(m.data);
    };
    ws.onclose = function (e) { ws = null; down(e.code); };
  }

  function watch() {
    clearTimeout(dogTimer);
    dogTimer = setTimeout(function () { if (ws) { ws.onclose = null; ws.close(); ws = null; down(); } }, (F.heartbeat_s * 2.5 + 2) * 1000);
  }

  function down(code) {
    clearTimeout(dogTimer);
    setLive(false);
    if (!me || !counter) return;
    if (code === 4401) { sessionEnded(); return; }
    if (code === 4403 || code === 4004 || code === 4400) {
      fail({ message_id: 'Pembaruan langsung ditolak untuk loket ini.', message_en: 'Live updates were refused for this counter.' });
      return;
    }
    if (!pollTimer) pollTimer = setInterval(function () { if (!live) load(); }, 10000);
    var wait = code === 4008 ? 300 : Math.min(30000, 500 * Math.pow(2, retry++)) * (0.5 + Math.random() / 2);
    againTimer = setTimeout(connect, wait);
  }

  // ---- wiring -------------------------------------------------------------------------------
  document.addEventListener('DOMContentLoaded', function () {
    $('login-form').addEventListener('submit', function (evt) {
      evt.preventDefault();
      var body = { username: $('login-user').value.trim(), password: $('login-pass').value };
      api('POST', '/api/v1/auth/login', body).then(function (res) {
        $('login-pass').value = '';
        if (res.ok) { me = res.data; afterLogin(); } else showLogin(res.data);
      });
    });
    $('logout').addEventListener('click', function () {
      api('POST', '/api/v1/auth/logout', {}).then(function () {
        counter = null; sessionStorage.removeItem('antre.counter'); history.replaceState(null, '', location.pathname);
        showLogin(null);
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll('[data-close]'), function (b) {
      b.addEventListener('click', function () { b.closest('dialog').close(); });
    });
    $('counter-pick').addEventListener('change', function () { openCounter(this.value); });
    $('a-next').addEventListener('click', callNext);
    $('a-recall').addEventListener('click', function () { act('recall', {}, 'a-recall'); });
    $('a-start').addEventListener('click', function () { act('start', {}, 'a-start'); });
    $('a-complete').addEventListener('click', complete);
    $('a-skip').addEventListener('click', skip);
    $('a-undo').addEventListener('click', undo);
    $('a-open').addEventListener('click', function () { act('open', {}, 'a-open'); });
    $('a-pause').addEventListener('click', pause);
    $('a-close').addEventListener('click', function () {
      if (window.confirm('Tutup ' + CTR[counter].name + '? · Close this counter?')) act('close', {}, 'a-close');
    });
    $('a-transfer').addEventListener('click', function () { if (view && view.current) transfer(view.current); });
    document.addEventListener('keydown', function (e) {
      if (e.ctrlKey || e.metaKey || e.altKey || e.repeat || !view || $('v-console').hidden) return;
      var t = e.target, tag = t && t.tagName;
      if (tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA' || (t && t.isContentEditable)) return;
      if (document.querySelector('dialog[open]')) return;
      var id = KEYS[(e.key || '').toLowerCase()];
      if (!id) return;
      e.preventDefault();
      var b = $(id);
      if (!b.disabled) b.click();
    });
    setInterval(function () { renderUndo(); if (view) renderWaitingTimes(); }, 1000);
    document.addEventListener('visibilitychange', function () { if (!document.hidden && me && counter && !live) { retry = 0; load(); connect(); } });
    refreshMe().then(function (res) { if (res.ok) afterLogin(); else showLogin(null); });
  });

  var lastMinute = -1;
  function renderWaitingTimes() {
    var m = Math.floor(now() / 60000);
    if (m !== lastMinute) { lastMinute = m; renderWaiting(view.waiting || []); }
  }
})();
