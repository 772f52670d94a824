/* Remote booking: POST /api/v1/tickets anonymously (channel web), then go to the ticket page. */
(function () {
  'use strict';
  function key() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var a = new Uint8Array(16);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return (b + 256).toString(16).slice(1); }).join('');
  }
  document.addEventListener('DOMContentLoaded', function () {
    var form = document.getElementById('book'), btn = document.getElementById('book-submit');
    var out = document.getElementById('book-error');
    var intent = '', idem = '';
    function fail(id, en) {
      out.textContent = '';
      var s = document.createElement('strong'), e = document.createElement('span');
      s.textContent = id; e.className = 'en'; e.textContent = en;
      out.appendChild(s); out.appendChild(e);
      out.hidden = false;
      btn.disabled = false;
    }
    form.addEventListener('submit', function (evt) {
      evt.preventDefault();
      var data = new FormData(form);
      var body = { service: data.get('service'), priority: data.get('priority') || 'umum', payer: data.get('payer') || 'umum' };
      if (!body.service) { fail('Pilih layanan terlebih dahulu.', 'Please choose a service.'); return; }
      // the same choice sent twice (double tap, retry) carries the same key: one ticket
      var now = body.service + '|' + body.priority + '|' + body.payer;
      if (now !== intent) { intent = now; idem = key(); }
      body.idempotency_key = idem;
      btn.disabled = true;
      out.hidden = true;
      fetch('/api/v1/tickets', {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), credentials: 'omit'
      }).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (d) { return { ok: r.ok, d: d }; });
      }).then(function (x) {
        if (x.ok && (x.d.tracking_url || x.d.token)) {
          location.replace(x.d.tracking_url || '/t/' + encodeURIComponent(x.d.token));
        } else {
          fail(x.d.message_id || 'Nomor tidak dapat diambil.', x.d.message_en || 'The number could not be taken.');
        }
      }, function () {
        fail('Tidak dapat terhubung ke server. Coba lagi.', 'Cannot reach the server. Please try again.');
      });
    });
  });
})();
