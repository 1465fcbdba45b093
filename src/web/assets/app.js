// hl7-claims staff app: the few things a page needs beyond HTML. No inline script anywhere (the
// Content-Security-Policy forbids it); htmx is vendored and pinned (2.0.11).
(function () {
  'use strict';
  var meta = document.querySelector('meta[name="csrf-token"]');
  // htmx requests that change something carry the session's CSRF token as a header.
  document.addEventListener('htmx:configRequest', function (e) {
    if (meta) e.detail.headers['X-CSRF-Token'] = meta.getAttribute('content');
  });
  // Forms that ask before they act (bulk changes, write-offs): data-confirm="sentence".
  document.addEventListener('submit', function (e) {
    var form = e.target;
    var text = form && form.getAttribute && form.getAttribute('data-confirm');
    if (text && !window.confirm(text)) e.preventDefault();
  }, true);
})();
