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
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parentPort, Worker } from 'node:worker_threads';
import { AtomicU32 } from './atomic-u32';
import { AtomicU64 } from './atomic-u64';
import { Event, EVENT_WORDS } from './event';
import { FutexWord } from './futex-word';
import { fileOf, readHeader, removeSegment } from './inspect';
import { Mutex } from './mutex';
import { native, requireNative } from './native';
import { NamedEvent, NamedMutex, NamedSemaphore } from './named';
import { SharedMemory, shmDir } from './shared-memory';

const WORKERS = 4;
const WORKER_OPS = 500_000; // per worker
const PROCESSES = 4;
const ATOMIC_OPS = 1_000_000; // per process
const MUTEX_OPS = 250_000; // per process
const WARMUP_ROUNDS = 2_000;
const ROUNDS = 20_000;
const WAITERS = 4;
/** How long a participant waits for its peers before it gives up (and fails its row). */
const PEER_WAIT_MS = 15_000;
/** How long a row may take in all before the demo kills its participants. */
const ROW_MS = 30_000;

/** The SharedArrayBuffer of row 1. */
const SAB_MUTEX = 0;
const SAB_GO = 64; // an Event: the workers start together
const SAB_COUNTER = 128;
const SAB_BYTES = 192;

/** The SharedMemory segment of rows 2 and 3. */
const SEG_ATOMIC = 0; // AtomicU64
const SEG_COUNTER = 64; // int32, plain, under the NamedMutex
const SEG_BARRIER = 128; // u32: processes arrived (AtomicU32 to add, FutexWord to sleep)
const SEG_BYTES = 4096;

/** The sleepers word of an Event (lib/event.ts): how the setter knows all waiters sleep. */
const EVENT_SLEEPERS = EVENT_WORDS.SLEEPERS;

export interface DemoWorkerData {
  fastipcDemo: 'worker';
  sab: SharedArrayBuffer;
  n: number;
}

type ChildSpec =
  | { role: 'count'; shm: string; lock: string; parties: number; atomicOps: number; mutexOps: number }
  | { role: 'ping' | 'pong'; ping: string; pong: string; rounds: number; warmup: number }
  | { role: 'wait'; event: string };

/** A span of hrtime stamps, as decimal strings (bigint nanoseconds do not survive JSON). */
type Span = [string, string];

interface Row {
  what: string;
  ops: number;
  /** null where a rate means nothing (a broadcast). */
  perSecond: number | null;
  exact: boolean;
  note: string;
}

const now = (): string => process.hrtime.bigint().toString();

/** Seconds from the earliest start to the latest end of `spans`. */
function seconds(spans: Span[]): number {
  const start = spans.map((s) => BigInt(s[0])).reduce((a, b) => (a < b ? a : b));
  const end = spans.map((s) => BigInt(s[1])).reduce((a, b) => (a > b ? a : b));
  return Number(end - start) / 1e9;
}

export function isDemoWorker(data: unknown): data is DemoWorkerData {
  return typeof data === 'object' && data !== null && (data as DemoWorkerData).fastipcDemo === 'worker';
}

// ---- in a worker thread ----------------------------------------------------------

export function demoWorker(data: DemoWorkerData): void {
  const mutex = new Mutex(data.sab, SAB_MUTEX);
  const go = new Event(data.sab, SAB_GO);
  const counter = new Int32Array(data.sab, SAB_COUNTER, 1);
  parentPort!.postMessage({ ready: true });
  if (!go.wait({ timeout: PEER_WAIT_MS })) throw new Error('the demo never said go');
  const start = now();
  for (let i = 0; i < data.n; i++) {
    mutex.lock();
    counter[0]++; // a plain read-modify-write: exact only because of the lock
    mutex.unlock();
  }
  parentPort!.postMessage({ span: [start, now()] });
}

// ---- in a child process (`fastipc __demo-child JSON`) -----------------------------

/** Waits until `target` participants have arrived at the barrier word. */
function arrive(count: AtomicU32, word: FutexWord, target: number): void {
  if (count.add(1) + 1 >= target) {
    word.wake(Infinity);
    return;
  }
  const deadline = performance.now() + PEER_WAIT_MS;
  for (let seen = count.load(); seen < target; seen = count.load()) {
    const left = deadline - performance.now();
    if (left <= 0) throw new Error(`waited ${PEER_WAIT_MS / 1000} s for the other processes`);
    word.wait(seen, left);
  }
}

function countRole(spec: Extract<ChildSpec, { role: 'count' }>): unknown {
  const shm = SharedMemory.open(spec.shm, { size: SEG_BYTES, create: false });
  const lock = new NamedMutex(spec.lock);
  try {
    const atomic = new AtomicU64(shm.buffer, SEG_ATOMIC);
    const counter = new Int32Array(shm.buffer, SEG_COUNTER, 1);
    const arrived = new AtomicU32(shm.buffer, SEG_BARRIER);
    const barrier = new FutexWord(shm.buffer, SEG_BARRIER);

    arrive(arrived, barrier, spec.parties);
    const a0 = now();
    for (let i = 0; i < spec.atomicOps; i++) atomic.add(1n);
    const a1 = now();

    arrive(arrived, barrier, 2 * spec.parties);
    const m0 = now();
    for (let i = 0; i < spec.mutexOps; i++) {
      lock.lock();
      counter[0]++;
      lock.unlock();
    }
    return { atomic: [a0, a1], mutex: [m0, now()] };
  } finally {
    lock.close();
    shm.close();
  }
}

function pingPongRole(spec: Extract<ChildSpec, { role: 'ping' | 'pong' }>): unknown {
  const ping = new NamedSemaphore(spec.ping);
  const pong = new NamedSemaphore(spec.pong);
  try {
    const total = spec.warmup + spec.rounds;
    const timeout = { timeout: PEER_WAIT_MS };
    if (spec.role === 'pong') {
      for (let i = 0; i < total; i++) {
        if (!ping.wait(timeout)) throw new Error(`no ping ${i + 1} within ${PEER_WAIT_MS / 1000} s`);
        pong.post();
      }
      return { served: total };
    }
    let start = now();
    for (let i = 0; i < total; i++) {
      if (i === spec.warmup) start = now();
      ping.post();
      if (!pong.wait(timeout)) throw new Error(`no pong ${i + 1} within ${PEER_WAIT_MS / 1000} s`);
    }
    const end = now();
    // The ponger took every ping before its last post, and we took every pong.
    return { span: [start, end], roundTrips: total, unused: ping.value + pong.value };
  } finally {
    ping.close();
    pong.close();
  }
}

function waitRole(spec: Extract<ChildSpec, { role: 'wait' }>): unknown {
  const event = new NamedEvent(spec.event);
  try {
    const ok = event.wait({ timeout: PEER_WAIT_MS });
    return { ok, woke: now() };
  } finally {
    event.close();
  }
}

/** The hidden `__demo-child` command: runs one role, prints `{ result }` or `{ error }`. */
export function demoChild(json: string | undefined): number {
  try {
    const spec = JSON.parse(json ?? '') as ChildSpec;
    const result =
      spec.role === 'count' ? countRole(spec) : spec.role === 'wait' ? waitRole(spec) : pingPongRole(spec);
    process.stdout.write(JSON.stringify({ result }) + '\n');
    return 0;
  } catch (err) {
    process.stdout.write(JSON.stringify({ error: (err as Error).message ?? String(err) }) + '\n');
    return 1;
  }
}

// ---- in the demo's own process ------------------------------------------------------

class Participants {
  private readonly children = new Set<ChildProcess>();
  private readonly workers = new Set<Worker>();

  constructor(private readonly entry: string) {}

  /** Runs `spec` in a child process; resolves with its result. */
  child<T>(spec: ChildSpec): Promise<T> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [this.entry, '__demo-child', JSON.stringify(spec)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      this.children.add(child);
      let out = '';
      let err = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
      child.on('error', reject);
      child.on('close', (code, signal) => {
        this.children.delete(child);
        let message: { result?: T; error?: string } = {};
        try {
          message = JSON.parse(out.trim().split('\n').pop() ?? '');
        } catch {
          /* reported below */
        }
        if (code === 0 && message.result !== undefined) resolve(message.result);
        else {
          const why = message.error ?? (err.trim().split('\n').pop() || `exited with ${signal ?? code}`);
          reject(new Error(`a ${spec.role} process failed: ${why}`));
        }
      });
    });
  }

  worker(data: DemoWorkerData, onMessage: (m: { ready?: boolean; span?: Span }) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const w = new Worker(this.entry, { workerData: data });
      this.workers.add(w);
      w.on('message', onMessage);
      w.on('error', reject);
      w.on('exit', (code) => {
        this.workers.delete(w);
        if (code === 0) resolve();
        else reject(new Error(`a worker exited with code ${code}`));
      });
    });
  }

  /**
   * Promise.all, but on a failure every participant is stopped before it rejects: the
   * caller's cleanup (a last close that unlinks) then runs with no one else alive.
   */
  async all<T extends readonly unknown[]>(promises: [...{ [K in keyof T]: Promise<T[K]> }]): Promise<T> {
    try {
      return (await Promise.all(promises)) as unknown as T;
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Ends every participant still running and waits until they are gone. */
  async stop(): Promise<void> {
    const gone: Promise<unknown>[] = [];
    for (const c of this.children) {
      gone.push(new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r))));
      c.kill('SIGKILL');
    }
    for (const w of this.workers) gone.push(w.terminate());
    await Promise.all(gone);
  }
}

/** Rejects if `promise` takes longer than `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

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
  const done = p.all(Array.from({ length: WORKERS }, () => p.worker({ fastipcDemo: 'worker', sab, n: WORKER_OPS }, onMessage)));
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
    const waiters = p.all(Array.from({ length: WAITERS }, () => p.child<{ ok: boolean; woke: string }>({ role: 'wait', event: `${tag}-go` })));
    // Set only once all of them sleep: the Event's sleepers word, read as `fastipc inspect` does.
    let failed = false;
    waiters.catch(() => (failed = true));
    const deadline = Date.now() + PEER_WAIT_MS;
    while (readHeader(file).words[EVENT_SLEEPERS] < WAITERS) {
      if (failed) break;
      if (Date.now() > deadline) throw new Error(`the ${WAITERS} waiters did not all wait within ${PEER_WAIT_MS / 1000} s`);
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

const COLUMNS = [
  { title: 'what ran', width: 50, right: false },
  { title: 'ops', width: 9, right: true },
  { title: 'ops/s', width: 9, right: true },
  { title: 'exact?', width: 6, right: false },
  { title: '', width: 0, right: false },
];

function line(cells: string[]): string {
  return (
    '  ' +
    cells
      .map((c, i) => (COLUMNS[i].right ? c.padStart(COLUMNS[i].width) : c.padEnd(COLUMNS[i].width)))
      .join('  ')
      .trimEnd()
  );
}

function rate(perSecond: number | null): string {
  if (perSecond === null || !Number.isFinite(perSecond)) return '-';
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(1)} M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)} k`;
  return perSecond.toFixed(0);
}

function rowLine(r: Row): string {
  return line([r.what, r.ops.toLocaleString('en-US'), rate(r.perSecond), r.exact ? 'yes' : 'NO', r.note]);
}

/**
 * Runs the demo, the table on `print`, failures on `warn`. Resolves with the exit code:
 * 0 when every row was exact and nothing was left behind, 1 otherwise, 130 on Ctrl-C.
 */
export async function runDemo(entry: string, print: (text: string) => void, warn: (text: string) => void): Promise<number> {
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
      } else try {
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
