// The report of a full bench run: BENCHMARKS.md (between its report markers) and the chart
// bench/results/chart.svg, from the rows of a run (run.mjs --write calls writeReport; or
// `node bench/report.mjs [bench/results/latest.json]` redraws both from a saved run).
//
// The chart is drawn here, as plain SVG: one horizontal bar per fastipc row, the factor by
// which it beats its baseline (higher-is-better units: ratio; costs: 1/ratio) on a log
// scale, with the target as a tick. A charting library was not worth it: vega and
// chart.js need a canvas or a DOM to render in Node (a native canvas build or jsdom),
// and this chart is bars, a log axis and labels; ~100 lines with no dependency give a
// byte-stable file whose diffs show what changed.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
export const BENCHMARKS = `${root}BENCHMARKS.md`;
export const CHART = `${root}bench/results/chart.svg`;

/** Units whose bigger figures are better (throughputs: they end in /s). */
const higherIsBetter = (unit) => /\/s$/.test(unit);

/** The factor by which a candidate row beats its baseline (> 1: better), and its target as one. */
export function advantage(row) {
  if (row.ratio === null || !Number.isFinite(row.ratio) || row.ratio <= 0) return null;
  const up = higherIsBetter(row.unit);
  const factor = up ? row.ratio : 1 / row.ratio;
  let target = null;
  if (row.targetKind === 'speedup') target = row.targetValue;
  else if (row.targetKind === 'min') target = row.targetValue;
  else if (row.targetKind === 'max') target = 1 / row.targetValue;
  return { factor, target };
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const short = (s, n) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/** The SVG chart of the candidate rows. */
export function chart(rows, meta) {
  const bars = rows
    .filter((r) => r.ratio !== null && r.runs > 0)
    .map((r) => ({ r, a: advantage(r) }))
    .filter((b) => b.a);
  const W = 1180;
  const LABEL = 640;
  const ROW = 22;
  const TOP = 58;
  const plot = W - LABEL - 90;
  const lo = Math.log10(0.1);
  const hi = Math.log10(Math.max(10000, ...bars.map((b) => b.a.factor * 1.5)));
  const x = (v) => LABEL + ((Math.log10(Math.min(Math.max(v, 0.1), 10 ** hi)) - lo) / (hi - lo)) * plot;
  const H = TOP + bars.length * ROW + 40;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
      `font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">fastipc against its baselines: ` +
      `how many times better (log scale; the tick is the target)</text>`,
    `<text x="10" y="38" fill="#555">${esc(meta.machine ?? '')} · ${esc(meta.node ?? '')} · commit ` +
      `${esc(meta.commit ?? '')} · ${esc((meta.date ?? '').slice(0, 10))}</text>`,
  ];
  for (let e = Math.ceil(lo); e <= Math.floor(hi); e++) {
    const gx = x(10 ** e).toFixed(1);
    out.push(`<line x1="${gx}" y1="${TOP - 6}" x2="${gx}" y2="${H - 34}" stroke="${e === 0 ? '#333' : '#ddd'}"/>`);
    out.push(
      `<text x="${gx}" y="${H - 20}" text-anchor="middle" fill="#555">${10 ** e >= 1 ? 10 ** e : 10 ** e}×</text>`,
    );
  }
  bars.forEach(({ r, a }, i) => {
    const y = TOP + i * ROW;
    const x0 = x(1);
    const x1 = x(a.factor);
    const pass = r.result === 'PASS' ? '#2a7' : r.result === 'MISS' ? '#d44' : '#78a';
    const label = `${short(r.comparison.replace(/ \(.*$/, ''), 58)} — ${short(r.impl, 28)}`;
    out.push(`<text x="${LABEL - 8}" y="${y + 15}" text-anchor="end">${esc(label)}</text>`);
    out.push(
      `<rect x="${Math.min(x0, x1).toFixed(1)}" y="${y + 4}" width="${Math.max(1, Math.abs(x1 - x0)).toFixed(1)}" ` +
        `height="${ROW - 8}" fill="${pass}"/>`,
    );
    out.push(`<text x="${(Math.max(x0, x1) + 4).toFixed(1)}" y="${y + 15}" fill="#333">${fmt(a.factor)}×</text>`);
    if (a.target) {
      const tx = x(a.target).toFixed(1);
      out.push(`<line x1="${tx}" y1="${y + 1}" x2="${tx}" y2="${y + ROW - 1}" stroke="#000" stroke-width="2"/>`);
    }
  });
  out.push(
    `<text x="10" y="${H - 6}" fill="#555">green: target met · red: missed · blue: reported (no target). ` +
      `Throughputs: fastipc/baseline; costs (time per op): baseline/fastipc.</text>`,
  );
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** The generated part of BENCHMARKS.md. */
export function reportBlock(rows, meta, table) {
  const misses = rows
    .filter((r) => r.result === 'MISS')
    .map((r) => {
      const a = advantage(r);
      const what = r.comparison.replace(/ \(.*$/, '');
      if (!a) return `- ${what}, \`${r.impl}\`: ${r.median} ${r.unit}, target ${r.target}`;
      const by = `${fmt(a.factor)}× better than the baseline`;
      return `- ${what}, \`${r.impl}\`: ${by}, target ${fmt(a.target)}× (${r.target})`;
    });
  return [
    '<!-- report:start -->',
    `- date: ${meta.date}`,
    `- machine: ${meta.machine}`,
    `- system: ${meta.node}`,
    `- commit: ${meta.commit}`,
    `- settings: ${meta.settings}`,
    `- wall time: ${meta.wall}`,
    '',
    '![fastipc against its baselines](bench/results/chart.svg)',
    '',
    table,
    '',
    misses.length
      ? `Targets missed in this run (${misses.length}):\n\n${misses.join('\n')}`
      : 'Every target met in this run.',
    '<!-- report:end -->',
  ].join('\n');
}

/** Writes BENCHMARKS.md's generated part and the chart. */
export function writeReport(rows, meta, table) {
  fs.writeFileSync(CHART, chart(rows, meta));
  const doc = fs.readFileSync(BENCHMARKS, 'utf8');
  const start = doc.indexOf('<!-- report:start -->');
  const end = doc.indexOf('<!-- report:end -->');
  if (start < 0 || end < start) throw new Error('BENCHMARKS.md: report markers not found');
  fs.writeFileSync(
    BENCHMARKS,
    doc.slice(0, start) + reportBlock(rows, meta, table) + doc.slice(end + '<!-- report:end -->'.length),
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1])) {
  const file = process.argv[2] ?? `${root}bench/results/latest.json`;
  const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
  const { markdownTable } = await import('./lib.mjs');
  writeReport(saved.rawRows, saved.meta, markdownTable(saved.rawRows));
  console.log(`BENCHMARKS.md and ${CHART.slice(root.length)} from ${file}`);
}
