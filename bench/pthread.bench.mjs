// Condition and RwLock against pthread's process-shared objects, two processes each
// (issue 13):
//   1. producer/consumer: N ints through a bounded queue of 8 guarded by a mutex and two
//      condition variables (not empty, not full): fastipc Mutex + 2 Conditions on a
//      SharedMemory segment vs pthread_mutex_t + 2 pthread_cond_t (pshared) in C.
//   2. read-mostly RwLock: both processes do N operations, 5 of every 100 a write
//      (counter++), the others a read: fastipc RwLock vs pthread_rwlock_t (pshared) in C.
// The C side is bench/c/sync.c, compiled here with the system's cc (rows skipped with a
// line saying why when there is none). Each run starts the two processes afresh; each
// side times itself from a start barrier, so start-up is not counted. Figures are M items
// (or operations) per second, higher is better; ratio = fastipc / C. Checked: the sum
// received, the final counter.
// Env: N_QUEUE (default 100k items per run), N_RW (400k operations per process), both
// times BENCH_SCALE; RUNS.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SharedMemory } from '../dist/index.mjs';
import { compare, envNumber, scaled } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const PEER = path.join(here, 'fixtures', 'sync-peer.mjs');
const N_QUEUE = scaled(envNumber('N_QUEUE', 1e5));
const N_RW = scaled(envNumber('N_RW', 4e5));
const PCT = 5;

/** Compiles bench/c/<file>.c; null (and why, on stderr) when that cannot be done. */
export function buildC(file = 'sync') {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fastipc-bench-c-')), file);
  try {
    execFileSync('cc', ['-O2', '-pthread', '-o', out, path.join(here, 'c', `${file}.c`), '-lrt'], { stdio: 'pipe' });
    return out;
  } catch (err) {
    const why = err.message.split('\n')[0];
    console.error(`${file}: C baselines skipped: cannot compile bench/c/${file}.c with cc (${why})`);
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
    return null;
  }
}

export function runC(bin, args) {
  const [perSecond, check] = execFileSync(bin, args, { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
  return { perSecond, check };
}

function peer(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PEER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`peer ${args}: ${code}`))));
  });
}

/** Both peers on a fresh segment; returns M per second of `count` over [first start, last finish]. */
export async function runNode(mode, roles, n, count, extra = []) {
  const name = `bench-sync-${process.pid}`;
  const shm = SharedMemory.open(name, { size: 4096 });
  try {
    new Uint8Array(shm.buffer).fill(0);
    const r = await Promise.all(roles.map((role) => peer([mode, role, String(n), name, ...extra])));
    const t0 = Math.min(...r.map((x) => x.t0));
    const t1 = Math.max(...r.map((x) => x.t1));
    const counter = new Int32Array(shm.buffer, 3072, 1)[0];
    return { perSecond: count / ((t1 - t0) / 1e9) / 1e6, checks: r.map((x) => x.check), counter };
  } finally {
    shm.unlink();
    shm.close();
  }
}

export async function run() {
  const bin = buildC();
  if (!bin) return;
  try {
    const wantSum = (N_QUEUE * (N_QUEUE + 1)) / 2;
    await compare(
      'producer/consumer, bounded queue of 8, 2 processes',
      {
        'C pthread_mutex + 2 pthread_cond (pshared)': () => {
          const r = runC(bin, ['condq', String(N_QUEUE)]);
          if (r.check !== wantSum) throw new Error(`C condq: sum ${r.check}, expected ${wantSum}`);
          return r.perSecond;
        },
        'fastipc Mutex + 2 Conditions': async () => {
          const r = await runNode('condq', ['producer', 'consumer'], N_QUEUE, N_QUEUE);
          if (r.checks[1] !== wantSum) throw new Error(`fastipc condq: sum ${r.checks[1]}, expected ${wantSum}`);
          return r.perSecond;
        },
      },
      { mode: 'value', unit: 'M items/s', note: `${N_QUEUE} items per run, sum checked` },
    );
    const writes = 2 * Math.ceil((N_RW * PCT) / 100);
    await compare(
      `read-mostly RwLock (${PCT}% writes), 2 processes`,
      {
        'C pthread_rwlock (pshared)': () => {
          const r = runC(bin, ['rwlock', String(N_RW), String(PCT)]);
          if (r.check !== writes) throw new Error(`C rwlock: counter ${r.check}, expected ${writes}`);
          return r.perSecond;
        },
        'fastipc RwLock': async () => {
          const r = await runNode('rwlock', ['-', '-'], N_RW, 2 * N_RW, [String(PCT)]);
          if (r.counter !== writes) throw new Error(`fastipc rwlock: counter ${r.counter}, expected ${writes}`);
          return r.perSecond;
        },
      },
      { mode: 'value', unit: 'M ops/s', note: `${N_RW} operations per process per run, ${writes} writes` },
    );
  } finally {
    fs.rmSync(path.dirname(bin), { recursive: true, force: true });
  }
}
