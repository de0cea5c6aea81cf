// The bench runner's options and the report's chart (bench/run.mjs, bench/report.mjs),
// without running a bench: bad options exit 2 naming the problem; the chart turns costs and
// throughputs into "times better" the right way round and draws one bar per candidate.
import { execFile } from 'node:child_process';
import path from 'node:path';

const ROOT = path.join(__dirname, '..');
const runner = (args: string[]) =>
  new Promise<{ code: number | null; stderr: string }>((resolve) =>
    execFile(process.execPath, [path.join(ROOT, 'bench', 'run.mjs'), ...args], { timeout: 30000 }, (err, _o, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
    ),
  );

test.each([
  [['--bogus'], /unknown option --bogus/],
  [['--json'], /--json needs a file/],
  [['--only', '--quick'], /--only needs a name/],
  [['--write', '--quick'], /--write is for a full run/],
  [['--write', 'mutex'], /--write is for a full run/],
  [['no-such-bench'], /no bench matches no-such-bench/],
])('bench/run.mjs %j exits 2: %p', async (args, message) => {
  const r = await runner(args as string[]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(message);
});

test('the chart: costs and throughputs the right way round, one bar per candidate row', async () => {
  // (jest cannot import an .mjs file: a node process does, and prints what it found)
  const script = `
    import { advantage, chart } from ${JSON.stringify(path.join(ROOT, 'bench', 'report.mjs'))};
    const row = (unit, ratio, targetKind = null, targetValue = null) =>
      ({ comparison: 'c ' + unit, impl: 'x', unit, ratio, runs: 5, targetKind, targetValue,
         result: targetKind ? 'PASS' : '' });
    const rows = [row('ns/op', null), row('ns/op', 0.5, 'max', 1.2), row('M ops/s', 0.8),
      { ...row('ns/op', null), runs: 0 }];
    console.log(JSON.stringify({
      cost: advantage(row('ns/op', 0.5, 'max', 1.25)),
      rate: advantage(row('k msgs/s', 30, 'min', 20)),
      speedup: advantage(row('µs/round trip', 0.01, 'speedup', 50)),
      baseline: advantage(row('ns/op', null)),
      svg: chart(rows, { machine: 'm', node: 'n', commit: 'c', date: '2026-12-02' }),
    }));`;
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--input-type=module', '-e', script], (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    ),
  );
  const r = JSON.parse(out);
  expect(r.cost).toEqual({ factor: 2, target: 0.8 }); // half the cost; ≤ 1.25× is "at least 0.8× as good"
  expect(r.rate).toEqual({ factor: 30, target: 20 }); // 30 × the rate
  expect(r.speedup).toEqual({ factor: 100, target: 50 });
  expect(r.baseline).toBeNull();
  expect(r.svg.startsWith('<svg')).toBe(true);
  expect(r.svg.match(/<rect /g).length - 1).toBe(2); // two candidate bars (the first rect is the background)
  expect(r.svg).toContain('2.00×');
  expect(r.svg).toContain('0.80×');
});
