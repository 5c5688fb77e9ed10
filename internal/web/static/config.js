// Settings editor. Every setting comes from the server's schema (name, kind, help in both languages,
// limits, where its value comes from); each gets a widget by kind. Only changed settings are sent, all
// at once, and the server applies them live. Secrets arrive masked and are fetched in full only when
// the admin clicks "Reveal". Nothing is ever pre-filled: an empty list stays empty.
'use strict';

(function () {
  const { t, el, clear, api, toast, fail, modal, confirmBox, fmt, debounce, lang } = GG;
  const $ = (id) => document.getElementById(id);

  const fields = new Map(); // name -> field
  let groups = [];
  let activeGroup = '';
  let modelList = null;
  let leaving = false; // the page is moving to the login page on purpose

  const help = (d) => (d.help && (d.help[lang] || d.help.en)) || '';
  const isSecretHidden = (f) => f.def.secret && !f.revealed;

  // Token format of the reference: "sk-" and 48 characters of [A-Za-z0-9_], from the browser's CSPRNG.
  function newToken() {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_';
    const limit = 256 - (256 % alphabet.length);
    let out = '';
    while (out.length < 48) {
      const buf = new Uint8Array(64);
      crypto.getRandomValues(buf);
      for (const b of buf) if (b < limit && out.length < 48) out += alphabet[b % alphabet.length];
    }
    return 'sk-' + out;
  }

  // canonical makes values comparable regardless of map key order.
  function canonical(v) {
    if (Array.isArray(v)) return v.map(canonical);
    if (v && typeof v === 'object') {
      const out = {};
      for (const k of Object.keys(v).sort()) out[k] = canonical(v[k]);
      return out;
    }
    return v;
  }
  const same = (a, b) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));

  // Widgets. Each returns {node, read()}; read gives the typed value as the API takes it.

  function textWidget(f) {
    const d = f.def;
    const input = el('input', { type: isSecretHidden(f) ? 'password' : 'text', id: 'f-' + d.name, autocomplete: 'off', spellcheck: 'false' });
    if (isSecretHidden(f)) input.placeholder = f.value ? t('config.secret_set', { masked: f.value }) : t('config.secret_empty');
    else input.value = f.value ?? '';
    if (d.required && d.default) input.placeholder = String(d.default);
    const extra = [];
    if (d.suggestions) {
      const list = el('datalist', { id: 'dl-' + d.name }, d.suggestions.map((s) => el('option', { value: s })));
      input.setAttribute('list', list.id);
      extra.push(list);
    }
    if (d.widget === 'model') extra.push(pickerButton((m) => { input.value = m; changed(f); }));
    if (d.widget === 'token') {
      extra.push(el('button.btn.small', { type: 'button', onclick: () => { input.type = 'text'; input.value = newToken(); changed(f); } }, t('config.generate')));
    }
    input.addEventListener('input', () => changed(f));
    return {
      node: el('div.control', {}, input, extra),
      // A hidden secret left empty means "unchanged"; typing replaces it.
      read: () => (isSecretHidden(f) && input.value === '' ? f.value : input.value),
      touched: () => !isSecretHidden(f) || input.value !== '',
    };
  }

  function selectWidget(f) {
    const sel = el('select', { id: 'f-' + f.def.name }, f.def.options.map((o) => el('option', { value: o, selected: o === f.value }, o)));
    sel.addEventListener('change', () => {
      changed(f);
      showDependents();
    });
    return { node: el('div.control', {}, sel), read: () => sel.value };
  }

  function numberWidget(f) {
    const d = f.def;
    const input = el('input', { type: 'number', id: 'f-' + d.name, step: d.kind === 'int' ? '1' : 'any', inputmode: d.kind === 'int' ? 'numeric' : 'decimal' });
    if (d.min !== undefined) input.min = d.min;
    if (d.max !== undefined) input.max = d.max;
    input.value = f.value ?? '';
    input.addEventListener('input', () => changed(f));
    const range = d.min !== undefined && d.max !== undefined ? t('config.range', { min: d.min, max: d.max })
      : d.min !== undefined ? t('config.min', { min: d.min }) : '';
    return {
      node: el('div.control', {}, input, range ? el('span.muted.small', {}, range) : null),
      read: () => (input.value === '' ? '' : Number(input.value)),
      check: () => {
        if (input.value === '') return '';
        const n = Number(input.value);
        if (!Number.isFinite(n)) return t('config.err.number');
        if (d.kind === 'int' && !Number.isInteger(n)) return t('config.err.int');
        if (d.min !== undefined && n < d.min) return t('config.err.min', { min: d.min });
        if (d.max !== undefined && n > d.max) return t('config.err.max', { max: d.max });
        return '';
      },
    };
  }

  function boolWidget(f) {
    const box = el('input', { type: 'checkbox', id: 'f-' + f.def.name, checked: !!f.value });
    box.addEventListener('change', () => changed(f));
    return { node: el('label.switch', {}, box, el('span', {}, t('config.enabled'))), read: () => box.checked };
  }

  // rowsWidget edits a list of rows; make(value) builds one row's inputs and returns {node, read}.
  function rowsWidget(f, items, make, tools) {
    const rows = el('div.rows');
    const all = [];
    const add = (value) => {
      const r = make(value);
      const row = el('div.row', {}, r.node, el('button.btn.small.icon', {
        type: 'button', 'aria-label': t('config.remove'), title: t('config.remove'),
        onclick: () => { row.remove(); all.splice(all.indexOf(r), 1); changed(f); },
      }, '✕'));
      r.row = row;
      all.push(r);
      rows.append(row);
      return r;
    };
    for (const v of items) add(v);
    const addBtn = el('button.btn.small', { type: 'button', onclick: () => { const r = add(undefined); changed(f); const i = r.row.querySelector('input,select'); if (i) i.focus(); } }, '+ ' + t('config.add_row'));
    return { node: el('div.rows', {}, rows, el('div.toolbar', {}, addBtn, tools ? tools(add, all) : null)), read: () => all.map((r) => r.read()), add, all };
  }

  function listWidget(f) {
    const d = f.def;
    if (isSecretHidden(f)) return hiddenSecret(f, (f.value || []).map((v) => el('div.mono.small', {}, v)));
    let widget;
    const textRow = (value) => {
      const input = el('input', { type: 'text', value: value ?? '', autocomplete: 'off', spellcheck: 'false', 'aria-label': d.name });
      input.addEventListener('input', () => changed(f));
      const node = [input];
      if (d.widget === 'proxies') {
        const status = el('span.proxy-status.muted');
        node.push(el('button.btn.small', { type: 'button', onclick: () => checkProxy(input.value, status) }, t('config.proxy.check')), status);
        return { node, read: () => input.value.trim(), status };
      }
      return { node, read: () => input.value.trim() };
    };
    const tools = (add, all) => {
      const out = [el('button.btn.small', { type: 'button', onclick: () => pasteDialog(f, add, all) }, t('config.paste'))];
      if (d.widget === 'models') out.push(pickerButton((m) => { if (!all.some((r) => r.read() === m)) { add(m); changed(f); } }));
      if (d.widget === 'tokens') out.push(el('button.btn.small', { type: 'button', onclick: () => { add(newToken()); changed(f); } }, t('config.generate')));
      if (d.widget === 'proxies') out.push(el('button.btn.small', { type: 'button', onclick: () => checkAllProxies(all) }, t('config.proxy.check_all')));
      return out;
    };
    widget = rowsWidget(f, f.value || [], textRow, tools);
    return { node: widget.node, read: () => widget.read().filter((s) => s !== '') };
  }

  function mapWidget(f) {
    const d = f.def;
    if (isSecretHidden(f)) return hiddenSecret(f, Object.entries(f.value || {}).map(([k, v]) => el('div.mono.small', {}, k + ': ' + v)));
    const numeric = d.kind === 'float map';
    const row = (entry) => {
      const [k, v] = entry || ['', ''];
      const key = el('input', { type: 'text', value: k, placeholder: t(d.widget === 'model-map' ? 'config.map.model' : 'config.map.key'), 'aria-label': t('config.map.key') });
      const val = el('input', { type: numeric ? 'number' : 'text', step: 'any', value: v ?? '', placeholder: t('config.map.value'), 'aria-label': t('config.map.value') });
      key.addEventListener('input', () => changed(f));
      val.addEventListener('input', () => changed(f));
      return { node: [key, val], read: () => [key.value.trim(), numeric ? (val.value === '' ? NaN : Number(val.value)) : val.value] };
    };
    const tools = d.widget === 'model-map' ? (add, all) => pickerButton((m) => { if (!all.some((r) => r.read()[0] === m)) { add([m, -1]); changed(f); } }) : null;
    const w = rowsWidget(f, Object.entries(f.value || {}), row, tools);
    return {
      node: w.node,
      read: () => {
        const out = {};
        for (const [k, v] of w.read()) if (k !== '') out[k] = v;
        return out;
      },
      check: () => {
        const keys = w.read().map(([k]) => k).filter((k) => k !== '');
        if (new Set(keys).size !== keys.length) return t('config.err.dup_key');
        if (numeric && w.read().some(([k, v]) => k !== '' && !Number.isFinite(v))) return t('config.err.number');
        return '';
      },
    };
  }

  function safetyWidget(f) {
    const opts = f.def.item_options || {};
    const select = (name, value) => {
      const choices = opts[name] || [];
      const s = el('select', { 'aria-label': name }, choices.map((o) => el('option', { value: o, selected: o === value }, o)));
      if (value && !choices.includes(value)) s.append(el('option', { value, selected: true }, value));
      s.addEventListener('change', () => changed(f));
      return s;
    };
    const row = (item) => {
      const cat = select('category', item && item.category);
      const thr = select('threshold', item && item.threshold);
      return { node: [cat, thr], read: () => ({ category: cat.value, threshold: thr.value }) };
    };
    return rowsWidget(f, f.value || [], row);
  }

  // hiddenSecret shows a masked list or map until the admin reveals it, with the same add, paste and
  // generate buttons as the revealed editor: using one reveals the values first (a list edited while
  // masked would save the masks) and then does what was asked.
  function hiddenSecret(f, lines) {
    const node = el('div.rows', {}, lines.length ? lines : el('span.muted.small', {}, t('config.empty')));
    const then = (action) => () => reveal(f, action);
    const tools = [el('button.btn.small', { type: 'button', onclick: then('add') }, '+ ' + t('config.add_row'))];
    if (f.def.kind === 'list') tools.push(el('button.btn.small', { type: 'button', onclick: then('paste') }, t('config.paste')));
    if (f.def.widget === 'tokens') tools.push(el('button.btn.small', { type: 'button', onclick: then('generate') }, t('config.generate')));
    if (f.def.widget === 'proxies' && lines.length) {
      tools.push(el('button.btn.small', { type: 'button', onclick: () => checkConfiguredProxies(node) }, t('config.proxy.check_all')));
    }
    node.append(el('div.toolbar', {}, tools));
    return { node, read: () => f.value };
  }

  // checkConfiguredProxies checks the stored PROXIES without revealing them: the server reads them
  // itself and answers with their passwords blanked.
  async function checkConfiguredProxies(node) {
    try {
      const d = await api('POST', '/api/config/proxy/check-all', {});
      const lines = node.querySelectorAll('.mono');
      d.results.forEach((r, i) => {
        if (!lines[i]) return;
        const status = el('span.proxy-status');
        showProxy(status, r);
        lines[i].after(status);
      });
      const ok = d.results.filter((r) => r.is_available).length;
      toast(t('config.proxy.summary', { ok, total: d.results.length }));
    } catch (e) {
      fail(e);
    }
  }

  function apiKeysWidget(f) {
    const n = (f.value || []).length;
    return {
      node: el('div.control', {},
        el('span', { id: 'api-keys-count' }, t('config.keys.count', { n: fmt.n(n) })),
        el('button.btn.small', { type: 'button', onclick: () => keyPaste(f, 'add') }, t('keys.add')),
        el('button.btn.small.danger', { type: 'button', onclick: () => keyPaste(f, 'delete') }, t('config.keys.delete')),
        el('a.btn.small', { href: '/keys' }, t('config.keys.dashboard'))),
      read: () => f.value,
      external: true,
    };
  }

  function readOnlyWidget(f) {
    const v = f.value;
    const text = typeof v === 'string' ? v : JSON.stringify(v, null, 1);
    return { node: el('div.control', {}, el('code', {}, text === '' ? t('config.empty') : text)), read: () => v, external: true };
  }

  function widgetFor(f) {
    const d = f.def;
    if (d.env_only) return readOnlyWidget(f);
    if (d.widget === 'keys') return apiKeysWidget(f);
    switch (d.kind) {
      case 'bool': return boolWidget(f);
      case 'int': case 'float': return numberWidget(f);
      case 'list': return listWidget(f);
      case 'map': case 'float map': return mapWidget(f);
      case 'list of maps': return safetyWidget(f);
      default: return d.options && d.options.length ? selectWidget(f) : textWidget(f);
    }
  }

  // Helpers used by widgets

  function pickerButton(onPick) {
    return el('button.btn.small', { type: 'button', onclick: () => pickModel(onPick) }, t('config.pick_model'));
  }

  async function pickModel(onPick) {
    const search = el('input', { type: 'search', placeholder: t('config.models.search'), 'aria-label': t('config.models.search') });
    const list = el('ul.picker-list', { role: 'listbox' }, el('li.muted', {}, t('common.loading')));
    const m = modal({ title: t('config.pick_model'), body: el('div', {}, search, list) });
    const render = () => {
      clear(list);
      const q = search.value.trim().toLowerCase();
      const hits = (modelList || []).filter((x) => x.name.toLowerCase().includes(q) || (x.display_name || '').toLowerCase().includes(q));
      if (!hits.length) list.append(el('li.muted', {}, t('config.models.none')));
      for (const x of hits.slice(0, 300)) {
        const pick = () => { onPick(x.name); m.close(); };
        list.append(el('li', { tabindex: 0, role: 'option', onclick: pick, onkeydown: (e) => { if (e.key === 'Enter') pick(); } },
          el('span.mono', {}, x.name), el('span.muted.small', {}, x.display_name || '')));
      }
    };
    search.addEventListener('input', render);
    search.focus();
    if (!modelList) {
      try {
        modelList = (await api('GET', '/api/config/models')).models || [];
      } catch (e) {
        clear(list).append(el('li.muted', {}, e.message));
        return;
      }
    }
    render();
  }

  function pasteDialog(f, add, all) {
    const area = el('textarea', { placeholder: t('config.paste.placeholder'), 'aria-label': t('config.paste') });
    modal({
      title: t('config.paste') + ' — ' + f.def.name,
      body: el('div', {}, el('p.muted.small', {}, t('config.paste.help')), area),
      actions: [{ label: t('common.cancel') }, {
        label: t('config.add_row'), kind: 'primary',
        onClick: () => {
          const have = new Set(all.map((r) => r.read()));
          let n = 0;
          for (const item of area.value.split(/[\n,]+/).map((s) => s.trim()).filter(Boolean)) {
            if (have.has(item)) continue;
            have.add(item);
            add(item);
            n++;
          }
          changed(f);
          toast(t('config.paste.added', { n }));
        },
      }],
    });
    area.focus();
  }

  // keyPaste adds or deletes API keys found in pasted text. It applies at once, like the dashboard.
  function keyPaste(f, mode) {
    const area = el('textarea', { placeholder: t('keys.add.placeholder'), 'aria-label': t('keys.add.placeholder') });
    modal({
      title: mode === 'add' ? t('keys.add') : t('config.keys.delete'),
      body: el('div', {}, el('p.muted.small', {}, t(mode === 'add' ? 'keys.add.help' : 'config.keys.delete_help')), area),
      actions: [{ label: t('common.cancel') }, {
        label: mode === 'add' ? t('keys.add.submit') : t('keys.action.delete'), kind: mode === 'add' ? 'primary' : 'danger',
        onClick: async () => {
          if (mode === 'add') {
            const r = await api('POST', '/api/keys/add', { text: area.value });
            toast(t('keys.add.result', { added: r.added, duplicates: r.duplicates, found: r.found }), 'ok');
          } else {
            const r = await api('POST', '/api/keys/delete-text', { text: area.value });
            toast(t('config.keys.deleted', { deleted: r.deleted, found: r.found }), 'ok');
          }
          reloadSetting(f.def.name);
        },
      }],
    });
    area.focus();
  }

  async function checkProxy(proxy, status) {
    if (!proxy.trim()) return;
    status.textContent = '…';
    try {
      showProxy(status, await api('POST', '/api/config/proxy/check', { proxy: proxy.trim() }));
    } catch (e) {
      status.textContent = e.message;
    }
  }

  function showProxy(status, r) {
    status.className = 'proxy-status ' + (r.is_available ? 'pill ok' : 'pill bad');
    status.textContent = r.is_available ? t('config.proxy.ok', { s: r.response_time }) : t('config.proxy.bad');
    status.title = r.error_message || '';
  }

  async function checkAllProxies(all) {
    const proxies = all.map((r) => r.read());
    if (!proxies.filter(Boolean).length) return toast(t('config.empty'), 'error');
    for (const r of all) r.status.textContent = '…';
    try {
      const d = await api('POST', '/api/config/proxy/check-all', { proxies });
      for (const res of d.results) showProxy(all[res.index].status, res);
      const ok = d.results.filter((r) => r.is_available).length;
      toast(t('config.proxy.summary', { ok, total: d.results.length }));
    } catch (e) {
      fail(e);
    }
  }

  // shown tells whether a field's condition on another setting (shown_when) holds in the form.
  function shown(f) {
    const w = f.def.shown_when;
    const on = w && fields.get(w.setting);
    return !on || on.widget.read() === w.value;
  }

  function showDependents() {
    for (const f of fields.values()) {
      if (f.def.shown_when) f.node.hidden = !shown(f);
    }
  }

  // Fields

  function sourceNote(f) {
    const d = f.def;
    const parts = [el('span.pill', { title: t('config.source.help') }, t('config.source.' + f.source))];
    if (d.env_only) parts.push(el('span.env-note', {}, t('config.env_only')));
    else if (d.env_set && d.env_differs) {
      parts.push(el('span.env-note.differs', {}, d.secret ? t('config.env.differs_secret') : t('config.env.differs', { value: d.env_value })));
    } else if (d.env_set) parts.push(el('span.env-note', {}, t('config.env.same')));
    else if (d.default_differs && !d.secret) parts.push(el('span.env-note', {}, t('config.default_is', { value: JSON.stringify(d.default) })));
    const revertible = !d.env_only && (d.env_differs || (!d.env_set && d.default_differs));
    if (revertible) {
      parts.push(el('button.btn.small.ghost', { type: 'button', dataset: { revert: d.name }, onclick: () => revert(f) },
        d.env_set ? t('config.revert_env') : t('config.revert_default')));
    }
    if (d.secret && !d.env_only && !f.revealed && d.widget !== 'keys') {
      parts.push(el('button.btn.small.ghost', { type: 'button', dataset: { reveal: d.name }, onclick: () => reveal(f) }, t('config.reveal')));
    }
    return parts;
  }

  function buildField(def, view) {
    const f = { def, value: view.value, source: view.source, revealed: false, original: null };
    f.node = el('div.setting', { id: 'setting-' + def.name, dataset: { name: def.name } });
    renderField(f);
    return f;
  }

  function renderField(f) {
    f.widget = widgetFor(f);
    f.original = f.widget.read();
    f.error = el('div.field-error', { role: 'alert', hidden: true });
    clear(f.node).append(
      el('div.setting-head', {}, el('label.setting-name', { for: 'f-' + f.def.name }, f.def.name), sourceNote(f)),
      el('p.help', {}, help(f.def)),
      f.widget.node,
      f.error,
    );
    f.node.classList.remove('dirty', 'invalid');
  }

  function isDirty(f) {
    if (f.widget.external) return false;
    if (f.widget.touched && !f.widget.touched()) return false;
    return !same(f.widget.read(), f.original);
  }

  function setError(f, msg) {
    f.error.textContent = msg || '';
    f.error.hidden = !msg;
    f.node.classList.toggle('invalid', !!msg);
  }

  function changed(f) {
    f.node.classList.toggle('dirty', isDirty(f));
    setError(f, f.widget.check ? f.widget.check() : '');
    updateDirty();
  }

  function dirtyFields() {
    return [...fields.values()].filter(isDirty);
  }

  // updateDirty keeps the "unsaved changes" bar and the tab markers in step with the form.
  function updateDirty() {
    const dirty = dirtyFields();
    const bar = $('savebar');
    bar.dataset.dirty = String(dirty.length > 0);
    $('dirty-state').textContent = dirty.length ? t('config.dirty', { n: dirty.length }) : t('config.clean');
    $('save').disabled = dirty.length === 0;
    $('discard').disabled = dirty.length === 0;
    const dirtyGroups = new Set(dirty.map((f) => f.def.group));
    for (const b of document.querySelectorAll('#config-tabs button')) b.classList.toggle('dirty', dirtyGroups.has(b.dataset.group));
  }

  // reveal fetches a secret in full and shows its editor; then names a toolbar action (add, paste,
  // generate) to run on it at once.
  async function reveal(f, then) {
    try {
      const d = await api('POST', '/api/config/reveal', { names: [f.def.name] });
      f.value = d.values[f.def.name];
      f.revealed = true;
      renderField(f);
      updateDirty();
    } catch (e) {
      return fail(e);
    }
    if (!then) return;
    const buttons = [...f.node.querySelectorAll('.rows > .toolbar button')];
    const want = { add: '+ ' + t('config.add_row'), paste: t('config.paste'), generate: t('config.generate') }[then];
    const b = buttons.find((x) => x.textContent === want);
    if (b) b.click();
  }

  async function revert(f) {
    const target = f.def.env_set ? t('config.revert_env') : t('config.revert_default');
    if (!(await confirmBox(t('config.revert_confirm', { name: f.def.name }), { ok: target }))) return;
    try {
      await api('POST', '/api/config/revert', { names: [f.def.name] });
      toast(t('config.reverted', { name: f.def.name }), 'ok');
      await reloadSetting(f.def.name);
    } catch (e) {
      fail(e);
    }
  }

  // reloadSetting fetches one setting again after a change made outside the form.
  async function reloadSetting(name) {
    const [schema, conf] = await Promise.all([api('GET', '/api/config/schema'), api('GET', '/api/config?detailed=1')]);
    const def = schema.settings.find((s) => s.name === name);
    const view = conf.settings.find((s) => s.name === name);
    const f = fields.get(name);
    if (!def || !view || !f) return;
    Object.assign(f, { def, value: view.value, source: view.source, revealed: false });
    renderField(f);
    updateDirty();
  }

  // Save: only changed settings, all or nothing on the server. Errors name the setting ("NAME: why")
  // and are shown at its field.
  async function save() {
    const dirty = dirtyFields();
    if (!dirty.length) return;
    let bad = false;
    for (const f of dirty) {
      const msg = f.widget.check ? f.widget.check() : '';
      setError(f, msg);
      bad = bad || !!msg;
    }
    if (bad) return toast(t('config.fix_errors'), 'error');
    const body = {};
    for (const f of dirty) body[f.def.name] = f.widget.read();
    const tokenChanged = dirty.some((f) => f.def.widget === 'token');
    if (tokenChanged && !(await confirmBox(t('config.auth_token_warning'), { danger: true, ok: t('config.save') }))) return;
    $('save').disabled = true;
    try {
      await api('PUT', '/api/config', body);
    } catch (e) {
      $('save').disabled = false;
      return showServerErrors(e);
    }
    if (tokenChanged) {
      // The new token ended every session, this one too, and what was saved is saved: the bar says so,
      // and the page goes straight to the login page, which says why, without a "leave site?" prompt.
      for (const f of dirty) {
        f.original = f.widget.read();
        f.node.classList.remove('dirty');
      }
      updateDirty();
      leaving = true;
      location.href = '/?e=token&next=/config';
      return;
    }
    toast(t('config.saved', { n: dirty.length }), 'ok');
    // The form is built again from the server's answer; until then it still shows the changes.
    await load();
  }

  function showServerErrors(e) {
    let placed = 0;
    for (const line of String(e.message).split('\n')) {
      const m = /^([A-Z0-9_]+): (.*)$/.exec(line.trim());
      const f = m && fields.get(m[1]);
      if (!f) continue;
      setError(f, m[2]);
      if (!placed++) {
        showGroup(f.def.group);
        f.node.scrollIntoView({ block: 'center' });
      }
    }
    toast(placed ? t('config.fix_errors') : e.message, 'error');
  }

  // discard puts back every changed field, and clears every error the form shows: an error about a
  // value that is gone would only mislead.
  async function discard() {
    if (!(await confirmBox(t('config.discard_confirm'), { ok: t('config.discard') }))) return;
    for (const f of fields.values()) {
      if (isDirty(f)) renderField(f);
      else setError(f, '');
    }
    for (const n of document.querySelectorAll('#toasts .toast.error')) n.remove();
    updateDirty();
  }

  // Page

  function showGroup(id) {
    activeGroup = id;
    for (const b of document.querySelectorAll('#config-tabs button')) b.setAttribute('aria-selected', String(b.dataset.group === id));
    for (const g of document.querySelectorAll('#config-groups .group')) g.classList.toggle('shown', g.dataset.group === id);
    if (location.hash !== '#' + id) history.replaceState(null, '', '#' + id);
  }

  function filter() {
    const q = $('config-search').value.trim().toLowerCase();
    $('config-form').classList.toggle('searching', q !== '');
    for (const f of fields.values()) {
      const hit = !q || f.def.name.toLowerCase().includes(q) || help(f.def).toLowerCase().includes(q);
      f.node.classList.toggle('filtered-out', !hit);
      f.node.hidden = !hit || !shown(f);
    }
    for (const g of document.querySelectorAll('#config-groups .group')) {
      g.hidden = q !== '' && !g.querySelector('.setting:not([hidden])');
    }
  }

  async function load() {
    let schema, conf;
    try {
      [schema, conf] = await Promise.all([api('GET', '/api/config/schema'), api('GET', '/api/config?detailed=1')]);
    } catch (e) {
      clear($('config-groups')).append(el('p.banner.error', {}, e.message));
      return;
    }
    const views = new Map(conf.settings.map((s) => [s.name, s]));
    groups = schema.groups.filter((g) => schema.settings.some((s) => s.group === g.id));
    fields.clear();
    const tabs = clear($('config-tabs'));
    const box = clear($('config-groups'));
    for (const g of groups) {
      const title = g.title[lang] || g.title.en;
      tabs.append(el('button', { type: 'button', role: 'tab', dataset: { group: g.id }, onclick: () => showGroup(g.id) }, title));
      const section = el('section.group.card', { dataset: { group: g.id }, 'aria-label': title }, el('h2', {}, title));
      for (const def of schema.settings.filter((s) => s.group === g.id)) {
        const f = buildField(def, views.get(def.name) || {});
        fields.set(def.name, f);
        section.append(f.node);
      }
      box.append(section);
    }
    const wanted = location.hash.slice(1);
    showGroup(groups.some((g) => g.id === wanted) ? wanted : activeGroup || 'api');
    showDependents();
    filter();
    updateDirty();
  }

  $('save').addEventListener('click', save);
  $('discard').addEventListener('click', discard);
  $('config-search').addEventListener('input', debounce(filter, 150));
  $('config-form').addEventListener('submit', (e) => e.preventDefault());
  // FAQ 4: a change that is not saved does nothing, so leaving with unsaved changes asks first.
  window.addEventListener('beforeunload', (e) => {
    if (!leaving && dirtyFields().length) {
      e.preventDefault();
      e.returnValue = '';
    }
  });
  load();
})();
