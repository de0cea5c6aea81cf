// A holder that dies never wedges the others: lockers and sleepers take the lock over
// within about a second, on both backends, and the taker sees `recovered`.
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { AtomicU32, Mutex } from '../lib';
import { type Setup, variants } from './backends';
import { inProcess, inWorker, killAll, removeSegments, TASK, until } from './helpers';

afterAll(async () => {
  await killAll();
  removeSegments();
});

type Report = { ok: boolean; recovered: boolean; elapsed: number; after: boolean | null };

describe.each(variants)('owner death: $name', (variant) => {
  let s: Setup;
  beforeEach(() => (s = variant.setup()));
  afterEach(() => s.close());
  const opts = () => ({ backend: s.backend });
  const held = () => new AtomicU32(s.memory, 68).load() === 1;

  /** Starts a holder that dies; resolves when it is dead and still "holds" the lock. */
  async function deadHolder(how: 'kill' | 'terminate' | 'exit'): Promise<void> {
    const spec = { task: 'lockAndDie', memory: s.spec, backend: s.backend, then: how === 'exit' ? 'exit' : 'hold' };
    if (how === 'terminate') {
      const w = new Worker(TASK, { workerData: spec });
      await until(held, 10000, 'the holder');
      await w.terminate();
    } else {
      const child = spawn(process.execPath, [TASK, JSON.stringify(spec)], { stdio: 'ignore' });
      await until(held, 15000, 'the holder');
      if (how === 'kill') child.kill('SIGKILL');
      await new Promise((r) =>
        child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r),
      );
    }
    expect(new Mutex(s.memory, 0, opts()).isLocked).toBe(true);
  }

  const deaths = variant.crossProcess ? (['kill', 'exit', 'terminate'] as const) : (['terminate'] as const);

  test.each(deaths)('holder dies (%s): lock, lockAsync and tryLock each take over with recovered', async (how) => {
    for (const lockHow of ['lock', 'lockAsync', 'tryLock']) {
      new Int32Array(s.memory, 0, 32).fill(0);
      await deadHolder(how);
      const m = new Mutex(s.memory, 0, opts());
      const t0 = performance.now();
      const ok =
        lockHow === 'lock'
          ? m.lock({ timeout: 5000 })
          : lockHow === 'lockAsync'
            ? await m.lockAsync({ timeout: 5000 })
            : await pollTryLock(m);
      expect([lockHow, ok, m.recovered]).toEqual([lockHow, true, true]);
      // "within about a second" (200 ms checks; slack for a loaded CI)
      expect(performance.now() - t0).toBeLessThan(3000);
      expect(m.ownerPid).toBe(process.pid);
      m.unlock();
      expect(m.recovered).toBe(false);
      expect(m.lock({ timeout: 0 })).toBe(true);
      expect(m.recovered).toBe(false); // a normal holding again
      m.unlock();
    }
  });

  test('sleepers that waited before the holder died take over; exactly one recovers', async () => {
    const spec = { task: 'lockAndDie', memory: s.spec, backend: s.backend, then: 'hold' };
    const w = new Worker(TASK, { workerData: spec });
    await until(held, 10000, 'the holder');
    const hows = ['lock', 'lockAsync', 'tryLock'];
    const lockers = hows.map((how) =>
      inWorker<Report>({ task: 'lockReport', memory: s.spec, backend: s.backend, how }),
    );
    await until(() => new AtomicU32(s.memory, 72).load() === 3, 10000, 'the lockers');
    await w.terminate();
    const reports = await Promise.all(lockers);
    expect(reports.map((r) => r.ok)).toEqual([true, true, true]);
    expect(reports.filter((r) => r.recovered)).toHaveLength(1);
    expect(reports.map((r) => r.after)).toEqual([false, false, false]);
    expect(new Int32Array(s.memory, 76, 1)[0]).toBe(3);
  });

  if (variant.crossProcess) {
    test('lockers in other processes take over from a SIGKILLed holder', async () => {
      await deadHolder('kill');
      const reports = await Promise.all(
        ['lock', 'lockAsync'].map((how) =>
          inProcess<Report>({ task: 'lockReport', memory: s.spec, backend: s.backend, how }),
        ),
      );
      expect(reports.map((r) => r.ok)).toEqual([true, true]);
      expect(reports.filter((r) => r.recovered)).toHaveLength(1);
    });
  }

  test('a live holder is never taken over: lockers time out', async () => {
    const m = new Mutex(s.memory, 0, opts());
    m.lock();
    const report = await inWorker<Report>({
      task: 'lockReport',
      memory: s.spec,
      backend: s.backend,
      how: 'lock',
      timeout: 700,
    });
    expect(report).toMatchObject({ ok: false, recovered: false });
    expect(m.recovered).toBe(false);
    m.unlock();
  });
});

async function pollTryLock(m: Mutex): Promise<boolean> {
  const t0 = performance.now();
  while (performance.now() - t0 < 5000) {
    if (m.tryLock()) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return false;
}
