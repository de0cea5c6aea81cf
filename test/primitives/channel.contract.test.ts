// Channel: its contract, run against every backend and memory (test/backends.ts).
// Messages whole and in order with every codec, full and empty, end(), bad input, attach,
// async order and aborts; exactly once across 4 senders and 4 receivers (workers, and
// processes); parties killed mid-stream.
import { Channel, codecs, FastipcError, Mutex, SharedMemory } from '../../lib';
import { type Setup, variants } from '../backends';
import { inProcess, inWorker, killAll, removeSegments, uniqueName, until } from '../helpers';

afterAll(async () => {
  await killAll();
  removeSegments();
});

const SHAPE = { capacity: 4, maxMessageBytes: 16 };
const u8 = (...b: number[]) => new Uint8Array(b);
/**
 * The channel's state: its header line, tail (+200), head (+264) and slots (+320 on), not
 * its locks (a lock records its last owner) nor the caches of tail and head.
 */
const snapshot = (memory: ArrayBuffer | SharedArrayBuffer) =>
  Buffer.concat([0, 200, 264, 320].map((at, i) => new Uint8Array(memory, at, [64, 4, 4, 1024][i])));
/** The sleepers words (+28 receivers, +36 senders) of the channel at +0. */
const sleepers = (memory: ArrayBuffer | SharedArrayBuffer, at = 0) => {
  const w = new Int32Array(memory, at, 16);
  return [Atomics.load(w, 7), Atomics.load(w, 9)];
};

describe.each(variants)('Channel contract: $name', (variant) => {
  let s: Setup;
  beforeEach(() => (s = variant.setup(1 << 20)));
  afterEach(() => s.close());
  const make = <T = Uint8Array>(extra: object = {}) =>
    new Channel<T>(s.memory, 0, { backend: s.backend, ...SHAPE, ...extra });

  test('messages arrive whole and in order, 0 to maxMessageBytes bytes, round the ring many times', async () => {
    const a = make();
    const b = new Channel(s.memory, 0, { backend: s.backend }); // attaches: the shape is read
    expect([a.initialized, b.initialized, b.capacity, b.maxMessageBytes]).toEqual([true, false, 4, 16]);
    for (let round = 0; round < 25; round++) {
      const sent = [0, 1, 16, 7].map((n) => Uint8Array.from({ length: n }, (_, i) => (round + i * 3) & 255));
      for (const m of sent) expect(a.trySend(m)).toBe(true);
      expect([a.size, b.size]).toEqual([4, 4]);
      expect(b.receive()).toEqual(sent[0]);
      expect(await b.receiveAsync()).toEqual(sent[1]);
      expect(b.tryReceive()).toEqual(sent[2]);
      const into = new Uint8Array(16).fill(99);
      expect(b.receiveInto(into)).toBe(7);
      expect(into.subarray(0, 8)).toEqual(Uint8Array.from([...sent[3], 99]));
      expect(a.size).toBe(0);
    }
    // a copy out: the sender's buffer and the slot may change, the message does not
    const m = u8(1, 2, 3);
    a.send(m);
    m[0] = 9;
    const got = b.receive()!;
    a.send(u8(7, 7, 7));
    expect(got).toEqual(u8(1, 2, 3));
    expect(got.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect(sleepers(s.memory)).toEqual([0, 0]);
  });

  test('codecs: utf8, json, v8 and a codec of ones own', async () => {
    const text = make<string>({ codec: codecs.utf8, maxMessageBytes: 64 });
    text.send('héllo ✓');
    expect(text.receive()).toBe('héllo ✓');
    expect(() => text.send('é'.repeat(33))).toThrow(RangeError); // 66 bytes
    expect(() => text.send(5 as never)).toThrow(TypeError);

    const json = new Channel(s.memory, 0, { backend: s.backend, codec: codecs.json });
    json.send({ a: [1, 'b', null] });
    expect(json.receive()).toEqual({ a: [1, 'b', null] });
    expect(() => json.send(undefined)).toThrow(TypeError);

    const v8 = new Channel(s.memory, 0, { backend: s.backend, codec: codecs.v8 });
    v8.send(new Map([[1, 2]]));
    expect(v8.receive()).toEqual(new Map([[1, 2]]));

    const upper = new Channel<string>(s.memory, 0, {
      backend: s.backend,
      codec: { encode: (t: string) => Buffer.from(t.toUpperCase()), decode: (b) => Buffer.from(b).toString() },
    });
    await upper.sendAsync('abc');
    expect(await upper.receiveAsync()).toBe('ABC');
    expect(text.size).toBe(0);
  });

  test('full and empty: try calls refuse, timed calls time out, async calls wait for the other side', async () => {
    const c = make();
    expect(c.tryReceive()).toBeUndefined();
    let t = performance.now();
    expect(c.receive({ timeout: 30 })).toBeUndefined();
    expect(performance.now() - t).toBeGreaterThanOrEqual(29);
    expect(c.receiveInto(new Uint8Array(16), { timeout: 0 })).toBe(-1);
    expect(await c.receiveAsync({ timeout: 10 })).toBeUndefined();
    for (let i = 0; i < 4; i++) c.send(u8(i));
    expect(c.trySend(u8(9))).toBe(false);
    t = performance.now();
    expect(c.send(u8(9), { timeout: 30 })).toBe(false);
    expect(performance.now() - t).toBeGreaterThanOrEqual(29);
    expect(await c.sendAsync(u8(9), { timeout: 10 })).toBe(false);
    expect(c.size).toBe(4);
    expect(sleepers(s.memory)).toEqual([0, 0]);

    const sending = c.sendAsync(u8(4), { timeout: 10000 });
    expect(sleepers(s.memory)).toEqual([0, 1]);
    expect(c.receive()).toEqual(u8(0)); // makes room: the waiting send goes
    expect(await sending).toBe(true);
    for (let i = 1; i <= 4; i++) expect(c.receive()).toEqual(u8(i));
    const receiving = c.receiveAsync({ timeout: 10000 });
    expect(sleepers(s.memory)).toEqual([1, 0]);
    c.send(u8(5));
    expect(await receiving).toEqual(u8(5));
    expect(sleepers(s.memory)).toEqual([0, 0]);
  });

  test("a thread's unawaited sendAsync and receiveAsync calls keep their order", async () => {
    const c = make({ capacity: 1 });
    const sends = [0, 1, 2, 3, 4, 5].map((i) => c.sendAsync(u8(i), { timeout: 10000 }));
    const receives = [0, 1, 2, 3, 4, 5].map(() => c.receiveAsync({ timeout: 10000 }));
    expect(await Promise.all(sends)).toEqual([true, true, true, true, true, true]);
    expect((await Promise.all(receives)).map((m) => m![0])).toEqual([0, 1, 2, 3, 4, 5]);
    // a waiting send sent what the message was at the call, though the caller reuses its buffer
    const b = u8(0);
    const reused = [7, 8, 9].map((i) => ((b[0] = i), c.sendAsync(b, { timeout: 10000 })));
    const again = [await c.receiveAsync(), await c.receiveAsync(), await c.receiveAsync()];
    expect(again.map((m) => m![0])).toEqual([7, 8, 9]);
    expect(await Promise.all(reused)).toEqual([true, true, true]);
    expect(sleepers(s.memory)).toEqual([0, 0]);
  });

  test('an aborted receiveAsync rejects with the reason and passes nothing by', async () => {
    const c = make();
    const ac = new AbortController();
    const aborted = c.receiveAsync({ signal: ac.signal });
    const next = c.receiveAsync({ timeout: 10000 });
    ac.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
    c.send(u8(1));
    expect(await next).toEqual(u8(1));
    await expect(c.sendAsync(u8(2), { signal: ac.signal })).rejects.toThrow('stop'); // aborted first: not sent
    expect([c.size, ...sleepers(s.memory)]).toEqual([0, 0, 0]);
  });

  test('end(): sends throw ERR_FASTIPC_CHANNEL_ENDED (waiting ones too); receivers drain, then undefined', async () => {
    const c = make({ capacity: 2 });
    const other = new Channel(s.memory, 0, { backend: s.backend });
    c.send(u8(1));
    c.send(u8(2));
    const waitingSend = c.sendAsync(u8(3));
    expect(other.ended).toBe(false);
    other.end();
    other.end(); // idempotent
    expect(c.ended).toBe(true);
    await expect(waitingSend).rejects.toMatchObject({ code: 'ERR_FASTIPC_CHANNEL_ENDED' });
    for (const send of [() => c.send(u8(4)), () => c.trySend(u8(4))]) {
      expect(send).toThrow(FastipcError);
      expect(send).toThrow(expect.objectContaining({ code: 'ERR_FASTIPC_CHANNEL_ENDED' }));
    }
    await expect(c.sendAsync(u8(4))).rejects.toMatchObject({ code: 'ERR_FASTIPC_CHANNEL_ENDED' });
    const got: number[] = [];
    for await (const m of other) got.push(m[0]);
    expect(got).toEqual([1, 2]);
    expect([c.receive(), c.tryReceive(), await c.receiveAsync(), c.receiveInto(new Uint8Array(4))]).toEqual([
      undefined,
      undefined,
      undefined,
      -1,
    ]);

    // receivers asleep when it ends wake up, sync (a worker) and async
    const d = new Channel(s.memory, 4096, { backend: s.backend, ...SHAPE });
    const asleep = d.receiveAsync();
    const inWorkerDone = inWorker<{ n: number; ended: boolean }>({
      task: 'channelReceive',
      memory: s.spec,
      backend: s.backend,
      offset: 4096,
      ...{ capacity: 4, maxBytes: 16 },
    });
    await until(() => sleepers(s.memory, 4096)[0] === 2, 10000, 'two receivers asleep');
    d.end();
    expect(await asleep).toBeUndefined();
    expect(await inWorkerDone).toMatchObject({ n: 0, ended: true });
  });

  test('end() waits for a send that is publishing (one that holds the send lock) before it sets ENDED', async () => {
    // White box: the send lock orders a send's store of tail before ENDED (channel.ts, end()),
    // so that a receive that saw ENDED and an empty queue sees no message come after it. The
    // race itself is the 30-round test below, which a narrow window can let through.
    const c = make();
    const sendLock = (c as unknown as { sendLock: Mutex }).sendLock;
    const lockState = new Int32Array(s.memory, 64 + 8, 1); // the send lock's state word (+64, +8)
    sendLock.lock(); // as a send between its look at ENDED and its store of tail
    const ending = inWorker<{ ended: boolean }>({
      task: 'channelEnd',
      memory: s.spec,
      backend: s.backend,
      ...{ capacity: 4, maxBytes: 16 },
    });
    try {
      await until(() => (Atomics.load(lockState, 0) & (1 << 30)) !== 0, 10000, 'end() waiting for the send lock');
      expect(c.ended).toBe(false);
    } finally {
      sendLock.unlock();
    }
    expect(await ending).toEqual({ ended: true });
    expect(c.ended).toBe(true);
  });

  test('bad input is refused with the right error and changes nothing', async () => {
    const before = snapshot(s.memory);
    for (const [options, type] of [
      [{ capacity: 0, maxMessageBytes: 8 }, RangeError],
      [{ capacity: 2 ** 24 + 1, maxMessageBytes: 8 }, RangeError],
      [{ capacity: 1.5, maxMessageBytes: 8 }, RangeError],
      [{ capacity: '4', maxMessageBytes: 8 }, TypeError],
      [{ capacity: 4, maxMessageBytes: -1 }, RangeError],
      [{ capacity: 4, maxMessageBytes: 2 ** 30 + 1 }, RangeError],
      [{ capacity: 4 }, TypeError], // nothing there to attach to: both are needed
      [{}, TypeError],
      [{ ...SHAPE, codec: {} }, TypeError],
      [{ ...SHAPE, codec: 'json' }, TypeError],
    ] as const) {
      expect(() => new Channel(s.memory, 0, { backend: s.backend, ...(options as object) })).toThrow(type);
    }
    expect(() => new Channel(s.memory, 32, { backend: s.backend, ...SHAPE })).toThrow(RangeError); // misaligned
    expect(() => new Channel(s.memory, s.memory.byteLength - 64, { backend: s.backend, ...SHAPE })).toThrow(RangeError);
    expect(() => Channel.bytesFor({ capacity: 4 } as never)).toThrow(TypeError);
    expect(() => Channel.bytesFor({ capacity: -4, maxMessageBytes: 1 })).toThrow(RangeError);
    expect(snapshot(s.memory)).toEqual(before);

    const c = make();
    c.send(u8(5, 6, 7));
    const ready = snapshot(s.memory);
    expect(() => c.send(new Uint8Array(17))).toThrow(
      new RangeError('Channel: a message of 17 bytes is over maxMessageBytes 16'),
    );
    expect(() => c.trySend('text' as never)).toThrow(TypeError);
    await expect(c.sendAsync(new Uint8Array(17))).rejects.toThrow(RangeError);
    expect(() => c.send(u8(1), { timeout: -1 })).toThrow(RangeError);
    expect(() => c.receive({ timeout: 'x' as never })).toThrow(TypeError);
    await expect(c.receiveAsync({ signal: {} as never })).rejects.toThrow(TypeError);
    expect(() => c.receiveInto([0, 0, 0] as never)).toThrow(TypeError);
    expect(() => c.receiveInto(new Uint8Array(2))).toThrow(
      new RangeError('Channel.receiveInto: the next message has 3 bytes, target 2'),
    );
    const broken = new Channel(s.memory, 0, {
      backend: s.backend,
      codec: { encode: () => 'x' as never, decode: (b) => b },
    });
    expect(() => broken.send(u8(1))).toThrow(TypeError);
    expect(snapshot(s.memory)).toEqual(ready); // nothing sent, nothing taken
    expect(c.receive()).toEqual(u8(5, 6, 7));
  });

  test('attaching with another shape is a TypeError naming both; a primitive inside it is a RangeError', () => {
    make();
    const before = snapshot(s.memory);
    expect(() => new Channel(s.memory, 0, { backend: s.backend, capacity: 8 })).toThrow(
      new TypeError(
        'the Channel at byteOffset 0 has capacity 4 and maxMessageBytes 16, not capacity 8 and maxMessageBytes 16',
      ),
    );
    expect(() => new Channel(s.memory, 0, { backend: s.backend, capacity: 4, maxMessageBytes: 15 })).toThrow(TypeError);
    expect(() => new Mutex(s.memory, 64, { backend: s.backend })).toThrow(TypeError); // its send lock: another kind
    expect(() => new Mutex(s.memory, 192, { backend: s.backend })).toThrow(/inside the Channel at byteOffset 0/);
    expect(snapshot(s.memory)).toEqual(before);
    expect(Channel.bytesFor(SHAPE)).toBe(448); // 320 + 4 slots of 4 + 16 bytes, to whole lines
  });

  test('exactly once, whole, in order per sender: 4 senders and 4 receivers (workers), 200k messages', async () => {
    const run = variant.crossProcess ? inProcess : inWorker;
    await exactlyOnce(s, inWorker, 200_000);
    if (variant.crossProcess) await exactlyOnce(s, run, 200_000, 1 << 19);
  }, 240_000);

  test('end() while 3 senders send: every send that returned true is received, none after', async () => {
    const run = variant.crossProcess ? inProcess : inWorker;
    const ch = new Channel(s.memory, 0, { backend: s.backend, capacity: 8, maxMessageBytes: 64 });
    const common = { memory: s.spec, backend: s.backend, capacity: 8, maxBytes: 64 };
    const receivers = [{}, { async: true }].map((r) => run<Received>({ task: 'channelReceive', ...common, ...r }));
    const senders = [0, 1, 2].map((id) =>
      run<{ sent: number }>({ task: 'channelSend', ...common, id, untilEnded: true }),
    );
    await until(() => Atomics.load(new Int32Array(s.memory, 264, 1), 0) !== 0, 30000, 'messages flowing');
    await new Promise((r) => setTimeout(r, 20)); // (only to end it mid-stream, not for synchronisation)
    ch.end();
    const sent = (await Promise.all(senders)).map((r) => r.sent);
    const results = await Promise.all(receivers);
    expect(results.map((r) => r.torn)).toEqual([0, 0]);
    for (const id of [0, 1, 2]) {
      const seqs = results.flatMap((r) => r.got[id] ?? []).sort((a, b) => a - b);
      expect([id, seqs.length, seqs.every((q, i) => q === i)]).toEqual([id, sent[id], true]);
    }
  });

  test('end() racing a sender mid-copy, 30 rounds: after a receive saw the end, nothing is left', async () => {
    // Large messages into a queue of 2 from two senders that do nothing but send: when
    // end() follows a receive, the sender that got the room is often between its look at
    // ENDED and its store of tail. If end()
    // did not wait for the send lock, the receive right after it would see ENDED and an
    // empty queue, return undefined, and the message published a moment later would stay.
    const shape = { capacity: 2, maxMessageBytes: 65536 };
    const stride = Math.ceil(Channel.bytesFor(shape) / 64) * 64;
    const ROUNDS = 30;
    const big = variant.setup(stride * ROUNDS);
    try {
      for (let r = 0; r < ROUNDS; r++) {
        const offset = r * stride;
        const ch = new Channel(big.memory, offset, { backend: big.backend, ...shape });
        const common = { memory: big.spec, backend: big.backend, offset, capacity: 2, maxBytes: 65536 };
        const senders = [0, 1].map((id) =>
          inWorker<{ sent: number }>({ task: 'channelSend', ...common, id, untilEnded: true, fixed: true }),
        );
        let got = 0;
        for (const stop = 3 + (r % 7); got < stop; got++) expect(ch.receive({ timeout: 30000 })).toBeDefined();
        ch.end();
        while (ch.receive({ timeout: 30000 }) !== undefined) got++;
        const sent = (await Promise.all(senders)).reduce((sum, x) => sum + x.sent, 0);
        expect([r, ch.size, got]).toEqual([r, 0, sent]);
      }
    } finally {
      big.close();
    }
  }, 120_000);

  test('a sender and a receiver killed mid-stream wedge nobody, tear nothing, lose at most one', async () => {
    await killMidStream(s, variant.crossProcess);
  }, 150_000);
});

type Runner = <T>(spec: Record<string, unknown>) => Promise<T>;
interface Received {
  got: Record<number, number[]>;
  torn: number;
  n: number;
}

/** 4 senders (2 sync, 2 async) and 4 receivers (receive, receiveInto, 2 async iterators) on one channel. */
async function exactlyOnce(s: Setup, run: Runner, total: number, offset = 0): Promise<void> {
  const shape = { capacity: 64, maxBytes: 200 };
  const ch = new Channel(s.memory, offset, { backend: s.backend, capacity: 64, maxMessageBytes: 200 });
  const per = total / 4;
  const common = { memory: s.spec, backend: s.backend, offset, ...shape };
  const receivers = [{}, { into: true }, { async: true }, { async: true }].map((r) =>
    run<Received>({ task: 'channelReceive', ...common, ...r }),
  );
  const senders = [0, 1, 2, 3].map((id) => run({ task: 'channelSend', ...common, id, count: per, async: id >= 2 }));
  await Promise.all(senders);
  ch.end();
  const results = await Promise.all(receivers);
  expect(results.map((r) => r.torn)).toEqual([0, 0, 0, 0]);
  expect(results.reduce((n, r) => n + r.n, 0)).toBe(total);
  for (let id = 0; id < 4; id++) {
    const all: number[] = [];
    for (const r of results) {
      const seqs = r.got[id] ?? [];
      expect(seqs.every((q, i) => i === 0 || q > seqs[i - 1])).toBe(true); // in order at each receiver
      all.push(...seqs);
    }
    all.sort((a, b) => a - b);
    expect(all.length).toBe(per);
    expect(all.every((q, i) => q === i)).toBe(true); // every one, once
  }
  expect(results.filter((r) => r.n > 0).length).toBeGreaterThanOrEqual(2); // shared out, not one taker
}

/**
 * Two senders and two receivers with accounting in a segment; one sender and one receiver
 * are killed (SIGKILL, or worker.terminate()) while messages flow; the others finish.
 */
async function killMidStream(s: Setup, processes: boolean): Promise<void> {
  const ctlName = uniqueName('chctl');
  const perSender = 1 << 20;
  const ctl = { ctl: ctlName, bitsAt: 8192, perSender };
  const shm = SharedMemory.open(ctlName, { size: 8192 + 2 * (perSender / 8) });
  const words = new Int32Array(shm.buffer);
  try {
    const ch = new Channel(s.memory, 0, { backend: s.backend, capacity: 16, maxMessageBytes: 256 });
    const common = { memory: s.spec, backend: s.backend, capacity: 16, maxBytes: 256, ctl };
    const { spawn } = await import('node:child_process');
    const { Worker } = await import('node:worker_threads');
    const { TASK } = await import('../helpers');
    // the parties to kill: started by hand, to be killed at any instant
    const victims = [
      { task: 'channelSend', ...common, id: 0, count: perSender },
      { task: 'channelReceive', ...common },
    ].map((spec) =>
      processes
        ? spawn(process.execPath, [TASK, JSON.stringify(spec)], { stdio: 'ignore' })
        : new Worker(TASK, { workerData: spec }),
    );
    const run = processes ? inProcess : inWorker;
    const survivorSend = run({ task: 'channelSend', ...common, id: 1, count: 20000 });
    const survivorReceive = run<{ n: number; torn: number }>({ task: 'channelReceive', ...common });
    await until(() => Atomics.load(words, 2) > 5000 && Atomics.load(words, 16) > 1000, 60000, 'messages flowing');
    for (const v of victims) {
      if (v instanceof Worker) await v.terminate();
      else {
        v.kill('SIGKILL');
        await new Promise((r) => (v.exitCode !== null || v.signalCode !== null ? r(0) : v.once('exit', r)));
      }
    }
    await survivorSend; // within the test's time: the killed sender's lock did not wedge it
    const confirmed = Atomics.load(words, 16);
    // the killed sender's last messages may still be queued: all of them are taken before the end
    await until(() => ch.size === 0, 10000, 'the channel drained');
    ch.end();
    const r = await survivorReceive;
    expect([r.torn, Atomics.load(words, 0), Atomics.load(words, 1)]).toEqual([0, 0, 0]); // torn, duplicates
    const has = (id: number, seq: number) =>
      (words[8192 / 4 + id * (perSender / 32) + (seq >>> 5)] & (1 << (seq & 31))) !== 0;
    let missing = 0;
    for (let seq = 0; seq < 20000; seq++) if (!has(1, seq)) missing++;
    for (let seq = 0; seq < confirmed; seq++) if (!has(0, seq)) missing++;
    expect(missing).toBeLessThanOrEqual(1); // only one receiver was killed
    let beyond = 0;
    for (let seq = confirmed + 1; seq < perSender; seq++) if (has(0, seq)) beyond++;
    expect(beyond).toBe(0); // never confirmed, never sent: the one in flight at most
    expect(confirmed).toBeLessThan(perSender); // it was killed mid-stream
  } finally {
    shm.close();
  }
}
