/**
 * A self-contained HTML report of a NAB run: inline SVG, inline CSS, no external assets.
 * @module
 */
import type { NabFileResult, NabResult } from './run-nab.ts';
import { NAB_PROFILE_NAMES } from './scorer.ts';

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const fmt = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : '–');

function categoryChart(result: NabResult): string {
  const cats = Object.keys(result.categories).sort();
  const rowH = 22;
  const labelW = 190;
  const barW = 420;
  const h = cats.length * rowH + 30;
  const zero = labelW + barW / 2;
  const bars = cats.map((c, k) => {
    const v = Math.max(-100, Math.min(100, result.categories[c]?.standard.normalized ?? 0));
    const w = (Math.abs(v) / 100) * (barW / 2);
    const x = v >= 0 ? zero : zero - w;
    const y = 10 + k * rowH;
    return `<text x="${labelW - 6}" y="${y + 14}" text-anchor="end">${esc(c)}</text><rect x="${x}" y="${y + 3}" width="${w}" height="${rowH - 8}" fill="${v >= 0 ? '#3b82f6' : '#ef4444'}"/><text x="${labelW + barW + 6}" y="${y + 14}">${fmt(v, 1)}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + barW + 60}" height="${h}" font-size="12" font-family="sans-serif"><line x1="${zero}" y1="5" x2="${zero}" y2="${h - 15}" stroke="#999"/>${bars.join('')}</svg>`;
}

function sparkline(f: NabFileResult, threshold: number): string {
  const w = 600;
  const h = 60;
  const n = f.rows;
  if (n < 2) return '';
  const bins = Math.min(w, n);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of f.values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const span = hi - lo || 1;
  const pts: string[] = [];
  const alarms: string[] = [];
  for (let b = 0; b < bins; b++) {
    const i0 = Math.floor((b * n) / bins);
    const i1 = Math.max(i0 + 1, Math.floor(((b + 1) * n) / bins));
    let sum = 0;
    let alarm = false;
    for (let i = i0; i < i1; i++) {
      sum += f.values[i] as number;
      if ((f.anomalyScores[i] as number) >= threshold) alarm = true;
    }
    const x = (b / (bins - 1)) * w;
    pts.push(`${fmt(x, 1)},${fmt(h - 4 - ((sum / (i1 - i0) - lo) / span) * (h - 8), 1)}`);
    if (alarm) alarms.push(`<line x1="${fmt(x, 1)}" y1="0" x2="${fmt(x, 1)}" y2="${h}" stroke="#ef4444"/>`);
  }
  const wins = f.windows.map((win) => {
    const x = (win.start / (n - 1)) * w;
    return `<rect x="${fmt(x, 1)}" y="0" width="${fmt(Math.max(1, ((win.end - win.start) / (n - 1)) * w), 1)}" height="${h}" fill="#fde68a"/>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">${wins.join('')}${alarms.join('')}<polyline fill="none" stroke="#1f2937" stroke-width="1" points="${pts.join(' ')}"/></svg>`;
}

/** Renders the report page. */
export function renderNabReport(result: NabResult): string {
  const profileRows = NAB_PROFILE_NAMES.map((p) => {
    const s = result.profiles[p];
    return `<tr><td>${p}</td><td>${fmt(s.normalized)}</td><td>${fmt(s.threshold, 4)}</td><td>${s.windowsDetected}/${s.windows}</td><td>${s.falsePositives}</td><td>${fmt(s.raw)}</td></tr>`;
  });
  const threshold = result.profiles.standard.threshold;
  const fileRows = result.files.map((f) => {
    const s = f.scores.standard;
    return `<tr><td>${esc(f.file)}<br>${sparkline(f, threshold)}</td><td>${fmt(s.score)}</td><td>${s.windowsDetected}/${s.windowsScored}</td><td>${s.fp}</td></tr>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>NAB results: ${esc(result.kind)}</title>
<style>body{font-family:sans-serif;margin:2em;color:#111}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f3f4f6}</style></head>
<body><h1>NAB results: ${esc(result.kind)}</h1>
<p>${result.files.length} files, ${result.rows} rows, ${fmt(result.elapsedMs / 1000, 1)} s. Params: <code>${esc(JSON.stringify(result.params))}</code></p>
<table><tr><th>Profile</th><th>Score</th><th>Threshold</th><th>Windows detected</th><th>FP rows</th><th>Raw</th></tr>${profileRows.join('')}</table>
<h2>Standard profile by category</h2>${categoryChart(result)}
<h2>Files (standard profile; yellow = labelled window, red = detection)</h2>
<table><tr><th>File</th><th>Raw score</th><th>Windows</th><th>FP rows</th></tr>${fileRows.join('')}</table>
</body></html>
`;
}
