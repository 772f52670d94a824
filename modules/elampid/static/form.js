/* e-Lampid applicant pages, shared part (loaded before apply.js and status.js): the boot data, a
   JSON request helper with X-CSRF-Token, the application fields (rendered from boot.fields) with
   their error messages, and the document checklist that uploads each file as soon as it is chosen:
     POST /api/v1/lampid/uploads?document=<doc_id>&name=<file name>   body: the file itself
   (XMLHttpRequest rather than fetch, only to show upload progress on a slow line). ES5, no framework. */
(function () {
  'use strict';
  var L = window.Lampid = {};
  var B = L.boot = JSON.parse(document.getElementById('boot').textContent);
  L.csrf = B.csrf || '';

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  // "Bahasa Indonesia" then the English in a smaller line
  function bi(tag, cls, main, en) {
    var e = el(tag, cls);
    e.appendChild(document.createTextNode(main));
    if (en) e.appendChild(el('span', 'en', en));
    return e;
  }
  L.$ = $; L.el = el; L.bi = bi;

  var NETWORK = { code: 'network', message_id: 'Tidak dapat terhubung. Periksa sinyal, lalu coba lagi.', message_en: 'Cannot connect. Check your signal and try again.' };
  var BROKEN = { code: 'server', message_id: 'Server sedang bermasalah. Coba lagi sebentar lagi.', message_en: 'The server has a problem. Please try again shortly.' };
  L.NETWORK = NETWORK;

  /* JSON request: resolves to {ok, status, data}; never rejects (status 0 = no connection). */
  L.request = function (method, path, body, headers) {
    var h = { 'Accept': 'application/json' };
    if (method !== 'GET') { h['Content-Type'] = 'application/json'; h['X-CSRF-Token'] = L.csrf; }
    if (headers) for (var k in headers) if (headers.hasOwnProperty(k)) h[k] = headers[k];
    return fetch(path, {
      method: method, headers: h, credentials: 'same-origin', cache: 'no-store',
      body: method === 'GET' ? undefined : JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().then(function (d) { return { ok: r.ok, status: r.status, data: d || {} }; },
        function () { return { ok: r.ok, status: r.status, data: r.ok ? {} : BROKEN }; });
    }, function () { return { ok: false, status: 0, data: NETWORK }; });
  };

  L.key = function () {
    var a = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(a);
    return 'lmp-' + Array.prototype.map.call(a, function (b) { return (b + 256).toString(16).slice(1); }).join('');
  };

  function retryText(params) {
    var s = params && params.retry_after_s;
    if (typeof s !== 'number') return null;
    return s >= 90 ? ['Coba lagi dalam ' + Math.ceil(s / 60) + ' menit.', 'Try again in ' + Math.ceil(s / 60) + ' min.']
      : ['Coba lagi dalam ' + s + ' detik.', 'Try again in ' + s + ' s.'];
  }

  /* An error body {code, message_id, message_en, params} into box (a role=alert element); extra: [[id, en], ...] */
  L.showError = function (box, data, extra) {
    box.textContent = '';
    if (!data) return;
    box.appendChild(bi('strong', null, data.message_id || 'Permintaan ditolak.', data.message_en || 'Request refused.'));
    var lines = (extra || []).slice();
    var r = data.code === 'rate_limited' ? retryText(data.params) : null;
    if (r) lines.push(r);
    lines.forEach(function (x) { box.appendChild(bi('span', 'line', x[0], x[1])); });
  };
  L.clear = function (box) { box.textContent = ''; };

  // ---- reason codes -> words --------------------------------------------------------------
  var REASONS = {
    required: ['Wajib diisi.', 'Required.'],
    format: ['Format tidak sesuai.', 'Wrong format.'],
    length: ['Harus tepat 16 angka.', 'Must be exactly 16 digits.'],
    not_digits: ['Hanya angka 0-9.', 'Digits 0-9 only.'],
    province: ['Kode provinsi (2 angka pertama) tidak dikenal.', 'Unknown province code (first 2 digits).'],
    regency: ['Kode kabupaten/kota (angka 3-4) tidak valid.', 'Invalid regency code (digits 3-4).'],
    district: ['Kode kecamatan (angka 5-6) tidak valid.', 'Invalid district code (digits 5-6).'],
    birth_date: ['Tanggal lahir di dalam nomor (angka 7-12) tidak valid.', 'The birth date inside the number (digits 7-12) is not valid.'],
    birth_date_mismatch: ['Tidak cocok dengan tanggal lahir.', 'Does not match the date of birth.'],
    sex_mismatch: ['Tidak cocok dengan jenis kelamin (perempuan: tanggal + 40).', 'Does not match the sex (women: day + 40).'],
    serial: ['Nomor urut (4 angka terakhir) tidak boleh 0000.', 'The serial (last 4 digits) cannot be 0000.'],
    issue_date: ['Tanggal terbit di dalam nomor KK tidak valid.', 'The issue date inside the KK number is not valid.'],
    checksum: ['Nomor tidak valid. Periksa kembali.', 'The number is not valid. Please check it.'],
    too_long: ['Terlalu panjang (paling banyak 100 huruf).', 'Too long (100 characters at most).'],
    future: ['Tanggal tidak boleh setelah hari ini.', 'The date cannot be after today.'],
    in_future: ['Tanggal tidak boleh setelah hari ini.', 'The date cannot be after today.'],
    too_early: ['Tanggal terlalu lama (sebelum 1900).', 'The date is too early (before 1900).'],
    not_a_date: ['Tanggal tidak valid.', 'Not a valid date.'],
    invalid_choice: ['Pilihan tidak valid.', 'Not a valid choice.'],
    same_as_witness1: ['Saksi 2 harus orang lain, bukan saksi 1.', 'Witness 2 must be someone other than witness 1.']
  };
  L.reasonWords = function (code) { return REASONS[code] || ['Isian tidak valid.', 'Not valid.']; };

  // ---- fields ------------------------------------------------------------------------------
  // a heading whenever the name's first part changes group (purely cosmetic: unknown names just follow)
  var GROUP_OF = { child: 'child', birth: 'child', deceased: 'dead', death: 'dead', cause: 'dead', mother: 'mother',
    father: 'father', kk: 'kk', reporter: 'reporter', witness1: 'w1', witness2: 'w2' };
  var GROUPS = {
    child: ['Data anak', 'The child'], dead: ['Data almarhum / almarhumah', 'The deceased'],
    mother: ['Ibu', 'Mother'], father: ['Ayah', 'Father'], kk: ['Kartu Keluarga', 'Family card'],
    reporter: ['Pelapor', 'Reporter (you)'], w1: ['Saksi 1', 'Witness 1'], w2: ['Saksi 2', 'Witness 2']
  };
  function today() {
    var d = new Date();
    return d.getFullYear() + '-' + ('0' + (d.getMonth() + 1)).slice(-2) + '-' + ('0' + d.getDate()).slice(-2);
  }
  function isNumber(f) { return f.type === 'nik' || f.type === 'kk'; }
  function counterText(f, v) { return (f.type === 'kk' ? 'Nomor KK' : 'NIK') + ': 16 angka \u00B7 16 digits (' + v.length + '/16)'; }

  function fieldRow(f, value) {
    var id = 'f-' + f.name, row = el('div', 'field'), input;
    row.id = 'row-' + f.name;
    var label = bi('label', null, f.label_id, f.label_en);
    label.htmlFor = id;
    if (f.optional) label.insertBefore(el('small', 'opt', ' (opsional \u00B7 optional)'), label.lastChild);
    row.appendChild(label);
    if (f.type === 'select') {
      input = el('select');
      var none = el('option', null, '\u2014 Pilih \u00B7 Choose \u2014');
      none.value = '';
      input.appendChild(none);
      (f.options || []).forEach(function (o) {
        var opt = el('option', null, o[1] + (o[2] ? ' \u00B7 ' + o[2] : ''));
        opt.value = o[0];
        input.appendChild(opt);
      });
    } else {
      input = el('input');
      input.type = f.type === 'date' ? 'date' : 'text';
      if (f.type === 'date') { input.max = today(); input.min = '1900-01-01'; input.placeholder = 'YYYY-MM-DD'; }
      if (isNumber(f)) {
        input.setAttribute('inputmode', 'numeric');
        input.maxLength = 16;
        input.pattern = '[0-9]{16}';
        input.className = 'mono';
        input.spellcheck = false;
      } else if (f.type === 'text') {
        input.maxLength = 100;
      }
      input.autocomplete = 'off';
    }
    input.id = id;
    input.name = f.name;
    if (!f.optional) { input.required = true; input.setAttribute('aria-required', 'true'); }
    var described = [];
    if (isNumber(f)) {
      var hint = el('p', 'hint', counterText(f, ''));
      hint.id = id + '-hint';
      row.appendChild(input);
      row.appendChild(hint);
      described.push(hint.id);
      input.addEventListener('input', function () {
        var clean = input.value.replace(/\D+/g, '');
        if (clean !== input.value) input.value = clean;
        hint.textContent = counterText(f, clean);
      });
    } else {
      row.appendChild(input);
    }
    var err = el('p', 'field-err');
    err.id = id + '-error';
    row.appendChild(err);
    described.push(err.id);
    input.setAttribute('aria-describedby', described.join(' '));
    if (value != null && value !== '') {
      if (isNumber(f) && !/^[0-9]*$/.test(String(value))) {
        // a masked number ("357801**********"): it cannot be sent back, the applicant types it again
        input.placeholder = String(value);
        var again = el('p', 'hint masked', 'Tersimpan ' + value + '. Ketik ulang nomor lengkap (disembunyikan demi keamanan).');
        again.appendChild(el('span', 'en', 'Saved as ' + value + '. Type the full number again (hidden for your privacy).'));
        again.id = id + '-masked';
        row.insertBefore(again, row.querySelector('.field-err'));
        input.setAttribute('aria-describedby', again.id + ' ' + input.getAttribute('aria-describedby'));
      } else {
        input.value = String(value);
        if (isNumber(f)) row.querySelector('.hint').textContent = counterText(f, input.value);
      }
    }
    return row;
  }

  /* Render the fields of one kind into box, prefilled from values ({name: value}). */
  L.renderFields = function (box, defs, values) {
    box.textContent = '';
    var group = null;
    (defs || []).forEach(function (f) {
      var g = GROUP_OF[f.name.split('_')[0]];
      if (g && g !== group) { group = g; box.appendChild(bi('h3', 'group', GROUPS[g][0], GROUPS[g][1])); }
      box.appendChild(fieldRow(f, values ? values[f.name] : null));
    });
  };

  L.fieldValues = function (defs) {
    var out = {};
    (defs || []).forEach(function (f) {
      var e = $('f-' + f.name);
      if (e) out[f.name] = f.type === 'select' || f.type === 'date' ? e.value : e.value.replace(/^\s+|\s+$/g, '');
    });
    return out;
  };

  /* Client-side checks (the server checks everything again): required, 16 digits, no future date. */
  L.checkFields = function (defs) {
    var bad = {}, values = L.fieldValues(defs), now = today();
    (defs || []).forEach(function (f) {
      var v = values[f.name];
      if (v == null) return;
      if (!v) { if (!f.optional) bad[f.name] = 'required'; return; }
      if (isNumber(f) && !/^[0-9]{16}$/.test(v)) bad[f.name] = 'length';
      else if (f.type === 'date' && v > now) bad[f.name] = 'in_future';
    });
    return bad;
  };

  /* Mark bad fields (reasons: {name: code}); fields not in the form come back as a list. */
  L.markFields = function (defs, reasons) {
    reasons = reasons || {};
    var known = {}, first = null, others = [];
    (defs || []).forEach(function (f) { known[f.name] = 1; });
    known.kelurahan = 1;
    Object.keys(known).forEach(function (name) {
      var input = name === 'kelurahan' ? $('kelurahan') : $('f-' + name);
      var err = name === 'kelurahan' ? $('kelurahan-error') : $('f-' + name + '-error');
      if (!input || !err) return;
      var code = reasons[name];
      err.textContent = '';
      if (code) {
        var w = L.reasonWords(code);
        input.setAttribute('aria-invalid', 'true');
        err.appendChild(document.createTextNode(w[0] + ' '));
        err.appendChild(el('span', 'en-i', w[1]));
        err.appendChild(el('code', null, code));
        if (!first) first = input;
      } else {
        input.removeAttribute('aria-invalid');
      }
    });
    Object.keys(reasons).forEach(function (name) {
      var where = name === 'kelurahan' ? $('kelurahan') : $('f-' + name);
      if (!where) others.push(name + ': ' + reasons[name]);
    });
    if (first) first.focus();
    return others;
  };

  // ---- documents -----------------------------------------------------------------------------
  var UPLOAD_REASONS = {
    empty: ['Berkas kosong.', 'The file is empty.'],
    too_large: ['Berkas lebih besar dari batas.', 'The file is larger than the limit.'],
    executable: ['Program atau arsip (zip, apk, exe) tidak diterima.', 'Programs and archives (zip, apk, exe) are not accepted.'],
    unsupported_type: ['Hanya PDF, JPG atau PNG.', 'Only PDF, JPG or PNG.'],
    type_mismatch: ['Isi berkas tidak sesuai dengan nama/ekstensinya.', "The file's content does not match its name."],
    active_content: ['PDF berisi skrip atau lampiran. Simpan ulang sebagai PDF biasa, atau kirim foto.', 'The PDF contains scripts or attachments. Save it as a plain PDF, or send a photo.']
  };
  function mb(bytes) { return (bytes / 1048576).toFixed(1).replace('.', ',') + ' MB'; }
  function size(bytes) { return bytes >= 1048576 ? mb(bytes) : Math.max(1, Math.round(bytes / 1024)) + ' KB'; }
  L.size = size;

  /* The document checklist in box (a <ul>). opts: {existing: {doc_id: view doc} (replace mode),
     saved: {doc_id: {upload_id, name, size}}, onChange: fn()}. Returns {uploads, busy(), complete(),
     markMissing(ids), forget(ids)}. Ids per row: doc-<id> (file input), doc-<id>-status. */
  L.docList = function (box, docs, opts) {
    opts = opts || {};
    var uploads = {}, pending = {}, existing = opts.existing || null;
    var max = B.max_upload_bytes || 5242880;
    var accept = (B.accept || 'application/pdf,image/jpeg,image/png');
    var okTypes = accept.split(',');
    box.textContent = '';

    function changed() { if (opts.onChange) opts.onChange(); }

    function setStatus(d, cls, main, en) {
      var st = $('doc-' + d.id + '-status'), row = $('doc-row-' + d.id);
      st.className = 'doc-status ' + (cls || '');
      st.textContent = '';
      if (main) { st.appendChild(document.createTextNode(main)); if (en) st.appendChild(el('span', 'en', en)); }
      var has = !!uploads[d.id] || (existing && existing[d.id] && existing[d.id].uploaded);
      row.className = 'doc' + (uploads[d.id] ? ' done' : has ? ' kept' : '') + (cls === 'bad' ? ' bad' : '');
      row.querySelector('.doc-mark').textContent = has ? '\u2713' : cls === 'bad' ? '!' : '\u25CB';
    }

    function showDone(d) {
      var u = uploads[d.id];
      $('doc-' + d.id).removeAttribute('aria-invalid');
      setStatus(d, 'ok', '\u2713 ' + (existing ? 'Diganti: ' : 'Terunggah: ') + u.name + ' (' + size(u.size) + ')',
        existing ? 'Replaced' : 'Uploaded');
    }

    function refuse(d, main, en, extra) {
      $('doc-' + d.id).setAttribute('aria-invalid', 'true');
      setStatus(d, 'bad', main, en);
      if (extra) $('doc-' + d.id + '-status').appendChild(bi('span', 'line', extra[0], extra[1]));
    }

    function typeOk(file) {
      if (file.type && okTypes.indexOf(file.type) >= 0) return true;
      return /\.(pdf|jpe?g|png)$/i.test(file.name || '');
    }

    function send(d, file) {
      if (pending[d.id]) pending[d.id].abort();
      delete uploads[d.id];
      var x = new XMLHttpRequest(), row = $('doc-row-' + d.id), retry = row.querySelector('.retry');
      pending[d.id] = x;
      retry.hidden = true;
      var bar = el('progress');
      bar.max = 100; bar.value = 0;
      setStatus(d, 'busy', 'Mengunggah\u2026 0%', 'Uploading\u2026');
      var st = $('doc-' + d.id + '-status');
      st.appendChild(bar);
      changed();
      x.open('POST', '/api/v1/lampid/uploads?document=' + encodeURIComponent(d.id) + '&name=' + encodeURIComponent(file.name || 'berkas'));
      x.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
      x.setRequestHeader('X-CSRF-Token', L.csrf);
      x.setRequestHeader('Accept', 'application/json');
      if (x.upload) x.upload.onprogress = function (e) {
        if (!e.lengthComputable) return;
        var p = Math.floor(e.loaded * 100 / e.total);
        bar.value = p;
        st.firstChild.nodeValue = 'Mengunggah\u2026 ' + p + '%';
      };
      function failNet() {
        if (pending[d.id] !== x) return;
        delete pending[d.id];
        refuse(d, NETWORK.message_id, NETWORK.message_en);
        retry.hidden = false;
        retry.onclick = function () { send(d, file); };
        changed();
      }
      x.onerror = failNet;
      x.ontimeout = failNet;
      x.onload = function () {
        if (pending[d.id] !== x) return;
        delete pending[d.id];
        var data = {};
        try { data = JSON.parse(x.responseText) || {}; } catch (e) { data = x.status >= 200 && x.status < 300 ? {} : BROKEN; }
        if (x.status >= 200 && x.status < 300 && data.upload_id) {
          uploads[d.id] = { upload_id: data.upload_id, name: file.name || 'berkas', size: data.size || file.size };
          showDone(d);
        } else {
          var extra = data.code === 'upload_rejected' && data.params ? UPLOAD_REASONS[data.params.reason] : retryText(data.params);
          refuse(d, data.message_id || BROKEN.message_id, data.message_en || BROKEN.message_en, extra);
          if (x.status === 0 || x.status >= 500 || data.code === 'rate_limited') { retry.hidden = false; retry.onclick = function () { send(d, file); }; }
          else $('doc-' + d.id).value = '';  // refused: choosing the same file again must fire "change
        }
        changed();
      };
      x.send(file);
    }

    function choose(d, input) {
      var file = input.files && input.files[0];
      if (!file) return;
      if (file.size > max) {
        if (pending[d.id]) { pending[d.id].abort(); delete pending[d.id]; }
        delete uploads[d.id];
        refuse(d, 'Berkas terlalu besar (' + mb(file.size) + '). Paling besar ' + mb(max) + '. Perkecil foto atau pindai ulang.',
          'File too large (' + mb(file.size) + '). The limit is ' + mb(max) + '. Use a smaller photo or scan.');
        input.value = '';
        changed();
        return;
      }
      if (!typeOk(file)) {
        refuse(d, 'Hanya PDF, JPG atau PNG.', 'Only PDF, JPG or PNG files.');
        input.value = '';
        changed();
        return;
      }
      send(d, file);
    }

    (docs || []).forEach(function (d) {
      var li = el('li', 'doc'), head = el('div', 'doc-head');
      li.id = 'doc-row-' + d.id;
      head.appendChild(el('span', 'doc-mark', '\u25CB')).setAttribute('aria-hidden', 'true');
      var label = bi('label', null, d.label_id, d.label_en);
      label.htmlFor = 'doc-' + d.id;
      head.appendChild(label);
      li.appendChild(head);
      var have = existing && existing[d.id];
      if (have && have.uploaded && have.url) {
        var a = el('a', 'doc-open', 'Lihat berkas sekarang \u00B7 View current file');
        a.href = have.url; a.target = '_blank'; a.rel = 'noopener';
        li.appendChild(a);
      }
      var pick = el('div', 'doc-pick');
      if (existing) pick.appendChild(bi('span', 'pick-lbl', 'Ganti', 'Replace')).setAttribute('aria-hidden', 'true');
      var input = el('input');
      input.type = 'file';
      input.id = 'doc-' + d.id;
      input.name = 'doc-' + d.id;
      input.accept = accept;
      input.setAttribute('aria-describedby', 'doc-' + d.id + '-status');
      if (existing) input.setAttribute('aria-label', 'Ganti \u00B7 Replace: ' + d.label_id);
      input.addEventListener('change', function () { choose(d, input); });
      pick.appendChild(input);
      li.appendChild(pick);
      var st = el('p', 'doc-status');
      st.id = 'doc-' + d.id + '-status';
      st.setAttribute('aria-live', 'polite');
      li.appendChild(st);
      var retry = el('button', 'btn secondary small retry', 'Coba unggah lagi \u00B7 Retry');
      retry.type = 'button'; retry.hidden = true;
      li.appendChild(retry);
      box.appendChild(li);
      var saved = opts.saved && opts.saved[d.id];
      if (saved && saved.upload_id) { uploads[d.id] = saved; showDone(d); }
      else if (have && have.uploaded) setStatus(d, 'kept', 'Berkas saat ini tetap dipakai.', 'The current file is kept.');
      else if (existing) setStatus(d, '', 'Belum ada berkas: wajib diunggah.', 'No file yet: please upload one.');
    });

    var byId = {};
    (docs || []).forEach(function (d) { byId[d.id] = d; });
    return {
      uploads: uploads,
      busy: function () { return Object.keys(pending).length > 0; },
      count: function () { return (docs || []).filter(function (d) { return uploads[d.id] || (existing && existing[d.id] && existing[d.id].uploaded); }).length; },
      total: (docs || []).length,
      complete: function () { return !this.busy() && this.count() === this.total; },
      markMissing: function (ids) {
        (ids || []).forEach(function (id) {
          if (byId[id]) refuse(byId[id], 'Dokumen ini belum diunggah.', 'This document is not uploaded yet.');
        });
      },
      forget: function (ids) {
        (ids || Object.keys(uploads)).forEach(function (id) {
          if (!byId[id] || !uploads[id]) return;
          delete uploads[id];
          refuse(byId[id], 'Berkas kedaluwarsa di server. Unggah lagi.', 'The upload expired on the server. Please upload it again.');
        });
        changed();
      }
    };
  };
})();
