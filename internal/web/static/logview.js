// Detail views of log entries, shared by the dashboard and the logs page: one error log with its
// stored error body and request, and one request with its attempts and their error logs.
'use strict';

(function () {
  const { t, label, el, api, fail, modal, confirmBox, copyAndTell, fmt, field, codeBlock, statusPill } = GG;

  // errorDetails shows one error log; onDeleted runs after it was deleted from the dialog.
  async function errorDetails(id, onDeleted) {
    let e;
    try {
      e = await api('GET', '/api/logs/errors/' + encodeURIComponent(id) + '/details');
    } catch (err) {
      return fail(err);
    }
    const body = el('div', {},
      el('dl.fields', {},
        field('ID', String(e.id)),
        field(t('logs.col.time'), fmt.time(e.request_time)),
        field(t('logs.col.key'), e.gemini_key ? el('span.mono', {}, e.gemini_key) : '–'),
        field(t('logs.key_id'), e.key_id),
        field(t('logs.col.type'), label('etype.', e.error_type)),
        field(t('logs.class'), label('class.', e.error_class)),
        field(t('logs.col.code'), statusPill(e.error_code)),
        field(t('logs.col.model'), e.model_name),
        field(t('logs.col.route'), e.route),
        field(t('logs.request_id'), e.request_id),
        field(t('logs.attempt'), e.attempt ? String(e.attempt) : ''),
      ),
      el('h2', {}, t('logs.error_body')), codeBlock(e.error_log || ''),
      el('h2', {}, t('logs.request_body')), e.request_msg ? codeBlock(e.request_msg) : el('p.muted.small', {}, t('logs.no_request_body')),
    );
    const actions = [
      { label: t('logs.copy_error'), onClick: () => { copyAndTell(GG.pretty(e.error_log || '')); return false; } },
      { label: t('logs.copy_all'), onClick: () => { copyAndTell(JSON.stringify(e, null, 2)); return false; } },
    ];
    if (e.request_id) {
      actions.push({ label: t('logs.show_request'), onClick: () => { requestByID(e.request_id); return false; } });
    }
    actions.push({
      label: t('keys.action.delete'), kind: 'danger', id: 'delete',
      onClick: async () => {
        if (!(await confirmBox(t('logs.confirm_delete', { n: 1 }), { danger: true }))) return false;
        await api('DELETE', '/api/logs/errors/' + encodeURIComponent(e.id));
        if (onDeleted) onDeleted();
      },
    });
    actions.push({ label: t('common.close') });
    modal({ title: t('logs.error_title', { id: e.id }), wide: true, body, actions });
  }

  async function requestByID(requestID) {
    try {
      const d = await api('GET', '/api/logs/requests?' + new URLSearchParams({ request_id: requestID, limit: 1 }));
      const rows = d.logs || [];
      if (!rows.length) throw new Error(t('logs.request_gone'));
      requestDetails(rows[0]);
    } catch (err) {
      fail(err);
    }
  }

  // requestDetails shows one request-log row, its upstream attempts, and the error logs they left.
  async function requestDetails(r) {
    const attempts = r.attempts || [];
    const errorsBox = el('div', {}, el('p.muted', {}, t('common.loading')));
    const body = el('div', {},
      el('dl.fields', {},
        field(t('logs.col.time'), fmt.time(r.request_time)),
        field(t('logs.request_id'), r.request_id),
        field(t('logs.col.route'), r.route),
        field(t('logs.path'), el('span.mono', {}, (r.method || '') + ' ' + (r.path || ''))),
        field(t('logs.col.model'), r.model_name),
        field(t('logs.col.key'), r.api_key ? el('span.mono', {}, r.api_key) : '–'),
        field(t('logs.col.status'), statusPill(r.status_code)),
        field(t('logs.col.latency'), fmt.n(r.latency_ms) + ' ms'),
        field(t('logs.stream'), r.stream ? t('common.yes') : t('common.no')),
        field(t('logs.col.tokens'), tokens(r.usage)),
        field(t('logs.error'), r.error ? el('span', { lang: 'en' }, r.error) : ''),
      ),
      el('h2', {}, t('logs.attempts', { n: attempts.length })),
      attempts.length ? el('div.table-wrap', {}, el('table.table', {},
        el('thead', {}, el('tr', {}, ['#', t('logs.col.time'), t('logs.col.key'), t('logs.col.status'), t('logs.class'), t('logs.col.latency'), t('logs.error')].map((h) => el('th', {}, h)))),
        el('tbody', {}, attempts.map((a, i) => el('tr', {},
          el('td', {}, String(i + 1)),
          el('td', {}, fmt.time(a.at)),
          el('td.mono', {}, a.key || '–'),
          el('td', {}, statusPill(a.status)),
          el('td', {}, label('class.', a.class)),
          el('td.num', {}, fmt.n(a.latency_ms) + ' ms'),
          el('td.wrap', { lang: 'en' }, a.error || ''),
        ))))) : el('p.muted', {}, t('logs.no_attempts')),
      el('h2', {}, t('logs.attempt_errors')), errorsBox,
    );
    modal({ title: t('logs.request_title'), wide: true, body,
      actions: [{ label: t('logs.copy_all'), onClick: () => { copyAndTell(JSON.stringify(r, null, 2)); return false; } }, { label: t('common.close') }] });
    if (!r.request_id) return GG.clear(errorsBox).append(el('p.muted', {}, t('logs.none')));
    try {
      const d = await api('GET', '/api/logs/errors?' + new URLSearchParams({ request_id: r.request_id, limit: 100, sort_by: 'id', sort_order: 'asc' }));
      const logs = d.logs || [];
      GG.clear(errorsBox).append(logs.length ? el('ul', {}, logs.map((e) => el('li', {},
        statusPill(e.error_code), ' ', label('etype.', e.error_type), ' — ', el('span.mono', {}, e.gemini_key || ''), ' ',
        el('button.btn.small', { type: 'button', onclick: () => errorDetails(e.id) }, t('keys.action.details'))))) : el('p.muted', {}, t('logs.none')));
    } catch (err) {
      GG.clear(errorsBox).append(el('p.muted', {}, err.message));
    }
  }

  function tokens(u) {
    if (!u) return '–';
    const total = (u.prompt_tokens || 0) + (u.output_tokens || 0) + (u.thought_tokens || 0);
    if (!total) return '–';
    return t('logs.tokens', { total: fmt.n(total), prompt: fmt.n(u.prompt_tokens || 0), output: fmt.n(u.output_tokens || 0), thoughts: fmt.n(u.thought_tokens || 0) });
  }

  window.GGLogs = { errorDetails, requestDetails, tokens };
})();
