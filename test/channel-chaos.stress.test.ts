// The Channel chaos run (npm run stress): 2 sender processes, 2 sender workers, 2 receiver
// processes and 2 receiver workers share one NamedChannel while a killer SIGKILLs (processes)
// or terminates (workers) a random one every ~100 ms and starts a new one in its place.
// Every sender incarnation has its own id, so its sequence numbers are its own; receivers
// record what they got in a bitmap in a segment (see fixtures/tasks-channel.ts). At the end:
// no torn message, no duplicate, nothing lost but what the guarantee allows (at most one per
// killed receiver, and a killed sender's unconfirmed last message), no gap in the flow longer
// than a few seconds, and a sender started at the end gets all its messages through.
// CHAOS_SECONDS sets the length (default 60).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { NamedChannel, SharedMemory } from '../lib';
import { TASK, leftSegments, uniqueName, until } from './helpers';

const SECONDS = Number(process.env.CHAOS_SECONDS || 60);
const MAX_IDS = 2048; // sender incarnations the bitmap has room for
const PER_SENDER = 1 << 16; // messages an incarnation sends at most (it then exits and is replaced)
const BITS_AT = 16384; // byte offset of the bitmap in the accounting segment

test(
  `Channel chaos: ${SECONDS} s of kills and restarts; nothing torn or duplicated, losses bounded, it still flows`,
  async () => {
    const name = uniqueName('chchaos');
    const ctlName = `${name}-ctl`;
    const ctl = { ctl: ctlName, bitsAt: BITS_AT, perSender: PER_SENDER };
    const shm = SharedMemory.open(ctlName, { size: BITS_AT + MAX_IDS * (PER_SENDER / 8) });
    const words = new Int32Array(shm.buffer);
    const options = { capacity: 32, maxMessageBytes: 200 };
    const ch = new NamedChannel(name, options); // held open to the end
    const common = { name, capacity: 32, maxBytes: 200, ctl };

    type Role = 'send' | 'receive';
    type P = { role: Role; id: number; exited: boolean; kill: () => Promise<unknown> };
    const roles: Role[] = ['send', 'send', 'send', 'send', 'receive', 'receive', 'receive', 'receive'];
    const exits: Promise<unknown>[] = [];
    let nextId = 0;
    const modes = [{}, { into: true }, { async: true }];
    const start = (slot: number): P => {
      const role = roles[slot];
      const id = role === 'send' ? nextId++ : -1;
      if (id >= MAX_IDS) throw new Error('more sender incarnations than the bitmap has room for');
      const spec =
        role === 'send'
          ? { task: 'channelSend', ...common, id, count: PER_SENDER }
          : { task: 'channelReceive', ...common, ...modes[slot % 3] };
      const p: P = { role, id, exited: false, kill: async () => {} };
      if (slot % 2 === 0) {
        const child: ChildProcess = spawn(process.execPath, [TASK, JSON.stringify(spec)], {
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        const exit = new Promise((res) => child.once('exit', res)).then(() => (p.exited = true));
        exits.push(exit);
        p.kill = () => (child.kill('SIGKILL'), exit);
      } else {
        const worker = new Worker(TASK, { workerData: spec });
        worker.on('error', () => {});
        const exit = new Promise((res) => worker.once('exit', res)).then(() => (p.exited = true));
        exits.push(exit);
        // (not before its module runs: see fixtures/task.mjs)
        const started = Promise.race([new Promise((res) => worker.once('message', res)), exit]);
        p.kill = () => started.then(() => worker.terminate()).then(() => exit);
      }
      return p;
    };
    const participants = roles.map((_, slot) => start(slot));
    let left: string[] = [];
    try {
      let kills = 0;
      let receiverKills = 0;
      let longestStall = 0;
      let lastCount = 0;
      let lastProgress = Date.now();
      const senders: number[] = [];
      const end = Date.now() + SECONDS * 1000;
      while (Date.now() < end) {
        await new Promise((res) => setTimeout(res, 50 + Math.random() * 100));
        const count = Atomics.load(words, 2);
        const now = Date.now();
        if (count !== lastCount) {
          longestStall = Math.max(longestStall, now - lastProgress);
          lastCount = count;
          lastProgress = now;
        }
        const slot = Math.floor(Math.random() * 8);
        const p = participants[slot];
        await p.kill();
        kills++;
        if (p.role === 'receive') receiverKills++;
        for (let s = 0; s < 8; s++) {
          const q = participants[s];
          if (s !== slot && !q.exited) continue;
          if (q.role === 'send') senders.push(q.id);
          participants[s] = start(s); // the killed one, and any sender that finished its messages
        }
      }
      longestStall = Math.max(longestStall, Date.now() - lastProgress);

      const has = (id: number, seq: number) =>
        (words[BITS_AT / 4 + id * (PER_SENDER / 32) + (seq >>> 5)] & (1 << (seq & 31))) !== 0;
      // the end: senders stop, receivers drain, then end() lets them return
      for (const p of participants) if (p.role === 'send') await p.kill();
      for (const p of participants) if (p.role === 'send') senders.push(p.id);
      // still flows after all that: a new sender's messages all arrive
      const last = nextId++;
      const exit = new Promise((res) => {
        const child = spawn(
          process.execPath,
          [TASK, JSON.stringify({ task: 'channelSend', ...common, id: last, count: 5000 })],
          {
            stdio: ['ignore', 'ignore', 'inherit'],
          },
        );
        child.once('exit', res);
      });
      expect(await exit).toBe(0);
      senders.push(last);
      await until(() => ch.size === 0, 30000, 'the channel drained');
      let lastGot = 0;
      for (let seq = 0; seq < 5000; seq++) if (has(last, seq)) lastGot++;
      expect([Atomics.load(words, 16 + last), lastGot]).toEqual([5000, 5000]);
      ch.end();
      await until(() => participants.every((p) => p.exited), 30000, 'the receivers returned after end()');

      let missing = 0;
      let beyond = 0;
      for (const id of senders) {
        const confirmed = Atomics.load(words, 16 + id);
        for (let seq = 0; seq < confirmed; seq++) if (!has(id, seq)) missing++;
        for (let seq = confirmed + 1; seq < PER_SENDER; seq++) if (has(id, seq)) beyond++;
      }
      const summary = {
        seconds: SECONDS,
        kills,
        receiverKills,
        senderIncarnations: senders.length,
        received: Atomics.load(words, 2),
        missing,
        longestStallMs: longestStall,
      };
      console.log(`Channel chaos survived: ${JSON.stringify(summary)}`);
      expect([Atomics.load(words, 0), Atomics.load(words, 1)]).toEqual([0, 0]); // torn, duplicates
      expect(missing).toBeLessThanOrEqual(receiverKills); // at most one per killed receiver
      expect(beyond).toBe(0); // nothing past a sender's last confirmed send but the one in flight
      expect(kills).toBeGreaterThan(SECONDS * 3);
      expect(Atomics.load(words, 2)).toBeGreaterThan(SECONDS * 10000);
      expect(longestStall).toBeLessThan(5000); // nobody wedged: the flow went on after every kill
    } finally {
      await Promise.all(participants.map((p) => p.kill()));
      await Promise.all(exits);
      ch.close();
      // the last close unlinks the segment; if it is still there, who holds it
      left = fs.existsSync(`/dev/shm/fastipc-channel.${name}`)
        ? fs.readdirSync(path.join(process.env.FASTIPC_PID_DIR!, `fastipc-channel.${name}`))
        : [];
      shm.close();
      for (const f of leftSegments()) fs.rmSync(`/dev/shm/${f}`, { force: true });
    }
    expect(left).toEqual([]);
    expect(leftSegments()).toEqual([]);
  },
  (SECONDS + 120) * 1000,
);
