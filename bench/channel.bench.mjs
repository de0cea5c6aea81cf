// Issue 14's Channel figures: one sender, one receiver, 64-byte messages one way, in
// thousands of messages per second measured by the receiver (this process) from "go" to
// the last message; the sender (a child process or a worker) is started, and ready,
// before each timed run.
//   2 processes: NamedChannel against child_process.fork IPC (process.send of a 64-char
//     string): target ≥ 20× (and ≥ 3 M messages/s: the table shows the figure);
//   2 workers: Channel over a SharedArrayBuffer against a MessagePort (postMessage of a
//     64-byte Uint8Array): target ≥ 10×.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Channel, NamedChannel } from '../dist/index.mjs';
import { compare, scaled } from './lib.mjs';

const PEER = fileURLToPath(new URL('./fixtures/channel-peer.mjs', import.meta.url));
const SHAPE = { capacity: 1024, maxMessageBytes: 64 };
const hr = () => performance.now();

/**
 * Starts the sender, waits until it is ready, says go, receives n: ms taken. `receiveAll`
 * is called before go (a message listener must stay on throughout, or the IPC channel
 * stops holding the event loop open) and returns what to run after it.
 */
async function oneWay(start, receiveAll) {
  const peer = start();
  const ready = new Promise((r) => peer.once('message', r));
  const after = receiveAll(peer);
  await ready;
  const t0 = hr();
  (peer.send ?? peer.postMessage).call(peer, 'go');
  await after();
  const ms = hr() - t0;
  if (peer.terminate) await peer.terminate();
  else await new Promise((r) => (peer.exitCode !== null ? r() : peer.once('exit', r)));
  return ms;
}

function drain(ch, n) {
  const target = new Uint8Array(64);
  for (let i = 0; i < n; i++) if (ch.receiveInto(target) < 0) throw new Error('lost');
}

/** Counts n messages after 'ready'. */
function count(peer, n) {
  let got = -1;
  const done = new Promise((resolve) => {
    const on = () => {
      if (++got === n) {
        peer.off('message', on);
        resolve();
      }
    };
    peer.on('message', on);
  });
  return () => done;
}

export async function run() {
  const nChannel = scaled(1_000_000);
  const nIpc = scaled(50_000);
  const nPort = scaled(200_000);
  const name = `bench-channel-${process.pid}`;
  const named = new NamedChannel(name, SHAPE);
  try {
    await compare(
      'Channel one way, 2 processes, 64-byte messages',
      {
        'fork IPC': async () =>
          nIpc /
          (await oneWay(
            () => fork(PEER, ['ipc', nIpc]),
            (p) => count(p, nIpc),
          )),
        NamedChannel: async () =>
          nChannel /
          (await oneWay(
            () => fork(PEER, ['channel', nChannel, name]),
            () => () => drain(named, nChannel),
          )),
      },
      { mode: 'value', unit: 'k msgs/s', runs: 5, target: { min: 20 }, note: 'issue 14: ≥ 20×, ≥ 3,000 k msgs/s' },
    );
    const sab = new SharedArrayBuffer(Channel.bytesFor(SHAPE));
    const ch = new Channel(sab, 0, SHAPE);
    const worker = (data) => () => new Worker(PEER, { workerData: data });
    await compare(
      'Channel one way, 2 workers, 64-byte messages',
      {
        MessagePort: async () => nPort / (await oneWay(worker({ kind: 'port', n: nPort }), (p) => count(p, nPort))),
        Channel: async () =>
          nChannel / (await oneWay(worker({ kind: 'channel', n: nChannel, sab }), () => () => drain(ch, nChannel))),
      },
      { mode: 'value', unit: 'k msgs/s', runs: 5, target: { min: 10 }, note: 'issue 14: ≥ 10×' },
    );
  } finally {
    named.close();
  }
}
