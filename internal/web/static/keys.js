// Keys dashboard: totals, call statistics, the success/failure chart, keys needing attention, and the
// key list with server-side search, filter and paging (it stays fast with 100,000 keys because only
// one page ever reaches the browser).
'use strict';

(function () {
  const { t, label, reason: reasonText, el, clear, api, toast, fail, modal, confirmBox, copyAndTell, fmt, pager, field, codeBlock, statusPill, debounce } = GG;
  const $ = (id) => document.getElementById(id);

  const BATCH = 50; // keys per request for selections and for verification, with progress in between
  const BIG_BATCH = 1000; // keys per request for cheap actions on every matching key

  const state = {
    pool: '', // '' for the Gemini keys, 'vertex' for the Vertex AI Express keys
    filter: '',
    search: '',
    minFailures: 0,
    sort: '',
    offset: 0,
    limit: 20,
    keys: [],
    selected: new Set(),
    chartWindow: '1h',
    attentionCode: 429,
    busy: false,
    cancel: false,
  };

  // kapi calls a key route on the pool shown (?pool=vertex for the Vertex AI Express keys).
  function kapi(method, path, body) {
    if (!state.pool) return api(method, path, body);
    return api(method, path + (path.includes('?') ? '&' : '?') + 'pool=' + state.pool, body);
  }

  // Key list

  async function loadKeys() {
    const q = new URLSearchParams({ status: state.filter, search: state.search, limit: state.limit, offset: state.offset });
    if (state.minFailures > 0) q.set('min_failures', state.minFailures);
    if (state.sort) q.set('sort', state.sort);
    let data;
    try {
      data = await kapi('GET', '/api/keys/status?' + q);
    } catch (e) {
      return fail(e);
    }
    if (data.keys.length === 0 && state.offset > 0 && data.matching > 0) {
      state.offset = Math.max(0, Math.floor((data.matching - 1) / state.limit) * state.limit);
      return loadKeys();
    }
    state.keys = data.keys;
    $('total-all').textContent = fmt.n(data.total);
    $('total-usable').textContent = fmt.n(data.usable);
    $('total-cooling').textContent = fmt.n(data.cooling);
    $('total-disabled').textContent = fmt.n(data.disabled);
    $('matching').textContent = t('keys.matching', { n: fmt.n(data.matching) });
    for (const b of document.querySelectorAll('#totals .stat')) b.classList.toggle('active', b.dataset.filter === state.filter);
    renderBlame(data.blame_alerts || []);
    renderKeys();
    pager($('pager'), { total: data.matching, offset: state.offset, limit: state.limit, onPage: (o) => { state.offset = o; loadKeys(); } });
  }

  // Client tokens whose requests charged as many keys as KEY_BLAME_SHARE_PERCENT allows (the last line
  // of defence): which token, and which requests to look up in the logs.
  function renderBlame(alerts) {
    $('blame-alerts').hidden = alerts.length === 0;
    const list = clear($('blame-list'));
    for (const a of alerts) {
      list.append(el('li', {}, t('blame.item', { token: a.token_id, keys: a.keys, allowed: a.allowed, at: fmt.time(a.at) }), ' ',
        el('code', {}, (a.requests || []).join(', ')), ' ',
        el('button.btn.small', { type: 'button', onclick: () => tokenResources(a.token_id) }, t('resources.action'))));
    }
  }

  function keyState(k) {
    if (k.disabled) return el('span.pill.bad', {}, t('keys.state.disabled'));
    if (k.cooldowns && k.cooldowns.length) return el('span.pill.warn', {}, t('keys.state.cooling'));
    return el('span.pill.ok', {}, t('keys.state.usable'));
  }

  function cooldownList(k) {
    if (!k.cooldowns || !k.cooldowns.length) return null;
    return el('ul.cooldowns', {}, k.cooldowns.map((c) => el('li', { title: c.reason || '' },
      (c.model === '*' ? t('keys.all_models') : c.model) + ': ',
      el('span', { dataset: { until: c.until } }, fmt.left(c.until)))));
  }

  // usageList shows the requests counted against KEY_MODEL_LIMITS: this minute and today, per model.
  function usageList(k) {
    if (!k.usage || !k.usage.length) return null;
    const cap = (n, limit) => fmt.n(n) + (limit ? '/' + fmt.n(limit) : '');
    return el('ul.usage.small', {}, k.usage.map((u) => el('li', { class: u.at_cap ? 'warn' : null },
      u.model + ': ' + t('keys.usage', { minute: cap(u.minute, u.rpm_limit), day: cap(u.day, u.rpd_limit) }))));
  }

  function metaCell(k) {
    const parts = [];
    if (k.tags && k.tags.length) parts.push(el('div.tags', {}, k.tags.map((tag) => el('span.pill', {}, tag))));
    if (k.weight) parts.push(el('div.small.muted', {}, t('keys.weight') + ': ' + k.weight));
    if (k.project) parts.push(el('div.small.muted', {}, t('keys.project') + ': ' + k.project));
    return parts;
  }

  function renderKeys() {
    const body = clear($('keys-body'));
    if (!state.keys.length) {
      body.append(el('tr', {}, el('td.empty', { colspan: 7 }, t('keys.none'))));
    }
    for (const k of state.keys) {
      const box = el('input', { type: 'checkbox', 'aria-label': t('keys.select_key', { key: k.key }), checked: state.selected.has(k.id) });
      box.addEventListener('change', () => {
        if (box.checked) state.selected.add(k.id);
        else state.selected.delete(k.id);
        showSelected();
      });
      const lastErr = k.last_error_code || k.last_error
        ? [statusPill(k.last_error_code), ' ', el('span.small', { title: k.last_error || '', lang: 'en' }, clip(withoutCode(k.last_error, k.last_error_code), 90)),
          el('div.small.muted', {}, fmt.time(k.last_error_at))]
        : el('span.muted', {}, '–');
      // The reason a key was disabled is usually its last error, shown next to it already.
      const reason = k.disabled_reason && k.disabled_reason !== k.last_error ? reasonText(k.disabled_reason) : '';
      body.append(el('tr', { dataset: { id: k.id } },
        el('td.check', {}, el('label.hit', {}, box)),
        el('td.nowrap.key-cell', {}, el('div.mono', {}, k.key), el('div.small.muted.id-line', {}, 'id ' + k.id)),
        el('td', {}, keyState(k), reason ? el('div.small.muted', { title: reason }, clip(reason, 80)) : null, cooldownList(k), usageList(k)),
        el('td.num', {}, fmt.n(k.failure_count)),
        el('td.wrap', {}, lastErr),
        el('td.meta-cell', {}, metaCell(k)),
        el('td.actions-cell', {}, rowActions(k)),
      ));
    }
    GG.cardLabels($('keys-table'));
    $('select-page').checked = state.keys.length > 0 && state.keys.every((k) => state.selected.has(k.id));
    showSelected();
  }

  // withoutCode drops the status code an error message starts with; the pill beside it shows it.
  function withoutCode(msg, code) {
    const prefix = String(code) + ' ';
    return msg && code && msg.startsWith(prefix) ? msg.slice(prefix.length) : msg || '';
  }

  function clip(s, n) {
    if (!s) return '';
    return s.length > n ? s.slice(0, n - 1) + '…' : s;
  }

  // rowActions offers what applies to the key: Enable for a disabled key, Reset (clear its failures
  // and cooldowns) only for a key that has any, Disable for a usable one.
  function rowActions(k) {
    const b = (label, fn, cls) => el('button.btn.small' + (cls || ''), { type: 'button', onclick: fn }, label);
    const troubled = k.failure_count > 0 || (k.cooldowns && k.cooldowns.length);
    return el('div.row-actions', {},
      b(t('keys.action.verify'), () => runAction('verify', [k.id])),
      k.disabled ? b(t('keys.action.enable'), () => runAction('enable', [k.id])) : null,
      !k.disabled && troubled ? b(t('keys.action.reset'), () => runAction('enable', [k.id])) : null,
      k.disabled ? null : b(t('keys.action.disable'), () => runAction('disable', [k.id])),
      b(t('keys.action.show'), () => showKey(k.id, k.key)),
      b(t('keys.action.copy'), () => copyKeys([k.id])),
      b(t('keys.action.details'), () => keyDetails(k.id, k.key)),
      b(t('keys.action.delete'), () => runAction('delete', [k.id]), '.danger'),
    );
  }

  // showKey shows one key in full on demand; the value travels in the answer to a POST, never in a URL.
  async function showKey(id, masked) {
    try {
      const keys = (await api('POST', '/api/keys/copy', { ids: [id] })).keys || [];
      const full = el('code.full-key', { id: 'full-key' }, keys[0] || '–');
      modal({ title: t('keys.show.title', { key: masked }), body: el('div', {}, el('p.muted.small', {}, t('keys.show.help')), full),
        actions: [{ label: t('keys.action.copy'), onClick: () => { copyAndTell(keys[0] || ''); return false; } }, { label: t('common.close') }] });
    } catch (e) {
      fail(e);
    }
  }

  function showSelected() {
    $('selected-count').textContent = state.selected.size ? t('keys.selected', { n: fmt.n(state.selected.size) }) : '';
  }

  // Actions

  async function targetIDs() {
    if ($('scope').value === 'selected') {
      if (!state.selected.size) {
        toast(t('keys.select_first'), 'error');
        return null;
      }
      return [...state.selected];
    }
    const q = new URLSearchParams({ status: state.filter, search: state.search });
    const data = await kapi('GET', '/api/keys/ids?' + q);
    return data.ids;
  }

  async function bulk(action) {
    if (state.busy) return;
    try {
      const everything = $('scope').value === 'matching' && !state.filter && !state.search;
      if (action === 'copy') return everything ? copyKeys(null) : copyKeys(await targetIDs());
      const ids = await targetIDs();
      if (!ids) return;
      if (!ids.length) return toast(t('keys.none'), 'error');
      await runAction(action, ids, everything && action !== 'verify');
    } catch (e) {
      fail(e);
    }
  }

  // runAction asks before destructive actions, then sends ids in batches with a progress bar. all sends
  // one {"all":true} call instead, for cheap actions on the whole pool.
  async function runAction(action, ids, all) {
    if (action === 'delete' || action === 'disable') {
      const msg = t(action === 'delete' ? 'keys.confirm_delete' : 'keys.confirm_disable', { n: fmt.n(ids.length) });
      if (!(await confirmBox(msg, { danger: true, ok: t('keys.action.' + action) }))) return;
    }
    const results = [];
    const totals = {};
    try {
      if (all) {
        Object.assign(totals, await kapi('POST', '/api/keys/' + action, { all: true }));
      } else {
        const size = action === 'verify' || ids.length <= BATCH * 4 ? BATCH : BIG_BATCH;
        await batches(ids, size, async (chunk) => {
          const r = await kapi('POST', '/api/keys/' + action, { ids: chunk });
          if (r.results) results.push(...r.results);
          for (const [k, v] of Object.entries(r)) if (typeof v === 'number') totals[k] = (totals[k] || 0) + v;
        });
      }
    } catch (e) {
      fail(e);
    }
    if (action === 'verify') showVerify(results);
    else toast(t('keys.done.' + action, { n: fmt.n(totals[actionCount[action]] || 0) }), 'ok');
    if (action === 'delete') for (const id of ids) state.selected.delete(id);
    refresh();
  }

  const actionCount = { enable: 'enabled', disable: 'disabled', delete: 'deleted' };

  async function batches(items, size, fn) {
    state.busy = true;
    state.cancel = false;
    const bar = $('progress-bar');
    const text = $('progress-text');
    $('progress').hidden = items.length <= size;
    try {
      for (let i = 0; i < items.length; i += size) {
        if (state.cancel) {
          toast(t('keys.cancelled'));
          break;
        }
        bar.style.width = Math.round((i / items.length) * 100) + '%';
        text.textContent = t('keys.progress', { done: fmt.n(i), total: fmt.n(items.length) });
        await fn(items.slice(i, i + size));
      }
    } finally {
      state.busy = false;
      $('progress').hidden = true;
    }
  }

  // showVerify groups failed checks by Google's status code, each with a translated explanation of
  // the code and Google's own message per key.
  function showVerify(results) {
    const ok = results.filter((r) => r.valid);
    const bad = results.filter((r) => !r.valid);
    const groups = new Map();
    for (const r of bad) {
      const code = r.status || 0;
      if (!groups.has(code)) groups.set(code, []);
      groups.get(code).push(r);
    }
    const body = el('div', {},
      el('p', { id: 'verify-summary' }, t('keys.verify.summary', { ok: fmt.n(ok.length), bad: fmt.n(bad.length) })),
      [...groups.entries()].map(([code, rows]) => el('details.verify-group', { open: groups.size === 1, dataset: { code } },
        el('summary', {}, statusPill(code), ' ', label('http.', code), ' · ', t('keys.verify.group', { n: rows.length })),
        el('ul', {}, rows.map((r) => el('li', {}, el('span.mono', {}, r.key), ' — ', el('span.small.muted', {}, t('keys.verify.google')), ' ',
          el('span.small', { lang: 'en' }, clip(r.error || '', 300))))),
        el('button.btn.small', { type: 'button', onclick: () => copyKeys(rows.map((r) => r.id)) }, t('keys.verify.copy_group')),
      )),
    );
    modal({ title: t('keys.verify.title'), body });
  }

  async function copyKeys(ids) {
    try {
      let keys = [];
      if (ids === null) {
        keys = (await kapi('POST', '/api/keys/copy', { all: true })).keys;
      } else {
        for (let i = 0; i < ids.length; i += BIG_BATCH) {
          keys = keys.concat((await kapi('POST', '/api/keys/copy', { ids: ids.slice(i, i + BIG_BATCH) })).keys);
        }
      }
      await copyAndTell(keys.join('\n'), keys.length);
    } catch (e) {
      fail(e);
    }
  }

  function addKeysDialog() {
    const area = el('textarea', { id: 'add-text', placeholder: t('keys.add.placeholder'), 'aria-label': t('keys.add.placeholder') });
    modal({
      title: t('keys.add'),
      body: el('div', {}, el('p.muted.small', {}, t('keys.add.help')), area),
      actions: [
        { label: t('common.cancel') },
        {
          label: t('keys.add.submit'), kind: 'primary', id: 'add',
          onClick: async () => {
            const r = await kapi('POST', '/api/keys/add', { text: area.value });
            toast(t('keys.add.result', { added: r.added, duplicates: r.duplicates, found: r.found }), r.added ? 'ok' : undefined);
            refresh();
          },
        },
      ],
    });
    area.focus();
  }

  // Per-key details: chart and recent calls from the request log, the breakdown by model and the
  // recent errors from the key statistics.

  async function keyDetails(id, masked) {
    const chart = el('div.chart');
    const windows = el('div.seg', { role: 'group' });
    const models = el('div');
    const calls = el('div');
    const errors = el('div');
    const owned = el('div');
    const m = modal({ title: t('keys.details.title', { key: masked }), wide: true, body: el('div', {}, windows, chart,
      el('h2', {}, t('keys.details.models')), models, el('h2', {}, t('keys.details.calls')), calls,
      el('h2', {}, t('keys.details.errors')), errors, el('h2', {}, t('resources.title')), owned) });
    showResources(owned, { key_id: id }, 'token');
    const show = async (win) => {
      for (const b of windows.children) b.setAttribute('aria-pressed', String(b.dataset.window === win));
      try {
        const [rows, d] = await Promise.all([
          api('GET', '/api/stats/details?' + new URLSearchParams({ period: win, key_id: id, limit: 1000 })),
          api('GET', '/api/stats/key-details?' + new URLSearchParams({ key_id: id, period: win })),
        ]);
        const list = rows.map(callOf);
        GGChart.draw(chart, GGChart.bucket(list, { windowMs: windowMs(win), hourly: win !== '1h' }), chartLabels());
        clear(models).append(modelTable(d.by_model || []));
        clear(calls).append(callTable(list.slice(0, 50)));
        clear(errors).append(errorTable(d.recent_errors || []));
      } catch (e) {
        clear(calls).append(el('p.muted', {}, e.message));
      }
    };
    for (const w of ['1h', '8h', '24h']) windows.append(el('button', { type: 'button', dataset: { window: w }, onclick: () => show(w) }, w));
    if (m.dialog.open) show('24h');
  }

  // Resources (uploaded files, caches, batches, operations, generated files) live in the project of the
  // key that made them: a key's details list them with the client token that owns each, and a token's
  // list shows the key holding each.
  async function showResources(box, filter, column) {
    try {
      const d = await api('GET', '/api/resources?' + new URLSearchParams({ ...filter, limit: 200 }));
      clear(box).append(resourceTable(d.resources || [], column));
    } catch (e) {
      clear(box).append(el('p.muted', {}, e.message));
    }
  }

  function tokenResources(tokenID) {
    const box = el('div', {}, el('p.muted', {}, '…'));
    modal({ title: t('resources.token_title', { token: tokenID }), wide: true, body: box });
    showResources(box, { token_id: tokenID }, 'key');
  }

  function resourceTable(rows, column) {
    if (!rows.length) return el('p.muted', {}, t('resources.none'));
    const who = column === 'key' ? t('logs.col.key') : t('resources.col.token');
    return el('div.table-wrap', {}, el('table.table', {},
      el('thead', {}, el('tr', {}, [t('resources.col.name'), t('resources.col.kind'), who, t('resources.col.created'), t('resources.col.expires')]
        .map((h) => el('th', {}, h)))),
      el('tbody', {}, rows.map((r) => el('tr', {},
        el('td.mono.wrap', {}, r.name),
        el('td', {}, label('resources.kind.', r.kind)),
        el('td.mono', {}, column === 'key' ? r.key : (r.token || r.token_id)),
        el('td', {}, fmt.time(r.created_at)),
        el('td', {}, fmt.time(r.expires_at)),
      )))));
  }

  function windowMs(win) {
    return { '1m': 60e3, '1h': 3600e3, '8h': 8 * 3600e3, '24h': 24 * 3600e3 }[win] || 3600e3;
  }

  function chartLabels() {
    return { successLabel: t('chart.success'), failureLabel: t('chart.failure'), refusedLabel: t('chart.refused'), emptyLabel: t('chart.empty') };
  }

  // callOf reads a row of /api/stats/details.
  function callOf(r) {
    return { time: r.timestamp, key: r.key, keyID: r.key_id, model: r.model, code: r.status_code, latency: r.latency_ms,
      ok: r.status === 'success', requestID: r.request_id, attempts: r.attempts };
  }

  function modelTable(rows) {
    if (!rows.length) return el('p.muted', {}, t('calls.none'));
    return el('div.table-wrap', {}, el('table.table', {},
      el('thead', {}, el('tr', {}, el('th', {}, t('logs.col.model')),
        [t('logs.col.attempts'), t('chart.success'), t('chart.failure')].map((h) => el('th.num', {}, h)))),
      el('tbody', {}, rows.map((r) => el('tr', {},
        el('td.wrap', {}, r.model || '–'),
        el('td.num', {}, fmt.n(r.attempts)),
        el('td.num', {}, fmt.n(r.success)),
        el('td.num', {}, fmt.n(r.attempts - r.success)),
      )))));
  }

  function callTable(rows) {
    if (!rows.length) return el('p.muted', {}, t('calls.none'));
    return el('div.table-wrap', {}, el('table.table', {},
      el('thead', {}, el('tr', {}, [t('logs.col.time'), t('logs.col.key'), t('logs.col.model'), t('logs.col.status')].map((h) => el('th', {}, h)),
        [t('logs.col.latency'), t('logs.col.attempts')].map((h) => el('th.num', {}, h)), el('th'))),
      el('tbody', {}, rows.map((r) => el('tr', {},
        el('td', {}, fmt.time(r.time)),
        el('td.mono', {}, r.key || '–'),
        el('td.wrap', {}, r.model || '–'),
        el('td', {}, statusPill(r.code)),
        el('td.num', {}, fmt.n(r.latency) + ' ms'),
        el('td.num', {}, fmt.n(r.attempts)),
        el('td', {}, r.ok ? null : el('button.btn.small', { type: 'button', onclick: () => requestErrors(r) }, t('keys.action.details'))),
      )))));
  }

  function errorTable(rows) {
    if (!rows.length) return el('p.muted', {}, t('logs.none'));
    return el('div.table-wrap', {}, el('table.table', {},
      el('thead', {}, el('tr', {}, [t('logs.col.time'), t('logs.col.type'), t('logs.col.code'), t('logs.col.model'), ''].map((h) => el('th', {}, h)))),
      el('tbody', {}, rows.map((r) => el('tr', {},
        el('td', {}, fmt.time(r.request_time)),
        el('td.wrap', {}, label('etype.', r.error_type)),
        el('td', {}, statusPill(r.error_code)),
        el('td.wrap', {}, r.model_name || '–'),
        el('td', {}, el('button.btn.small', { type: 'button', onclick: () => GGLogs.errorDetails(r.id) }, t('keys.action.details'))),
      )))));
  }

  // requestErrors shows the error logs a failed call left (one per failed attempt).
  async function requestErrors(r) {
    try {
      if (!r.requestID) throw new Error(t('logs.none'));
      const d = await api('GET', '/api/logs/errors?' + new URLSearchParams({ request_id: r.requestID, limit: 50, sort_order: 'asc' }));
      const logs = d.logs || [];
      if (logs.length === 1) return GGLogs.errorDetails(logs[0].id);
      modal({ title: t('logs.attempt_errors'), wide: true, body: errorTable(logs) });
    } catch (e) {
      fail(e);
    }
  }

  // Statistics

  async function loadSummary() {
    try {
      const s = await api('GET', '/api/stats/summary');
      for (const node of document.querySelectorAll('[data-calls]')) {
        const v = s[node.dataset.calls] || {};
        node.textContent = fmt.n(v.total || 0);
        document.querySelector(`[data-split="${node.dataset.calls}"]`).textContent =
          t('calls.split', { ok: fmt.n(v.success || 0), bad: fmt.n(v.failure || 0), refused: fmt.n(v.refused || 0) });
      }
    } catch (e) {
      if (e.status !== 401) for (const node of document.querySelectorAll('[data-calls]')) node.textContent = '–';
    }
  }

  // callDetails shows a period's totals (from the counters, exact) and its newest calls (up to 1000).
  async function callDetails(period) {
    let rows, totals;
    try {
      const [list, summary] = await Promise.all([
        api('GET', '/api/stats/details?' + new URLSearchParams({ period, limit: 1000 })),
        api('GET', '/api/stats/summary'),
      ]);
      rows = list.map(callOf);
      totals = summary['calls_' + period] || {};
    } catch (e) {
      return fail(e);
    }
    const total = totals.total || 0;
    const summary = el('dl.fields', {},
      field(t('calls.total'), fmt.n(total)),
      field(t('chart.success'), fmt.n(totals.success || 0) + ' (' + fmt.pct(totals.success || 0, total) + ')'),
      field(t('chart.failure'), fmt.n(totals.failure || 0) + ' (' + fmt.pct(totals.failure || 0, total) + ')'),
      field(t('chart.refused'), fmt.n(totals.refused || 0) + ' (' + fmt.pct(totals.refused || 0, total) + ')'));
    const note = rows.length < total ? el('p.muted.small', {}, t('calls.newest', { n: fmt.n(rows.length) })) : null;
    modal({ title: t('calls.details', { period: t('calls.' + period) }), wide: true, body: el('div', {}, summary, note, callTable(rows)) });
  }

  async function loadChart() {
    const win = state.chartWindow;
    for (const b of document.querySelectorAll('#chart-card [data-window]')) b.setAttribute('aria-pressed', String(b.dataset.window === win));
    try {
      const points = (await api('GET', '/api/stats/series?' + new URLSearchParams({ window: win }))).points || [];
      GGChart.draw($('chart'), points, { hourly: win !== '1h', ...chartLabels() });
    } catch (e) {
      if (e.status !== 401) clear($('chart')).append(el('p.muted', {}, e.message));
    }
  }

  // loadAttention lists the keys with the most answers of one status code in 24 hours, with actions
  // on one key or on every listed key at once.
  async function loadAttention() {
    const custom = parseInt($('attention-custom').value, 10);
    const code = custom >= 100 && custom <= 599 ? custom : state.attentionCode;
    const limit = Math.min(1000, Math.max(1, parseInt($('attention-limit').value, 10) || 10));
    const list = $('attention-list');
    try {
      const rows = await api('GET', '/api/stats/attention-keys?' + new URLSearchParams({ status_code: code, limit }));
      state.attention = rows.map((r) => r.key_id);
      $('attention-bulk').hidden = !rows.length;
      clear(list);
      if (!rows.length) return list.append(el('li.muted', {}, t('attention.none', { code })));
      for (const r of rows) {
        list.append(el('li', { dataset: { id: r.key_id } },
          el('span', {}, el('span.mono', {}, r.key), ' ', el('span.pill.warn', {}, code + ': ' + fmt.n(r.count))),
          el('span.row-actions', {},
            el('button.btn.small', { type: 'button', onclick: () => runAction('verify', [r.key_id]) }, t('keys.action.verify')),
            el('button.btn.small', { type: 'button', onclick: () => keyDetails(r.key_id, r.key) }, t('keys.action.details')),
            el('button.btn.small', { type: 'button', onclick: () => copyKeys([r.key_id]) }, t('keys.action.copy')),
            el('button.btn.small.danger', { type: 'button', onclick: () => runAction('delete', [r.key_id]) }, t('keys.action.delete')))));
      }
    } catch (e) {
      if (e.status !== 401) clear(list).append(el('li.muted', {}, e.message));
    }
  }

  function refresh() {
    loadKeys();
    loadSummary();
    loadChart();
    loadAttention();
  }

  // Cooldown countdowns tick locally; when one ends the list is fetched again.
  function tick() {
    let ended = false;
    for (const node of document.querySelectorAll('[data-until]')) {
      if (new Date(node.dataset.until) <= Date.now()) ended = true;
      node.textContent = fmt.left(node.dataset.until);
    }
    if (ended && !state.busy) loadKeys();
  }

  function wire() {
    $('key-pool').addEventListener('change', () => {
      state.pool = $('key-pool').value;
      state.offset = 0;
      state.selected.clear();
      loadKeys();
    });
    $('refresh').addEventListener('click', refresh);
    $('add-keys').addEventListener('click', addKeysDialog);
    $('copy-all').addEventListener('click', () => copyKeys(null));
    $('key-search').addEventListener('input', debounce(() => {
      state.search = $('key-search').value.trim();
      state.offset = 0;
      loadKeys();
    }, 300));
    $('key-filter').addEventListener('change', () => {
      state.filter = $('key-filter').value;
      state.offset = 0;
      loadKeys();
    });
    $('page-size').addEventListener('change', () => {
      state.limit = parseInt($('page-size').value, 10);
      state.offset = 0;
      loadKeys();
    });
    for (const b of document.querySelectorAll('#totals .stat')) {
      b.addEventListener('click', () => {
        state.filter = b.dataset.filter;
        $('key-filter').value = state.filter;
        state.offset = 0;
        loadKeys();
      });
    }
    $('select-page').addEventListener('change', () => {
      for (const k of state.keys) {
        if ($('select-page').checked) state.selected.add(k.id);
        else state.selected.delete(k.id);
      }
      renderKeys();
    });
    for (const b of document.querySelectorAll('[data-bulk]')) b.addEventListener('click', () => bulk(b.dataset.bulk));
    $('progress-cancel').addEventListener('click', () => { state.cancel = true; });
    for (const b of document.querySelectorAll('#calls [data-period]')) b.addEventListener('click', () => callDetails(b.dataset.period));
    for (const b of document.querySelectorAll('#chart-card [data-window]')) {
      b.addEventListener('click', () => {
        state.chartWindow = b.dataset.window;
        loadChart();
      });
    }
    for (const b of document.querySelectorAll('#attention-codes [data-code]')) {
      b.addEventListener('click', () => {
        state.attentionCode = parseInt(b.dataset.code, 10);
        $('attention-custom').value = '';
        for (const o of document.querySelectorAll('#attention-codes [data-code]')) o.setAttribute('aria-pressed', String(o === b));
        loadAttention();
      });
    }
    $('attention-custom').addEventListener('change', loadAttention);
    for (const b of document.querySelectorAll('[data-attention]')) {
      b.addEventListener('click', () => {
        if (!state.busy && state.attention && state.attention.length) runAction(b.dataset.attention, [...state.attention]);
      });
    }
    $('min-failures').addEventListener('change', () => {
      state.minFailures = Math.max(0, parseInt($('min-failures').value, 10) || 0);
      state.offset = 0;
      loadKeys();
    });
    $('sort-failures').addEventListener('click', () => {
      state.sort = state.sort ? '' : 'failures';
      $('sort-failures').setAttribute('aria-pressed', String(!!state.sort));
      state.offset = 0;
      loadKeys();
    });
    $('attention-limit').addEventListener('change', loadAttention);
    window.addEventListener('resize', debounce(loadChart, 300));
  }

  wire();
  refresh();
  setInterval(tick, 1000);
  setInterval(() => {
    if (!state.busy && document.visibilityState === 'visible') {
      loadSummary();
      loadChart();
    }
  }, 30000);
})();
