/* The rating card on the phone page (modules/feedback), inlined only when the module is enabled. Shown once
   the visit is done (window.antrePhone.onTicket, from phone.js); a rating 1-5 and an optional comment go to
   PUT /api/v1/tickets/<token>/feedback; a second answer replaces the first. ES5, no framework. */
(function () {
  'use strict';
  function $(id) { return document.getElementById(id); }
  var P = window.antrePhone, card = $('fb');
  if (!P || !card) return;
  var url = '/api/v1/tickets/' + encodeURIComponent(P.token) + '/feedback';
  var form = $('fb-form'), thanks = $('fb-thanks'), box = $('fb-comment'), send = $('fb-send');
  var LABELS = ['', 'Sangat buruk', 'Buruk', 'Cukup', 'Baik', 'Sangat baik'];
  var asked = false;

  function count() { $('fb-count').textContent = box.value.length + '/' + box.maxLength; }
  function fail(s) { $('fb-err').textContent = s; }
  function chosen() {
    var r = form.querySelector('input[name=rating]:checked');
    return r ? parseInt(r.value, 10) : 0;
  }
  // an answer from the server: {done, rated, rating, comment}
  function show(a) {
    var rated = !!(a && a.rated);
    form.hidden = rated;
    thanks.hidden = !rated;
    if (!rated) return;
    $('fb-given').textContent = 'Nilai Anda: ' + a.rating + ' dari 5 (' + LABELS[a.rating] + ') \u00B7 Your rating: ' + a.rating + ' of 5';
    var r = $('fb-' + a.rating);
    if (r) r.checked = true;
    box.value = a.comment || '';  // as stored: numbers and e-mail addresses removed
    count();
  }

  P.onTicket(function (d) {
    var done = d.status === 'done';
    card.hidden = !done;
    if (!done || asked) return;
    asked = true;
    fetch(url, { cache: 'no-store', credentials: 'omit' }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (a) { if (a) show(a); }).catch(function () { /* offline: the form stays */ });
  });

  box.addEventListener('input', count);
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var rating = chosen();
    if (!rating) { fail('Pilih salah satu nilai dulu. \u00B7 Choose a rating first.'); return; }
    fail('');
    send.disabled = true;
    fetch(url, {
      method: 'PUT', credentials: 'omit', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ rating: rating, comment: box.value })
    }).then(function (r) {
      return r.json().then(function (d) { return { ok: r.ok, d: d }; });
    }).then(function (x) {
      send.disabled = false;
      if (x.ok) show(x.d); else fail((x.d.message_id || 'Gagal.') + ' ' + (x.d.message_en || ''));
    }, function () {
      send.disabled = false;
      fail('Tidak dapat terhubung. Coba lagi. \u00B7 Cannot connect; try again.');
    });
  });
  $('fb-edit').addEventListener('click', function () {
    thanks.hidden = true;
    form.hidden = false;
    send.focus();
  });
})();
