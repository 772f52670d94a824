/* Antre supervisor view: render the overview the server sends, keep durations current, stay connected.
   Boot data in #boot (the view at page load); push /ws/sla (session cookie): snapshot, update, heartbeat;
   reconnect with back-off and ?after=<last position>. Minutes since a wait or a pause began are counted
   here from the server's instants and its clock (heartbeat `at`), so they grow between pushes.
   Without #boot the page is the log-in form: log in through /api/v1/auth/login and reload. */
(function () {
  'use strict';
  function $(id) { return document.getElementById(id); }

  var form = $('login-form');
  if (form) {
    form.addEventListener('submit', function (evt) {
      evt.preventDefault();
      var err = $('login-error');
      fetch('/api/v1/auth/login', {
        method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: form.username.value, password: form.password.value })
      }).then(function (r) {
        if (r.ok) { location.reload(); return null; }
        return r.json().then(function (d) {
          err.hidden = false;
          err.textContent = (d.message_id || 'Gagal masuk.') + ' · ' + (d.message_en || 'Log in failed.');
        });
      }, function () { err.hidden = false; err.textContent = 'Tidak dapat terhubung ke server. · Cannot reach the server.'; });
    });
  }
  var bootEl = $('boot');
  if (!bootEl) return;

  var B = JSON.parse(bootEl.textContent);
  var view = B.view, pos = 0, ws = null, retry = 0, dogTimer = 0, againTimer = 0;
  var skew = B.now - Date.now();  // server clock minus ours
  var STATUS = { open: ['Buka', 'Open'], paused: ['Jeda', 'Paused'], closed: ['Tutup', 'Closed'] };
  var KIND = {
    queue_length: ['Antrean panjang', 'Long queue', 'orang', 'waiting'],
    longest_wait: ['Tunggu terlalu lama', 'Long wait', 'menit', 'min'],
    counter_paused: ['Loket dijeda terlalu lama', 'Paused too long', 'menit', 'min']
  };
  var tzFmt = null;
  try { tzFmt = new Intl.DateTimeFormat('id-ID', { hour: '2-digit', minute: '2-digit', timeZone: B.timezone }); } catch (e) { tzFmt = null; }

  function now() { return Date.now() + skew; }
  function hm(ms) { var d = new Date(ms); return tzFmt ? tzFmt.format(d).replace('.', ':') : d.toTimeString().slice(0, 5); }
  function minutes(since) { return since == null ? null : Math.max(0, Math.floor((now() - since) / 60000)); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function bi(main, en) { var s = el('span', null, main); s.appendChild(el('span', 'en', en)); return s; }

  function alertText(a) {
    var k = KIND[a.kind] || [a.kind, a.kind, '', ''];
    var value = a.value;  // at opening; kept current below
    if (a.kind === 'queue_length') {
      view.services.forEach(function (s) { if (s.service === a.subject) value = s.waiting; });
    } else if (a.since != null) {
      value = minutes(a.since);
    }
    return value + ' ' + k[2] + ' (batas ' + a.threshold + ') · ' + value + ' ' + k[3] + ' (limit ' + a.threshold + ')';
  }

  function alertRow(a, resolved) {
    var k = KIND[a.kind] || [a.kind, a.kind];
    var li = el('li', resolved ? 'sla-alert ok' : 'sla-alert');
    var head = el('div', 'sla-alert-head');
    head.appendChild(el('strong', null, a.name));
    head.appendChild(bi(k[0], k[1]));
    li.appendChild(head);
    if (resolved) {
      li.appendChild(el('span', 'sla-when', 'Pulih ' + hm(a.cleared_at) + ' · resolved (dibuka ' + hm(a.opened_at) + ')'));
    } else {
      li.appendChild(el('span', 'sla-value', alertText(a)));
      li.appendChild(el('span', 'sla-when', 'Dibuka ' + hm(a.opened_at) + ' · opened'));
    }
    return li;
  }

  function fill(id, nodes, empty) {
    var box = $(id);
    box.textContent = '';
    nodes.forEach(function (n) { box.appendChild(n); });
    if (!nodes.length && empty) box.appendChild(empty);
  }

  function render() {
    var v = view, t = v.totals;
    var totals = [
      [t.waiting, 'Menunggu', 'Waiting', ''],
      [t.open, 'Loket buka', 'Open', ''],
      [t.paused, 'Dijeda', 'Paused', t.paused ? 'warn' : ''],
      [t.closed, 'Tutup', 'Closed', ''],
      [t.alerts, 'Peringatan', 'Alerts', t.alerts ? 'bad' : 'good']
    ].map(function (x) {
      var d = el('div', 'sla-total ' + x[3]);
      d.appendChild(el('strong', null, String(x[0])));
      d.appendChild(bi(x[1], x[2]));
      return d;
    });
    fill('totals', totals);
    $('alert-count').textContent = String(v.alerts.length);
    fill('alerts', v.alerts.map(function (a) { return alertRow(a, false); }),
      el('li', 'empty', 'Semua dalam batas. · Everything within limits.'));
    fill('recent', v.recent.map(function (a) { return alertRow(a, true); }),
      el('li', 'empty', 'Belum ada. · None yet.'));

    fill('queues', v.services.map(function (s) {
      var tr = el('tr', s.alerts.length ? 'breach' : null);
      var name = el('th', null, s.name);
      name.scope = 'row';
      tr.appendChild(name);
      var waiting = el('td', 'num', String(s.waiting));
      if (s.queue_max) waiting.appendChild(el('small', null, ' / ' + s.queue_max));
      tr.appendChild(waiting);
      var m = minutes(s.longest_since);
      var longest = el('td', 'num' + (s.longest_wait_limit && m != null && m >= s.longest_wait_limit ? ' over' : ''),
        m == null ? '–' : m + ' mnt');
      if (s.longest_wait_limit) longest.appendChild(el('small', null, ' / ' + s.longest_wait_limit));
      tr.appendChild(longest);
      tr.appendChild(el('td', null, s.serving.length ? s.serving.map(function (x) { return x.number + ' (' + x.counter_name + ')'; }).join(', ') : '–'));
      return tr;
    }));

    fill('counters', v.counters.map(function (c) {
      var tr = el('tr', c.alert ? 'breach' : null);
      var name = el('th', null, c.name);
      name.scope = 'row';
      tr.appendChild(name);
      var st = STATUS[c.status] || [c.status, c.status];
      var cell = el('td');
      cell.appendChild(el('span', 'pill ' + c.status, st[0] + ' · ' + st[1]));
      if (c.status === 'paused' && c.pause_reason) cell.appendChild(el('span', 'sla-reason', c.pause_reason));
      tr.appendChild(cell);
      var m = minutes(c.since);
      tr.appendChild(el('td', 'num', c.since ? hm(c.since) + (c.status === 'paused' ? ' (' + m + ' mnt)' : '') : '–'));
      tr.appendChild(el('td', null, c.number || '–'));
      return tr;
    }));
  }

  // ---- push -----------------------------------------------------------------------------------
  function setLive(on) {
    var c = $('conn');
    c.className = on ? 'conn' : 'conn off';
    c.textContent = on ? 'Langsung · Live' : 'Terputus · Offline';
  }

  function connect() {
    clearTimeout(againTimer);
    if (ws) return;
    var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/sla' + (pos ? '?after=' + pos : '');
    try { ws = new WebSocket(url); } catch (e) { down(); return; }
    ws.onopen = function () { retry = 0; setLive(true); watch(); };
    ws.onmessage = function (e) {
      watch();
      var m; try { m = JSON.parse(e.data); } catch (x) { return; }
      if ((m.type === 'heartbeat' || m.type === 'pong') && typeof m.at === 'number') skew = m.at - Date.now();
      if (typeof m.position === 'number') pos = m.position;
      if ((m.type === 'snapshot' || m.type === 'update') && m.data) { view = m.data; render(); }
    };
    ws.onclose = function (e) { ws = null; down(e.code); };
  }

  function watch() {
    clearTimeout(dogTimer);
    dogTimer = setTimeout(function () { if (ws) { ws.onclose = null; ws.close(); ws = null; down(); } }, (B.heartbeat_s * 2.5 + 2) * 1000);
  }

  function down(code) {
    clearTimeout(dogTimer);
    setLive(false);
    if (code === 4401 || code === 4403) { location.reload(); return; }  // the session ended: the log-in form
    var wait = code === 4008 ? 300 : Math.min(30000, 500 * Math.pow(2, retry++)) * (0.5 + Math.random() / 2);
    againTimer = setTimeout(connect, wait);
  }

  render();
  setInterval(render, 15000);  // minutes grow without any push
  connect();
})();
