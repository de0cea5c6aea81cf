// RwLock: its contract, run against every backend and memory (test/backends.ts): readers
// overlap, writers exclude everyone, writers are not starved, misuse, timeouts, aborts, the
// slot table, dead holders, and a model of its states (fast-check).
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { Mutex, RwLock } from '../../lib';
import { type Setup, variants } from '../backends';
import { RW } from '../fixtures/tasks-rwlock';
import { inProcess, inWorker, killAll, removeSegments, TASK, until } from '../helpers';

afterAll(async () => {
  await killAll();
  removeSegments();
});

const { DATA, FLAGS } = RW;
type Report = { ok: boolean; recovered: boolean; elapsed: number };

describe.each(variants)('RwLock contract: $name', (variant) => {
  let s: Setup;
  beforeEach(() => (s = variant.setup()));
  afterEach(async () => {
    await killAll();
    s.close();
  });
  const opts = () => ({ backend: s.backend });
  const words = () => new Int32Array(s.memory, 0, 4096 / 4);
  const task = (spec: Record<string, unknown>) => ({ memory: s.spec, backend: s.backend, ...spec });
  const report = (side: 'read' | 'write', how: 'sync' | 'async', timeout?: number) =>
    inWorker<Report>(task({ task: 'rwReport', side, how, timeout }));

  test('read and write locks, try, state getters', async () => {
    const rw = new RwLock(s.memory, 0, opts());
    const other = new RwLock(s.memory, 0, opts()); // another handle of this thread
    expect([rw.initialized, other.initialized, RwLock.BYTES % 64, RwLock.READERS]).toEqual([true, false, 0, 32]);
    expect([rw.readers, rw.writeLocked, rw.recovered]).toEqual([0, false, false]);
    expect(rw.readLock()).toBe(true);
    expect(other.tryReadLock()).toBe(true); // readers share
    expect([rw.readers, rw.writeLocked, rw.recovered]).toEqual([2, false, false]);
    expect(new RwLock(s.memory, 0, opts()).tryWriteLock()).toBe(false); // (a try never waits: no error)
    rw.readUnlock();
    other.readUnlock();
    expect(rw.tryWriteLock()).toBe(true);
    expect([rw.readers, rw.writeLocked, rw.recovered]).toEqual([0, true, false]);
    expect(() => other.tryReadLock()).toThrow(expect.objectContaining({ code: 'ERR_FASTIPC_RECURSIVE' }));
    expect((await report('read', 'sync', 0)).ok).toBe(false); // another thread: turned away
    expect(rw.readers).toBe(0); // the failed try left no slot behind
    rw.writeUnlock();
    expect(rw.writeLock({ timeout: 0 })).toBe(true);
    rw.writeUnlock();
    expect([rw.readers, rw.writeLocked]).toEqual([0, false]);
  });

  test('misuse: bad unlocks are ERR_FASTIPC_NOT_OWNER and change nothing; no recursion, no upgrade', async () => {
    const rw = new RwLock(s.memory, 0, opts());
    const before = Array.from(words().subarray(0, RwLock.BYTES / 4));
    expect(() => rw.readUnlock()).toThrow(expect.objectContaining({ code: 'ERR_FASTIPC_NOT_OWNER' }));
    expect(() => rw.writeUnlock()).toThrow(expect.objectContaining({ code: 'ERR_FASTIPC_NOT_OWNER' }));
    expect(Array.from(words().subarray(0, RwLock.BYTES / 4))).toEqual(before);
    rw.readLock();
    for (const call of [() => rw.readLock(), () => rw.tryReadLock(), () => rw.writeLock(), () => rw.tryWriteLock()]) {
      expect(call).toThrow(expect.objectContaining({ code: 'ERR_FASTIPC_RECURSIVE' }));
    }
    // an upgrade through another handle of this thread would wait for itself: refused too
    const other = new RwLock(s.memory, 0, opts());
    expect(() => other.writeLock({ timeout: 1000 })).toThrow(
      expect.objectContaining({ code: 'ERR_FASTIPC_RECURSIVE' }),
    );
    expect(rw.writeLocked).toBe(false);
    expect(() => rw.writeUnlock()).toThrow(expect.objectContaining({ code: 'ERR_FASTIPC_NOT_OWNER' }));
    rw.readUnlock();
    rw.writeLock();
    expect(() => rw.readLock()).toThrow(expect.objectContaining({ code: 'ERR_FASTIPC_RECURSIVE' }));
    expect(() => rw.writeLock()).toThrow(expect.objectContaining({ code: 'ERR_FASTIPC_RECURSIVE' }));
    expect(() => rw.readUnlock()).toThrow(expect.objectContaining({ code: 'ERR_FASTIPC_NOT_OWNER' }));
    // another thread's writer waits for ours, and gives up
    const w = await inWorker<Report>(task({ task: 'rwReport', side: 'write', how: 'sync', timeout: 50 }));
    expect(w.ok).toBe(false);
    expect(rw.writeLocked).toBe(true);
    rw.writeUnlock();
  });

  test('readers overlap: 4 workers each hold a read lock until all 4 are inside at once', async () => {
    const runs = ['sync', 'async', 'sync', 'async'].map((how) =>
      inWorker<number>(task({ task: 'rwOverlap', parties: 4, how })),
    );
    expect(await Promise.all(runs)).toEqual([4, 4, 4, 4]);
    expect(new RwLock(s.memory, 0, opts()).readers).toBe(0);
  });

  test('writers exclude everyone: 4 workers (and 4 processes) read and write, exact counts, no torn read', async () => {
    const n = 20_000;
    const writeEvery = 8;
    const specs = Array.from({ length: 4 }, () => task({ task: 'rwHammer', n, writeEvery }));
    const runs = [
      ...specs.map((spec) => inWorker<{ writes: number; torn: number }>(spec)),
      ...(variant.crossProcess ? specs.map((spec) => inProcess<{ writes: number; torn: number }>(spec)) : []),
    ];
    const results = await Promise.all(runs);
    const writes = results.reduce((sum, r) => sum + r.writes, 0);
    expect(results.map((r) => r.torn)).toEqual(results.map(() => 0));
    expect(writes).toBe(runs.length * (n / writeEvery));
    expect([words()[DATA], words()[DATA + 1]]).toEqual([writes, writes]);
    const rw = new RwLock(s.memory, 0, opts());
    expect([rw.readers, rw.writeLocked]).toEqual([0, false]);
  });

  test('timeouts: readers wait out a writer, writers wait out a reader, and give up leaving no trace', async () => {
    const rw = new RwLock(s.memory, 0, opts());
    rw.writeLock();
    const r = await report('read', 'async', 100);
    expect(r.ok).toBe(false);
    expect(r.elapsed).toBeGreaterThanOrEqual(99);
    expect(await rw.readLockAsync({ timeout: 0 })).toBe(false);
    expect(() => rw.write({ timeout: 1 })).toThrow(expect.objectContaining({ code: 'ERR_FASTIPC_RECURSIVE' }));
    rw.writeUnlock();
    rw.readLock();
    const w = await report('write', 'sync', 100);
    expect(w.ok).toBe(false);
    expect(w.elapsed).toBeGreaterThanOrEqual(99);
    expect(rw.writeLocked).toBe(false); // the writer that gave up let readers in again
    expect((await report('read', 'sync', 1000)).ok).toBe(true);
    // async: this thread's read lock is another task's, so the writer waits for it, then gives up
    expect(await rw.writeLockAsync({ timeout: 50 })).toBe(false);
    expect(() => new RwLock(s.memory, 0, opts()).withWrite(() => 1, { timeout: 1 })).toThrow(
      expect.objectContaining({ code: 'ERR_FASTIPC_RECURSIVE' }), // (this thread reads: no upgrade)
    );
    rw.readUnlock();
    expect(await rw.withWriteAsync(async () => rw.writeLocked)).toBe(true);
    expect(rw.withRead(() => rw.readers)).toBe(1);
  });

  test('abort: a writer aborted while draining lets readers in; an aborted reader leaves nothing', async () => {
    const rw = new RwLock(s.memory, 0, opts());
    await rw.readLockAsync();
    const ac = new AbortController();
    const writing = rw.writeLockAsync({ signal: ac.signal });
    await until(() => rw.writeLocked, 5000, 'the writer draining');
    const reader = report('read', 'sync', 5000); // waits: a writer is draining
    await until(() => words()[3] === 1, 5000, 'the reader waiting');
    ac.abort(new Error('stop'));
    await expect(writing).rejects.toThrow('stop');
    expect((await reader).ok).toBe(true);
    expect(rw.writeLocked).toBe(false);
    rw.readUnlock();
    rw.writeLock();
    const ac2 = new AbortController();
    const reading = rw.readLockAsync({ signal: ac2.signal });
    ac2.abort(new Error('stop'));
    await expect(reading).rejects.toThrow('stop');
    rw.writeUnlock();
    expect([rw.readers, words()[3]]).toEqual([0, 0]); // no slot, no waiter left counted
  });

  test(`readers beyond the ${RwLock.READERS} slots wait, and go in when a read lock is released`, async () => {
    const rw = new RwLock(s.memory, 0, opts());
    for (let i = 0; i < RwLock.READERS; i++) expect(await rw.readLockAsync({ timeout: 0 })).toBe(true);
    expect(rw.readers).toBe(RwLock.READERS);
    expect(new RwLock(s.memory, 0, opts()).tryReadLock()).toBe(false);
    expect(await rw.readLockAsync({ timeout: 20 })).toBe(false);
    const waiting = report('read', 'sync', 10000);
    const waitingAsync = report('read', 'async', 10000);
    await until(() => words()[3] === 2, 5000, 'two readers waiting');
    rw.readUnlock();
    const [a, b] = await Promise.all([waiting, waitingAsync]);
    expect([a.ok, b.ok]).toEqual([true, true]);
    for (let i = 1; i < RwLock.READERS; i++) rw.readUnlock();
    expect(rw.readers).toBe(0);
  });

  test('a writer is not starved by a stream of overlapping readers (3 workers)', async () => {
    const rw = new RwLock(s.memory, 0, opts());
    const streams = [0, 1, 2].map(() => inWorker<number>(task({ task: 'rwReadStream', holdMs: 3 })));
    await until(() => words()[FLAGS + 3] > 60, 10000, 'the readers streaming');
    const t0 = performance.now();
    const ok = rw.writeLock({ timeout: 5000 });
    const elapsed = performance.now() - t0;
    const readersInside = rw.readers;
    if (ok) rw.writeUnlock();
    Atomics.store(words(), FLAGS + 2, 1);
    const rounds = await Promise.all(streams);
    expect([ok, readersInside]).toEqual([true, 0]);
    expect(elapsed).toBeLessThan(2000);
    expect(rounds.every((n) => n > 0)).toBe(true);
  });

  test('the later lines are its own: no primitive is made inside it, and it is made only on zeroed memory', () => {
    new RwLock(s.memory, 0, opts());
    expect(() => new Mutex(s.memory, 64, opts())).toThrow(TypeError); // the writer lock's line
    expect(() => new Mutex(s.memory, 128, opts())).toThrow(
      new RangeError('memory at byteOffset 128 is inside the RwLock at byteOffset 0, not free for a Mutex'),
    );
    expect(() => new RwLock(s.memory, RwLock.BYTES - 64, opts())).toThrow(/inside the RwLock at byteOffset 0/);
    const at = 2048; // zeroed but for one word
    words()[at / 4 + 100] = 7;
    const before = Array.from(words());
    expect(() => new RwLock(s.memory, at, opts())).toThrow(RangeError);
    expect(Array.from(words())).toEqual(before); // left as it was
  });

  const deaths = variant.crossProcess ? (['terminate', 'kill'] as const) : (['terminate'] as const);

  /** Starts a holder of `side` that dies (a worker terminated, or a process SIGKILLed) once it holds. */
  async function deadHolder(side: 'read' | 'write', how: 'terminate' | 'kill'): Promise<void> {
    const spec = task({ task: 'rwHoldAndDie', side });
    const held = () => words()[FLAGS] === 1;
    if (how === 'terminate') {
      const w = new Worker(TASK, { workerData: spec });
      await until(held, 10000, 'the holder');
      await w.terminate();
    } else {
      const child = spawn(process.execPath, [TASK, JSON.stringify(spec)], { stdio: 'ignore' });
      await until(held, 15000, 'the holder');
      child.kill('SIGKILL');
      await new Promise((r) =>
        child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r),
      );
    }
  }

  test.each(deaths)(
    'a writer that dies holding it (%s): readers and a writer go on within about a second',
    async (how) => {
      await deadHolder('write', how);
      expect(new RwLock(s.memory, 0, opts()).writeLocked).toBe(true);
      const reports = await Promise.all([report('read', 'sync'), report('read', 'async'), report('write', 'async')]);
      expect(reports.map((r) => r.ok)).toEqual([true, true, true]);
      expect(Math.max(...reports.map((r) => r.elapsed))).toBeLessThan(3000); // (200 ms checks; slack for CI)
      // whoever got in first saw that a writer died; a writer's unlock repairs it
      expect(reports.some((r) => r.recovered)).toBe(true);
      const rw = new RwLock(s.memory, 0, opts());
      rw.writeLock({ timeout: 0 }) && rw.writeUnlock();
      expect(rw.readLock({ timeout: 0 })).toBe(true);
      expect(rw.recovered).toBe(false);
      rw.readUnlock();
    },
  );

  test.each(deaths)('a reader that dies holding it (%s): a writer gets the lock within about a second', async (how) => {
    await deadHolder('read', how);
    const rw = new RwLock(s.memory, 0, opts());
    expect(rw.readers).toBe(1);
    const t0 = performance.now();
    expect(await rw.writeLockAsync({ timeout: 5000 })).toBe(true);
    expect(performance.now() - t0).toBeLessThan(2500);
    expect([rw.readers, rw.recovered]).toEqual([0, false]); // (readers do not write: nothing to repair)
    rw.writeUnlock();
  });

  test('model: random try/unlock operations of 3 threads agree with a model of the lock', async () => {
    const servers = [0, 1, 2].map(() => new Worker(TASK, { workerData: task({ task: 'rwServe' }) }));
    await Promise.all(servers.map((w) => new Promise((resolve) => w.once('message', resolve)))); // { started }
    type Reply = { reply: string; readers: number; writeLocked: boolean };
    const call = (t: number, op: string) =>
      new Promise<Reply>((resolve) => {
        servers[t].once('message', resolve);
        servers[t].postMessage(op);
      });
    interface Model {
      writer: number; // thread, -1 none
      reads: number[]; // read locks held per thread
    }
    class Op implements fc.AsyncCommand<Model, object> {
      constructor(
        readonly t: number,
        readonly op: 'tryReadLock' | 'tryWriteLock' | 'readUnlock' | 'writeUnlock',
      ) {}
      check = () => true;
      async run(m: Model): Promise<void> {
        const total = m.reads.reduce((a, b) => a + b, 0);
        let expected: string;
        const mine = m.reads[this.t] > 0 || m.writer === this.t;
        if (this.op === 'tryReadLock') {
          expected = mine ? 'ERR_FASTIPC_RECURSIVE' : m.writer >= 0 ? 'false' : 'true';
          if (expected === 'true') m.reads[this.t]++;
        } else if (this.op === 'tryWriteLock') {
          expected = mine ? 'ERR_FASTIPC_RECURSIVE' : m.writer >= 0 || total > 0 ? 'false' : 'true';
          if (expected === 'true') m.writer = this.t;
        } else if (this.op === 'readUnlock') {
          expected = m.reads[this.t] > 0 ? 'undefined' : 'ERR_FASTIPC_NOT_OWNER';
          if (m.reads[this.t] > 0) m.reads[this.t]--;
        } else {
          expected = m.writer === this.t ? 'undefined' : 'ERR_FASTIPC_NOT_OWNER';
          if (m.writer === this.t) m.writer = -1;
        }
        const got = await call(this.t, this.op);
        const now = { readers: m.reads.reduce((a, b) => a + b, 0), writeLocked: m.writer >= 0 };
        expect([this.toString(), got]).toEqual([this.toString(), { reply: expected, ...now }]);
      }
      toString = () => `thread ${this.t}: ${this.op}()`;
    }
    const ops = ['tryReadLock', 'tryWriteLock', 'readUnlock', 'writeUnlock'] as const;
    const command = fc.tuple(fc.nat(2), fc.constantFrom(...ops)).map(([t, op]) => new Op(t, op));
    try {
      await fc.assert(
        fc.asyncProperty(fc.commands([command], { maxCommands: 30 }), async (cmds) => {
          const model: Model = { writer: -1, reads: [0, 0, 0] };
          await fc.asyncModelRun(() => ({ model, real: {} }), cmds);
          // leave the lock free for the next run
          for (let t = 0; t < 3; t++) {
            for (let i = 0; i < model.reads[t]; i++) await call(t, 'readUnlock');
            if (model.writer === t) await call(t, 'writeUnlock');
          }
        }),
        { numRuns: 40 },
      );
    } finally {
      await Promise.all(servers.map((w) => w.terminate()));
    }
  });
});
