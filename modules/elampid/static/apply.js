/* e-Lampid application form (GET /lampid): kind -> kelurahan -> fields -> documents -> receipt.
   HTTP: POST /api/v1/lampid/uploads?document=&name= (in form.js), POST /api/v1/lampid/applications
   (JSON {kind, kelurahan, fields, documents}; X-CSRF-Token; an Idempotency-Key per attempt).
   The draft (kind, kelurahan, field values, upload ids) is kept in sessionStorage so that a phone
   which reloads the tab after taking a photo does not lose the form; it is cleared on success. */
(function () {
  'use strict';
  var L = window.Lampid, B = L.boot, $ = L.$, el = L.el;
  var DRAFT = 'lampid.draft';
  var kind = null, docs = null, values = {}, saved = {}, sending = false, attempt = null, saveTimer = 0;

  function defs() { return kind ? B.fields[kind] || [] : []; }
  function kindInfo(k) { return (B.kinds && B.kinds[k]) || { label_id: k, label_en: '', documents: [] }; }

  // ---- draft ---------------------------------------------------------------------------------
  function loadDraft() {
    try { return JSON.parse(sessionStorage.getItem(DRAFT) || 'null'); } catch (e) { return null; }
  }
  function saveDraft() {
    clearTimeout(saveTimer);
    saveTimer = setTimeout(function () {
      if (!kind) return;
      var v = L.fieldValues(defs()), k;
      for (k in v) if (v.hasOwnProperty(k)) values[k] = v[k];
      syncSaved();
      try { sessionStorage.setItem(DRAFT, JSON.stringify({ kind: kind, kelurahan: $('kelurahan').value, values: values, uploads: saved })); } catch (e) { /* private mode, full */ }
    }, 300);
  }
  // the current kind's uploads into `saved` (kept across a change of kind: the witnesses' KTPs are shared)
  function syncSaved() {
    if (!docs || !kind) return;
    kindInfo(kind).documents.forEach(function (d) {
      if (docs.uploads[d.id]) saved[d.id] = docs.uploads[d.id]; else delete saved[d.id];
    });
  }
  function dropDraft() { try { sessionStorage.removeItem(DRAFT); } catch (e) { /* ignore */ } }

  // ---- building the form -----------------------------------------------------------------------
  function chooseKind(k) {
    if (!B.kinds || !B.kinds[k] || k === kind) return;
    if (kind) {  // keep what was typed: the reporter and witnesses are the same people for both kinds
      var v = L.fieldValues(defs());
      for (var n in v) if (v.hasOwnProperty(n)) values[n] = v[n];
      syncSaved();
    }
    kind = k;
    ['kelahiran', 'kematian'].forEach(function (x) {
      var b = $('kind-' + x);
      if (b) { b.setAttribute('aria-pressed', x === k ? 'true' : 'false'); b.className = 'kind' + (x === k ? ' on' : ''); }
    });
    var info = kindInfo(k);
    $('fields-en').textContent = info.label_en ? 'Details for the ' + info.label_en.toLowerCase() : 'Details';
    L.renderFields($('fields'), defs(), values);
    docs = L.docList($('docs'), info.documents, { saved: saved, onChange: function () { update(); saveDraft(); } });
    $('after-kind').hidden = false;
    L.clear($('form-error'));
    update();
    saveDraft();
  }

  function update() {
    var btn = $('submit'), hint = $('submit-hint');
    if (!docs) { btn.disabled = true; return; }
    var ready = docs.complete();
    btn.disabled = !ready || sending;
    if (sending) hint.textContent = 'Mengirim\u2026 \u00B7 Sending\u2026';
    else if (docs.busy()) hint.textContent = 'Tunggu sampai semua berkas selesai diunggah. \u00B7 Wait until every upload has finished.';
    else if (!ready) hint.textContent = 'Unggah semua dokumen untuk mengirim (' + docs.count() + ' dari ' + docs.total + '). \u00B7 Upload every document to submit (' + docs.count() + ' of ' + docs.total + ').';
    else hint.textContent = 'Semua dokumen lengkap. \u00B7 All documents are in.';
  }

  // ---- submit --------------------------------------------------------------------------------
  function body() {
    var documents = {};
    for (var d in docs.uploads) if (docs.uploads.hasOwnProperty(d)) documents[d] = docs.uploads[d].upload_id;
    return { kind: kind, kelurahan: $('kelurahan').value, fields: L.fieldValues(defs()), documents: documents };
  }

  function submit(evt) {
    evt.preventDefault();
    if (sending || !docs || !docs.complete()) return;
    var box = $('form-error');
    var bad = L.checkFields(defs());
    if (!$('kelurahan').value) bad.kelurahan = 'required';
    if (Object.keys(bad).length) {
      L.markFields(defs(), bad);
      L.showError(box, { message_id: 'Periksa isian yang ditandai.', message_en: 'Please check the marked fields.' });
      return;
    }
    L.markFields(defs(), {});
    var b = body(), text = JSON.stringify(b);
    // the same content sent again (double tap, a retry after a lost answer) carries the same key
    if (!attempt || attempt.text !== text) attempt = { text: text, key: L.key() };
    sending = true;
    L.clear(box);
    update();
    L.request('POST', '/api/v1/lampid/applications', b, { 'Idempotency-Key': attempt.key }).then(function (res) {
      sending = false;
      update();
      if (res.ok && res.data.receipt_number) { receipt(res.data, b); return; }
      failed(res.data || {});
    });
  }

  function failed(data) {
    var box = $('form-error'), p = data.params || {}, extra = [];
    if (data.code === 'invalid_application') {
      var reasons = p.reasons || {};
      (p.fields || []).forEach(function (f) { if (!reasons[f]) reasons[f] = 'format'; });
      var others = L.markFields(defs(), reasons);
      if (others.length) extra.push(['Lainnya: ' + others.join(', '), 'Other: ' + others.join(', ')]);
      else if (Object.keys(reasons).length) extra.push(['Lihat pesan di bawah setiap isian yang ditandai.', 'See the message under each marked field.']);
    } else if (data.code === 'missing_documents') {
      docs.markMissing(p.documents);
    } else if (data.code === 'unknown_upload') {
      var gone = p.documents || (p.document ? [p.document] : null);
      docs.forget(gone);
      extra.push(['Unggah lagi dokumen yang ditandai.', 'Upload the marked documents again.']);
    } else if ((data.code === 'invalid_nik' || data.code === 'invalid_kk') && p.reason) {
      extra.push(L.reasonWords(p.reason));
    } else if (data.code === 'invalid_body' && p.field) {
      extra.push(['Bagian: ' + p.field, 'Part: ' + p.field]);
    } else if (data.code === 'csrf_failed') {
      extra.push(['Muat ulang halaman ini; isian Anda tersimpan.', 'Reload this page; what you typed is kept.']);
    }
    L.showError(box, data, extra);
    saveDraft();
    update();
  }

  function receipt(r, sent) {
    dropDraft();
    if (r.csrf) L.csrf = r.csrf;
    clearTimeout(saveTimer);
    var info = kindInfo(sent.kind), app = r.application || {};
    $('receipt-kind').textContent = info.label_id + (info.label_en ? ' \u00B7 ' + info.label_en : '');
    $('receipt-kelurahan').textContent = app.kelurahan || sent.kelurahan;
    $('receipt-time').textContent = app.submitted_text || new Date().toLocaleString('id-ID');
    $('receipt-number').textContent = r.receipt_number;
    $('receipt-pin').textContent = r.pin;
    $('receipt-qr').innerHTML = r.receipt_qr || '';  // server-made SVG
    var url = r.status_url || '/lampid/r/' + encodeURIComponent(r.receipt_number);
    $('status-link').href = url;
    $('receipt-url').textContent = location.protocol + '//' + location.host + url;
    $('apply').hidden = true;
    var box = $('receipt');
    box.hidden = false;
    document.title = r.receipt_number + ' \u00B7 Tanda terima e-Lampid';
    window.scrollTo(0, 0);
    box.focus();
  }

  // ---- wiring --------------------------------------------------------------------------------
  document.addEventListener('DOMContentLoaded', function () {
    var sel = $('kelurahan');
    (B.kelurahan || []).forEach(function (k) { var o = el('option', null, k); o.value = k; sel.appendChild(o); });
    ['kelahiran', 'kematian'].forEach(function (k) {
      var b = $('kind-' + k), info = B.kinds && B.kinds[k], lbl = $('kind-' + k + '-label');
      if (!info) { b.hidden = true; return; }
      lbl.textContent = info.label_id;
      if (info.label_en) lbl.appendChild(el('span', 'en', info.label_en));
      b.addEventListener('click', function () { chooseKind(k); });
    });
    var max = B.max_upload_bytes || 5242880;
    $('max-size').textContent = $('max-size-en').textContent = Math.round(max / 1048576) + ' MB';
    $('apply-form').addEventListener('submit', submit);
    $('apply-form').addEventListener('input', saveDraft);
    $('apply-form').addEventListener('change', function (e) {
      var t = e.target;
      if (t && t.getAttribute('aria-invalid') === 'true' && t.type !== 'file' && t.value) {
        t.removeAttribute('aria-invalid');
        var err = $(t.id + '-error');
        if (err) err.textContent = '';
      }
      saveDraft();
    });
    $('print').addEventListener('click', function () { window.print(); });

    var d = loadDraft();
    if (d && d.kind && B.kinds && B.kinds[d.kind]) {
      values = d.values || {};
      saved = d.uploads || {};
      if (d.kelurahan) sel.value = d.kelurahan;
      chooseKind(d.kind);
    } else {
      var only = B.kinds ? Object.keys(B.kinds) : [];
      if (only.length === 1) chooseKind(only[0]);
    }
  });
})();
