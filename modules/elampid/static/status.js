/* e-Lampid applicant status page (GET /lampid/r/<receipt>), live.
   HTTP: POST /api/v1/lampid/access {receipt_number, pin} (unlocks the session, returns a new CSRF token),
   GET  /api/v1/lampid/applications/<receipt> (poll while the socket is down),
   POST /api/v1/lampid/applications/<receipt>/{resubmit,handover-slot,delivery,cancel} (X-CSRF-Token),
   GET  /api/v1/lampid/slots; uploads through form.js.
   Push: /ws/lampid/<receipt>[?after=<pos>] (session cookie): snapshot/update/heartbeat/pong,
   reconnect with backoff 1 s..30 s, poll every 15 s while down, close 4401 = PIN again; a "ping" when
   the page comes back to the foreground checks that the link is still alive. ES5. */
(function () {
  'use strict';
  var L = window.Lampid, B = L.boot, $ = L.$, el = L.el, bi = L.bi;
  var R = encodeURIComponent(B.receipt_number), API = '/api/v1/lampid/applications/' + R;
  var SW = B.status_words || {}, STEPS = B.steps || ['diajukan', 'diverifikasi', 'terbit', 'siap_diambil', 'selesai'];
  var FINAL = { selesai: 1, dibatalkan: 1 };
  var view = null, docs = null, fixFor = null, slotsFor = null, busy = false, changing = false;
  var ws = null, live = false, pos = 0, retry = 0, pollTimer = 0, dogTimer = 0, againTimer = 0, lockTimer = 0;
  var locked = !B.unlocked, done = false;

  function words(s) { return SW[s] || [s, '', '', '']; }
  function has(v, action) { return !!v && (v.actions || []).indexOf(action) >= 0; }
  function text(id, s) { var e = $(id); if (e && e.textContent !== s) e.textContent = s == null ? '' : s; }
  function say(s) { var e = $('say'); e.textContent = ''; setTimeout(function () { e.textContent = s; }, 50); }
  function buzz(p) { try { if (navigator.vibrate) navigator.vibrate(p); } catch (e) { /* not allowed */ } }
  function kindInfo(k) { return (B.kinds && B.kinds[k]) || { label_id: k || '', label_en: '', documents: [] }; }

  // ---- rendering -------------------------------------------------------------------------------
  function render(v) {
    if (!v || !v.status) return;
    var prev = view, st = v.status, w = words(st);
    view = v;
    $('view').hidden = false;
    $('locked').hidden = true;
    $('status').setAttribute('data-status', st);
    document.body.setAttribute('data-status', st);
    var info = kindInfo(v.kind);
    text('v-kind', info.label_id + (info.label_en ? ' \u00B7 ' + info.label_en : ''));
    text('v-kelurahan', v.kelurahan);
    text('st-id', w[0]); text('st-en', w[1]); text('st-dt-id', w[2]); text('st-dt-en', w[3]);
    text('v-submitted', v.submitted_text || '');
    text('v-updated', v.updated_text || '');
    renderSteps(v);
    renderFix(v, prev);
    renderHandover(v, prev);
    renderPickup(v, prev);
    $('courier').hidden = st !== 'dikirim';
    $('courier-line').hidden = !v.courier_ref;
    text('courier-ref', v.courier_ref || '');
    var updates = $('courier-updates');
    updates.textContent = '';
    (v.courier_updates || []).forEach(function (u) {
      var li = document.createElement('li');
      var when = document.createElement('span');
      when.className = 'when';
      when.textContent = u.at_text + ' ';
      li.appendChild(when);
      li.appendChild(document.createTextNode(u.note));
      updates.appendChild(li);
    });
    renderFinal(v);
    renderDocs(v);
    renderHistory(v);
    $('cancel').hidden = !has(v, 'cancel');
    document.title = (st === 'perlu_perbaikan' || st === 'terbit' ? '\u2757 ' : '') + w[0] + ' \u00B7 ' + v.receipt_number;
    if (prev && prev.status !== st) {
      say('Status berubah: ' + w[0] + '. ' + w[2]);
      if (st === 'perlu_perbaikan' || st === 'terbit') buzz([300, 120, 300]);
      L.clear($('action-error'));
    }
    if (FINAL[st]) finish();
  }

  var STEP_OF = { diajukan: 0, perlu_perbaikan: 0, diverifikasi: 1, terbit: 2, siap_diambil: 3, dikirim: 3, selesai: 4 };
  function renderSteps(v) {
    var ol = $('steps'), st = v.status, cancelled = st === 'dibatalkan';
    var at = STEPS.indexOf(st);
    if (at < 0) at = STEP_OF.hasOwnProperty(st) ? STEP_OF[st] : -1;
    var delivered = st === 'dikirim' || (st === 'selesai' && (!!v.courier_ref || (v.history || []).some(function (h) { return h.status === 'dikirim'; })));
    ol.textContent = '';
    ol.className = 'track' + (cancelled ? ' cancelled' : '');
    STEPS.forEach(function (s, i) {
      var name = s === 'siap_diambil' && delivered ? 'dikirim' : s, w = words(name);
      // a cancelled application was only ever submitted (cancel is allowed before verification)
      var state = cancelled ? (i === 0 ? 'done' : 'todo') : i < at || (i === at && st === 'selesai') ? 'done' : i === at ? 'now' : 'todo';
      if (i === at && st === 'perlu_perbaikan') state = 'needfix';
      var li = el('li', 'tstep ' + state);
      li.appendChild(el('span', 'dot', state === 'done' ? '\u2713' : state === 'needfix' ? '!' : String(i + 1))).setAttribute('aria-hidden', 'true');
      var label = bi('span', 'name', w[0], w[1]);
      if (state === 'needfix') {
        var f = words('perlu_perbaikan');
        label.appendChild(bi('span', 'branch', '\u21B3 ' + f[0], f[1]));
      }
      label.appendChild(el('span', 'visually-hidden', state === 'done' ? ' (selesai)' : state === 'todo' ? ' (belum)' : ' (sekarang)'));
      li.appendChild(label);
      if (state === 'now' || state === 'needfix') li.setAttribute('aria-current', 'step');
      ol.appendChild(li);
    });
    if (cancelled) {
      var c = words('dibatalkan'), li = el('li', 'tstep stop');
      li.appendChild(el('span', 'dot', '\u2715')).setAttribute('aria-hidden', 'true');
      li.appendChild(bi('span', 'name', c[0], c[1]));
      li.setAttribute('aria-current', 'step');
      ol.appendChild(li);
    }
  }

  function renderFix(v, prev) {
    var on = v.status === 'perlu_perbaikan';
    $('fix').hidden = !on;
    var list = $('fix-list');
    list.textContent = '';
    (v.fix_reasons || []).forEach(function (r) { list.appendChild(el('li', null, r)); });
    if (!on) { fixFor = null; docs = null; return; }
    $('fix-form').hidden = !has(v, 'resubmit');
    // the form is built when the status becomes perlu_perbaikan; later updates keep what was typed
    var key = v.status + '|' + (v.fix_reasons || []).join('\n');
    if (fixFor === key && prev && prev.status === v.status) return;
    fixFor = key;
    var defs = B.fields[v.kind] || [], existing = {};
    (v.documents || []).forEach(function (d) { existing[d.id] = d; });
    L.renderFields($('fields'), defs, v.fields || {});
    var required = kindInfo(v.kind).documents;
    if (!required || !required.length) required = v.documents || [];
    docs = L.docList($('docs'), required, { existing: existing, onChange: fixReady });
    L.clear($('fix-error'));
    fixReady();
  }

  function fixReady() { $('resubmit').disabled = busy || !docs || docs.busy(); }

  function renderHandover(v, prev) {
    // terbit: choose a time or delivery; siap_diambil: another time, while "Ganti jadwal" is open
    if (v.status !== 'siap_diambil' || !has(v, 'choose_handover_slot')) changing = false;
    var on = v.status === 'terbit' || changing;
    $('handover').hidden = !on;
    if (!on) { slotsFor = null; return; }
    var slotsOk = has(v, 'choose_handover_slot'), deliveryOk = has(v, 'request_delivery');
    $('slot-part').hidden = !slotsOk;
    $('delivery-part').hidden = !deliveryOk;
    if (slotsOk && slotsFor !== v.receipt_number) { slotsFor = v.receipt_number; loadSlots(); }
  }

  function loadSlots() {
    var box = $('slots');
    box.textContent = '';
    box.appendChild(bi('p', 'hint', 'Memuat jadwal\u2026', 'Loading times\u2026'));
    L.request('GET', '/api/v1/lampid/slots').then(function (res) {
      box.textContent = '';
      if (!res.ok) {
        box.appendChild(bi('p', 'hint', res.data.message_id || 'Jadwal tidak dapat dimuat.', res.data.message_en || 'Could not load the times.'));
        var again = el('button', 'btn secondary small', 'Coba lagi \u00B7 Retry');
        again.type = 'button';
        again.addEventListener('click', loadSlots);
        box.appendChild(again);
        return;
      }
      var slots = res.data.slots || [], day = null, group = null;
      if (!slots.length) {
        box.appendChild(bi('p', 'hint', 'Belum ada jadwal yang tersedia. Pilih dikirim, atau coba lagi nanti.', 'No times available yet. Choose delivery, or try again later.'));
        return;
      }
      slots.forEach(function (s) {
        if (s.date !== day) {
          day = s.date;
          box.appendChild(el('h4', 'slot-day', s.date));
          group = el('div', 'slot-row');
          box.appendChild(group);
        }
        var b = el('button', 'slot', s.time);
        b.type = 'button';
        b.setAttribute('data-at', String(s.at));
        b.setAttribute('aria-label', 'Ambil ' + s.date + ' pukul ' + s.time + ' \u00B7 Collect on ' + s.date + ' at ' + s.time);
        group.appendChild(b);
      });
    });
  }

  function renderPickup(v, prev) {
    var on = v.status === 'siap_diambil';
    $('pickup').hidden = !on;
    var t = on ? v.handover_ticket : null, pt = prev && prev.status === 'siap_diambil' ? prev.handover_ticket : null;
    text('slot-text', v.handover_slot_text || '');
    $('change-slot').hidden = !on || !has(v, 'choose_handover_slot') || changing;
    $('ticket-box').hidden = !t;
    var call = $('call'), line = $('st-ticket');
    line.hidden = !t;
    if (!t) { call.textContent = ''; line.textContent = ''; return; }
    text('handover-number', t.number);
    $('handover-link').href = t.url;
    var TS = {
      waiting: ['Menunggu dipanggil', 'Waiting to be called'],
      called: ['Dipanggil! Silakan menuju ' + (t.counter_name || 'loket'), 'Called! Please go to ' + (t.counter_name || 'the counter')],
      serving: ['Sedang dilayani', 'Being served'],
      done: ['Selesai dilayani', 'Served'],
      missed: ['Terlewat: lapor ke petugas', 'Missed: please tell the staff'],
      cancelled: ['Nomor dibatalkan', 'Number cancelled']
    };
    var ts = TS[t.status] || [t.status, ''], tsBox = $('ticket-state');
    tsBox.textContent = '';
    tsBox.appendChild(bi('strong', null, ts[0], ts[1]));
    if (t.status === 'waiting' && typeof t.people_ahead === 'number') {
      tsBox.appendChild(bi('span', 'ahead', t.people_ahead === 0 ? 'Anda berikutnya' : t.people_ahead + ' orang di depan Anda',
        t.people_ahead === 0 ? 'You are next' : t.people_ahead + ' ahead of you'));
    }
    // the same in one line of the status card: the number, and where to go once called
    line.textContent = '';
    line.className = 'st-ticket ' + t.status;
    line.appendChild(el('strong', 'mono', t.number));
    line.appendChild(bi('span', null, ' \u00B7 ' + ts[0], ts[1]));
    var called = t.status === 'called', wasCalled = !!pt && pt.status === 'called' && pt.counter_name === t.counter_name;
    if (called) {
      if (!wasCalled || !call.firstChild) {
        call.textContent = '';
        var div = el('div', 'banner call');
        div.appendChild(bi('strong', null, 'Silakan menuju ' + (t.counter_name || 'loket'), 'Please go to ' + (t.counter_name || 'the counter')));
        call.appendChild(div);
        if (prev) buzz([400, 150, 400, 150, 800]);  // the banner itself is announced (#call is aria-live)
      }
    } else {
      call.textContent = '';
    }
  }

  function renderFinal(v) {
    var st = v.status, on = !!FINAL[st], box = $('final-text');
    $('final').hidden = !on;
    $('final').className = 'card final ' + st;
    $('new-application').hidden = st !== 'dibatalkan';
    if (!on) return;
    box.textContent = '';
    if (st === 'selesai') box.appendChild(bi('strong', null, 'Akta sudah diterima. Terima kasih!', 'The certificate has been received. Thank you!'));
    else box.appendChild(bi('strong', null, 'Permohonan ini dibatalkan.', 'This application was cancelled.'));
  }

  function renderDocs(v) {
    var ul = $('doc-list');
    ul.textContent = '';
    (v.documents || []).forEach(function (d) {
      var li = el('li', 'doc-item' + (d.uploaded ? '' : ' missing'));
      li.appendChild(el('span', 'doc-mark', d.uploaded ? '\u2713' : '\u2715')).setAttribute('aria-hidden', 'true');
      var name = bi('span', 'doc-name', d.label_id, d.label_en);
      li.appendChild(name);
      if (d.uploaded && d.url) {
        var a = el('a', 'doc-open', (d.content_type === 'application/pdf' ? 'PDF' : 'Foto') + ' \u2197');
        a.href = d.url; a.target = '_blank'; a.rel = 'noopener';
        a.setAttribute('aria-label', 'Buka ' + d.label_id + ' (tab baru) \u00B7 Open in a new tab');
        li.appendChild(a);
      } else if (!d.uploaded) {
        li.appendChild(el('span', 'doc-open', 'Belum ada \u00B7 Missing'));
      }
      ul.appendChild(li);
    });
  }

  var BY = { petugas: 'petugas \u00B7 staff', pemohon: 'Anda \u00B7 you', loket: 'loket \u00B7 counter', sistem: 'sistem', kurir: 'kurir \u00B7 courier' };
  function renderHistory(v) {
    var ol = $('history');
    ol.textContent = '';
    (v.history || []).slice().reverse().forEach(function (h) {
      var li = el('li'), w = words(h.status);
      li.appendChild(el('span', 'h-time', h.at_text || ''));
      li.appendChild(bi('span', 'h-what', w[0], w[1]));
      if (h.by) li.appendChild(el('span', 'h-by', 'oleh \u00B7 by ' + (BY[h.by] || h.by)));
      ol.appendChild(li);
    });
  }

  // ---- actions -------------------------------------------------------------------------------
  function post(action, body, errBox, btn) {
    if (busy) return Promise.resolve(null);
    busy = true;
    if (btn) btn.disabled = true;
    L.clear(errBox);
    return L.request('POST', API + '/' + action, body, { 'Idempotency-Key': L.key() }).then(function (res) {
      busy = false;
      if (btn) btn.disabled = false;
      if (res.ok) { if (res.data && res.data.status) render(res.data); return res; }
      if (res.status === 401) { lockAgain(); return res; }
      L.showError(errBox, res.data, res.data.code === 'csrf_failed' ? [['Muat ulang halaman ini.', 'Reload this page.']] : null);
      return res;
    });
  }

  function resubmit(evt) {
    evt.preventDefault();
    if (!view || !docs || docs.busy()) return;
    var defs = B.fields[view.kind] || [], box = $('fix-error'), bad = L.checkFields(defs);
    if (Object.keys(bad).length) {
      L.markFields(defs, bad);
      L.showError(box, { message_id: 'Periksa isian yang ditandai.', message_en: 'Please check the marked fields.' });
      return;
    }
    L.markFields(defs, {});
    var documents = {};
    for (var d in docs.uploads) if (docs.uploads.hasOwnProperty(d)) documents[d] = docs.uploads[d].upload_id;
    var sentDocs = docs;
    post('resubmit', { fields: L.fieldValues(defs), documents: documents }, box, $('resubmit')).then(function (res) {
      fixReady();
      if (!res || res.ok || res.status === 401) { if (res && res.ok) say('Perbaikan terkirim. Corrections sent.'); return; }
      var p = res.data.params || {}, extra = [];
      if (res.data.code === 'invalid_application') {
        var reasons = p.reasons || {};
        (p.fields || []).forEach(function (f) { if (!reasons[f]) reasons[f] = 'format'; });
        var others = L.markFields(defs, reasons);
        if (others.length) extra.push(['Lainnya: ' + others.join(', '), 'Other: ' + others.join(', ')]);
      } else if (res.data.code === 'missing_documents') {
        sentDocs.markMissing(p.documents);
      } else if (res.data.code === 'unknown_upload') {
        sentDocs.forget(p.documents || (p.document ? [p.document] : null));
      }
      if (extra.length) L.showError(box, res.data, extra);
    });
  }

  function chooseSlot(b) {
    var at = Number(b.getAttribute('data-at'));
    var all = document.querySelectorAll('#slots .slot');
    if (busy) return;
    Array.prototype.forEach.call(all, function (x) { x.disabled = true; x.removeAttribute('aria-pressed'); });
    b.setAttribute('aria-pressed', 'true');
    post('handover-slot', { at: at }, $('handover-error'), null).then(function (res) {
      if (res && res.ok) { changing = false; slotsFor = null; if (view) render(view); return; }
      Array.prototype.forEach.call(all, function (x) { x.disabled = false; });
      b.removeAttribute('aria-pressed');
      // taken meanwhile (409): show the times that are still free
      if (res && res.status === 409 && view && view.status === 'terbit') loadSlots();
    });
  }

  function delivery() {
    if (!window.confirm('Kirim akta ke alamat pada KTP? Anda tidak perlu datang ke kantor kelurahan.\n\nDeliver the certificate to the address on the KTP? You will not need to come to the office.')) return;
    post('delivery', {}, $('handover-error'), $('delivery'));
  }

  function cancel() {
    if (!view || !window.confirm('Batalkan permohonan ' + view.receipt_number + '? Tindakan ini tidak dapat diurungkan.\n\nCancel application ' + view.receipt_number + '? This cannot be undone.')) return;
    post('cancel', {}, $('action-error'), $('cancel'));
  }

  // ---- PIN -----------------------------------------------------------------------------------
  function showLocked(message) {
    locked = true;
    stopLive();
    $('view').hidden = true;
    $('locked').hidden = false;
    setConn('off');
    var err = $('pin-error');
    if (message) L.showError(err, message); else L.clear(err);
    $('pin').value = '';
    $('pin').focus();
  }

  function lockAgain() {
    view = null; fixFor = null; slotsFor = null; docs = null;
    showLocked({ message_id: 'Sesi berakhir. Masukkan PIN lagi.', message_en: 'Your session ended. Please enter the PIN again.' });
  }

  function unlock(evt) {
    evt.preventDefault();
    var pin = $('pin').value.replace(/\D+/g, ''), err = $('pin-error'), btn = $('pin-submit');
    if (!/^[0-9]{6}$/.test(pin)) {
      $('pin').setAttribute('aria-invalid', 'true');
      L.showError(err, { message_id: 'PIN terdiri dari 6 angka.', message_en: 'The PIN has 6 digits.' });
      return;
    }
    btn.disabled = true;
    L.request('POST', '/api/v1/lampid/access', { receipt_number: B.receipt_number, pin: pin }).then(function (res) {
      btn.disabled = false;
      if (res.ok && res.data.application) {
        $('pin').removeAttribute('aria-invalid');
        $('pin').value = '';
        L.clear(err);
        if (res.data.csrf) L.csrf = res.data.csrf;
        locked = false; done = false; retry = 0; pos = 0;
        render(res.data.application);
        $('status').focus();
        if (!done) connect();
        return;
      }
      var d = res.data || {}, p = d.params || {};
      $('pin').setAttribute('aria-invalid', 'true');
      if (d.code === 'wrong_pin') {
        var left = p.attempts_left;
        L.showError(err, { message_id: 'PIN salah.' + (left != null ? ' Sisa percobaan: ' + left : ''), message_en: 'Wrong PIN.' + (left != null ? ' Attempts left: ' + left : '') });
        $('pin').select();
      } else if (d.code === 'pin_locked') {
        var s = typeof p.retry_after_s === 'number' ? p.retry_after_s : 900, m = Math.max(1, Math.ceil(s / 60));
        L.showError(err, { message_id: 'Terlalu banyak percobaan. Coba lagi dalam ' + m + ' menit.', message_en: 'Too many attempts. Try again in ' + m + ' min.' });
        btn.disabled = true;
        clearTimeout(lockTimer);
        lockTimer = setTimeout(function () { btn.disabled = false; L.clear(err); }, s * 1000);
      } else if (res.status === 404) {
        gone();
      } else {
        L.showError(err, d);
      }
    });
  }

  function gone() {
    finish();
    $('view').hidden = true; $('locked').hidden = true; $('gone').hidden = false;
  }

  // ---- live ----------------------------------------------------------------------------------
  function setConn(state) {
    var c = $('conn');
    if (!c) return;
    c.className = 'conn' + (state === 'on' ? '' : ' off');
    c.textContent = state === 'on' ? 'Terhubung \u00B7 Live' : state === 'end' ? 'Selesai \u00B7 Ended' : locked ? 'Terkunci \u00B7 Locked' : 'Menghubungkan\u2026 \u00B7 Connecting\u2026';
  }

  function stopLive() {
    clearTimeout(againTimer); clearTimeout(dogTimer); clearInterval(pollTimer); pollTimer = 0;
    if (ws) { ws.onclose = null; ws.close(); ws = null; }
    live = false;
  }

  function finish() { done = true; stopLive(); setConn('end'); }

  function connect() {
    clearTimeout(againTimer);
    if (ws || locked || done) return;
    if (!window.WebSocket) { down(); return; }
    var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/lampid/' + R + (pos ? '?after=' + pos : '');
    try { ws = new WebSocket(url); } catch (e) { ws = null; down(); return; }
    setConn('off');
    ws.onopen = function () { retry = 0; live = true; setConn('on'); clearInterval(pollTimer); pollTimer = 0; watch(); };
    ws.onmessage = function (e) {
      watch();
      var m; try { m = JSON.parse(e.data); } catch (x) { return; }
      if (typeof m.position === 'number') pos = m.position;  // a heartbeat at P: complete up to P
      if ((m.type === 'snapshot' || m.type === 'update') && m.data) render(m.data);
    };
    ws.onclose = function (e) { ws = null; down(e.code); };
  }

  // nothing (not even a heartbeat) for 2.5 heartbeats: the link is dead even if the socket is not
  function watch() {
    clearTimeout(dogTimer);
    dogTimer = setTimeout(function () {
      if (ws) { ws.onclose = null; ws.close(); ws = null; down(); }
    }, ((B.heartbeat_s || 20) * 2.5 + 2) * 1000);
  }

  // back from the background (a phone wakes up): ask the server; no answer within 5 s = a dead link
  function probe() {
    if (!ws || !live) return;
    try { ws.send('ping'); } catch (e) { return; }
    clearTimeout(dogTimer);
    dogTimer = setTimeout(function () {
      if (ws) { ws.onclose = null; ws.close(); ws = null; down(); }
    }, 5000);
  }

  function down(code) {
    clearTimeout(dogTimer);
    live = false;
    if (locked || done) return;
    setConn('off');
    if (code === 4401 || code === 4403) { lockAgain(); return; }
    if (code === 4004) { gone(); return; }
    if (!pollTimer) pollTimer = setInterval(poll, 15000);
    var wait = code === 4008 ? 300 : Math.min(30000, 1000 * Math.pow(2, retry++)) * (0.5 + Math.random() / 2);
    againTimer = setTimeout(connect, Math.max(wait, code === 4008 ? 300 : 1000));
  }

  function poll() {
    if (live || locked || done) return;
    L.request('GET', API).then(function (res) {
      if (live || locked || done) return;
      if (res.ok && res.data && res.data.status) render(res.data);
      else if (res.status === 401 || res.status === 403) lockAgain();
      else if (res.status === 404) gone();
    });
  }

  // ---- wiring --------------------------------------------------------------------------------
  document.addEventListener('DOMContentLoaded', function () {
    text('v-receipt', B.receipt_number);
    $('status').setAttribute('tabindex', '-1');
    $('pin-form').addEventListener('submit', unlock);
    $('pin').addEventListener('input', function () {
      var c = this.value.replace(/\D+/g, '');
      if (c !== this.value) this.value = c;
    });
    $('fix-form').addEventListener('submit', resubmit);
    $('slots').addEventListener('click', function (e) {
      var b = e.target;
      while (b && b !== this && !(b.className && /\bslot\b/.test(b.className) && b.tagName === 'BUTTON')) b = b.parentNode;
      if (b && b !== this && !b.disabled) chooseSlot(b);
    });
    $('delivery').addEventListener('click', delivery);
    $('change-slot').addEventListener('click', function () {
      changing = true;
      slotsFor = null;
      if (view) render(view);
      $('handover').scrollIntoView();
    });
    $('cancel').addEventListener('click', cancel);
    document.addEventListener('visibilitychange', function () {
      if (document.hidden || locked || done) return;
      if (live) probe(); else { retry = 0; poll(); connect(); }
    });
    window.addEventListener('online', function () { if (!live && !locked && !done) { retry = 0; connect(); } });
    if (B.unlocked && B.application) {
      render(B.application);
      if (!done) connect();
    } else if (B.unlocked) {
      locked = false;
      poll();
      connect();
    } else {
      showLocked(null);
    }
  });
})();
