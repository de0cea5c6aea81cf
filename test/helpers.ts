import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

export const TASK = path.join(__dirname, 'fixtures', 'task.mjs');

export type MemorySpec = { sab: SharedArrayBuffer } | { shm: string; size?: number };

let serial = 0;
/** A segment name unique to this test process and call. */
export function uniqueName(tag: string): string {
  return `test-${tag}-${process.pid}-${++serial}`;
}

/** Segments in /dev/shm named by uniqueName() in this test process. */
export function leftSegments(): string[] {
  const dir = process.env.FASTIPC_SHM_DIR || '/dev/shm';
  return fs
    .readdirSync(dir)
    .filter((f) => /^fastipc[.-]/.test(f) && f.includes('test-') && f.includes(`-${process.pid}-`));
}

/** Removes the segments left by this test process (after a failure). */
export function removeSegments(): void {
  const dir = process.env.FASTIPC_SHM_DIR || '/dev/shm';
  for (const f of leftSegments()) fs.rmSync(path.join(dir, f), { force: true });
}

const live = new Set<ChildProcess | Worker>();

export interface TaskResult<T> {
  result?: T;
  error?: { name: string; message: string; code?: string };
}

/** Runs a task of fixtures/tasks.mjs in a worker thread. */
export function inWorker<T = unknown>(spec: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    const w = new Worker(TASK, { workerData: spec });
    live.add(w);
    let message: TaskResult<T> | undefined;
    w.on('message', (m: TaskResult<T>) => (message = m));
    w.on('error', reject);
    w.on('exit', (code) => {
      live.delete(w);
      if (message?.error) reject(Object.assign(new Error(message.error.message), message.error));
      else if (message && code === 0) resolve(message.result as T);
      else reject(new Error(`worker exited with code ${code} and no result`));
    });
  });
}

/** Runs a task of fixtures/tasks.mjs in a child process. */
export function inProcess<T = unknown>(spec: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TASK, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      live.delete(child);
      const line = out.trim().split('\n').pop() ?? '';
      let message: TaskResult<T> | undefined;
      try {
        message = JSON.parse(line);
      } catch {
        /* reported below */
      }
      if (message?.error) reject(Object.assign(new Error(message.error.message), message.error));
      else if (message && code === 0) resolve(message.result as T);
      else reject(new Error(`process exited with ${signal ?? code}: ${out}${err}`));
    });
  });
}

/** Ends every worker and child process still running (for afterAll/afterEach). */
export async function killAll(): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const p of live) {
    if (p instanceof Worker) waits.push(p.terminate());
    else p.kill('SIGKILL');
  }
  live.clear();
  await Promise.all(waits);
}

/** Polls `condition` with Atomics-free busy waiting on the event loop, up to `ms`. */
export async function until(condition: () => boolean, ms = 10000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

/** Settles within 5 s, or fails the run (a wake that never comes). */
export function settled<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle`)), 5000);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
