// hl7-claims staff app: the few things a page needs beyond HTML. No inline script anywhere (the
// Content-Security-Policy forbids it); htmx is vendored and pinned (2.0.11).
(function () {
  'use strict';
  var meta = document.querySelector('meta[name="csrf-token"]');
  // htmx requests that change something carry the session's CSRF token as a header.
  document.addEventListener('htmx:configRequest', function (e) {
    if (meta) e.detail.headers['X-CSRF-Token'] = meta.getAttribute('content');
  });

  function selectedCount() {
    return document.querySelectorAll('#bulk input[name="ids"]:checked').length;
  }
  function showCount() {
    var out = document.getElementById('selected-count');
    if (out) out.textContent = String(selectedCount());
  }
  document.addEventListener('change', function (e) {
    if (e.target && e.target.name === 'ids') showCount();
  });
  document.addEventListener('htmx:afterSwap', showCount);

  // Forms that ask before they act: data-confirm="sentence", {count} = the selected items.
  document.addEventListener('submit', function (e) {
    var form = e.target;
    var text = form && form.getAttribute && form.getAttribute('data-confirm');
    if (!text) return;
    if (form.id === 'bulk' && selectedCount() === 0) {
      e.preventDefault();
      window.alert('Select at least one item first.');
      return;
    }
    if (!window.confirm(text.replace('{count}', String(selectedCount())))) e.preventDefault();
  }, true);

  // Keyboard shortcuts on the queue (WCAG 2.1.4: they can be turned off, and are kept off once turned off).
  var KEY = 'hl7c.shortcuts';
  function shortcutsOn() {
    try { return window.localStorage.getItem(KEY) !== 'off'; } catch (err) { return true; }
  }
  function showToggle() {
    var b = document.getElementById('toggle-shortcuts');
    if (!b) return;
    var on = shortcutsOn();
    b.setAttribute('aria-pressed', on ? 'true' : 'false');
    b.textContent = on ? 'Turn shortcuts off' : 'Turn shortcuts on';
  }
  document.addEventListener('click', function (e) {
    if (e.target && e.target.id === 'toggle-shortcuts') {
      try { window.localStorage.setItem(KEY, shortcutsOn() ? 'off' : 'on'); } catch (err) { /* private mode: stays on */ }
      showToggle();
    }
  });
  document.addEventListener('DOMContentLoaded', showToggle);
  document.addEventListener('htmx:afterSwap', showToggle);

  function rows() { return Array.prototype.slice.call(document.querySelectorAll('table.queue tbody tr[data-href]')); }
  function currentIndex(list) {
    for (var i = 0; i < list.length; i++) if (list[i].classList.contains('current')) return i;
    return -1;
  }
  function move(delta) {
    var list = rows();
    if (list.length === 0) return;
    var i = currentIndex(list);
    if (i >= 0) list[i].classList.remove('current');
    var next = Math.max(0, Math.min(list.length - 1, i + delta));
    list[next].classList.add('current');
    var link = list[next].querySelector('a.item-link');
    if (link) link.focus();
  }
  document.addEventListener('keydown', function (e) {
    if (!shortcutsOn() || e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    var tag = t && t.tagName;
    if (tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA' || (t && t.isContentEditable)) return;
    if (e.key === 'j') { move(1); e.preventDefault(); }
    else if (e.key === 'k') { move(-1); e.preventDefault(); }
    else if (e.key === 'x') {
      var list = rows();
      var i = currentIndex(list);
      if (i >= 0) {
        var box = list[i].querySelector('input[name="ids"]');
        if (box) { box.checked = !box.checked; showCount(); }
        e.preventDefault();
      }
    } else if (e.key === '/') {
      var first = document.querySelector('#filters select, #filters input');
      if (first) { first.focus(); e.preventDefault(); }
    }
  });
})();
