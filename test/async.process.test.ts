// Async waits as a server uses them: the event loop keeps turning, fs keeps its pool
// threads, other processes resolve the waits, and a pending wait keeps the process alive.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { NamedEvent } from '../lib';
import { inProcess, killAll, leftSegments, removeSegments, uniqueName } from './helpers';

afterAll(async () => {
  await killAll();
  removeSegments();
});

const DIST = path.join(__dirname, '..', 'dist', 'index.mjs');

/** One round: 300 waits pending while a 1 ms ticker runs; returns the worst gap in ms. */
async function serverRound(): Promise<number> {
  const name = uniqueName('server');
  using ev = new NamedEvent(name);
  using go = new NamedEvent(`${name}-go`);
  const waits = Array.from({ length: 300 }, () => ev.waitAsync({ timeout: 30000 }));
  // Started before the ticker (spawning a process is itself a pause of the event loop);
  // it sets the event only when we say go.
  const setter = inProcess({ task: 'namedEventSetWhenWaiting', name, waiting: 300, go: `${name}-go`, memory: null });
  await new Promise((r) => setTimeout(r, 20));

  let last = performance.now();
  let worstGap = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    worstGap = Math.max(worstGap, now - last);
    last = now;
  }, 1);
  try {
    // libuv's 4 pool threads are free: six reads finish while 300 waits are pending
    const reads = await Promise.all(Array.from({ length: 6 }, () => fs.promises.readFile(__filename, 'utf8')));
    expect(reads.every((r) => r.includes('300 pending'))).toBe(true);
    await new Promise((r) => setTimeout(r, 200)); // the ticker runs with 300 waits pending
    go.set();
    const results = await Promise.all(waits);
    expect(await setter).toBe('set');
    expect(results.filter((r) => r === true)).toHaveLength(300);
  } finally {
    clearInterval(ticker);
  }
  return worstGap;
}

test(
  '300 pending NamedEvent.waitAsync: timers tick, fs works, ' + 'one set() from another process resolves all',
  async () => {
    // Other test files run beside this one on 2 cores, and a process that the kernel does
    // not schedule shows gaps too. A wait that blocked the event loop would make every
    // round slow, so up to three rounds are run and the best must stay under 50 ms.
    const gaps: number[] = [];
    for (let round = 0; round < 3 && (gaps.length === 0 || Math.min(...gaps) >= 50); round++)
      gaps.push(await serverRound());
    expect(Math.min(...gaps)).toBeLessThan(50);
  },
);

function runChild(code: string): { done: Promise<{ code: number | null; out: string }>; alive: () => boolean } {
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const done = new Promise<{ code: number | null; out: string }>((resolve) =>
    child.on('exit', (c) => resolve({ code: c, out })),
  );
  return { done, alive: () => child.exitCode === null && child.signalCode === null };
}

test.each(['atomics', 'futex'])(
  'a process with only a pending waitAsync (%s) stays alive until it resolves',
  async (backend) => {
    const memory = backend === 'atomics' ? 'new SharedArrayBuffer(64)' : 'new ArrayBuffer(64)';
    const { done } = runChild(`
    import { Event } from ${JSON.stringify(DIST)};
    const ev = new Event(${memory}, 0, { backend: '${backend}' });
    const t0 = performance.now();
    ev.waitAsync({ timeout: 300 }).then((r) => console.log(JSON.stringify({ r, elapsed: performance.now() - t0 })));
  `);
    const { code, out } = await done;
    expect(code).toBe(0);
    const result = JSON.parse(out);
    expect(result.r).toBe(false);
    expect(result.elapsed).toBeGreaterThanOrEqual(300);
  },
);

test(
  'a process waiting on a NamedEvent with no timeout stays ' + 'alive until another process sets it, then exits',
  async () => {
    const name = uniqueName('alive');
    const { done, alive } = runChild(`
    import { NamedEvent } from ${JSON.stringify(DIST)};
    const ev = new NamedEvent(${JSON.stringify(name)});
    ev.waitAsync().then((r) => { console.log('resolved ' + r); ev.close(); });
  `);
    const file = `/dev/shm/fastipc-event.${name}`;
    const deadline = Date.now() + 15000;
    while (!(fs.existsSync(file) && fs.readFileSync(file).readInt32LE(12) === 1)) {
      if (Date.now() > deadline) throw new Error('child never waited');
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 300)); // it has nothing else to do: only the wait holds it
    expect(alive()).toBe(true);
    const ev = new NamedEvent(name);
    ev.set();
    const { code, out } = await done;
    expect([code, out.trim()]).toEqual([0, 'resolved true']);
    ev.close();
    expect(leftSegments()).toEqual([]);
  },
);

test('two copies of the library in one thread (ESM and CJS) each get their async completions', async () => {
  const { done } = runChild(`
    import { createRequire } from 'node:module';
    import * as esm from ${JSON.stringify(DIST)};
    const cjs = createRequire(import.meta.url)(${JSON.stringify(DIST.replace(/\.mjs$/, '.js'))});
    const out = [];
    for (const lib of [esm, cjs, esm]) {
      const w = new lib.FutexWord(new ArrayBuffer(4), 0, { backend: 'futex' });
      const p = w.waitAsync(0, { timeout: 5000 });
      while (w.wake() === 0) await new Promise((r) => setImmediate(r));
      out.push(await p);
    }
    console.log(JSON.stringify(out));
  `);
  const { code, out } = await done;
  expect(code).toBe(0);
  expect(JSON.parse(out)).toEqual(['ok', 'ok', 'ok']);
});
