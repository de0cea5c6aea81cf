/**
 * `fastipc demo` (`npm run demo`): what fastipc is for, run on this machine in a few
 * seconds, each result checked.
 *
 * | row | who                   | what                                                     |
 * |-----|-----------------------|----------------------------------------------------------|
 * | 1   | 4 worker threads      | a plain counter in a SharedArrayBuffer under a Mutex     |
 * | 2   | 4 processes           | AtomicU64.add on a SharedMemory segment                  |
 * | 3   | the same 4 processes  | a plain counter in that segment under a NamedMutex       |
 * | 4   | 2 processes           | NamedSemaphore ping-pong (round-trip time)               |
 * | 5   | 4 processes + this one| one NamedEvent.set() wakes all 4 (wake time)             |
 *
 * Workers and child processes run the CLI's own file (`entry`: a worker sees
 * `workerData.fastipcDemo`, a process the hidden command `__demo-child`), so the demo
 * needs nothing but the installed package. Rates come from the participants' own
 * process.hrtime stamps (CLOCK_MONOTONIC, one clock for every process): first start to
 * last end, between barriers, so process start-up is not counted.
 *
 * Segments are named demo-<pid>-<what>. The last close unlinks each; whatever happens
 * (a failed row, Ctrl-C), the cleanup kills the children and removes what is left, and
 * a segment left after a successful run fails the demo.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { native, requireNative } from '../../core/native';
import { NamedEvent, NamedMutex, NamedSemaphore, SharedMemory } from '../../named';
import { shmDir } from '../../named/shared-memory';
import { AtomicU64, Event, Mutex } from '../../primitives';
import { fileOf, readHeader, removeSegment } from '../inspect';
import {
  ATOMIC_OPS,
  COLUMNS,
  EVENT_SLEEPERS,
  MUTEX_OPS,
  now,
  PEER_WAIT_MS,
  PROCESSES,
  ROUNDS,
  ROW_MS,
  SAB_BYTES,
  SAB_COUNTER,
  SAB_GO,
  SAB_MUTEX,
  SEG_ATOMIC,
  SEG_BYTES,
  SEG_COUNTER,
  seconds,
  WAITERS,
  WARMUP_ROUNDS,
  WORKER_OPS,
  WORKERS,
  type ChildSpec,
  type DemoWorkerData,
  rowLine,
  line,
  type Row,
  type Span,
} from './common';
import { Participants, within } from './host';

export { isDemoWorker } from './common';
export { demoChild, demoWorker } from './participants';
async function workerRow(p: Participants): Promise<Row> {
  const sab = new SharedArrayBuffer(SAB_BYTES);
  new Mutex(sab, SAB_MUTEX); // initialised here, so the workers only attach
  const go = new Event(sab, SAB_GO);
  const spans: Span[] = [];
  let ready = 0;
  let allReady!: () => void;
  const readyAll = new Promise<void>((r) => (allReady = r));
  const onMessage = (m: { ready?: boolean; span?: Span }) => {
    if (m.ready && ++ready === WORKERS) allReady();
    if (m.span) spans.push(m.span);
  };
  const done = p.all(
    Array.from({ length: WORKERS }, () => p.worker({ fastipcDemo: 'worker', sab, n: WORKER_OPS }, onMessage)),
  );
  await Promise.race([readyAll, done]);
  go.set();
  await done;
  const total = new Int32Array(sab, SAB_COUNTER, 1)[0];
  const expected = WORKERS * WORKER_OPS;
  return {
    what: `Mutex around a plain counter, ${WORKERS} worker threads`,
    ops: expected,
    perSecond: expected / seconds(spans),
    exact: total === expected,
    note: total === expected ? '' : `counted ${total}`,
  };
}

async function processRows(p: Participants, tag: string): Promise<Row[]> {
  const shm = SharedMemory.open(`${tag}-counters`, { size: SEG_BYTES });
  try {
    const spec: ChildSpec = {
      role: 'count',
      shm: `${tag}-counters`,
      lock: `${tag}-lock`,
      parties: PROCESSES,
      atomicOps: ATOMIC_OPS,
      mutexOps: MUTEX_OPS,
    };
    const results = await p.all(Array.from({ length: PROCESSES }, () => p.child<{ atomic: Span; mutex: Span }>(spec)));
    const atomic = new AtomicU64(shm.buffer, SEG_ATOMIC).load();
    const counter = new Int32Array(shm.buffer, SEG_COUNTER, 1)[0];
    const atomicExpected = PROCESSES * ATOMIC_OPS;
    const mutexExpected = PROCESSES * MUTEX_OPS;
    return [
      {
        what: `AtomicU64.add in SharedMemory, ${PROCESSES} processes`,
        ops: atomicExpected,
        perSecond: atomicExpected / seconds(results.map((r) => r.atomic)),
        exact: atomic === BigInt(atomicExpected),
        note: atomic === BigInt(atomicExpected) ? '' : `counted ${atomic}`,
      },
      {
        what: `NamedMutex around a plain counter, ${PROCESSES} processes`,
        ops: mutexExpected,
        perSecond: mutexExpected / seconds(results.map((r) => r.mutex)),
        exact: counter === mutexExpected,
        note: counter === mutexExpected ? '' : `counted ${counter}`,
      },
    ];
  } finally {
    shm.close();
  }
}

async function pingPongRow(p: Participants, tag: string): Promise<Row> {
  const names = { ping: `${tag}-ping`, pong: `${tag}-pong`, rounds: ROUNDS, warmup: WARMUP_ROUNDS };
  const [pinger, ponger] = await p.all([
    p.child<{ span: Span; roundTrips: number; unused: number }>({ role: 'ping', ...names }),
    p.child<{ served: number }>({ role: 'pong', ...names }),
  ]);
  const total = ROUNDS + WARMUP_ROUNDS;
  const secs = seconds([pinger.span]);
  const exact = pinger.roundTrips === total && ponger.served === total && pinger.unused === 0;
  return {
    what: 'NamedSemaphore ping-pong, 2 processes',
    ops: ROUNDS,
    perSecond: ROUNDS / secs,
    exact,
    note: `${((secs / ROUNDS) * 1e6).toFixed(1)} µs per round trip` + (exact ? '' : ' (tokens lost or left over)'),
  };
}

async function broadcastRow(p: Participants, tag: string): Promise<Row> {
  const event = new NamedEvent(`${tag}-go`);
  try {
    const file = path.join(shmDir(), fileOf('event', `${tag}-go`));
    const waiters = p.all(
      Array.from({ length: WAITERS }, () =>
        p.child<{ ok: boolean; woke: string }>({ role: 'wait', event: `${tag}-go` }),
      ),
    );
    // Set only once all of them sleep: the Event's sleepers word, read as `fastipc inspect` does.
    let failed = false;
    waiters.catch(() => (failed = true));
    const deadline = Date.now() + PEER_WAIT_MS;
    while (readHeader(file).words[EVENT_SLEEPERS] < WAITERS) {
      if (failed) break;
      if (Date.now() > deadline)
        throw new Error(`the ${WAITERS} waiters did not all wait within ${PEER_WAIT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 1));
    }
    const set = process.hrtime.bigint();
    event.set();
    const results = await waiters;
    const delays = results.map((r) => Number(BigInt(r.woke) - set) / 1e6);
    const exact = results.every((r) => r.ok) && delays.every((d) => d >= 0);
    return {
      what: `NamedEvent: one set() wakes ${WAITERS} processes`,
      ops: WAITERS,
      perSecond: null,
      exact,
      note: `first awake after ${Math.min(...delays).toFixed(2)} ms, all after ${Math.max(...delays).toFixed(2)} ms`,
    };
  } finally {
    event.close();
  }
}

/** Files in the shm folder that belong to the demo run `tag` (temporaries too). */
function leftovers(tag: string): string[] {
  return fs.readdirSync(shmDir()).filter((f) => f.startsWith('fastipc') && f.includes(`.${tag}-`));
}

/**
 * Runs the demo, the table on `print`, failures on `warn`. Resolves with the exit code:
 * 0 when every row was exact and nothing was left behind, 1 otherwise, 130 on Ctrl-C.
 */
export async function runDemo(
  entry: string,
  print: (text: string) => void,
  warn: (text: string) => void,
): Promise<number> {
  const started = Date.now();
  const tag = `demo-${process.pid}`;
  // Unless told otherwise, the demo keeps its PID registrations in a folder of its own
  // (its workers and processes inherit the variable) and removes it at the end, so that
  // it leaves nothing behind, not even the per-user /dev/shm/fastipc-<uid>.
  const ownPidDir = process.env.FASTIPC_PID_DIR ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'fastipc-demo-'));
  if (ownPidDir) process.env.FASTIPC_PID_DIR = ownPidDir;
  const p = new Participants(entry);
  const rows: Row[] = [];
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    warn('\nfastipc: interrupted; stopping the demo and removing its segments');
    void p.stop();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  print(
    'fastipc: futex-based mutexes, semaphores, events and atomic counters for JavaScript that\n' +
      'shares memory: worker threads over a SharedArrayBuffer, processes over named segments in\n' +
      `${shmDir()}. Here they are on this machine (${os.cpus().length} CPUs, Node ${process.version}):\n`,
  );
  print(line(COLUMNS.map((c) => c.title)));
  const steps: { what: string; run: () => Promise<Row | Row[]>; processes: boolean }[] = [
    { what: `Mutex, ${WORKERS} worker threads`, run: () => workerRow(p), processes: false },
    { what: `AtomicU64 and NamedMutex, ${PROCESSES} processes`, run: () => processRows(p, tag), processes: true },
    { what: 'NamedSemaphore ping-pong, 2 processes', run: () => pingPongRow(p, tag), processes: true },
    { what: `NamedEvent broadcast to ${WAITERS} processes`, run: () => broadcastRow(p, tag), processes: true },
  ];
  // Shared memory between processes needs the addon (mmap, futex); worker threads do not.
  const addon = native() !== null;
  try {
    for (const step of steps) {
      if (interrupted) break;
      let got: Row[];
      if (step.processes && !addon) {
        got = [{ what: step.what, ops: 0, perSecond: null, exact: false, note: 'skipped: needs the native addon' }];
      } else
        try {
          const r = await within(step.run(), ROW_MS, step.what);
          got = Array.isArray(r) ? r : [r];
        } catch (err) {
          await p.stop();
          const note = interrupted ? 'stopped: interrupted' : `failed: ${(err as Error).message}`;
          got = [{ what: step.what, ops: 0, perSecond: null, exact: false, note }];
        }
      for (const r of got) print(rowLine(r));
      rows.push(...got);
    }
  } finally {
    await p.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (ownPidDir) {
    fs.rmSync(ownPidDir, { recursive: true, force: true });
    delete process.env.FASTIPC_PID_DIR;
  }

  // Every close above was the last one, so each segment should be gone already.
  const left = leftovers(tag);
  for (const f of left) {
    try {
      removeSegment(f);
    } catch (err) {
      warn(`fastipc: could not remove ${f}: ${(err as Error).message}`);
    }
  }
  const exact = !interrupted && rows.length > 0 && rows.every((r) => r.exact);
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  print('');
  if (exact && left.length === 0) {
    print(`All exact, in ${secs} s. Every segment the demo made is gone: the last close unlinks it.`);
    return 0;
  }
  if (interrupted || !exact) {
    if (left.length) warn(`fastipc: removed what the stopped rows left: ${left.join(', ')}`);
  } else warn(`fastipc: the demo left ${left.join(', ')} behind (removed now)`);
  if (interrupted) return 130;
  if (!addon) {
    try {
      requireNative('Shared memory between processes');
    } catch (err) {
      warn((err as Error).message);
    }
  }
  if (!exact) warn(`fastipc: the demo failed after ${secs} s: see the rows marked NO`);
  return 1;
}
