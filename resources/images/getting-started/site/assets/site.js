// The tutorial's only script: the language choice (remembered in
// localStorage), copy buttons on commands, the contents menu on small
// screens, and the current section in the sidebar. Loaded in <head> without
// defer so a remembered language switches pages before anything is drawn.
(function () {
  'use strict';
  var KEY = 'berth.getting-started.lang';
  var root = document.documentElement;
  var lang = root.getAttribute('data-lang');

  function stored() {
    try { return localStorage.getItem(KEY); } catch (e) { return null; }
  }
  function remember(l) {
    try { localStorage.setItem(KEY, l); } catch (e) { /* private mode: the link still works */ }
  }

  // A choice made earlier wins; before any choice, a browser set to Chinese gets the Chinese page.
  var wanted = stored();
  if (!wanted) {
    var nav = (navigator.languages && navigator.languages[0]) || navigator.language || '';
    if (/^zh\b/i.test(nav)) wanted = 'zh';
  }
  var alternate = document.querySelector('link[rel="alternate"][hreflang]');
  if (wanted && wanted !== lang && (wanted === 'en' || wanted === 'zh') && alternate) {
    location.replace(alternate.href + location.hash);
    return;
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return new Promise(function (resolve, reject) {
      var area = document.createElement('textarea');
      area.value = text;
      area.setAttribute('readonly', '');
      area.style.position = 'fixed';
      area.style.opacity = '0';
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
      document.body.removeChild(area);
      if (ok) resolve(); else reject(new Error('copy refused'));
    });
  }

  // Commands are copied without prompts or comment lines (zsh would run a pasted "# ..." as a command).
  function textOf(pre) {
    if (pre.classList.contains('cmd')) {
      return Array.prototype.map.call(pre.querySelectorAll('.line'), function (l) { return l.textContent; }).join('\n');
    }
    return pre.textContent.replace(/\n?$/, '\n');
  }

  function addCopyButtons() {
    var label = root.getAttribute('data-copy');
    var done = root.getAttribute('data-copied');
    var failed = root.getAttribute('data-copy-failed');
    document.querySelectorAll('pre.cmd, pre.file').forEach(function (pre) {
      var button = document.createElement('button');
      button.type = 'button';
      button.className = 'copy';
      button.textContent = label;
      var timer;
      button.addEventListener('click', function () {
        var show = function (text, cls) {
          button.textContent = text;
          button.classList.add(cls);
          clearTimeout(timer);
          timer = setTimeout(function () {
            button.textContent = label;
            button.classList.remove('done', 'failed');
          }, 1600);
        };
        copyText(textOf(pre)).then(function () { show(done, 'done'); }, function () {
          var range = document.createRange();
          range.selectNodeContents(pre);
          var sel = window.getSelection();
          sel.removeAllRanges();
          sel.addRange(range);
          show(failed, 'failed');
        });
      });
      pre.parentNode.appendChild(button);
    });
  }

  function setUpLanguageSwitch() {
    var link = document.querySelector('.lang-switch');
    if (!link) return;
    link.addEventListener('click', function (ev) {
      remember(link.getAttribute('data-lang'));
      ev.preventDefault();
      location.href = link.href.replace(/#.*$/, '') + location.hash;
    });
  }

  function setUpMenu() {
    var button = document.querySelector('.menu');
    if (!button) return;
    var close = function () {
      document.body.classList.remove('nav-open');
      button.setAttribute('aria-expanded', 'false');
    };
    button.addEventListener('click', function () {
      var open = document.body.classList.toggle('nav-open');
      button.setAttribute('aria-expanded', String(open));
    });
    document.querySelectorAll('.sidebar a').forEach(function (a) { a.addEventListener('click', close); });
    document.addEventListener('keydown', function (ev) { if (ev.key === 'Escape') close(); });
  }

  // The current section is the last one whose top has passed just below the top bar.
  function setUpScrollSpy() {
    var sections = Array.prototype.slice.call(document.querySelectorAll('main section[id]'));
    var links = {};
    document.querySelectorAll('.sidebar a[href^="#"]').forEach(function (a) { links[a.getAttribute('href').slice(1)] = a; });
    var shown = null;
    var pending = false;
    function update() {
      pending = false;
      var line = document.querySelector('.topbar').getBoundingClientRect().bottom + 32;
      var current = sections[0] && sections[0].id;
      sections.forEach(function (s) { if (s.getBoundingClientRect().top <= line) current = s.id; });
      if (current === shown) return;
      if (shown && links[shown]) links[shown].removeAttribute('aria-current');
      if (current && links[current]) links[current].setAttribute('aria-current', 'true');
      shown = current;
    }
    window.addEventListener('scroll', function () {
      if (!pending) { pending = true; requestAnimationFrame(update); }
    }, { passive: true });
    window.addEventListener('hashchange', update);
    update();
  }

  document.addEventListener('DOMContentLoaded', function () {
    setUpLanguageSwitch();
    addCopyButtons();
    setUpMenu();
    setUpScrollSpy();
  });
})();
