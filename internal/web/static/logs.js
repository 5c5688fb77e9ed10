// Logs page: the error log and the request log, each with filters, sorting, paging, details, copy
// and delete (one, selected, all).
'use strict';

(function () {
  const { t, label, el, clear, api, toast, fail, confirmBox, copyAndTell, fmt, pager, statusPill } = GG;
  const $ = (id) => document.getElementById(id);

  // A view is one of the two tables; both work the same way and differ in columns and routes.
  function makeView(name, cfg) {
    const v = { name, cfg, offset: 0, limit: 20, sortBy: cfg.defaultSort, desc: true, rows: [], total: 0, selected: new Set(), filters: {} };

    v.load = async () => {
      const q = new URLSearchParams({ limit: v.limit, offset: v.offset, sort_by: v.sortBy, sort_order: v.desc ? 'desc' : 'asc' });
      for (const [k, val] of Object.entries(v.filters)) if (val !== '') q.set(k, val);
      let d;
      try {
        d = await api('GET', cfg.list + '?' + q);
      } catch (e) {
        return fail(e);
      }
      v.rows = d.logs || [];
      v.total = d.total || 0;
      if (!v.rows.length && v.offset > 0 && v.total > 0) {
        v.offset = Math.floor((v.total - 1) / v.limit) * v.limit;
        return v.load();
      }
      v.render();
    };

    v.render = () => {
      const body = clear($(name + '-body'));
      if (!v.rows.length) body.append(el('tr', {}, el('td.empty', { colspan: cfg.columns + 2 }, t('logs.none'))));
      for (const r of v.rows) {
        const box = el('input', { type: 'checkbox', checked: v.selected.has(r.id), 'aria-label': t('logs.select_row', { id: r.id }) });
        box.addEventListener('change', () => {
          if (box.checked) v.selected.add(r.id);
          else v.selected.delete(r.id);
          v.showSelected();
        });
        body.append(el('tr', { dataset: { id: r.id } }, el('td.check', {}, el('label.hit', {}, box)), cfg.cells(r), el('td.actions-cell', {}, el('div.row-actions', {},
          el('button.btn.small', { type: 'button', onclick: () => cfg.details(r, v.load) }, t('keys.action.details')),
          el('button.btn.small.danger', { type: 'button', onclick: () => v.remove([r.id]) }, t('keys.action.delete'))))));
      }
      GG.cardLabels($(name + '-table'));
      $(name + '-select-page').checked = v.rows.length > 0 && v.rows.every((r) => v.selected.has(r.id));
      $(name + '-total').textContent = t('logs.total', { n: fmt.n(v.total) });
      for (const b of document.querySelectorAll(`#${name}-table .sort`)) {
        if (b.dataset.sort === v.sortBy) b.dataset.dir = v.desc ? 'desc' : 'asc';
        else delete b.dataset.dir;
      }
      v.showSelected();
      pager($(name + '-pager'), { total: v.total, offset: v.offset, limit: v.limit, onPage: (o) => { v.offset = o; v.load(); } });
    };

    v.showSelected = () => {
      $(name + '-selected').textContent = v.selected.size ? t('keys.selected', { n: fmt.n(v.selected.size) }) : '';
    };

    v.remove = async (ids) => {
      if (!ids.length) return toast(t('logs.select_first'), 'error');
      if (!(await confirmBox(t('logs.confirm_delete', { n: fmt.n(ids.length) }), { danger: true, ok: t('keys.action.delete') }))) return;
      try {
        if (ids.length === 1) await api('DELETE', cfg.item(ids[0]));
        else await api('DELETE', cfg.list, { ids });
        for (const id of ids) v.selected.delete(id);
        toast(t('logs.deleted', { n: fmt.n(ids.length) }), 'ok');
      } catch (e) {
        fail(e);
      }
      v.load();
    };

    v.clearAll = async () => {
      if (!(await confirmBox(t('logs.confirm_clear'), { danger: true, ok: t('logs.delete_all') }))) return;
      try {
        await api('DELETE', cfg.list + '/all');
        v.selected.clear();
        toast(t('logs.cleared'), 'ok');
      } catch (e) {
        fail(e);
      }
      v.offset = 0;
      v.load();
    };

    v.wire = () => {
      const form = $(cfg.form);
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        v.filters = readFilters(form);
        v.offset = 0;
        v.load();
      });
      form.addEventListener('reset', () => setTimeout(() => {
        v.filters = {};
        v.offset = 0;
        v.load();
      }));
      for (const b of document.querySelectorAll(`#${name}-table .sort`)) {
        b.addEventListener('click', () => {
          if (v.sortBy === b.dataset.sort) v.desc = !v.desc;
          else {
            v.sortBy = b.dataset.sort;
            v.desc = true;
          }
          v.offset = 0;
          v.load();
        });
      }
      $(name + '-size').addEventListener('change', () => {
        v.limit = parseInt($(name + '-size').value, 10);
        v.offset = 0;
        v.load();
      });
      $(name + '-select-page').addEventListener('change', () => {
        for (const r of v.rows) {
          if ($(name + '-select-page').checked) v.selected.add(r.id);
          else v.selected.delete(r.id);
        }
        v.render();
      });
      $(name + '-delete').addEventListener('click', () => v.remove([...v.selected]));
      $(name + '-clear').addEventListener('click', v.clearAll);
    };
    return v;
  }

  // readFilters turns the filter form into query parameters; local date-times become absolute times.
  function readFilters(form) {
    const out = {};
    for (const input of form.elements) {
      if (!input.name) continue;
      let val = input.value.trim();
      if (val && input.type === 'datetime-local') {
        const d = new Date(val);
        val = isNaN(d) ? '' : d.toISOString();
      }
      out[input.name] = val;
    }
    return out;
  }

  const errors = makeView('errors', {
    list: '/api/logs/errors',
    item: (id) => '/api/logs/errors/' + encodeURIComponent(id),
    form: 'error-filters',
    defaultSort: 'id',
    columns: 6,
    cells: (r) => [
      el('td.num', {}, String(r.id)),
      el('td', {}, fmt.time(r.request_time)),
      el('td.mono', {}, r.gemini_key || '–'),
      el('td.wrap', { title: r.error_type || '' }, label('etype.', r.error_type)),
      el('td', {}, statusPill(r.error_code)),
      el('td.wrap', {}, r.model_name || '–'),
    ],
    details: (r, reload) => GGLogs.errorDetails(r.id, reload),
  });

  const requests = makeView('requests', {
    list: '/api/logs/requests',
    item: (id) => '/api/logs/requests/' + encodeURIComponent(id),
    form: 'request-filters',
    defaultSort: 'request_time',
    columns: 8,
    cells: (r) => [
      el('td', {}, fmt.time(r.request_time)),
      el('td', {}, r.route || '–', r.stream ? el('span.pill', {}, t('logs.stream_pill')) : null),
      el('td.wrap', {}, r.model_name || '–'),
      el('td.mono', {}, r.api_key || '–'),
      el('td', {}, statusPill(r.status_code)),
      el('td.num', {}, fmt.n(r.latency_ms) + ' ms'),
      el('td.num', {}, fmt.n(r.attempt_count)),
      el('td.num', {}, GGLogs.tokens(r.usage)),
    ],
    details: (r) => GGLogs.requestDetails(r),
  });

  // Copying selected error logs gives their rows as JSON, for a bug report or a chat.
  $('errors-copy').addEventListener('click', () => {
    const rows = errors.rows.filter((r) => errors.selected.has(r.id));
    if (!rows.length) return toast(t('logs.select_first'), 'error');
    copyAndTell(JSON.stringify(rows, null, 2), rows.length);
  });

  const views = { errors, requests };
  const loaded = new Set();

  function showTab(name) {
    for (const b of document.querySelectorAll('#log-tabs [data-tab]')) b.setAttribute('aria-selected', String(b.dataset.tab === name));
    for (const p of document.querySelectorAll('[data-panel]')) p.hidden = p.dataset.panel !== name;
    if (!loaded.has(name)) {
      loaded.add(name);
      views[name].load();
    }
    if (location.hash !== '#' + name) history.replaceState(null, '', '#' + name);
  }

  // What the logs do not hold row by row: rows removed by LOG_MAX_ROWS, and refusals that were only
  // counted (a few samples per source and minute are logged).
  async function loadNotices() {
    let st;
    try {
      st = await api('GET', '/api/logs/status');
    } catch (e) {
      return;
    }
    const ev = st.budget && st.budget.last_eviction;
    $('log-budget').hidden = !ev;
    if (ev) $('log-budget').textContent = t('logs.budget_evicted', { rows: fmt.n(ev.rows), table: ev.table, at: fmt.time(ev.at), max: fmt.n(st.budget.max_rows) });
    const totals = (st.refusals && st.refusals.totals) || {};
    const refused = Object.values(totals).reduce((a, b) => a + b, 0);
    const top = (st.refusals && st.refusals.top_sources) || [];
    $('log-refusals').hidden = refused === 0;
    if (refused) {
      $('log-refusals').textContent = t('logs.refusals_counted', { n: fmt.n(refused), sampled: fmt.n(st.refusals.sampled || 0),
        top: top.slice(0, 3).map((s) => s.source + ' (' + fmt.n(s.count) + ')').join(', ') });
    }
    $('log-notices').hidden = !ev && refused === 0;
  }

  loadNotices();
  errors.wire();
  requests.wire();
  for (const b of document.querySelectorAll('#log-tabs [data-tab]')) b.addEventListener('click', () => showTab(b.dataset.tab));
  showTab(location.hash === '#requests' ? 'requests' : 'errors');
})();
