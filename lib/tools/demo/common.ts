/**
 * What the demo's parts share: sizes, layouts, the participants' messages (see index.ts).
 */
import { EVENT_WORDS } from '../../primitives';

export const WORKERS = 4;
export const WORKER_OPS = 500_000; // per worker
export const PROCESSES = 4;
export const ATOMIC_OPS = 1_000_000; // per process
export const MUTEX_OPS = 250_000; // per process
export const WARMUP_ROUNDS = 2_000;
export const ROUNDS = 20_000;
export const WAITERS = 4;
/** How long a participant waits for its peers before it gives up (and fails its row). */
export const PEER_WAIT_MS = 15_000;
/** How long a row may take in all before the demo kills its participants. */
export const ROW_MS = 30_000;

/** The SharedArrayBuffer of row 1. */
export const SAB_MUTEX = 0;
export const SAB_GO = 64; // an Event: the workers start together
export const SAB_COUNTER = 128;
export const SAB_BYTES = 192;

/** The SharedMemory segment of rows 2 and 3. */
export const SEG_ATOMIC = 0; // AtomicU64
export const SEG_COUNTER = 64; // int32, plain, under the NamedMutex
export const SEG_BARRIER = 128; // u32: processes arrived (AtomicU32 to add, FutexWord to sleep)
export const SEG_BYTES = 4096;

/** The sleepers word of an Event (lib/primitives/event.ts): how the setter knows all waiters sleep. */
export const EVENT_SLEEPERS = EVENT_WORDS.SLEEPERS;

export interface DemoWorkerData {
  fastipcDemo: 'worker';
  sab: SharedArrayBuffer;
  n: number;
}

export type ChildSpec =
  | { role: 'count'; shm: string; lock: string; parties: number; atomicOps: number; mutexOps: number }
  | { role: 'ping' | 'pong'; ping: string; pong: string; rounds: number; warmup: number }
  | { role: 'wait'; event: string };

/** A span of hrtime stamps, as decimal strings (bigint nanoseconds do not survive JSON). */
export type Span = [string, string];

export interface Row {
  what: string;
  ops: number;
  /** null where a rate means nothing (a broadcast). */
  perSecond: number | null;
  exact: boolean;
  note: string;
}

export const now = (): string => process.hrtime.bigint().toString();

/** Seconds from the earliest start to the latest end of `spans`. */
export function seconds(spans: Span[]): number {
  const start = spans.map((s) => BigInt(s[0])).reduce((a, b) => (a < b ? a : b));
  const end = spans.map((s) => BigInt(s[1])).reduce((a, b) => (a > b ? a : b));
  return Number(end - start) / 1e9;
}

export function isDemoWorker(data: unknown): data is DemoWorkerData {
  return typeof data === 'object' && data !== null && (data as DemoWorkerData).fastipcDemo === 'worker';
}

export const COLUMNS = [
  { title: 'what ran', width: 50, right: false },
  { title: 'ops', width: 9, right: true },
  { title: 'ops/s', width: 9, right: true },
  { title: 'exact?', width: 6, right: false },
  { title: '', width: 0, right: false },
];

export function line(cells: string[]): string {
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

export function rowLine(r: Row): string {
  return line([r.what, r.ops.toLocaleString('en-US'), rate(r.perSecond), r.exact ? 'yes' : 'NO', r.note]);
}
