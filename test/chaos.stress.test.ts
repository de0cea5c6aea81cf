// The chaos run (npm run stress): 4 processes and 4 workers hammer a NamedMutex-protected
// record, a NamedSemaphore and a NamedEvent while a killer SIGKILLs (processes) or
// terminates (workers) a random participant every ~100 ms and restarts it.
// CHAOS_SECONDS sets the length (default 60).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { NamedSemaphore, SharedMemory } from '../lib';
import { TASK, leftSegments, uniqueName } from './helpers';

const SECONDS = Number(process.env.CHAOS_SECONDS || 60);
const TOKENS = 4;

test(
  `chaos: ${SECONDS} s of kills and restarts; the record stays consistent, tokens are accounted for, nothing is left`,
  async () => {
    const prefix = uniqueName('chaos');
    const dataName = `${prefix}-data`;
    const data = SharedMemory.open(dataName, { size: 4096 });
    const r = new Int32Array(data.buffer, 0, 32);
    const seed = new NamedSemaphore(`${prefix}-sem`, { initial: TOKENS }); // held open to the end
    const spec = (me: number) => ({ task: 'chaos', prefix, me, memory: { shm: dataName } });

    type P = { kind: 'process'; child: ChildProcess } | { kind: 'worker'; worker: Worker; started: Promise<unknown> };
    const participants: P[] = [];
    const exits: Promise<unknown>[] = [];
    const start = (me: number): P => {
      if (me < 4) {
        const child = spawn(process.execPath, [TASK, JSON.stringify(spec(me))], {
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        exits.push(new Promise((res) => child.once('exit', res)));
        return { kind: 'process', child };
      }
      const worker = new Worker(TASK, { workerData: spec(me) });
      worker.on('error', () => {});
      const exit = new Promise((res) => worker.once('exit', res));
      exits.push(exit);
      // terminated only once its module runs (see fixtures/task.mjs)
      return {
        kind: 'worker',
        worker,
        started: Promise.race([new Promise((res) => worker.once('message', res)), exit]),
      };
    };
    for (let me = 0; me < 8; me++) participants.push(start(me));
    try {
      await chaos();
    } finally {
      // also when an expectation failed: no participant, handle or segment may outlive the test
      if (!data.closed) Atomics.store(r, 1, 1);
      for (const p of participants) {
        if (p.kind === 'process') p.child.kill('SIGKILL');
        else await p.worker.terminate();
      }
      await Promise.all(exits);
      seed.close();
      data.close();
      for (const f of leftSegments()) fs.rmSync(`/dev/shm/${f}`, { force: true });
    }

    async function chaos() {
      let kills = 0;
      let definitelyLost = 0;
      let maybeLost = 0;
      const end = Date.now() + SECONDS * 1000;
      while (Date.now() < end) {
        await new Promise((res) => setTimeout(res, 50 + Math.random() * 100));
        const me = Math.floor(Math.random() * 8);
        const p = participants[me];
        if (p.kind === 'process') {
          p.child.kill('SIGKILL');
          await new Promise((res) =>
            p.child.exitCode !== null || p.child.signalCode !== null ? res(null) : p.child.once('exit', res),
          );
        } else {
          await p.started;
          await p.worker.terminate();
        }
        kills++;
        const tokenState = Atomics.exchange(r, 16 + me, 0); // final: its owner is gone
        if (tokenState === 2) definitelyLost++;
        else if (tokenState === 1 || tokenState === 3) maybeLost++;
        participants[me] = start(me);
      }

      Atomics.store(r, 1, 1); // stop
      await Promise.all(exits); // every participant ever started has exited
      let sum = 0;
      for (let k = 0; k < 8; k++) sum += r[8 + k];
      // The last holder may have been killed mid-update with nobody left to recover: repair
      // as a recoverer would, through a lock that takes over from the dead holder.
      const { NamedMutex } = await import('../lib');
      const m = new NamedMutex(`${prefix}-mutex`);
      expect(m.lock({ timeout: 5000 })).toBe(true);
      if (m.recovered) r[0] = sum;
      m.unlock();
      m.close();

      const summary = {
        seconds: SECONDS,
        kills,
        recoveries: r[2],
        lockOps: sum,
        semaphoreOps: r[24],
        eventOps: r[25],
        tokens: seed.value,
        definitelyLost,
        maybeLost,
        lockTimeouts: r[3],
        slowWaits: r[4],
      };
      console.log(`chaos survived: ${JSON.stringify(summary)}`);

      expect(r[0]).toBe(sum); // the record is consistent
      expect(sum).toBeGreaterThan(1000);
      expect(kills).toBeGreaterThan(SECONDS * 3); // one every ~100 ms, plus the time to reap and restart
      if (SECONDS >= 30) expect(r[2]).toBeGreaterThan(0); // some kills hit a holder (about 1 in 30)
      expect(r[3]).toBe(0); // no lock call ran into its timeout
      expect(r[4]).toBe(0); // no call took much longer than its timeout
      expect(seed.value).toBeLessThanOrEqual(TOKENS - definitelyLost);
      expect(seed.value).toBeGreaterThanOrEqual(TOKENS - definitelyLost - maybeLost);

      seed.close();
      data.close();
      expect(leftSegments()).toEqual([]);
      const pidDir = process.env.FASTIPC_PID_DIR!;
      expect(fs.readdirSync(pidDir).filter((f) => f.includes(prefix))).toEqual([]);
    }
  },
  (SECONDS + 120) * 1000,
);
