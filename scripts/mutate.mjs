#!/usr/bin/env node
// npm run mutate [-- [--only ID[,ID]] [--json FILE] [--list]]
//
// Mutation testing for the protocols, as a habit (not in CI: ~10 minutes). Each mutant is
// one curated defect of the kind that a periodic re-check would hide (a dropped wake, a
// wake on the wrong word, a skipped re-check, a deadline cut short, a wake not passed on
// when leaving, a skipped unlink or validation, WAITERS dropped), applied to a copy of the
// working tree; the copy is built (dist/, the test fixtures, and the addon when the
// mutant is in shim/) and the test files that should catch it run there. A mutant is
// caught when they fail. Prints a table and the score. Run nothing else that uses
// /dev/shm meanwhile: what a run adds there is removed after it.
//
// StrykerJS was not used: its mutants live in the TypeScript that ts-jest compiles, while
// most of what these tests exercise runs from the built dist/ in worker threads and child
// processes (and in C), which Stryker's in-place instrumentation does not reach.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** { id, what, file, find (must occur exactly once), replace, tests (jest path patterns) } */
export const MUTANTS = [
  {
    id: 'chan-publish-before-copy',
    what: 'Channel send stores tail (publishes) before writing the message into its slot',
    file: 'lib/primitives/channel-ring.ts',
    find:
      '      v[at] = message.length;\n      this.bytes.set(message, at * 4 + 4);\n' +
      '      Atomics.store(v, TAIL, tail + 1 === 2 * this.cap ? 0 : tail + 1);',
    replace:
      '      Atomics.store(v, TAIL, tail + 1 === 2 * this.cap ? 0 : tail + 1);\n' +
      '      v[at] = message.length;\n      this.bytes.set(message, at * 4 + 4);',
    tests: ['test/primitives/channel'],
  },
  {
    id: 'chan-no-receive-lock',
    what: 'Channel receive reads without its lock (two receivers take one message)',
    file: 'lib/primitives/channel-ring.ts',
    find: '    if (!this.take(this.recvLock, call, sync)) return ((call.result = BUSY), false);',
    replace: '',
    tests: ['test/primitives/channel'],
  },
  {
    id: 'chan-send-no-wake',
    what: 'Channel send never wakes a sleeping receiver (it sees the message only at its slice end)',
    file: 'lib/primitives/channel-ring.ts',
    find: '    if (Atomics.load(v, RECV_SLEEPERS) !== 0) this.wakeOne(RECV_SEQ);',
    replace: '',
    tests: ['test/primitives/channel'],
  },
  {
    id: 'chan-end-no-lock',
    what: 'Channel end() sets ENDED without the send lock (a send racing it publishes after a receiver saw the end)',
    file: 'lib/primitives/channel.ts',
    find:
      '    this.sendLock.lock(); // (a send publishes either before ENDED or not at all)\n    try {\n' +
      '      Atomics.or(v, FLAGS, ENDED);\n    } finally {\n      this.sendLock.unlock();\n    }',
    replace: '    Atomics.or(v, FLAGS, ENDED);',
    tests: ['test/primitives/channel'],
  },
  {
    id: 'cond-seq-after-unlock',
    what: 'Condition.wait reads the sequence word after unlocking the mutex, not before (a notify in between is lost)',
    file: 'lib/primitives/condition.ts',
    find: '    const seq = Atomics.load(this.view, SEQ);\n    mutex.unlock();\n    try {\n      return waitSync(',
    replace:
      '    mutex.unlock();\n    for (let k = 0; k < 2000; k++);\n' +
      '    const seq = Atomics.load(this.view, SEQ);\n    try {\n      return waitSync(',
    tests: ['test/primitives/condition'],
  },
  {
    id: 'cond-notify-one-no-seq',
    what: 'Condition.notifyOne wakes a sleeper without moving the sequence word (the sleeper goes back to sleep)',
    file: 'lib/primitives/condition.ts',
    find: '  notifyOne(): void {\n    Atomics.add(this.view, SEQ, 1);\n',
    replace: '  notifyOne(): void {\n',
    tests: ['test/primitives/condition'],
  },
  {
    id: 'sem-post-wakes-from-zero-only',
    what: "Semaphore.post wakes sleepers only when the count was 0 before (the Python package's lost wakeup)",
    file: 'lib/primitives/semaphore.ts',
    find: '    if (sleepers === 0) return;',
    replace: '    if (sleepers === 0 || count !== 0) return;', // count: the count before this post's add
    tests: ['test/wake-latency', 'test/lost-wakeup', 'test/primitives/semaphore'],
  },
  {
    id: 'mutex-unlock-never-wakes',
    what: 'Mutex.unlock (with WAITERS set) clears the state but never wakes a waiter',
    file: 'lib/primitives/mutex.ts',
    find: '    const woken = this.impl.wake(this.view, W.STATE, 1);',
    replace: '    const woken: number = 1;',
    tests: ['test/wake-latency', 'test/primitives/mutex', 'test/async.contract'],
  },
  {
    id: 'futex-slice-cuts-timeout',
    what: "a futex wait longer than one 100 ms slice returns 'timed-out' after the first slice",
    file: 'lib/backend/futex.ts',
    find: '    first = false;',
    replace: "    return 'timed-out';",
    tests: ['test/slices', 'test/backend.contract'],
  },
  {
    id: 'skip-byteoffset-alignment',
    what: 'the byteOffset multiple-of-4 check is skipped (V8 then throws its own RangeError)',
    file: 'lib/core/memory.ts',
    find: '  if ((base + offset) % align !== 0) {',
    replace: '  if (false) {',
    tests: ['test/validation'],
  },
  {
    id: 'event-set-drops-wake',
    what: 'Event.set sets the state but wakes nobody',
    file: 'lib/primitives/event.ts',
    find: '    if (Atomics.load(v, SLEEPERS) > 0) this.impl.wake(v, STATE, Infinity);',
    replace: '',
    tests: ['test/wake-latency', 'test/primitives/event', 'test/async.contract'],
  },
  {
    id: 'sem-wakes-wrong-word',
    what: 'Semaphore.post wakes the sleepers word instead of the count it sleeps on',
    file: 'lib/primitives/semaphore.ts',
    find: '    if (wakes > 0) this.impl.wake(v, COUNT, wakes);',
    replace: '    if (wakes > 0) this.impl.wake(v, SLEEPERS, wakes);',
    tests: ['test/wake-latency', 'test/lost-wakeup', 'test/primitives/semaphore'],
  },
  {
    id: 'wait-trusts-wake',
    what: 'the wait driver takes a sync wake as success, without trying again (Event.wait once failed so)',
    file: 'lib/primitives/wait.ts',
    find: '      const result = impl.wait(view, index, value, Math.min(left, slice));',
    replace: `      const result = impl.wait(view, index, value, Math.min(left, slice));
      if (result === 'ok') return (taken = true);`,
    tests: ['test/primitives/'],
  },
  {
    id: 'deadline-cut-short',
    what: 'the remaining time of a wait is computed against half its timeout',
    file: 'lib/core/deadline.ts',
    find: 'return timeout === undefined || timeout === Infinity ? Infinity : performance.now() + timeout;',
    replace: 'return timeout === undefined || timeout === Infinity ? Infinity : performance.now() + timeout / 2;',
    tests: ['test/slices', 'test/primitives/', 'test/async.contract'],
  },
  {
    id: 'sem-leave-drops-passed-wake',
    what: 'a Semaphore waiter that leaves without a token does not pass on a wake it may have absorbed',
    file: 'lib/primitives/semaphore.ts',
    find:
      '        if (passOn && Atomics.load(this.view, COUNT) > 0 && ' +
      'wakeStarvers(this.impl, this.view, STARVERS, 1) === 0) {\n' +
      '          this.impl.wake(this.view, COUNT, 1);\n' +
      '        }',
    replace: '',
    tests: ['test/wake-latency', 'test/lost-wakeup', 'test/primitives/semaphore'],
  },
  {
    id: 'mutex-leave-drops-passed-wake',
    what: 'a Mutex waiter that gives up (timeout) does not pass on a wake when the lock is free',
    file: 'lib/primitives/mutex.ts',
    find: `        this.impl.wake(v, W.STATE, 1);
        return;`,
    replace: `        return;`,
    tests: ['test/wake-latency', 'test/primitives/mutex', 'test/async.contract'],
  },
  {
    id: 'skip-unlink-on-last-close',
    what: "the last live user's close leaves the segment in /dev/shm",
    file: 'lib/named/shared-memory.ts',
    find: '      if (inode(file) === this.ino) fs.rmSync(file, { force: true });',
    replace: '',
    tests: ['test/lifecycle', 'test/shared-memory', 'test/named'],
  },
  {
    id: 'skip-post-overflow-check',
    what: 'Semaphore.post does not refuse a count past 2^31-1',
    file: 'lib/primitives/semaphore.ts',
    find: '    return count > SEMAPHORE_MAX - n;',
    replace: '    return false;',
    tests: ['test/validation', 'test/primitives/semaphore'],
  },
  {
    id: 'mutex-drops-waiters',
    what: 'a Mutex waiter sleeps without setting WAITERS (so unlock wakes nobody)',
    file: 'lib/primitives/mutex.ts',
    find: '      const old = Atomics.or(this.view, W.STATE, flags);',
    replace: '      const old = Atomics.load(this.view, W.STATE);',
    tests: ['test/wake-latency', 'test/primitives/mutex'],
  },
  {
    id: 'async-abort-drops-passed-wake',
    what: 'an async futex wait aborted after it absorbed a wake does not pass the wake on',
    file: 'lib/backend/futex.ts',
    find: '            if (code === OK && view.length > index) shim.futexWake(view, index, 1);',
    replace: '',
    tests: ['test/async.contract'],
  },
  {
    id: 'mutex-no-handoff',
    what: 'a starving Mutex waiter never asks for the lock to be handed on (barging unbounded)',
    file: 'lib/primitives/mutex.ts',
    find: '        const old = Atomics.or(this.view, W.STATE, W.WAITERS | W.HANDOFF);',
    replace: '        const old = Atomics.or(this.view, W.STATE, W.WAITERS);',
    tests: ['test/fairness'],
  },
  {
    id: 'mutex-starvers-not-woken',
    what: "a Mutex unlock that hands on wakes the state's queue, not the starving waiters' queue, first",
    file: 'lib/primitives/mutex.ts',
    find: '    if (next !== W.UNLOCKED && wakeStarvers(this.impl, this.view, W.STARVERS, 1) > 0) return;',
    replace: '',
    tests: ['test/fairness'],
  },
  {
    id: 'no-turn-queue',
    what: "a thread's async lockers do not queue: each sleeps on the word, and the thread's fast path barges",
    file: 'lib/primitives/wait.ts',
    find: '  if (turns === undefined) return run(impl, view, p, ctx, deadline, signal, false);',
    replace: '  return run(impl, view, p, ctx, deadline, signal, false);',
    tests: ['test/fairness'],
  },
  {
    id: 'sem-no-reservation',
    what: 'Semaphore.post never reserves a token for a starving waiter',
    file: 'lib/primitives/semaphore.ts',
    find: '    if (reserve) Atomics.add(v, HANDOFF, 1);',
    replace: '',
    tests: ['test/fairness'],
  },
  {
    id: 'sem-starvers-not-woken',
    what: "Semaphore.post never wakes the starving waiters' queue (a starver sees a token only at its slice end)",
    file: 'lib/primitives/semaphore.ts',
    find: '      wakes -= wakeStarvers(this.impl, v, STARVERS, wakes);',
    replace: '',
    tests: ['test/fairness'],
  },
  {
    id: 'shim-cancelled-slot-swallows-wake',
    what: 'C: a waiter slot whose waits were all cancelled drops a wake the kernel gave it',
    file: 'shim/sys/waiter.c',
    find: '  if (maybe_woken) pass_wake(s->addr);',
    replace: '  (void)maybe_woken;',
    tests: ['test/async.contract'],
  },
  {
    id: 'shim-fallback-kick-once',
    what: 'C, without futex_waitv: a kick is sent once, not until the waiter thread has been round',
    file: 'shim/sys/waiter-fallback.c',
    find: '  while (t->in_wait && t->rounds == round) {',
    replace: '  for (int once = 0; t->in_wait && t->rounds == round && !once; once = 1) {',
    tests: ['test/no-waitv'],
  },
];

const MUTANT_LIMIT_MS = 180_000;

/** Runs a command in its own process group; past `timeoutMs` the whole group is killed
 * (jest's workers and the tests' children too). */
function run(cmd, args, cwd, timeoutMs = 900_000) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.toLowerCase().startsWith('npm_')) delete env[k];
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let signal = null;
    const timer = setTimeout(() => {
      signal = 'SIGKILL';
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      try {
        process.kill(-child.pid, 'SIGKILL'); // whatever it left running
      } catch {}
      resolve({ status, signal, stdout, stderr });
    });
  });
}

function copyTree(to) {
  fs.cpSync(ROOT, to, {
    recursive: true,
    preserveTimestamps: true,
    filter: (from) => {
      const top = path.relative(ROOT, from).split(path.sep)[0];
      return !['node_modules', '.git', 'dist', 'prebuilds', 'coverage'].includes(top) && !from.endsWith('.tgz');
    },
  });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(to, 'node_modules'), 'dir');
}

async function build(dir, addon) {
  for (const [cmd, args] of [
    ['npx', ['tsup']],
    ['npm', ['run', '--silent', 'build:fixtures']],
    ...(addon ? [['npx', ['node-gyp', 'rebuild']]] : []),
  ]) {
    const r = await run(cmd, args, dir);
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed in ${dir}:\n${r.stdout}\n${r.stderr}`);
  }
}

/** Runs jest on `patterns` in `dir`; a mutant's run stops at its first failing file (--bail)
 * and is killed after `limitMs` (a hang is a failure too: the tests did not pass). */
async function jest(dir, patterns, { bail = false, limitMs = 900_000 } = {}) {
  const report = path.join(dir, `jest-${Date.now()}.json`);
  // every test file (the quiet phase's too), one jest run per file: see the callers
  const config = JSON.stringify({
    ...require(path.join(dir, 'jest.config.js')),
    rootDir: dir,
    testPathIgnorePatterns: ['\\.stress\\.test\\.ts$'],
  });
  const flags = ['--ci', '--config', config, '--json', `--outputFile=${report}`, ...(bail ? ['--bail=1'] : [])];
  // A mutant may leave segments behind (that is what some of them do), and a killed run
  // its PID directory: whatever this run added to /dev/shm goes when it is over.
  const shm = '/dev/shm';
  const before = new Set(fs.readdirSync(shm));
  const r = await run(
    process.execPath,
    [path.join(dir, 'node_modules', 'jest', 'bin', 'jest.js'), ...flags, ...patterns],
    dir,
    limitMs,
  );
  for (const f of fs.readdirSync(shm))
    if (!before.has(f) && /^fastipc[.-]/.test(f)) fs.rmSync(path.join(shm, f), { recursive: true, force: true });
  if (r.signal === 'SIGKILL') return { passed: false, failed: [`still running after ${limitMs / 1000} s: killed`] };
  let failed = [];
  try {
    const j = JSON.parse(fs.readFileSync(report, 'utf8'));
    failed = j.testResults.flatMap((f) =>
      f.assertionResults
        .filter((a) => a.status === 'failed')
        .map((a) => `${a.fullName}: ${(a.failureMessages[0] ?? '').replace(/\u001b\[[0-9;]*m/g, '').slice(0, 600)}`),
    );
    if (j.numRuntimeErrorTestSuites) failed.push(`${j.numRuntimeErrorTestSuites} suite(s) failed to run`);
  } catch {
    failed.push(`jest exited ${r.status} before writing its report (--bail stops at the first failure)`);
  }
  return { passed: r.status === 0, failed };
}

async function main() {
  const args = process.argv.slice(2);
  if (args.includes('--list')) {
    for (const m of MUTANTS) console.log(`${m.id.padEnd(36)} ${m.what}`);
    return;
  }
  const onlyAt = args.indexOf('--only');
  const only = onlyAt >= 0 ? new Set(args[onlyAt + 1].split(',')) : null;
  const jsonAt = args.indexOf('--json');
  const chosen = MUTANTS.filter((m) => !only || only.has(m.id));
  if (!chosen.length) throw new Error(`no mutant matches ${[...only].join(',')}`);

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fastipc-mutate-'));
  const dir = path.join(work, 'tree');
  const results = [];
  try {
    copyTree(dir);
    process.stderr.write(`mutate: copy in ${dir}; baseline build and run of every test file used\n`);
    await build(dir, false);
    const patterns = [...new Set(chosen.flatMap((m) => m.tests))];
    // one file at a time, as for the mutants: timing bounds hold on a quiet machine only
    let baseline = { passed: true, failed: [] };
    for (const t of patterns) {
      baseline = await jest(dir, [t]);
      if (!baseline.passed) break;
    }
    if (!baseline.passed)
      throw new Error(`the unmutated tree fails its tests, so no mutant can be judged: ${baseline.failed.join('; ')}`);
    for (const m of chosen) {
      const file = path.join(dir, m.file);
      const original = fs.readFileSync(file, 'utf8');
      const at = original.indexOf(m.find);
      if (at < 0 || original.indexOf(m.find, at + 1) >= 0)
        throw new Error(`mutant ${m.id}: its text must occur exactly once in ${m.file}`);
      const t0 = Date.now();
      const addon = m.file.startsWith('shim/');
      process.stderr.write(`mutate: ${m.id} ... `);
      fs.writeFileSync(file, original.slice(0, at) + m.replace + original.slice(at + m.find.length));
      let outcome;
      try {
        await build(dir, addon);
        // one file at a time, the sharpest first: the first that fails catches the mutant
        for (const t of m.tests) {
          outcome = await jest(dir, [t], { bail: true, limitMs: MUTANT_LIMIT_MS });
          if (!outcome.passed) break;
        }
      } finally {
        fs.writeFileSync(file, original);
      }
      if (addon) await build(dir, true);
      const caught = !outcome.passed;
      results.push({
        id: m.id,
        what: m.what,
        caught,
        failedTests: outcome.failed,
        seconds: Math.round((Date.now() - t0) / 1000),
      });
      process.stderr.write(`${caught ? 'caught' : 'SURVIVED'} (${results.at(-1).seconds} s)\n`);
    }
  } finally {
    fs.rmSync(path.join(dir, 'node_modules'), { force: true }); // the link only
    fs.rmSync(work, { recursive: true, force: true });
  }
  const caught = results.filter((r) => r.caught).length;
  console.log('| mutant | result | first failing test |');
  console.log('|---|---|---|');
  for (const r of results)
    console.log(
      `| ${r.id} | ${r.caught ? 'caught' : '**survived**'} | ` +
        `${(r.failedTests[0] ?? '').split(': ')[0].replace(/\|/g, '/')} |`,
    );
  console.log(`\n${caught} of ${results.length} mutants caught`);
  if (jsonAt >= 0) fs.writeFileSync(args[jsonAt + 1], JSON.stringify(results, null, 2) + '\n');
  process.exitCode = caught === results.length ? 0 : 1;
}

await main();
