/**
 * Caller-supplied memory from elsewhere: a file mapped MAP_SHARED by @riaskov/mmap-io, a
 * Buffer that fastipc did not make. FutexWord picks the 'futex' backend for it on its own,
 * and FutexWord and AtomicU32 traffic is correct across processes that each map the file.
 *
 * The children (fixtures/mmap-*.mjs) load the built dist/index.mjs: run `npm run build`
 * first (`npm test` does).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mmap from '@riaskov/mmap-io';
import { AtomicU32, FutexWord } from '../lib';

const FIXTURES = path.join(__dirname, 'fixtures');
const DIST = path.resolve(__dirname, '..', 'dist', 'index.mjs');
const SIZE = 4096;

const COUNTER_PROCS = 4;
const COUNTER_ITERATIONS = 50_000;
const PINGPONG_ROUNDS = 2_000;
/** How long a child waits on a futex before it gives up and fails. */
const CHILD_TIMEOUT_MS = 30_000;

let tmp: string;
let serial = 0;
const children = new Set<ChildProcess>();

/** A new file of SIZE zero bytes, and this process's own MAP_SHARED mapping of it. */
function mappedFile(): { file: string; buf: Buffer } {
  const file = path.join(tmp, `memory-${++serial}`);
  fs.writeFileSync(file, Buffer.alloc(SIZE));
  const fd = fs.openSync(file, 'r+');
  try {
    return { file, buf: mmap.map(SIZE, 3 /* PROT_READ | PROT_WRITE */, mmap.MAP_SHARED, fd) };
  } finally {
    fs.closeSync(fd);
  }
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function start(fixture: string, args: (string | number)[]): { child: ChildProcess; exited: Promise<Exit> } {
  const child = spawn(process.execPath, [path.join(FIXTURES, fixture), ...args.map(String)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<Exit>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, exited };
}

/** Runs the children to the end; returns their JSON reports, or throws with all they printed. */
async function runAll<T>(runs: { child: ChildProcess; exited: Promise<Exit> }[]): Promise<T[]> {
  try {
    const exits = await Promise.all(runs.map((r) => r.exited));
    return exits.map((e, i) => {
      const detail = `child ${i} exited with ${e.signal ?? e.code}\n--- stdout\n${e.stdout}\n--- stderr\n${e.stderr}`;
      if (e.code !== 0) throw new Error(detail);
      try {
        return JSON.parse(e.stdout.trim().split('\n').pop() ?? '') as T;
      } catch {
        throw new Error(`no JSON report: ${detail}`);
      }
    });
  } finally {
    for (const r of runs) r.child.kill('SIGKILL');
  }
}

beforeAll(() => {
  if (!fs.existsSync(DIST)) throw new Error(`${DIST} is missing: the child processes load it; run \`npm run build\``);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fastipc-mmap-io-'));
});

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('memory mapped by @riaskov/mmap-io', () => {
  it('in this process: a Buffer from mmap-io carries AtomicU32 and a futex-backed FutexWord', () => {
    const { file, buf } = mappedFile();
    expect(Buffer.isBuffer(buf)).toBe(true);

    const a = new AtomicU32(buf, 4);
    a.store(0xfffffffe);
    expect(a.add(3)).toBe(0xfffffffe);
    expect(a.load()).toBe(1); // wrapped mod 2^32
    expect(a.compareExchange(1, 0xdeadbeef)).toBe(1);
    expect(a.exchange(7)).toBe(0xdeadbeef);
    expect(buf.readUInt32LE(4)).toBe(7);
    // The Buffer is the file: MAP_SHARED writes are in the page cache that read() sees.
    expect(fs.readFileSync(file).readUInt32LE(4)).toBe(7);

    // A view counts from its own byteOffset: buf.subarray(8) at 4 is buf at 12.
    new AtomicU32(buf.subarray(8), 4).store(0x01020304);
    expect(buf.readUInt32LE(12)).toBe(0x01020304);
    expect(new AtomicU32(buf, 12).load()).toBe(0x01020304);

    const word = new FutexWord(buf, 16);
    expect(word.backend).toBe('futex');
    expect(word.wait(1, 0)).toBe('not-equal');
    expect(word.wait(0, 0)).toBe('timed-out');
    expect(word.wake()).toBe(0);
    expect(() => new FutexWord(buf, 16, { backend: 'atomics' })).toThrow(TypeError);
  });

  it(
    `${COUNTER_PROCS} processes × ${COUNTER_ITERATIONS.toLocaleString('en')} AtomicU32.add(1) ` +
      `→ exactly ${(COUNTER_PROCS * COUNTER_ITERATIONS).toLocaleString('en')}`,
    async () => {
      const { file, buf } = mappedFile();
      const reports = await runAll<{ backend: string; sum: number; rising: boolean }>(
        Array.from({ length: COUNTER_PROCS }, () =>
          start('mmap-counter.mjs', [file, COUNTER_PROCS, COUNTER_ITERATIONS, CHILD_TIMEOUT_MS]),
        ),
      );
      const total = COUNTER_PROCS * COUNTER_ITERATIONS;

      expect(new AtomicU32(buf, 0).load()).toBe(total);
      expect(fs.readFileSync(file).readUInt32LE(0)).toBe(total);
      expect(new AtomicU32(buf, 64).load()).toBe(COUNTER_PROCS); // all passed the start barrier
      for (const r of reports) {
        expect(r.backend).toBe('futex');
        expect(r.rising).toBe(true);
      }
      // Every add returned a different previous value: together exactly 0 .. total-1.
      expect(reports.reduce((s, r) => s + r.sum, 0)).toBe(((total - 1) * total) / 2);
    },
    120_000,
  );

  it(`a FutexWord ping-pong between 2 processes runs ${PINGPONG_ROUNDS.toLocaleString('en')} rounds`, async () => {
    const { file, buf } = mappedFile();
    const [p0, p1] = await runAll<{ backend: string; ok: number; notEqual: number; woken: number }>([
      start('mmap-pingpong.mjs', [file, 0, PINGPONG_ROUNDS, CHILD_TIMEOUT_MS]),
      start('mmap-pingpong.mjs', [file, 1, PINGPONG_ROUNDS, CHILD_TIMEOUT_MS]),
    ]);

    expect(new FutexWord(buf, 0).load()).toBe(2 * PINGPONG_ROUNDS);
    expect(fs.readFileSync(file).readUInt32LE(0)).toBe(2 * PINGPONG_ROUNDS);
    expect(p0.backend).toBe('futex');
    expect(p1.backend).toBe('futex');
    // Each wake that reached a sleeper ended one wait of the other process with 'ok'.
    expect(p0.woken).toBeLessThanOrEqual(p1.ok);
    expect(p1.woken).toBeLessThanOrEqual(p0.ok);
    // Each side wakes once per turn, and only the other side ever sleeps on the word.
    expect(p0.woken).toBeLessThanOrEqual(PINGPONG_ROUNDS);
    expect(p1.woken).toBeLessThanOrEqual(PINGPONG_ROUNDS);
    // The handoffs went through the kernel, not only through luck in timing.
    expect(p0.woken + p1.woken).toBeGreaterThan(0);
  }, 120_000);
});
