// Helpers for the benches (see run.mjs for how a bench is written and run).
//
// Method, as in /work/shared/anchors: every implementation of a comparison runs RUNS
// times, interleaved (A, B, A, B, ...) in the same process, after untimed warm-up
// rounds; we report median/min/max per implementation and the ratio of medians
// candidate / baseline. The machine is a noisy shared VM: only ratios and figures taken
// in the same run mean anything.
//
// Env knobs:
//   RUNS         timed runs per implementation (default 7)
//   BENCH_SCALE  multiplies every iteration count given through scaled() (default 1;
//                e.g. 0.1 for a quick smoke run, 3 for steadier figures)
import { performance } from 'node:perf_hooks';

export const envNumber = (name, dflt) => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`${name}=${JSON.stringify(v)} must be a positive number`);
  return n;
};
export const RUNS = Math.round(envNumber('RUNS', 7));
export const SCALE = envNumber('BENCH_SCALE', 1);
/** An iteration count `n` times BENCH_SCALE, at least 1. */
export const scaled = (n) => Math.max(1, Math.round(n * SCALE));

/** Monotonic clock in nanoseconds (a float; precise to well below 1 ns for hours). */
export const now = () => performance.now() * 1e6;

/** A sink for loop results so the JIT cannot drop the work: `consume(sum)`. */
let sink = 0;
export const consume = (x) => {
  sink = (sink + (typeof x === 'number' ? x : typeof x === 'bigint' ? Number(x & 0xffffffffn) : 0)) % 0x100000000;
};
export const checksum = () => sink;

export function stats(values) {
  const v = [...values].sort((a, b) => a - b);
  const n = v.length;
  const median = n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return { median, min: v[0], max: v[n - 1], n };
}

/** Rows collected by compare() in this process; run.mjs sends them to the parent. */
export const rows = [];

const PER_OP = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6 };
export const fmt = (x) => (Number.isFinite(x) ? String(Number(x.toPrecision(3))) : String(x));
const targetText = (t) =>
  !t ? '' : t.speedup !== undefined ? `≥ ${t.speedup}× faster` : t.max !== undefined ? `≤ ${t.max}×` : `≥ ${t.min}×`;
const ratioText = (ratio, speedup) => `${fmt(ratio)}×` + (speedup ? ` (${fmt(1 / ratio)}× faster)` : '');

/**
 * Runs the implementations of one comparison interleaved and records a row for each.
 *
 *   compare(name, { [label]: fn, ... }, options)
 *
 * The first label is the baseline (or options.baseline); every other one is a candidate,
 * reported with its ratio candidate/baseline of medians. Two modes:
 *
 *   mode 'time' (default): fn(iterations) runs the operation `iterations` times in its
 *     own loop (write one function literal per implementation, so each call site inside
 *     stays monomorphic) and returns something derived from every result (a sum), which
 *     is consumed. It may be async. The harness times the call; the figure is time per
 *     operation in options.unit: 'ns' (default), 'µs' or 'ms' (shown as "<unit>/op").
 *
 *   mode 'value': fn(run) does one whole measurement (e.g. spawn two workers, ping-pong,
 *     join) and returns (or resolves to) the figure itself in options.unit (any label:
 *     'µs/round trip', 'M ops/s'...). Nothing is timed by the harness.
 *
 * options:
 *   runs        timed runs per implementation (default RUNS)
 *   iterations  loop count per run in 'time' mode (pass it through scaled())
 *   warmup      untimed interleaved rounds before the timed runs (default 1)
 *   warmupIterations  iterations per warm-up call in 'time' mode (default iterations)
 *   target      { max: r } passes if ratio ≤ r (costs), { min: r } if ratio ≥ r
 *               (throughputs), { speedup: s } if the candidate is at least s times
 *               faster (ratio ≤ 1/s, for costs; the table also shows 1/ratio);
 *               applies to every candidate; omitted: reported only
 *   note        free text for the table
 * Returns { name, unit, baseline, impls: [{ label, median, min, max, values, ratio,
 * pairedRatios, pass }] }; pass is true/false, or null without a target.
 * Never throws on a MISS: the harness reports, it does not gate.
 */
export async function compare(name, impls, options = {}) {
  const { mode = 'time', runs = RUNS, warmup = 1, target, note = '' } = options;
  const labels = Object.keys(impls);
  const baseline = options.baseline ?? labels[0];
  if (!labels.includes(baseline)) throw new Error(`compare(${name}): no implementation ${baseline}`);
  let unit = options.unit;
  let once;
  if (mode === 'time') {
    unit ??= 'ns';
    const div = PER_OP[unit];
    const n = options.iterations;
    if (!div) throw new Error(`compare(${name}): unit must be one of ${Object.keys(PER_OP)} in 'time' mode`);
    if (!(n >= 1)) throw new Error(`compare(${name}): iterations is required in 'time' mode`);
    const wn = options.warmupIterations ?? n;
    once = async (fn, warm) => {
      const iters = warm ? wn : n;
      const t0 = now();
      let r = fn(iters);
      if (r && typeof r.then === 'function') r = await r;
      const dt = now() - t0;
      consume(r);
      return dt / iters / div;
    };
    unit += '/op';
  } else if (mode === 'value') {
    if (!unit) throw new Error(`compare(${name}): unit is required in 'value' mode`);
    once = async (fn, _warm, k) => {
      const v = await fn(k);
      if (typeof v !== 'number' || Number.isNaN(v)) throw new Error(`compare(${name}): got ${v}, not a number`);
      return v;
    };
  } else {
    throw new Error(`compare(${name}): mode must be 'time' or 'value'`);
  }

  for (let w = 0; w < warmup; w++) for (const l of labels) await once(impls[l], true, -1 - w);
  const values = Object.fromEntries(labels.map((l) => [l, []]));
  for (let k = 0; k < runs; k++) for (const l of labels) values[l].push(await once(impls[l], false, k));

  const base = stats(values[baseline]);
  const result = { name, unit, baseline, impls: [] };
  console.log(`\n${name}`);
  for (const l of [baseline, ...labels.filter((x) => x !== baseline)]) {
    const s = stats(values[l]);
    const isBase = l === baseline;
    const ratio = s.median / base.median;
    // run k of each implementation ran back to back: their ratio shows how noisy `ratio` is
    const paired = values[l].map((v, k) => v / values[baseline][k]);
    const pass =
      isBase || !target
        ? null
        : target.speedup !== undefined
          ? ratio * target.speedup <= 1
          : target.max !== undefined
            ? ratio <= target.max
            : ratio >= target.min;
    const speedup = target?.speedup !== undefined;
    const verdict = pass === null ? '' : pass ? 'PASS' : 'MISS';
    result.impls.push({ label: l, ...s, values: values[l], ratio, pairedRatios: paired, pass });
    const p = stats(paired);
    console.log(
      `  ${(isBase ? 'base ' : 'cand ') + l.padEnd(44)} median ${fmt(s.median).padStart(6)} ${unit}` +
        `  [${fmt(s.min)} .. ${fmt(s.max)}]` +
        (isBase ? '' : `  ratio ${ratioText(ratio, speedup)} (paired ${fmt(p.min)}..${fmt(p.max)})`) +
        (target && !isBase ? `  target ${targetText(target)} ${verdict}` : ''),
    );
    rows.push({
      comparison: name,
      impl: l,
      median: s.median,
      min: s.min,
      max: s.max,
      unit,
      runs: s.n,
      ratio: isBase ? null : ratio,
      speedup: !isBase && speedup,
      target: isBase ? '' : targetText(target),
      // the target as numbers (for --json and the chart): kind 'max' | 'min' | 'speedup'
      targetKind:
        isBase || !target ? null : target.speedup !== undefined ? 'speedup' : target.max !== undefined ? 'max' : 'min',
      targetValue: isBase || !target ? null : (target.speedup ?? target.max ?? target.min),
      result: verdict,
      note: isBase ? note : '',
    });
  }
  return result;
}

/**
 * Records a figure that has no baseline to divide by (syscalls per operation, say):
 * `target` { max } or { min } applies to the value itself.
 */
export function figure(name, impl, value, unit, { target, note = '' } = {}) {
  const pass = !target ? null : target.max !== undefined ? value <= target.max : value >= target.min;
  const verdict = pass === null ? '' : pass ? 'PASS' : 'MISS';
  console.log(
    `\n${name}\n  ${impl.padEnd(48)} ${fmt(value)} ${unit}` +
      (target ? `  target ${target.max !== undefined ? '≤' : '≥'} ${target.max ?? target.min} ${verdict}` : ''),
  );
  rows.push({
    comparison: name,
    impl,
    median: value,
    min: value,
    max: value,
    unit,
    runs: 1,
    ratio: null,
    standalone: true,
    target: target ? `${target.max !== undefined ? '≤' : '≥'} ${target.max ?? target.min} ${unit}` : '',
    targetKind: null,
    targetValue: null,
    result: verdict,
    note,
  });
}

/** Records a comparison that could not run here (e.g. a missing tool), with the reason. */
export function skipped(name, reason) {
  console.log(`\n${name}\n  skipped: ${reason}`);
  rows.push({
    comparison: name,
    impl: '(skipped)',
    median: '',
    min: '',
    max: '',
    unit: '',
    runs: 0,
    ratio: null,
    target: '',
    targetKind: null,
    targetValue: null,
    result: `skipped: ${reason}`,
    note: '',
  });
}

/** A markdown table of rows (as collected by compare, plus a `bench` field). */
export function markdownTable(allRows) {
  const head = ['bench', 'comparison', 'implementation', 'median', 'min', 'max', 'unit', 'ratio', 'target', 'result'];
  const esc = (s) => String(s).replace(/\|/g, '\\|');
  const lines = [
    `| ${head.join(' | ')} |`,
    `|${head.map((h, i) => ((i >= 3 && i <= 5) || i === 7 ? '---:' : '---')).join('|')}|`,
  ];
  let prev = '';
  for (const r of allRows) {
    const first = r.comparison !== prev;
    prev = r.comparison;
    lines.push(
      '| ' +
        [
          first ? r.bench : '',
          first ? r.comparison + (r.note ? ` (${r.note})` : '') : '',
          `\`${r.impl}\``,
          fmt(r.median),
          fmt(r.min),
          fmt(r.max),
          r.unit,
          r.ratio === null ? (r.runs && !r.standalone ? 'baseline' : '') : ratioText(r.ratio, r.speedup),
          r.target,
          r.result === 'MISS' ? '**MISS**' : r.result,
        ]
          .map(esc)
          .join(' | ') +
        ' |',
    );
  }
  return lines.join('\n');
}
