// fastipc benchmark runner:  npm run bench [-- <filter>...]
//
//   node bench/run.mjs              every bench/*.bench.mjs, in name order
//   node bench/run.mjs atomics      only benches whose file name contains "atomics"
//   RUNS=11 BENCH_SCALE=0.2 node bench/run.mjs    env knobs: see lib.mjs, and
//   BENCH_TIMEOUT=600               seconds a bench may run before it is killed
//
// Run `npm run build` first: benches load the built library from ../dist/index.mjs.
//
// Writing a bench: a file bench/<name>.bench.mjs that exports
//
//   export async function run(ctx) { ... }   // ctx = { name, runs, scale }
//
// and measures with compare() from ./lib.mjs, e.g.
//
//   await compare('AtomicU32.add(1), SharedArrayBuffer',
//     { 'Atomics.add': (n) => rawLoop(n), 'AtomicU32.add': (n) => wrappedLoop(n) },
//     { iterations: scaled(10e6), target: { max: 1.2 } });
//
// or, for figures a run produces itself (round trips between workers or processes,
// throughput), compare(name, { a: async (run) => µsPerRoundTrip, ... },
// { mode: 'value', unit: 'µs/round trip' }). A bench must clean up what it creates
// (shared-memory segments, workers, child processes).
//
// Each bench runs in its own child process (a fork of this file), so one bench's JIT
// feedback, heap and leftovers do not affect another. The child prints its progress
// lines and sends its rows back over the IPC channel; the runner prints one markdown
// table and writes it, with date, node version and machine, to bench/results/latest.md
// (or, with --out DIR, to DIR/fastipc-bench.md).
// A MISS against a target is reported, not fatal; a bench that crashes, sends no rows or
// runs longer than BENCH_TIMEOUT seconds (default 600; then it and every process it
// started are killed) makes the runner exit 1 after the others have run. Rows measured
// before a crash are kept.
import { fork, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

if (process.argv[2] === '--child') {
  // In the child: run one bench and send its rows to the parent.
  const file = process.argv[3];
  const lib = await import('./lib.mjs');
  const mod = await import(pathToFileURL(file).href);
  if (typeof mod.run !== 'function') throw new Error(`${file} does not export run(ctx)`);
  const name = path.basename(file, '.bench.mjs');
  let code = 0;
  try {
    await mod.run({ name, runs: lib.RUNS, scale: lib.SCALE });
    console.log(`\n[${name}] checksum ${lib.checksum()}`);
  } catch (err) {
    console.error(err);
    code = 1; // the rows measured before the crash are still sent and tabled
  }
  // exit even if the bench left a handle open (it should not); stdout is synchronous
  // for files and pipes on Linux, so nothing printed is lost
  process.send({ rows: lib.rows }, () => process.exit(code));
} else {
  // Options (the rest of the arguments are filters: benches whose file name contains one):
  //   --quick        a smoke run in ≤ ~40 s: BENCH_SCALE=0.1 and RUNS=5 unless set
  //   --only NAME    a filter (the same as a bare NAME; may repeat)
  //   --out DIR      write DIR/fastipc-bench.md (the CLI passes the folder it was started
  //                  in); without it, bench/results/latest.md (and .json) of this checkout
  //   --json FILE    also write the rows as JSON (fields: see README, Benchmarks)
  //   --write        a full run only: also regenerate BENCHMARKS.md, bench/results/chart.svg
  //                  and the README's table
  const argv = process.argv.slice(2);
  const opts = { out: null, json: null, quick: false, write: false };
  const filters = [];
  const usage = (why) => {
    console.error(
      `${why}\nusage: node bench/run.mjs [--quick] [--json FILE] [--only NAME]... [--out DIR] [--write] [FILTER...]`,
    );
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out' || a === '--json' || a === '--only') {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--'))
        usage(`${a} needs a ${a === '--out' ? 'folder' : a === '--json' ? 'file' : 'name'}`);
      if (a === '--only') filters.push(v);
      else opts[a.slice(2)] = v;
    } else if (a === '--quick') opts.quick = true;
    else if (a === '--write') opts.write = true;
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else filters.push(a);
  }
  if (opts.write && (opts.quick || filters.length || opts.out))
    usage('--write is for a full run (no --quick, filter or --out)');
  if (opts.quick) {
    process.env.BENCH_SCALE ||= '0.1';
    process.env.RUNS ||= '5';
    process.env.RUNS_CONTENDED ||= '7';
  }
  const { RUNS, SCALE, envNumber, markdownTable } = await import('./lib.mjs');
  const outFile = opts.out ? path.resolve(opts.out, 'fastipc-bench.md') : path.join(here, 'results', 'latest.md');
  const all = fs
    .readdirSync(here)
    .filter((f) => f.endsWith('.bench.mjs'))
    .sort();
  const chosen = all.filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
  if (chosen.length === 0) {
    console.error(`no bench matches ${filters.join(' ')}; have: ${all.join(', ') || 'none'}`);
    process.exit(2);
  }
  // how long each bench took in the last full run (for the progress line's estimate)
  const previous = {};
  try {
    const last = fs
      .readFileSync(path.join(here, 'results', 'latest.md'), 'utf8')
      .match(/^- wall time: [\d.]+ s \((.*)\);/m);
    for (const m of (last?.[1] ?? '').matchAll(/(\w+) ([\d.]+) s/g)) previous[m[1]] = Number(m[2]);
  } catch {}
  const dist = path.join(here, '..', 'dist', 'index.mjs');
  if (!fs.existsSync(dist)) {
    console.error(`${dist} is missing: run \`npm run build\` first`);
    process.exit(2);
  }

  // The benches keep their PID registrations in a folder of their own (inherited by every
  // bench process), removed at the end, unless FASTIPC_PID_DIR says where.
  const ownPidDir = process.env.FASTIPC_PID_DIR ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'fastipc-bench-'));
  if (ownPidDir) {
    process.env.FASTIPC_PID_DIR = ownPidDir;
    process.on('exit', () => fs.rmSync(ownPidDir, { recursive: true, force: true }));
  }

  const TIMEOUT = envNumber('BENCH_TIMEOUT', 600); // seconds per bench
  let current = null;
  const killGroup = (child, sig) => {
    try {
      process.kill(-child.pid, sig);
    } catch {}
  };
  // the child is in another process group, so a ^C at the terminal does not reach it
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      if (current) killGroup(current, 'SIGKILL');
      process.exit(128 + os.constants.signals[sig]);
    });
  }

  const load = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');
  const t0 = Date.now();
  const rows = [];
  const failed = [];
  const times = [];
  const scaleGuess = opts.quick ? 0.2 : 1;
  for (const [k, f] of chosen.entries()) {
    const name = path.basename(f, '.bench.mjs');
    const left = chosen.slice(k).reduce((sum, g) => sum + (previous[path.basename(g, '.bench.mjs')] ?? NaN), 0);
    const elapsed = ((Date.now() - t0) / 1000).toFixed(0);
    process.stderr.write(
      `[bench ${k + 1}/${chosen.length}] ${name}: ${elapsed} s elapsed` +
        (Number.isFinite(left) ? `, about ${Math.round(left * scaleGuess)} s left\n` : '\n'),
    );
    console.log(`\n=== ${name}`);
    const t = Date.now();
    const { code, signal, got, timedOut } = await new Promise((resolve) => {
      let got = null;
      let timedOut = false;
      // its own process group, so a timeout also kills the processes the bench spawned
      const child = fork(fileURLToPath(import.meta.url), ['--child', path.join(here, f)], {
        stdio: 'inherit',
        detached: true,
      });
      current = child;
      const timer = setTimeout(() => {
        timedOut = true;
        console.error(`=== ${name}: no end after ${TIMEOUT} s (BENCH_TIMEOUT), killing it`);
        killGroup(child, 'SIGKILL');
      }, TIMEOUT * 1000);
      child.on('message', (m) => (got = m));
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        current = null;
        try {
          process.kill(-child.pid, 0); // succeeds if a process of the bench's group is left
          console.error(`=== ${name} left processes running; killing them`);
          killGroup(child, 'SIGKILL');
        } catch {}
        resolve({ code, signal, got, timedOut });
      });
    });
    const secs = (Date.now() - t) / 1000;
    times.push(`${name} ${secs.toFixed(1)} s`);
    if (code !== 0 || !got) {
      const why = timedOut ? `timed out after ${TIMEOUT} s` : signal ? `signal ${signal}` : `exit code ${code}`;
      failed.push(`${name} (${why}${got ? '' : ', no results'})`);
      console.error(`=== ${name} FAILED: ${failed[failed.length - 1]}`);
    }
    if (got) for (const r of got.rows) rows.push({ bench: name, ...r });
  }
  const wall = (Date.now() - t0) / 1000;

  let git = 'unknown';
  try {
    const opt = { cwd: here, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] };
    git = execFileSync('git', ['rev-parse', '--short', 'HEAD'], opt).trim();
    if (execFileSync('git', ['status', '--porcelain', '--', '../lib', '../shim'], opt).trim())
      git += ' + uncommitted changes in lib/ or shim/';
  } catch {}
  const cpus = os.cpus();
  const misses = rows.filter((r) => r.result === 'MISS').length;
  const table = markdownTable(rows);
  const doc = [
    '# fastipc benchmarks: latest run',
    '',
    `- date: ${new Date().toISOString()}`,
    `- node: ${process.version} (V8 ${process.versions.v8}), ${os.type()} ${os.release()} ${os.arch()}`,
    `- machine: ${os.availableParallelism()} CPUs available (nproc), ${cpus.length} online, ` +
      `${cpus[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- commit: ${git}`,
    `- settings: RUNS=${RUNS}, BENCH_SCALE=${SCALE}${filters.length ? `, filter: ${filters.join(' ')}` : ''}`,
    `- wall time: ${wall.toFixed(1)} s (${times.join(', ')}); load average at start: ${load}`,
    '',
    'Median, min and max of RUNS interleaved runs per implementation; ratio = candidate median /',
    'baseline median, from the same run. The machine is a noisy shared VM: compare only figures',
    'from one run. A target is reported (PASS/MISS), not enforced.',
    '',
    table,
    '',
    failed.length ? `**Failed benches:** ${failed.join(', ')}\n` : '',
  ].join('\n');
  const out = outFile;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out + '.tmp', doc);
  fs.renameSync(out + '.tmp', out);

  const meta = {
    date: new Date().toISOString(),
    node: `${process.version} (V8 ${process.versions.v8}), ${os.type()} ${os.release()} ${os.arch()}`,
    machine:
      `${os.availableParallelism()} CPUs available (nproc), ${cpus.length} online, ` +
      `${cpus[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    commit: git,
    settings:
      `RUNS=${RUNS}, BENCH_SCALE=${SCALE}${opts.quick ? ' (--quick)' : ''}` +
      (filters.length ? `, filter: ${filters.join(' ')}` : ''),
    wall: `${wall.toFixed(1)} s (${times.join(', ')}); load average at start: ${load}`,
  };
  const json =
    JSON.stringify({ format: 'fastipc-bench/1', meta, results: rows.map(jsonRow), rawRows: rows }, null, 1) + '\n';
  if (!opts.out) fs.writeFileSync(out.replace(/\.md$/, '.json'), json);
  if (opts.json) fs.writeFileSync(path.resolve(opts.json), json);
  if (opts.write) {
    const { writeReport } = await import('./report.mjs');
    writeReport(rows, meta, table);
    execFileSync(process.execPath, [path.join(here, 'readme.mjs')], { stdio: 'inherit' });
    console.log('BENCHMARKS.md, bench/results/chart.svg and the README table regenerated');
  }

  console.log(`\n${table}\n`);
  console.log(
    `${rows.length} rows, ${misses} MISS, ${failed.length} failed; wall time ${wall.toFixed(1)} s; ` +
      `written to ${path.relative(process.cwd(), out)}`,
  );
  if (failed.length) {
    console.error(`failed: ${failed.join(', ')}`);
    process.exitCode = 1;
  }
}

/** A row in the JSON's stable form (documented in the README, Benchmarks). */
function jsonRow(r) {
  const skipped = r.runs === 0;
  return {
    bench: r.bench,
    scenario: r.comparison,
    impl: r.impl,
    baseline: !skipped && r.ratio === null && !r.standalone,
    unit: r.unit,
    median: skipped ? null : r.median,
    min: skipped ? null : r.min,
    max: skipped ? null : r.max,
    runs: r.runs,
    ratio: r.ratio,
    target: r.targetKind ? { kind: r.targetKind, value: r.targetValue, text: r.target } : null,
    pass: r.result === 'PASS' ? true : r.result === 'MISS' ? false : null,
    skipped: skipped ? r.result.replace(/^skipped: /, '') : null,
  };
}
