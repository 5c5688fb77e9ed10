// Shared helpers of the admin pages. Data from the server is only ever put into the page as text
// (textContent, attribute values), never parsed as HTML: model names and log contents come from
// whoever calls the gateway.
'use strict';

(function () {
  const strings = JSON.parse(document.getElementById('i18n').textContent || '{}');
  const lang = document.body.dataset.lang || 'en';
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : '';

  // t looks up a catalogue string and fills {name} placeholders.
  function t(key, vars) {
    let s = Object.prototype.hasOwnProperty.call(strings, key) ? strings[key] : key;
    if (vars) {
      for (const [k, v] of Object.entries(vars)) s = s.split('{' + k + '}').join(String(v));
    }
    return s;
  }

  // label translates a value the server names with a fixed identifier (an error type, an attempt's
  // class, a known reason): the catalogue's prefix+value when there is one, the value itself otherwise.
  function label(prefix, value) {
    if (value === undefined || value === null || value === '') return '–';
    const key = prefix + value;
    return Object.prototype.hasOwnProperty.call(strings, key) ? strings[key] : String(value);
  }

  // reason explains why a key is disabled: the reasons gemgate writes itself are translated; Google's
  // own message is quoted as it is.
  function reason(text) {
    if (!text) return '';
    const streak = 'too many consecutive failures: ';
    if (text.startsWith(streak)) return t('reason.streak', { msg: text.slice(streak.length) });
    return label('reason.', text);
  }

  // el builds an element: el('button.btn.small', {type: 'button', onclick}, 'text', child, ...).
  // Strings become text nodes; attributes are set as attributes or properties, never as markup.
  function el(spec, attrs, ...children) {
    const [tag, ...classes] = spec.split('.');
    const node = document.createElement(tag || 'div');
    if (classes.length) node.className = classes.join(' ');
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(node.dataset, v);
      else if (k === 'text') node.textContent = v;
      else if (k in node && typeof v !== 'string') node[k] = v;
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.firstChild.remove();
    return node;
  }

  class APIError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  let expiredShown = false;

  // sessionExpired tells the admin to log in again without leaving the page, so unsaved settings are
  // not lost: logging in in another tab and saving again works.
  function sessionExpired() {
    if (expiredShown) return;
    expiredShown = true;
    const next = encodeURIComponent(location.pathname);
    const box = el('div.banner.warn', { role: 'alert' },
      el('p', {}, t('session.expired')),
      el('a.btn.primary', { href: '/?e=session&next=' + next, target: '_blank', rel: 'noopener' }, t('session.login')));
    document.body.prepend(box);
  }

  // api calls the admin JSON API with the session cookie and, for changes, the CSRF token.
  async function api(method, path, body) {
    const opts = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
    if (method !== 'GET') opts.headers['X-CSRF-Token'] = csrf;
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(path, opts);
    } catch (e) {
      throw new APIError(0, t('error.network'));
    }
    const text = await resp.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (resp.status === 401) {
      sessionExpired();
      throw new APIError(401, t('session.expired'));
    }
    if (!resp.ok) {
      const msg = (data && data.error && data.error.message) || text || resp.statusText;
      throw new APIError(resp.status, msg);
    }
    return data === null ? text : data;
  }

  function toast(message, kind) {
    const box = document.getElementById('toasts');
    const node = el('div.toast' + (kind ? '.' + kind : ''), { role: kind === 'error' ? 'alert' : 'status' }, message);
    box.append(node);
    setTimeout(() => node.remove(), kind === 'error' ? 8000 : 4000);
  }

  function fail(err) {
    toast(err && err.message ? err.message : String(err), 'error');
  }

  // modal opens a dialog; actions are {label, kind, onClick} and onClick returning false keeps it open.
  function modal({ title, body, actions, wide, onClose }) {
    const d = el('dialog' + (wide ? '.wide' : ''), { 'aria-label': title });
    const close = () => d.close();
    const head = el('div.dialog-head', {}, el('h2', {}, title),
      el('button.btn.ghost.icon', { type: 'button', 'aria-label': t('common.close'), onclick: close }, '✕'));
    const foot = el('div.dialog-foot');
    for (const a of actions || [{ label: t('common.close') }]) {
      foot.append(el('button.btn' + (a.kind ? '.' + a.kind : ''), {
        type: 'button',
        dataset: a.id ? { action: a.id } : undefined,
        onclick: async (ev) => {
          if (!a.onClick) return close();
          const button = ev.currentTarget;
          button.disabled = true;
          try {
            if ((await a.onClick(d)) !== false) close();
          } catch (e) {
            fail(e);
          } finally {
            button.disabled = false;
          }
        },
      }, a.label));
    }
    d.append(head, el('div.dialog-body', {}, body), foot);
    d.addEventListener('close', () => {
      d.remove();
      if (onClose) onClose();
    });
    document.body.append(d);
    d.showModal();
    return { dialog: d, close, body: d.querySelector('.dialog-body') };
  }

  function confirmBox(message, opts) {
    opts = opts || {};
    return new Promise((resolve) => {
      let answer = false;
      modal({
        title: opts.title || t('common.confirm'),
        body: el('p', {}, message),
        actions: [
          { label: t('common.cancel') },
          { label: opts.ok || t('common.ok'), kind: opts.danger ? 'danger' : 'primary', id: 'confirm', onClick: () => { answer = true; } },
        ],
        onClose: () => resolve(answer),
      });
    });
  }

  // copyText uses the clipboard API where the page is a secure context, and a hidden textarea where it
  // is not (plain HTTP on a LAN address), so copying works in both.
  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch (e) { /* fall through to the textarea */ }
    }
    const area = el('textarea', { readonly: true, 'aria-hidden': 'true' });
    area.value = text;
    area.className = 'offscreen';
    document.body.append(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    area.remove();
    return ok;
  }

  async function copyAndTell(text, count) {
    if (await copyText(text)) toast(count !== undefined ? t('copy.done_n', { n: count }) : t('copy.done'), 'ok');
    else toast(t('copy.failed'), 'error');
  }

  const numberFmt = new Intl.NumberFormat(lang === 'zh' ? 'zh-CN' : 'en');
  const locale = lang === 'zh' ? 'zh-CN' : 'en';
  const fmt = {
    n: (v) => (v === undefined || v === null ? '–' : numberFmt.format(v)),
    time: (iso) => {
      if (!iso) return '–';
      const d = new Date(iso);
      return isNaN(d) ? String(iso) : d.toLocaleString(locale, { hour12: false });
    },
    // left is "12s", "4m 05s", "3h 20m" until iso.
    left: (iso) => {
      const ms = new Date(iso) - Date.now();
      if (!(ms > 0)) return '0s';
      const s = Math.ceil(ms / 1000);
      if (s < 60) return s + 's';
      if (s < 3600) return Math.floor(s / 60) + 'm ' + String(s % 60).padStart(2, '0') + 's';
      return Math.floor(s / 3600) + 'h ' + String(Math.floor((s % 3600) / 60)).padStart(2, '0') + 'm';
    },
    pct: (part, total) => (total ? Math.round((part / total) * 1000) / 10 + '%' : '–'),
  };

  // pretty indents JSON for reading and leaves anything else as it is.
  function pretty(text) {
    if (text === undefined || text === null) return '';
    if (typeof text !== 'string') return JSON.stringify(text, null, 2);
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch (e) {
      return text;
    }
  }

  // pager renders page buttons and a jump box into nav; onPage gets the new offset.
  function pager(nav, { total, offset, limit, onPage }) {
    clear(nav);
    const pages = Math.max(1, Math.ceil(total / limit));
    const page = Math.floor(offset / limit) + 1;
    const go = (p) => onPage((Math.min(Math.max(p, 1), pages) - 1) * limit);
    nav.append(
      el('button.btn.small', { type: 'button', disabled: page <= 1, onclick: () => go(page - 1), 'aria-label': t('common.prev') }, '‹'),
      el('span.muted', {}, t('common.page_of', { page, pages })),
      el('button.btn.small', { type: 'button', disabled: page >= pages, onclick: () => go(page + 1), 'aria-label': t('common.next') }, '›'),
    );
    if (pages > 2) {
      const box = el('input', { type: 'number', min: 1, max: pages, value: page, 'aria-label': t('common.jump') });
      box.addEventListener('change', () => go(parseInt(box.value, 10) || 1));
      nav.append(box);
    }
  }

  function field(label, value) {
    return [el('dt', {}, label), el('dd', {}, value === undefined || value === null || value === '' ? '–' : value)];
  }

  function codeBlock(text) {
    return el('pre.code', {}, pretty(text));
  }

  // statusPill shows an HTTP status with a colour by class.
  function statusPill(code) {
    const cls = code >= 200 && code < 300 ? 'ok' : code === 429 ? 'warn' : 'bad';
    return el('span.pill.' + cls, {}, code ? String(code) : '–');
  }

  // cardLabels gives every body cell of table its column's name (data-label), which the phone layout
  // shows in front of the value once the table has become a list of cards.
  function cardLabels(table) {
    const names = [...table.querySelectorAll('thead th')].map((th) => th.textContent.trim());
    for (const row of table.querySelectorAll('tbody tr')) {
      [...row.children].forEach((td, i) => {
        if (names[i]) td.dataset.label = names[i];
      });
    }
  }

  // debounce delays fn until calls stop for ms, for search boxes.
  function debounce(fn, ms) {
    let timer;
    return (...args) => {
      clearTimeout(timer);
      timer = setTimeout(() => fn(...args), ms);
    };
  }

  window.GG = { t, label, reason, el, append, clear, api, APIError, toast, fail, modal, confirmBox, copyText, copyAndTell, fmt,
    pretty, pager, field, codeBlock, statusPill, debounce, cardLabels, csrf, lang };
})();
