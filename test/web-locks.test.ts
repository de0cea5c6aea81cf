// locks.request across processes: exclusive (an exact counter over 4 processes), shared
// holders overlap, a killed holder's lock passes on (recovered), ifAvailable, abort,
// timeout, a throwing callback releases, query(), bad input, and no segment left behind.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { FastipcError, locks, SharedMemory } from '../lib';
import { inProcess, killAll, removeSegments, uniqueName, until } from './helpers';

const used: string[] = [];
/** A lock name unique to this test, whose segment afterAll removes if it is left. */
function lockName(tag: string): string {
  const name = uniqueName(`weblock-${tag}`);
  used.push(name);
  return name;
}
const segmentFile = (name: string) =>
  `/dev/shm/fastipc.weblock.${createHash('sha256').update(name).digest('hex').slice(0, 40)}`;

afterAll(async () => {
  await killAll();
  for (const n of used) fs.rmSync(segmentFile(n), { force: true });
  removeSegments();
});

function control(): { name: string; shm: SharedMemory; w: Int32Array } {
  const name = uniqueName('weblock-ctl');
  const shm = SharedMemory.open(name, { size: 4096 });
  return { name, shm, w: new Int32Array(shm.buffer, 0, 4) };
}

const turn = () => new Promise((r) => setImmediate(r));

/** A promise and its resolve, for holding a lock from the test. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

test('exclusive across 4 processes: 4 x 100 read-modify-writes across an await, never two inside', async () => {
  const lock = lockName('count');
  const ctl = control();
  try {
    const runs = [0, 1, 2, 3].map(() => inProcess<number>({ task: 'weblockCount', lock, ctl: ctl.name, n: 100 }));
    expect(await Promise.all(runs)).toEqual([0, 0, 0, 0]);
    expect(ctl.w[0]).toBe(400);
    expect(fs.existsSync(segmentFile(lock))).toBe(false); // the last user's close unlinked it
  } finally {
    ctl.shm.unlink();
    ctl.shm.close();
  }
});

test('shared holders in 3 processes are inside at once; an exclusive request waits for them', async () => {
  const lock = lockName('shared');
  const ctl = control();
  try {
    const runs = [0, 1, 2].map(() => inProcess<boolean>({ task: 'weblockShared', lock, ctl: ctl.name, parties: 3 }));
    expect(await Promise.all(runs)).toEqual([true, true, true]);
    const order: string[] = [];
    const g = gate();
    const shared = locks.request(lock, { mode: 'shared' }, async () => {
      order.push('shared in');
      await g.promise;
      order.push('shared out');
    });
    await until(() => order.length === 1, 5000, 'the shared holder');
    const exclusive = locks.request(lock, async () => order.push('exclusive'));
    for (let i = 0; i < 20; i++) await turn();
    expect(order).toEqual(['shared in']); // still waiting
    expect((await locks.query()).pending).toContainEqual(expect.objectContaining({ name: lock, mode: 'exclusive' }));
    g.open();
    await Promise.all([shared, exclusive]);
    expect(order).toEqual(['shared in', 'shared out', 'exclusive']);
  } finally {
    ctl.shm.unlink();
    ctl.shm.close();
  }
});

test.each(['exclusive', 'shared'] as const)(
  'a %s holder killed with SIGKILL releases the lock: the next exclusive holder gets it within ~1 s',
  async (mode) => {
    const lock = lockName(`kill-${mode}`);
    const ctl = control();
    try {
      const holder = inProcess({ task: 'weblockHold', lock, ctl: ctl.name, mode });
      holder.catch(() => {}); // it is killed
      await until(() => Atomics.load(ctl.w, 3) === 1, 15000, 'the holder');
      await killAll();
      const start = performance.now();
      if (mode === 'exclusive') {
        // a shared holder is told, but cannot repair: the next exclusive holder is told too
        const seen = await locks.request(lock, { mode: 'shared', timeout: 5000 }, (l) => l!.recovered);
        expect(seen).toBe(true);
        expect(fs.existsSync(segmentFile(lock))).toBe(true); // kept for the next holder
      }
      const got = await locks.request(lock, { timeout: 5000 }, (l) => ({ ...l! }));
      expect(performance.now() - start).toBeLessThan(2500);
      expect(got).toEqual({ name: lock, mode: 'exclusive', recovered: mode === 'exclusive' });
      // repaired: the next holder is not told again
      expect(await locks.request(lock, (l) => l!.recovered)).toBe(false);
    } finally {
      ctl.shm.unlink();
      ctl.shm.close();
    }
  },
);

test('ifAvailable calls back with null while the lock is held, and with the lock once it is free', async () => {
  const lock = lockName('ifavail');
  const g = gate();
  const holding = locks.request(lock, () => g.promise);
  await turn();
  expect(await locks.request(lock, { ifAvailable: true }, (l) => l)).toBeNull();
  expect(await locks.request(lock, { ifAvailable: true, mode: 'shared' }, (l) => l)).toBeNull();
  g.open();
  await holding;
  expect(await locks.request(lock, { ifAvailable: true }, (l) => l?.mode)).toBe('exclusive');
});

test('an aborted pending request rejects with the reason, the lock as it was; timeout: ETIMEDOUT', async () => {
  const lock = lockName('abort');
  const g = gate();
  const holding = locks.request(lock, () => g.promise);
  const ac = new AbortController();
  let ran = false;
  const pending = locks.request(lock, { signal: ac.signal }, () => (ran = true));
  await turn();
  expect((await locks.query()).pending.filter((p) => p.name === lock)).toHaveLength(1);
  ac.abort(new Error('no longer needed'));
  await expect(pending).rejects.toThrow('no longer needed');
  expect((await locks.query()).pending.filter((p) => p.name === lock)).toHaveLength(0);
  await expect(locks.request(lock, { timeout: 30 }, () => (ran = true))).rejects.toMatchObject({
    code: 'ETIMEDOUT',
  });
  const already = new AbortController();
  already.abort(new Error('before'));
  await expect(locks.request(lock, { signal: already.signal }, () => (ran = true))).rejects.toThrow('before');
  expect(ran).toBe(false);
  g.open();
  await holding;
  expect(await locks.request(lock, { ifAvailable: true }, (l) => l !== null)).toBe(true);
});

test('a callback that throws (or rejects) releases the lock; request rejects with its error', async () => {
  const lock = lockName('throws');
  await expect(
    locks.request(lock, () => {
      throw new Error('sync boom');
    }),
  ).rejects.toThrow('sync boom');
  await expect(locks.request(lock, async () => Promise.reject(new Error('async boom')))).rejects.toThrow('async boom');
  expect(await locks.request(lock, { ifAvailable: true }, (l) => l !== null)).toBe(true);
  expect(fs.existsSync(segmentFile(lock))).toBe(false);
});

test('query() lists held locks of every process (with its pid) and this process pending requests', async () => {
  const a = lockName('qa');
  const b = lockName('qb');
  const ctl = control();
  try {
    const holder = inProcess({ task: 'weblockHold', lock: b, ctl: ctl.name, mode: 'shared' });
    holder.catch(() => {});
    await until(() => Atomics.load(ctl.w, 3) === 1, 15000, 'the other process');
    const g = gate();
    const mine = locks.request(a, () => g.promise);
    const waiting = locks.request(a, { mode: 'shared' }, () => 0);
    await turn();
    const q = await locks.query();
    const held = q.held.filter((h) => h.name === a || h.name === b);
    expect(held).toEqual(
      expect.arrayContaining([
        { name: a, mode: 'exclusive', clientId: expect.stringMatching(new RegExp(`^${process.pid}/\\d+$`)) },
        { name: b, mode: 'shared', clientId: expect.stringMatching(/^\d+\/\d+$/) },
      ]),
    );
    expect(held).toHaveLength(2);
    expect(held.find((h) => h.name === b)!.clientId.startsWith(`${process.pid}/`)).toBe(false);
    expect(q.pending.filter((p) => p.name === a)).toEqual([
      { name: a, mode: 'shared', clientId: expect.stringMatching(/^\d+\/\d+$/) },
    ]);
    g.open();
    await Promise.all([mine, waiting]);
  } finally {
    await killAll();
    ctl.shm.unlink();
    ctl.shm.close();
  }
});

test('bad input is refused before anything is created', async () => {
  const lock = lockName('bad');
  const cb = () => 0;
  await expect(locks.request(1 as unknown as string, cb)).rejects.toThrow(TypeError);
  await expect(locks.request('-reserved', cb)).rejects.toMatchObject({ name: 'NotSupportedError' });
  await expect(locks.request(lock, { mode: 'read' as 'shared' }, cb)).rejects.toThrow(TypeError);
  await expect(locks.request(lock, { steal: true }, cb)).rejects.toMatchObject({ name: 'NotSupportedError' });
  const ac = new AbortController();
  await expect(locks.request(lock, { ifAvailable: true, signal: ac.signal }, cb)).rejects.toMatchObject({
    name: 'NotSupportedError',
  });
  await expect(locks.request(lock, {} as never)).rejects.toThrow(TypeError);
  await expect(locks.request(lock, { timeout: -1 }, cb)).rejects.toThrow(RangeError);
  expect(fs.existsSync(segmentFile(lock))).toBe(false);
  expect(FastipcError).toBeDefined();
});

test("one process's requests for a name are granted in the order they were made", async () => {
  const lock = lockName('order');
  const order: string[] = [];
  const g = gate();
  const first = locks.request(lock, async () => {
    order.push('x1');
    await g.promise;
  });
  const rest = [
    locks.request(lock, { mode: 'shared' }, () => void order.push('s1')),
    locks.request(lock, () => void order.push('x2')),
    locks.request(lock, { mode: 'shared' }, () => void order.push('s2')),
  ];
  for (let i = 0; i < 5; i++) await turn();
  expect(order).toEqual(['x1']);
  expect(await locks.request(lock, { ifAvailable: true, mode: 'shared' }, (l) => l)).toBeNull(); // others queue
  g.open();
  await Promise.all([first, ...rest]);
  expect(order).toEqual(['x1', 's1', 'x2', 's2']);
});

test('a queued request that is aborted does not let the ones behind it overtake the ones before it', async () => {
  const lock = lockName('abort-order');
  const order: string[] = [];
  const g = gate();
  const first = locks.request(lock, async () => {
    order.push('r0');
    await g.promise;
  });
  const r1 = locks.request(lock, () => void order.push('r1'));
  const ac = new AbortController();
  const r2 = locks.request(lock, { mode: 'shared', signal: ac.signal }, () => void order.push('r2'));
  const r3 = locks.request(lock, { mode: 'shared' }, () => void order.push('r3'));
  await turn();
  ac.abort(new Error('gone'));
  await expect(r2).rejects.toThrow('gone');
  for (let i = 0; i < 5; i++) await turn();
  expect(order).toEqual(['r0']);
  g.open();
  await Promise.all([first, r1, r3]);
  expect(order).toEqual(['r0', 'r1', 'r3']);
});
