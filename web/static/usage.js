// The usage view: tokens and cost per day and model from /api/usage, drawn
// as a stacked bar chart in SVG (built with createElementNS) and a table.

import { api } from './api.js';

const SVG = 'http://www.w3.org/2000/svg';
const KINDS = [
  ['input_tokens', 'Input', '#4c6ef5'],
  ['output_tokens', 'Output', '#12b886'],
  ['cache_creation_input_tokens', 'Cache write', '#fab005'],
  ['cache_read_input_tokens', 'Cache read', '#be4bdb'],
];

function day(d) { return d.toISOString().slice(0, 10); }

/** defaultRange is the last 30 days, today included (UTC). */
export function defaultRange() {
  const to = new Date();
  const from = new Date(to.getTime() - 29 * 86400e3);
  return { from: day(from), to: day(to) };
}

/** showUsage loads and draws the usage between from and to (YYYY-MM-DD). */
export async function showUsage(from, to) {
  const data = await api('GET', '/api/usage?from=' + encodeURIComponent(from) + '&to=' + encodeURIComponent(to));
  const rows = (data && data.data) || [];
  document.getElementById('usage-total').textContent =
    'Total: $' + Number((data && data.total_cost_usd) || 0).toFixed(4) + ' from ' + from + ' to ' + to;
  drawChart(document.getElementById('usage-chart'), rows, from, to);
  const tbody = document.querySelector('#usage-table tbody');
  tbody.replaceChildren();
  for (const r of rows) {
    const tr = tbody.insertRow();
    for (const v of [r.day, r.model, ...KINDS.map(([k]) => fmt(r[k] || 0)), Number(r.cost_usd || 0).toFixed(4)]) {
      tr.insertCell().textContent = v;
    }
    if (r.counted_output_tokens) {
      // Answers cut before the model gave its count: counted from their text.
      const out = tr.cells[3];
      out.textContent += ' (' + fmt(r.counted_output_tokens) + ' counted)';
      out.title = 'Output tokens of answers cut by Stop, a restart or an error, counted from their text';
    }
  }
  if (rows.length === 0) {
    const td = tbody.insertRow().insertCell();
    td.colSpan = 7;
    td.textContent = 'No usage in this period.';
  }
}

function fmt(n) { return Number(n).toLocaleString('en-US'); }

function el(name, attrs, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function days(from, to) {
  const out = [];
  const end = new Date(to + 'T00:00:00Z').getTime();
  for (let t = new Date(from + 'T00:00:00Z').getTime(); t <= end && out.length < 400; t += 86400e3) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

function drawChart(box, rows, from, to) {
  const list = days(from, to);
  const totals = new Map(list.map((d) => [d, { cost: 0, ...Object.fromEntries(KINDS.map(([k]) => [k, 0])) }]));
  for (const r of rows) {
    const t = totals.get(r.day);
    if (!t) continue;
    for (const [k] of KINDS) t[k] += r[k] || 0;
    t.cost += r.cost_usd || 0;
  }
  const W = 800, H = 260, L = 56, B = 28, T = 10, R = 10;
  const max = Math.max(1, ...[...totals.values()].map((t) => KINDS.reduce((s, [k]) => s + t[k], 0)));
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'Tokens per day' });
  svg.append(el('line', { class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B }));
  for (const f of [0, 0.5, 1]) {
    const y = H - B - f * (H - B - T);
    svg.append(el('line', { class: 'axis', x1: L, y1: y, x2: W - R, y2: y, 'stroke-dasharray': '2 3' }));
    svg.append(el('text', { x: L - 6, y: y + 4, 'text-anchor': 'end' }, fmt(Math.round(max * f))));
  }
  const slot = (W - L - R) / list.length;
  const bw = Math.max(1, slot * 0.7);
  list.forEach((d, i) => {
    const t = totals.get(d);
    let y = H - B;
    const x = L + i * slot + (slot - bw) / 2;
    const g = el('g', { 'data-day': d });
    g.append(el('title', {}, d + ': ' + KINDS.map(([k, n]) => n + ' ' + fmt(t[k])).join(', ') + ', $' + t.cost.toFixed(4)));
    for (const [k, , color] of KINDS) {
      const h = (t[k] / max) * (H - B - T);
      if (h <= 0) continue;
      y -= h;
      g.append(el('rect', { x: x.toFixed(1), y: y.toFixed(1), width: bw.toFixed(1), height: h.toFixed(1), fill: color }));
    }
    svg.append(g);
    const every = Math.ceil(list.length / 8);
    if (i % every === 0) svg.append(el('text', { x: (x + bw / 2).toFixed(1), y: H - B + 16, 'text-anchor': 'middle' }, d.slice(5)));
  });
  const legend = document.createElement('div');
  legend.className = 'legend';
  for (const [, name, color] of KINDS) {
    const s = document.createElement('span');
    const swatch = document.createElement('i');
    swatch.style.background = color;
    s.append(swatch, name);
    legend.append(s);
  }
  box.replaceChildren(svg, legend);
}
