/* e-Lampid kelurahan staff console (GET /lampid/staff).
   HTTP: /api/v1/auth/{me,login,logout}; GET /api/v1/lampid/staff/applications?status=<s> (no personal
   data; refreshed every 15 s and after each action); GET /api/v1/lampid/applications/<receipt>
   (audited server-side: fetched only when a row is opened or reloaded, never on a timer);
   POST /api/v1/lampid/applications/<receipt>/{verify,request-fix,issue,hand-over,delivered}
   with X-CSRF-Token and an Idempotency-Key per press (sent again with the same key after a network
   error or 503, so a press whose answer was lost is never done twice). ES5, no framework. */
(function () {
  'use strict';
  var B = JSON.parse(document.getElementById('boot').textContent);
  var SW = B.status_words || {};
  var STATUSES = ['diajukan', 'perlu_perbaikan', 'diverifikasi', 'terbit', 'siap_diambil', 'dikirim', 'selesai'];
  // view.actions name -> [button id, POST path part, body builder]
  var ACTIONS = {
    verify: ['a-verify', 'verify'],
    request_fix: ['a-fix', 'request-fix'],
    issue: ['a-issue', 'issue'],
    hand_over: ['a-hand-over', 'hand-over'],
    deliver: ['a-delivered', 'delivered'],
    delivered: ['a-delivered', 'delivered'],
    confirm_delivery: ['a-delivered', 'delivered']
  };
  var DONE_WORDS = {
    verify: ['Permohonan diterima.', 'Application verified.'],
    'request-fix': ['Permintaan perbaikan dikirim.', 'Correction request sent.'],
    issue: ['Ditandai terbit.', 'Marked as issued.'],
    'hand-over': ['Akta diserahkan.', 'Certificate handed over.'],
    delivered: ['Pengiriman dicatat selesai.', 'Delivery recorded.']
  };

  var me = null, tab = 'diajukan', rows = [], open = null, view = null, busy = false;
  var listTimer = 0, toastTimer = 0, listSeq = 0, openSeq = 0, rotation = 0, shownDoc = null;

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function bi(tag, cls, main, en) {
    var e = el(tag, cls);
    e.appendChild(document.createTextNode(main));
    if (en) e.appendChild(el('span', 'en', en));
    return e;
  }
  function words(s) { return SW[s] || [s, '', '', '']; }
  function kindInfo(k) { return (B.kinds && B.kinds[k]) || { label_id: k || '', label_en: '', documents: [] }; }
  function norm(a) { return String(a).replace(/-/g, '_'); }

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
      if (r.status === 204) return { ok: true, status: 204, data: {} };
      return r.json().catch(function () { return {}; }).then(function (d) { return { ok: r.ok, status: r.status, data: d || {} }; });
    }, function () {
      return { ok: false, status: 0, data: { message_id: 'Tidak dapat terhubung ke server.', message_en: 'Cannot reach the server.' } };
    }).then(function (res) {
      if (res.status === 401 && path.indexOf('/auth/') < 0) sessionEnded();
      if (res.status === 403 && res.data.code === 'csrf_failed') refreshMe();
      return res;
    });
  }

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
  function toast(main, en) {
    var box = $('toast'), div = el('div', 'ok');
    div.appendChild(el('strong', null, main));
    if (en) div.appendChild(el('span', 'en', en));
    box.textContent = '';
    box.appendChild(div);
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { box.textContent = ''; }, 4000);
  }
  function showError(box, data) {
    box.textContent = '';
    if (!data) { if (box.tagName === 'P') box.hidden = true; return; }
    box.appendChild(bi('strong', null, data.message_id || 'Permintaan ditolak.', data.message_en || 'Request refused.'));
    var p = data.params || {};
    if (data.code === 'invalid_transition' && p.from_status) {
      var f = words(p.from_status);
      box.appendChild(bi('span', 'line', 'Status sekarang: ' + f[0] + '.', 'Current status: ' + (f[1] || p.from_status) + '.'));
    }
    if (typeof p.retry_after_s === 'number') box.appendChild(bi('span', 'line', 'Coba lagi dalam ' + p.retry_after_s + ' detik.', 'Try again in ' + p.retry_after_s + ' s.'));
    box.hidden = false;
  }

  // ---- views --------------------------------------------------------------------------------
  function showView(id) {
    ['v-loading', 'v-login', 'v-console'].forEach(function (v) { $(v).hidden = v !== id; });
    $('who').hidden = !me;
  }

  function showLogin(message) {
    me = null;
    clearInterval(listTimer); listTimer = 0;
    closeDetail();
    showView('v-login');
    var err = $('login-error');
    err.hidden = !message;
    if (message) showError(err, message);
    $('login-user').focus();
  }

  function sessionEnded() {
    if (me) showLogin({ message_id: 'Sesi berakhir. Silakan masuk lagi.', message_en: 'Your session ended. Please log in again.' });
  }

  function afterLogin() {
    $('user-name').textContent = me.name || me.username;
    var kel = me.kelurahan && me.kelurahan.length ? me.kelurahan : null;
    $('user-kel').textContent = kel ? 'Kel. ' + kel.join(', ') : (me.role === 'admin' ? 'Semua kelurahan \u00B7 All' : '');
    showView('v-console');
    var wanted = fromHash();
    if (wanted.tab) tab = wanted.tab;
    selectTab(tab, false);
    if (wanted.receipt) openApp(wanted.receipt);
    clearInterval(listTimer);
    listTimer = setInterval(function () { if (!document.hidden) loadList(); }, 15000);
  }

  // #<status>/<receipt>: a link to one application (a bookmark, or a colleague's message)
  function fromHash() {
    var parts = (location.hash || '').replace(/^#/, '').split('/'), out = {};
    if (STATUSES.indexOf(parts[0]) >= 0) out.tab = parts[0];
    if (parts[1]) { try { out.receipt = decodeURIComponent(parts[1]); } catch (e) { out.receipt = null; } }
    return out;
  }

  // ---- list ---------------------------------------------------------------------------------
  function selectTab(s, focus) {
    tab = s;
    STATUSES.forEach(function (x) {
      var b = $('tab-' + x);
      var on = x === s;
      b.setAttribute('aria-selected', on ? 'true' : 'false');
      b.tabIndex = on ? 0 : -1;
      b.className = 'tab' + (on ? ' on' : '');
      if (on && focus) b.focus();
    });
    $('list-panel').setAttribute('aria-labelledby', 'tab-' + s);
    rows = [];
    $('app-list').textContent = '';
    $('list-count').textContent = 'Memuat\u2026 \u00B7 Loading\u2026';
    setHash();
    loadList();
  }

  function setHash() {
    var h = '#' + tab + (open ? '/' + encodeURIComponent(open) : '');
    if (location.hash !== h) history.replaceState(null, '', location.pathname + location.search + h);
  }

  function loadList() {
    if (!me) return Promise.resolve();
    var seq = ++listSeq, s = tab;
    return api('GET', '/api/v1/lampid/staff/applications?status=' + encodeURIComponent(s)).then(function (res) {
      if (seq !== listSeq || s !== tab) return;
      if (!res.ok) {
        if (res.status !== 401) $('list-count').textContent = (res.data.message_id || 'Gagal memuat.') + ' \u00B7 ' + (res.data.message_en || 'Could not load.');
        return;
      }
      rows = res.data.applications || [];
      renderList();
    });
  }

  function renderList() {
    var box = $('app-list');
    box.textContent = '';
    var now = new Date();
    $('list-count').textContent = rows.length + ' permohonan \u00B7 applications \u00B7 ' + ('0' + now.getHours()).slice(-2) + ':' + ('0' + now.getMinutes()).slice(-2);
    if (!rows.length) { box.appendChild(bi('p', 'empty', 'Tidak ada permohonan dengan status ini.', 'No applications with this status.')); return; }
    rows.forEach(function (a) {
      var b = el('button', 'app-row' + (a.receipt_number === open ? ' on' : ''));
      b.type = 'button';
      b.setAttribute('data-receipt', a.receipt_number);
      if (a.receipt_number === open) b.setAttribute('aria-current', 'true');
      var k = kindInfo(a.kind);
      b.appendChild(el('span', 'r-num mono', a.receipt_number));
      b.appendChild(el('span', 'r-kind badge ' + (a.kind === 'kematian' ? 'k-death' : 'k-birth'), k.label_id));
      b.appendChild(el('span', 'r-kel', a.kelurahan));
      b.appendChild(el('span', 'r-time', 'Diajukan ' + (a.submitted_text || '') + (a.updated_text && a.updated_text !== a.submitted_text ? ' \u00B7 berubah ' + a.updated_text : '')));
      box.appendChild(b);
    });
    // the open application changed since it was loaded: offer to reload it (no automatic reads: they are audited)
    if (view) {
      var mine = rows.filter(function (a) { return a.receipt_number === view.receipt_number; })[0];
      $('detail-stale').hidden = !(mine && (mine.updated_text !== view.updated_text || mine.status !== view.status));
    }
  }

  // ---- detail -------------------------------------------------------------------------------
  function closeDetail() {
    open = null; view = null; shownDoc = null;
    $('detail-body').hidden = true;
    $('detail-empty').hidden = false;
    $('detail-error').textContent = '';
  }

  function openApp(receipt) {
    var seq = ++openSeq;
    open = receipt;
    setHash();
    Array.prototype.forEach.call(document.querySelectorAll('.app-row'), function (r) {
      var on = r.getAttribute('data-receipt') === receipt;
      r.className = 'app-row' + (on ? ' on' : '');
      if (on) r.setAttribute('aria-current', 'true'); else r.removeAttribute('aria-current');
    });
    $('detail-error').textContent = '';
    return api('GET', '/api/v1/lampid/applications/' + encodeURIComponent(receipt)).then(function (res) {
      if (seq !== openSeq) return;
      if (res.ok && res.data.status) { renderDetail(res.data, true); return; }
      if (res.status === 401) return;
      view = null;
      $('detail-body').hidden = true;
      $('detail-empty').hidden = true;
      showError($('detail-error'), res.data);
    });
  }

  function renderDetail(v, fresh) {
    var same = view && view.receipt_number === v.receipt_number;
    view = v;
    open = v.receipt_number;
    $('detail-empty').hidden = true;
    $('detail-body').hidden = false;
    $('detail-stale').hidden = true;
    var w = words(v.status), k = kindInfo(v.kind);
    $('d-receipt').textContent = v.receipt_number;
    var pill = $('d-status');
    pill.className = 'pill st-' + v.status;
    pill.textContent = w[0] + (w[1] ? ' \u00B7 ' + w[1] : '');
    $('d-meta').textContent = 'Tanda terima ' + v.receipt_number + ' \u00B7 ' + k.label_id + ' \u00B7 Kel. ' + v.kelurahan + ' \u00B7 diajukan ' + (v.submitted_text || '') + ' \u00B7 berubah ' + (v.updated_text || '');
    renderActions(v);
    renderFields(v);
    renderChecklist(v);
    var fr = v.fix_reasons || [];
    $('d-fix-box').hidden = !fr.length;
    var ul = $('d-fix-reasons');
    ul.textContent = '';
    fr.forEach(function (r) { ul.appendChild(el('li', null, r)); });
    var ol = $('d-history');
    ol.textContent = '';
    (v.history || []).forEach(function (h) {
      var hw = words(h.status), li = el('li');
      li.appendChild(el('span', 'h-time', h.at_text || ''));
      li.appendChild(el('span', 'h-what', hw[0]));
      if (h.by) li.appendChild(el('span', 'h-by', h.by));
      ol.appendChild(li);
    });
    if (fresh || !same) {
      // show the first document at once: verifying is reading documents
      var first = (v.documents || []).filter(function (d) { return d.uploaded && d.url; })[0];
      if (same && shownDoc) first = (v.documents || []).filter(function (d) { return d.id === shownDoc && d.url; })[0] || first;
      showDoc(first || null);
    }
  }

  function renderActions(v) {
    var allowed = {}, any = false;
    (v.actions || []).forEach(function (a) { var m = ACTIONS[norm(a)]; if (m) { allowed[m[0]] = true; any = true; } });
    ['a-verify', 'a-fix', 'a-issue', 'a-hand-over'].forEach(function (id) { $(id).hidden = !allowed[id]; $(id).disabled = false; });
    $('deliver-group').hidden = !allowed['a-delivered'];
    $('a-delivered').disabled = false;
    $('a-delivery-update').disabled = false;
    $('d-none').hidden = any;
    if (!allowed['a-fix']) closeFix();
  }

  function fieldText(f, value) {
    if (value == null || value === '') return '\u2013';
    if (f && f.type === 'select') {
      var o = (f.options || []).filter(function (x) { return x[0] === value; })[0];
      if (o) return o[1] + (o[2] ? ' \u00B7 ' + o[2] : '');
    }
    if (f && (f.type === 'nik' || f.type === 'kk') && /^\d{16}$/.test(value)) return value.replace(/(\d{4})(?=\d)/g, '$1 ');
    return String(value);
  }

  function renderFields(v) {
    var dl = $('d-fields'), defs = (B.fields && B.fields[v.kind]) || [], values = v.fields || {}, seen = {};
    dl.textContent = '';
    function add(label, en, f, value) {
      var div = el('div', 'kv');
      var dt = bi('dt', null, label, en);
      var dd = el('dd', f && (f.type === 'nik' || f.type === 'kk') ? 'mono' : null, fieldText(f, value));
      div.appendChild(dt); div.appendChild(dd);
      dl.appendChild(div);
    }
    defs.forEach(function (f) { seen[f.name] = 1; add(f.label_id, f.label_en, f, values[f.name]); });
    Object.keys(values).forEach(function (n) { if (!seen[n]) add(n, '', null, values[n]); });
  }

  function renderChecklist(v) {
    var ul = $('doc-checklist'), have = {}, fixDocs = $('fix-docs');
    (v.documents || []).forEach(function (d) { have[d.id] = d; });
    var required = kindInfo(v.kind).documents || [];
    var list = required.length ? required.map(function (r) { return have[r.id] || { id: r.id, label_id: r.label_id, label_en: r.label_en, uploaded: false }; }) : (v.documents || []);
    (v.documents || []).forEach(function (d) { if (list.indexOf(d) < 0) list.push(d); });
    ul.textContent = '';
    fixDocs.textContent = '';
    list.forEach(function (d) {
      var li = el('li', 'chk ' + (d.uploaded ? 'yes' : 'no'));
      li.id = 'chk-' + d.id;
      li.appendChild(el('span', 'mark', d.uploaded ? '\u2713' : '\u2717')).setAttribute('aria-label', d.uploaded ? 'ada' : 'tidak ada');
      li.appendChild(bi('span', 'chk-name', d.label_id, d.label_en));
      if (d.uploaded && d.url) {
        var b = el('button', 'btn secondary small doc-show', 'Lihat');
        b.type = 'button';
        b.setAttribute('data-doc', d.id);
        b.setAttribute('aria-controls', 'doc-viewer');
        b.setAttribute('aria-label', 'Lihat ' + d.label_id + ' \u00B7 Show');
        b.addEventListener('click', function () { showDoc(d); });
        li.appendChild(b);
      }
      ul.appendChild(li);
      var lab = el('label', 'check');
      var cb = el('input');
      cb.type = 'checkbox';
      cb.value = d.label_id + ' tidak terbaca / tidak sesuai';
      lab.appendChild(cb);
      lab.appendChild(document.createTextNode(' ' + d.label_id + ' tidak terbaca / tidak sesuai'));
      fixDocs.appendChild(lab);
    });
  }

  function showDoc(d) {
    var box = $('doc-viewer'), open_ = $('viewer-open'), rot = $('viewer-rotate');
    box.textContent = '';
    rotation = 0;
    Array.prototype.forEach.call(document.querySelectorAll('.chk'), function (li) { li.className = li.className.replace(/ shown/g, ''); });
    if (!d) {
      shownDoc = null;
      $('viewer-title').textContent = '\u2013';
      open_.hidden = true; rot.hidden = true;
      box.appendChild(bi('p', 'empty', 'Tidak ada dokumen untuk ditampilkan.', 'No document to show.'));
      return;
    }
    shownDoc = d.id;
    var li = $('chk-' + d.id);
    if (li) li.className += ' shown';
    $('viewer-title').textContent = d.label_id;
    open_.href = d.url; open_.hidden = false;
    var type = d.content_type || '';
    if (type.indexOf('image/') === 0) {
      var img = el('img');
      img.src = d.url;
      img.alt = d.label_id + ' \u00B7 ' + (d.label_en || '');
      img.id = 'viewer-img';
      box.appendChild(img);
      rot.hidden = false;
    } else {
      var f = el('iframe');
      f.src = d.url;
      f.title = d.label_id;
      box.appendChild(f);
      rot.hidden = true;
    }
  }

  function rotate() {
    var img = $('viewer-img');
    if (!img) return;
    rotation = (rotation + 90) % 360;
    img.className = 'rot' + rotation;
  }

  // ---- actions ------------------------------------------------------------------------------
  function act(part, body, btn) {
    if (busy || !view) return Promise.resolve(null);
    busy = true;
    var receipt = view.receipt_number;
    if (btn) { btn.disabled = true; btn.setAttribute('data-busy', ''); }
    $('detail-error').textContent = '';
    return command('/api/v1/lampid/applications/' + encodeURIComponent(receipt) + '/' + part, body).then(function (res) {
      busy = false;
      if (btn) { btn.disabled = false; btn.removeAttribute('data-busy'); }
      if (res.ok && res.data && res.data.status) {
        if (open === receipt) renderDetail(res.data, false);
        var w = DONE_WORDS[part];
        if (w) toast(receipt + ': ' + w[0], w[1]);
      } else if (res.status !== 401) {
        showError($('detail-error'), res.data);
      }
      loadList();
      return res;
    });
  }

  function openFix() {
    var box = $('fix-box');
    box.hidden = false;
    $('a-fix').setAttribute('aria-expanded', 'true');
    $('fix-box-error').hidden = true;
    var first = box.querySelector('input');
    (first || $('fix-reasons')).focus();
  }
  function closeFix() {
    $('fix-box').hidden = true;
    $('a-fix').setAttribute('aria-expanded', 'false');
  }
  function sendFix(evt) {
    evt.preventDefault();
    var reasons = [];
    Array.prototype.forEach.call($('fix-docs').querySelectorAll('input:checked'), function (c) { reasons.push(c.value); });
    $('fix-reasons').value.split(/\r?\n/).forEach(function (line) {
      line = line.replace(/^\s+|\s+$/g, '');
      if (line) reasons.push(line);
    });
    if (!reasons.length) {
      showError($('fix-box-error'), { message_id: 'Tulis atau pilih paling sedikit satu alasan.', message_en: 'Write or tick at least one reason.' });
      $('fix-reasons').focus();
      return;
    }
    act('request-fix', { reasons: reasons }, $('fix-send')).then(function (res) {
      if (res && res.ok) {
        $('fix-reasons').value = '';
        Array.prototype.forEach.call($('fix-docs').querySelectorAll('input'), function (c) { c.checked = false; });
        closeFix();
      }
    });
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
        history.replaceState(null, '', location.pathname);
        showLogin(null);
      });
    });
    STATUSES.forEach(function (s, i) {
      var b = $('tab-' + s);
      b.addEventListener('click', function () { if (tab !== s) selectTab(s, false); else loadList(); });
      b.addEventListener('keydown', function (e) {
        var k = e.key, j = -1;
        if (k === 'ArrowRight' || k === 'ArrowDown') j = (i + 1) % STATUSES.length;
        else if (k === 'ArrowLeft' || k === 'ArrowUp') j = (i + STATUSES.length - 1) % STATUSES.length;
        else if (k === 'Home') j = 0;
        else if (k === 'End') j = STATUSES.length - 1;
        if (j < 0) return;
        e.preventDefault();
        selectTab(STATUSES[j], true);
      });
    });
    $('app-list').addEventListener('click', function (e) {
      var b = e.target;
      while (b && b !== this && !(b.getAttribute && b.getAttribute('data-receipt'))) b = b.parentNode;
      if (b && b !== this) openApp(b.getAttribute('data-receipt'));
    });
    $('list-refresh').addEventListener('click', loadList);
    $('detail-reload').addEventListener('click', function () { if (open) openApp(open); });
    $('a-verify').addEventListener('click', function () { act('verify', {}, this); });
    $('a-fix').addEventListener('click', function () { if ($('fix-box').hidden) openFix(); else closeFix(); });
    $('fix-box').addEventListener('submit', sendFix);
    $('fix-cancel').addEventListener('click', function () { closeFix(); $('a-fix').focus(); });
    $('a-issue').addEventListener('click', function () { act('issue', {}, this); });
    $('a-hand-over').addEventListener('click', function () { act('hand-over', {}, this); });
    $('a-delivery-update').addEventListener('click', function () {
      var body = { note: $('courier-note').value.replace(/^\s+|\s+$/g, ''), courier_ref: $('courier-ref').value.replace(/^\s+|\s+$/g, '') };
      act('delivery-update', body, this).then(function (res) {
        if (res && res.ok) $('courier-note').value = '';
      });
    });
    $('a-delivered').addEventListener('click', function () {
      act('delivered', { courier_ref: $('courier-ref').value.replace(/^\s+|\s+$/g, '') }, this).then(function (res) {
        if (res && res.ok) $('courier-ref').value = '';
      });
    });
    $('viewer-rotate').addEventListener('click', rotate);
    document.addEventListener('visibilitychange', function () { if (!document.hidden && me) loadList(); });
    window.addEventListener('hashchange', function () {
      if (!me) return;
      var w = fromHash();
      if (w.tab && w.tab !== tab) selectTab(w.tab, false);
      if (w.receipt && w.receipt !== open) openApp(w.receipt);
    });
    refreshMe().then(function (res) { if (res.ok) afterLogin(); else showLogin(null); });
  });
})();
