'use strict';
// The local status page of arcmon run: reads /api/status and /api/history (same origin), draws plain DOM and SVG.
const LAYERS = ['dns', 'connect', 'tls', 'http'];

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A layer cell: failed at this layer, passed (before the failing one, or all when healthy), or not reached. */
function layerCell(state, layer) {
  const failed = state.phase === 'proxy' ? 'connect' : state.phase;
  if (state.verdict === 'skipped') return el('td', { class: 'na' }, '-');
  if (state.verdict === 'reachable' || !failed) return el('td', { class: 'ok' }, 'ok');
  const at = LAYERS.indexOf(failed);
  const here = LAYERS.indexOf(layer);
  if (here === at && state.verdict === 'blocked') return el('td', { class: 'fail' }, 'FAIL');
  if (here === at) return el('td', { class: 'degraded' }, 'warn');
  return here < at ? el('td', { class: 'ok' }, 'ok') : el('td', { class: 'na' }, '.');
}

/** Latency over the day as a line, failures as red bars. */
function chart(points) {
  const w = 240;
  const h = 36;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('width', String(w));
  svg.setAttribute('height', String(h));
  svg.setAttribute('role', 'img');
  if (points.length === 0) return svg;
  const start = Date.now() - 24 * 3600 * 1000;
  const x = (t) => ((Date.parse(t) - start) / (24 * 3600 * 1000)) * w;
  const max = Math.max(1, ...points.map((p) => p.totalMs));
  const y = (ms) => h - 2 - (ms / max) * (h - 4);
  const healthy = points.filter((p) => p.verdict === 'reachable' || p.verdict === 'degraded');
  for (const p of points.filter((q) => q.verdict === 'blocked')) {
    const bar = document.createElementNS(svg.namespaceURI, 'rect');
    bar.setAttribute('x', String(Math.max(0, x(p.cycleStartedAt) - 1)));
    bar.setAttribute('y', '0');
    bar.setAttribute('width', '3');
    bar.setAttribute('height', String(h));
    bar.setAttribute('fill', '#c50f1f');
    bar.setAttribute('class', 'failure');
    svg.appendChild(bar);
  }
  if (healthy.length > 0) {
    const line = document.createElementNS(svg.namespaceURI, 'polyline');
    line.setAttribute(
      'points',
      healthy.map((p) => `${x(p.cycleStartedAt).toFixed(1)},${y(p.totalMs).toFixed(1)}`).join(' '),
    );
    line.setAttribute('fill', 'none');
    line.setAttribute('stroke', '#0f6cbd');
    line.setAttribute('stroke-width', '1.5');
    svg.appendChild(line);
  }
  return svg;
}

async function load() {
  const [status, history] = await Promise.all([
    fetch('api/status').then((r) => r.json()),
    fetch('api/history').then((r) => r.json()),
  ]);
  const counts = {};
  for (const s of status.states) counts[s.verdict] = (counts[s.verdict] || 0) + 1;
  document.getElementById('summary').textContent =
    `site ${status.site}: ${status.states.length} endpoints — ` +
    ['reachable', 'degraded', 'blocked', 'skipped'].map((v) => `${counts[v] || 0} ${v}`).join(', ') +
    ` — ${status.openIncidents.length} open incident(s); updated ${new Date().toISOString().slice(0, 19)}Z`;
  const list = document.getElementById('incidents');
  list.replaceChildren();
  if (status.openIncidents.length === 0) list.appendChild(el('li', { class: 'none' }, 'none'));
  for (const i of status.openIncidents) {
    list.appendChild(
      el('li', {}, `[${i.severity}] ${i.kind} ${i.targetId} since ${i.openedAt}: ${i.failureCode || ''} ${i.message}`),
    );
  }
  const body = document.querySelector('#endpoints tbody');
  body.replaceChildren();
  const order = { blocked: 0, degraded: 1, skipped: 2, reachable: 3 };
  for (const s of [...status.states].sort(
    (a, b) => order[a.verdict] - order[b.verdict] || a.targetId.localeCompare(b.targetId),
  )) {
    const row = el('tr', { 'data-target': s.targetId });
    row.appendChild(el('td', {}, s.site));
    row.appendChild(el('td', {}, s.targetId));
    for (const layer of LAYERS) row.appendChild(layerCell(s, layer));
    row.appendChild(el('td', { class: s.verdict }, s.verdict.toUpperCase()));
    row.appendChild(el('td', {}, s.since.slice(0, 16).replace('T', ' ')));
    const points = history.points[s.targetId] || [];
    const cell = el('td', {});
    cell.appendChild(chart(points));
    row.appendChild(cell);
    const ok = points.filter((p) => p.verdict === 'reachable' || p.verdict === 'degraded').length;
    row.appendChild(
      el('td', { class: 'availability' }, points.length ? `${((100 * ok) / points.length).toFixed(1)}%` : '–'),
    );
    body.appendChild(row);
    if (s.failureCode) {
      const why = el('tr', { class: 'why' });
      why.appendChild(el('td', {}, ''));
      why.appendChild(el('td', { class: 'reason', colspan: '9' }, `${s.failureCode}: ${s.message || ''}`));
      body.appendChild(why);
    }
  }
}

load().catch((err) => {
  document.getElementById('summary').textContent = `could not load the status: ${err}`;
});
setInterval(() => load().catch(() => undefined), 30000);
