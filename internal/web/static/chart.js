// A small SVG line chart of successes, failures and refused requests (client mistakes that never
// reached Google, drawn grey so that they do not look like unhealthy keys) over time, instead of a charting library: the
// panel ships inside the binary and loads nothing from a CDN.
'use strict';

(function () {
  const NS = 'http://www.w3.org/2000/svg';
  const H = 220;
  const PAD = { left: 40, right: 10, top: 10, bottom: 24 };

  function svg(tag, attrs, text) {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, String(v));
    if (text !== undefined) n.textContent = text;
    return n;
  }

  // niceMax rounds the largest value up so that its quarter (one grid step) is 1, 2 or 5 times a
  // power of ten, which keeps every tick a round number.
  function niceMax(v) {
    const quarter = Math.max(v, 4) / 4;
    const p = Math.pow(10, Math.floor(Math.log10(quarter)));
    for (const m of [1, 2, 5, 10]) if (m * p >= quarter) return 4 * m * p;
    return 40 * p;
  }

  function label(date, hourly) {
    const d = new Date(date);
    const hh = String(d.getHours()).padStart(2, '0');
    const mm = String(d.getMinutes()).padStart(2, '0');
    return hourly ? hh + ':00' : hh + ':' + mm;
  }

  // draw renders points [{time, success, failure, refused}] into container; hourly picks the axis labels.
  function draw(container, points, { hourly, successLabel, failureLabel, refusedLabel, emptyLabel }) {
    GG.clear(container);
    if (!points.length) {
      container.append(GG.el('p.muted', {}, emptyLabel));
      return;
    }
    // Drawn at the container's real width, so text is never stretched.
    const W = Math.max(300, Math.round(container.clientWidth || 640));
    const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img' });
    const max = niceMax(Math.max(1, ...points.map((p) => Math.max(p.success || 0, p.failure || 0, p.refused || 0))));
    const iw = W - PAD.left - PAD.right;
    const ih = H - PAD.top - PAD.bottom;
    const x = (i) => PAD.left + (points.length === 1 ? iw / 2 : (i * iw) / (points.length - 1));
    const y = (v) => PAD.top + ih - (v / max) * ih;

    for (let i = 0; i <= 4; i++) {
      const v = (max * i) / 4;
      root.append(svg('line', { class: i ? 'grid' : 'axis', x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v) }));
      root.append(svg('text', { x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, GG.fmt.n(Math.round(v))));
    }
    const every = Math.max(1, Math.ceil(points.length / 8));
    points.forEach((p, i) => {
      if (i % every === 0) root.append(svg('text', { x: x(i), y: H - 6, 'text-anchor': 'middle' }, label(p.time, hourly)));
    });

    const series = [['refused', 'refused'], ['success', 'ok'], ['failure', 'bad']].filter(([key]) => key !== 'refused' || points.some((p) => p.refused));
    for (const [key, cls] of series) {
      const line = points.map((p, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(p[key] || 0).toFixed(1)}`).join('');
      const area = `${line}L${x(points.length - 1).toFixed(1)},${y(0)}L${x(0).toFixed(1)},${y(0)}Z`;
      root.append(svg('path', { class: cls + '-area', d: area }));
      root.append(svg('path', { class: cls, d: line }));
    }

    // Transparent columns carry the tooltip of each point.
    const col = iw / Math.max(1, points.length);
    points.forEach((p, i) => {
      const hit = svg('rect', { class: 'hit', x: x(i) - col / 2, y: PAD.top, width: col, height: ih });
      hit.append(svg('title', {}, `${GG.fmt.time(p.time)}\n${successLabel}: ${p.success || 0}\n${failureLabel}: ${p.failure || 0}` +
        (refusedLabel ? `\n${refusedLabel}: ${p.refused || 0}` : '')));
      root.append(hit);
    });
    container.append(root, GG.el('div.legend', {}, GG.el('span.ok', {}, successLabel), GG.el('span.bad', {}, failureLabel),
      series.some(([key]) => key === 'refused') ? GG.el('span.refused', {}, refusedLabel) : null));
  }

  // bucket turns rows with a time and an is_success flag into per-minute or per-hour points, for the
  // per-key chart, whose rows come straight from the request log.
  function bucket(rows, { windowMs, hourly, now }) {
    const step = hourly ? 3600e3 : 60e3;
    const end = Math.floor((now || Date.now()) / step) * step;
    const start = end - Math.floor(windowMs / step - 1) * step;
    const points = [];
    for (let t = start; t <= end; t += step) points.push({ time: new Date(t).toISOString(), success: 0, failure: 0 });
    for (const r of rows) {
      const t = Math.floor(new Date(r.time).getTime() / step) * step;
      const i = (t - start) / step;
      if (i >= 0 && i < points.length) points[i][r.ok ? 'success' : 'failure']++;
    }
    return points;
  }

  window.GGChart = { draw, bucket };
})();
