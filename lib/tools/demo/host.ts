/**
 * The demo's side of its participants: starting worker threads and child processes (which
 * run participants.ts), collecting their results, stopping them all on a failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import type { ChildSpec, DemoWorkerData, Span } from './common';

/** Runs the demo's participants; `entry` is the CLI's own file, which they run too. */
export class Participants {
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
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
