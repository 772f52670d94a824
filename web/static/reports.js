/* Reports page: the admin log-in form only (the report itself is plain HTML and SVG).
   POST /api/v1/auth/login, then reload: the server renders the report for the new session. */
(function () {
  'use strict';
  var form = document.getElementById('login-form');
  if (!form) return;
  var error = document.getElementById('login-error');

  function show(id, en) {
    error.textContent = id;
    var small = document.createElement('span');
    small.className = 'en';
    small.textContent = en;
    error.appendChild(small);
    error.hidden = false;
  }

  form.addEventListener('submit', function (evt) {
    evt.preventDefault();
    error.hidden = true;
    var body = { username: form.elements.username.value.trim(), password: form.elements.password.value };
    fetch('/api/v1/auth/login', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body)
    }).then(function (res) {
      if (res.ok) { window.location.reload(); return null; }
      return res.json().then(function (data) {
        show(data.message_id || 'Gagal masuk.', data.message_en || 'Log in failed.');
      });
    }).catch(function () {
      show('Tidak dapat terhubung ke server.', 'Cannot reach the server.');
    });
  });
})();
