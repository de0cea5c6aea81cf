// The fastipc command (dist/cli.js) as a user runs it: list, inspect, rm, demo, help,
// errors and exit codes. Segments go to a private shm folder, so `rm --stale` sees only
// this file's segments; the demo runs against the real /dev/shm, as `npm run demo` does.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Mutex, NamedEvent, NamedMutex, NamedSemaphore, SharedMemory } from '../lib';
import { allKinds } from '../lib/primitives';
import { leftSegments, removeSegments, uniqueName } from './helpers';

const ROOT = path.join(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const savedShmDir = process.env.FASTIPC_SHM_DIR;
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync('/dev/shm/fastipc-test-cli-');
  // For the library in this test and for the children, which get `env: process.env`.
  process.env.FASTIPC_SHM_DIR = dir;
});

afterAll(() => {
  removeSegments();
  fs.rmSync(dir, { recursive: true, force: true });
  if (savedShmDir === undefined) delete process.env.FASTIPC_SHM_DIR;
  else process.env.FASTIPC_SHM_DIR = savedShmDir;
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  pid?: number;
}

function cli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr, pid: child.pid });
    });
  });
}

/** The `list` line of segment `name` of `kind`, split into its columns. */
function row(stdout: string, kind: string, name: string): string | undefined {
  return stdout.split('\n').find((l) => l.startsWith(`${kind} `) && l.split(/\s+/)[1] === name);
}

interface Listed {
  name: string;
  kind: string;
  file: string;
  size: number;
  mode: string;
  state: Record<string, unknown> | null;
  status: string;
  live: boolean;
  processes: { pid: number; alive: boolean }[];
  header?: { offset: number; field: string; value: number; meaning: string }[];
}

test('list shows each kind with its state, size and our pid as live; --json parses', async () => {
  const n = {
    m: uniqueName('cli-m'),
    s: uniqueName('cli-s'),
    set: uniqueName('cli-e'),
    clear: uniqueName('cli-e'),
    p: uniqueName('cli-p'),
  };
  const m = new NamedMutex(n.m);
  const s = new NamedSemaphore(n.s, { initial: 3 });
  const set = new NamedEvent(n.set);
  const clear = new NamedEvent(n.clear);
  const plain = SharedMemory.open(n.p, { size: 4096 });
  try {
    m.lock();
    set.set();
    const [text, json] = await Promise.all([cli(['list']), cli(['list', '--json'])]);
    expect(text).toMatchObject({ code: 0, stderr: '' });
    const me = process.pid;
    expect(text.stdout.split('\n')[0]).toMatch(/^KIND\s+NAME\s+STATE\s+SIZE\s+PROCESSES$/);
    expect(row(text.stdout, 'mutex', n.m)).toMatch(
      new RegExp(`locked by pid ${me} tid ${m.ownerTid}\\s+64\\s+${me} live$`),
    );
    expect(row(text.stdout, 'semaphore', n.s)).toMatch(new RegExp(`count 3\\s+64\\s+${me} live$`));
    expect(row(text.stdout, 'event', n.set)).toMatch(new RegExp(`\\sset\\s+64\\s+${me} live$`));
    expect(row(text.stdout, 'event', n.clear)).toMatch(new RegExp(`\\sclear\\s+64\\s+${me} live$`));
    expect(row(text.stdout, 'shm', n.p)).toMatch(new RegExp(`\\s-\\s+4096\\s+${me} live$`));

    expect(json.code).toBe(0);
    const listed = JSON.parse(json.stdout) as Listed[];
    const get = (kind: string, name: string) => listed.find((x) => x.kind === kind && x.name === name)!;
    expect(get('mutex', n.m)).toMatchObject({
      file: `fastipc-mutex.${n.m}`,
      size: 64,
      mode: '0600',
      status: 'ready',
      live: true,
      state: { primitive: 'Mutex', locked: true, ownerPid: me, ownerTid: m.ownerTid, ownerAlive: true, waiters: false },
      processes: [{ pid: me, alive: true }],
    });
    expect(get('semaphore', n.s).state).toEqual({ primitive: 'Semaphore', count: 3, sleepers: 0 });
    expect(get('event', n.set).state).toMatchObject({ primitive: 'Event', set: true });
    expect(get('event', n.clear).state).toMatchObject({ primitive: 'Event', set: false });
    expect(get('shm', n.p)).toMatchObject({ size: 4096, status: 'empty', state: null, live: true });
  } finally {
    m.unlock();
    for (const h of [m, s, set, clear, plain]) h.close();
  }
  expect(leftSegments()).toEqual([]);
});

test('list skips temporaries, folders (such as a PID directory) and other files', async () => {
  const name = uniqueName('cli-skip');
  const temp = path.join(dir, `fastipc.${name}.tmp-${process.pid}-1a2b3c4d`);
  const folder = path.join(dir, `fastipc-${name}`);
  const other = path.join(dir, `other.${name}`);
  fs.writeFileSync(temp, '');
  fs.mkdirSync(folder);
  fs.writeFileSync(other, '');
  try {
    const r = await cli(['list', '--json']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as Listed[]).filter((x) => x.name.includes(name))).toEqual([]);
  } finally {
    for (const f of [temp, folder, other]) fs.rmSync(f, { recursive: true, force: true });
  }
});

test('inspect shows the header words, as text and as JSON', async () => {
  const n = { m: uniqueName('cli-im'), s: uniqueName('cli-is'), p: uniqueName('cli-ip') };
  const m = new NamedMutex(n.m);
  const s = new NamedSemaphore(n.s, { initial: 5 });
  const plain = SharedMemory.open(n.p, { size: 4096 });
  new Mutex(plain.buffer, 0);
  try {
    m.lock();
    const [mt, sj, pt] = await Promise.all([
      cli(['inspect', n.m]),
      cli(['inspect', n.s, '--json']),
      cli(['inspect', n.p]),
    ]);
    expect(mt.code).toBe(0);
    expect(mt.stdout).toContain(`fastipc-mutex.${n.m}`);
    expect(mt.stdout).toMatch(new RegExp(`state\\s+locked by pid ${process.pid} tid ${m.ownerTid}`));
    expect(mt.stdout).toMatch(new RegExp(`pid ${process.pid}\\s+live`));
    expect(mt.stdout).toMatch(/\+0\s+0x5854554d\s+1481921869\s+magic: 'MUTX' \(Mutex\)/);
    expect(mt.stdout).toMatch(/\+4\s+0x00000002\s+2\s+version: current/); // the Mutex's layout 2 (HANDOFF)
    expect(mt.stdout).toMatch(new RegExp(`\\+8\\s+0x[0-9a-f]{8}\\s+${m.ownerTid}\\s+state: tid ${m.ownerTid}`));
    expect(mt.stdout).toMatch(new RegExp(`\\+12\\s+0x[0-9a-f]{8}\\s+${process.pid}\\s+owner pid`));
    expect(mt.stdout).toMatch(new RegExp(`\\+24\\s+0x[0-9a-f]{8}\\s+${m.ownerTid}\\s+owner tid`));
    expect(mt.stdout).toMatch(/\+28\s+0x[0-9a-f]{8}\s+-?\d+\s+owner pid namespace/);
    expect(mt.stdout).toMatch(/\+32\s+0x0{8}\s+0\s+starvers/);
    expect(mt.stdout).toMatch(/\+36\.\.\+63\s+all zero\s+reserved/);

    expect(sj.code).toBe(0);
    const info = JSON.parse(sj.stdout) as Listed;
    expect(info).toMatchObject({ kind: 'semaphore', name: n.s, state: { count: 5 } });
    expect(info.header!.slice(0, 4)).toEqual([
      expect.objectContaining({ offset: 0, field: 'magic', meaning: "'SEMA' (Semaphore)" }),
      expect.objectContaining({ offset: 4, field: 'version', value: 1 }),
      expect.objectContaining({ offset: 8, field: 'count', value: 5 }),
      expect.objectContaining({ offset: 12, field: 'sleepers', value: 0 }),
    ]);
    expect(info.header).toHaveLength(16);

    expect(pt.code).toBe(0);
    expect(pt.stdout).toMatch(/state\s+Mutex at \+0: unlocked/);
    expect(pt.stdout).toMatch(/size\s+4096 bytes, mode 0600/);
  } finally {
    m.unlock();
    for (const h of [m, s, plain]) h.close();
  }
});

test('a name in two namespaces needs --kind, and the error lists the candidates', async () => {
  const name = uniqueName('cli-two');
  const m = new NamedMutex(name);
  const s = new NamedSemaphore(name, { initial: 1 });
  try {
    const [inspect, rm, chosen] = await Promise.all([
      cli(['inspect', name]),
      cli(['rm', name]),
      cli(['inspect', name, '--kind', 'semaphore']),
    ]);
    for (const r of [inspect, rm]) {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^fastipc: /);
      expect(r.stderr).toContain(`fastipc-mutex.${name} (mutex), fastipc-semaphore.${name} (semaphore)`);
      expect(r.stderr).toContain('--kind mutex|semaphore');
    }
    expect(chosen.code).toBe(0);
    expect(chosen.stdout).toMatch(/state\s+count 1/);
    expect(fs.existsSync(path.join(dir, `fastipc-mutex.${name}`))).toBe(true); // the refused rm removed nothing
  } finally {
    m.close();
    s.close();
  }
});

test('rm NAME removes it (its users keep their memory), and the next open creates afresh', async () => {
  const name = uniqueName('cli-rm');
  const file = path.join(dir, `fastipc-semaphore.${name}`);
  const s = new NamedSemaphore(name, { initial: 3 });
  s.wait();
  const r = await cli(['rm', name]);
  expect(r.code).toBe(0);
  expect(r.stdout.trim()).toBe(`removed fastipc-semaphore.${name}`);
  expect(r.stderr).toContain(`pid ${process.pid} still has it open`);
  expect(fs.existsSync(file)).toBe(false);
  expect(s.value).toBe(2); // still mapped
  s.close();
  const again = new NamedSemaphore(name, { initial: 7 });
  expect([again.initialized, again.value]).toEqual([true, 7]);
  again.close();
  expect(fs.existsSync(file)).toBe(false);
  expect(await cli(['rm', name])).toMatchObject({
    code: 1,
    stderr: expect.stringMatching(/^fastipc: no segment named/),
  });
});

test('rm --stale removes segments whose only user was SIGKILLed, and dead temporaries, not live ones', async () => {
  const dead = { shm: uniqueName('cli-dead'), mutex: uniqueName('cli-deadm') };
  const liveName = uniqueName('cli-live');
  const live = SharedMemory.open(liveName, { size: 4096 });
  const script = `
    const f = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
    f.SharedMemory.open(${JSON.stringify(dead.shm)}, { size: 4096 });
    new f.NamedMutex(${JSON.stringify(dead.mutex)}).lock();
    process.stdout.write('ready\\n');
    setInterval(() => {}, 1 << 30);`;
  // env: jest gives the test its own copy of process.env, which spawn would not pass on.
  const child = spawn(process.execPath, ['-e', script], { env: process.env, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((r) => child.once('exit', r));
  const deadTemp = path.join(dir, `fastipc.${uniqueName('cli-tmp')}.tmp-${child.pid}-abcdef12`);
  const liveTemp = path.join(dir, `fastipc.${uniqueName('cli-tmp')}.tmp-${process.pid}-abcdef12`);
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`the child exited with ${code} before it was ready`)));
    });
    child.kill('SIGKILL');
    await exited;
    fs.writeFileSync(deadTemp, '');
    fs.writeFileSync(liveTemp, '');

    const before = JSON.parse((await cli(['list', '--json'])).stdout) as Listed[];
    expect(before.find((x) => x.name === dead.mutex)).toMatchObject({
      live: false,
      processes: [{ pid: child.pid, alive: false }],
      state: { locked: true, ownerPid: child.pid, ownerAlive: false },
    });

    const r = await cli(['rm', '--stale']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`removed fastipc.${dead.shm}: every user is gone (pid ${child.pid})`);
    expect(r.stdout).toContain(`removed fastipc-mutex.${dead.mutex}: every user is gone (pid ${child.pid})`);
    expect(r.stdout).toContain(`removed ${path.basename(deadTemp)}: temporary of pid ${child.pid}, which is gone`);
    expect(r.stdout).not.toContain(liveName);
    expect(fs.existsSync(path.join(dir, `fastipc.${dead.shm}`))).toBe(false);
    expect(fs.existsSync(path.join(dir, `fastipc-mutex.${dead.mutex}`))).toBe(false);
    expect(fs.existsSync(deadTemp)).toBe(false);
    expect(fs.existsSync(liveTemp)).toBe(true);
    expect(fs.existsSync(path.join(dir, `fastipc.${liveName}`))).toBe(true);
    expect(fs.existsSync(path.join(process.env.FASTIPC_PID_DIR!, `fastipc.${dead.shm}`))).toBe(false); // forgotten

    expect(await cli(['rm', '--stale'])).toMatchObject({ code: 0, stdout: `nothing stale in ${dir}\n` });
  } finally {
    child.kill('SIGKILL');
    fs.rmSync(liveTemp, { force: true });
    live.close();
  }
  expect(leftSegments()).toEqual([]);
});

test('usage errors exit 2, unknown names exit 1, each with a message on stderr', async () => {
  const missing = uniqueName('cli-missing');
  const cases: [string[], number, RegExp][] = [
    [['frobnicate'], 2, /^fastipc: unknown command "frobnicate"; commands: list, inspect, rm, demo, bench/],
    [['--frobnicate'], 2, /^fastipc: unknown option "--frobnicate"/],
    [['list', '--bogus'], 2, /^fastipc: unknown option '--bogus'\nSee `fastipc list --help`/],
    [['list', 'extra'], 2, /^fastipc: list takes no arguments/],
    [['inspect'], 2, /^fastipc: inspect needs a segment NAME/],
    [['rm'], 2, /^fastipc: rm needs a segment NAME/],
    [
      ['inspect', missing, '--kind', 'queue'],
      2,
      new RegExp(
        `^fastipc: --kind must be one of ${allKinds()
          .map((k) => k.named)
          .join(', ')}, shm, got "queue"`,
      ),
    ],
    [['inspect', '--kind'], 2, /^fastipc: option '--kind <value>' argument missing/],
    [['rm', 'a/b'], 2, /^fastipc: name "a\/b" is invalid/],
    [['rm', '--stale', missing], 2, /^fastipc: rm --stale takes no NAME/],
    [['help', 'frobnicate'], 2, /^fastipc: no command "frobnicate"/],
    [[], 2, /^Usage: fastipc <command>/],
    [['inspect', missing], 1, new RegExp(`^fastipc: no segment named "${missing}" in ${dir}`)],
    [['inspect', missing, '--kind', 'event'], 1, new RegExp(`^fastipc: no event segment named "${missing}"`)],
    [['rm', missing], 1, /^fastipc: no segment named/],
  ];
  const runs = await Promise.all(cases.map(([args]) => cli(args)));
  runs.forEach((r, i) => {
    const [args, code, message] = cases[i];
    expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code, stdout: '' });
    expect(r.stderr).toMatch(message);
  });
});

test('--help works everywhere, exits 0 and prints usage', async () => {
  const cases = [
    ['--help'],
    ['-h'],
    ['help'],
    ['help', 'rm'],
    ['list', '--help'],
    ['inspect', '-h'],
    ['rm', '--help'],
    ['demo', '--help'],
    ['bench', '--help'],
  ];
  const runs = await Promise.all(cases.map((args) => cli(args)));
  runs.forEach((r, i) => {
    expect({ args: cases[i], code: r.code, stderr: r.stderr }).toEqual({ args: cases[i], code: 0, stderr: '' });
    const command = cases[i][0] === 'help' ? cases[i][1] : cases[i][0].startsWith('-') ? undefined : cases[i][0];
    expect(r.stdout).toMatch(new RegExp(`^Usage: fastipc ${command ?? '<command>'}`));
  });
  expect((await cli(['--version'])).stdout.trim()).toBe(require('../package.json').version);
});

test('bench forwards its arguments to bench/run.mjs and its exit status', async () => {
  const r = await cli(['bench', 'no-such-bench-here']);
  expect(r.code).toBe(2); // run.mjs: nothing matched the filter
  expect(r.stderr).toContain('no bench matches no-such-bench-here');
});

describe('demo', () => {
  /** The real shm folder, as `npm run demo` sees it. */
  const realEnv = (): NodeJS.ProcessEnv => {
    const env = { ...process.env };
    if (savedShmDir === undefined) delete env.FASTIPC_SHM_DIR;
    else env.FASTIPC_SHM_DIR = savedShmDir;
    return env;
  };
  const ownSegments = (pid: number | undefined) =>
    fs.readdirSync(savedShmDir || '/dev/shm').filter((f) => f.startsWith('fastipc') && f.includes(`.demo-${pid}-`));

  test('runs in under 20 s, every row exact, and leaves no segment behind', async () => {
    const t0 = Date.now();
    const r = await cli(['demo'], realEnv());
    const secs = (Date.now() - t0) / 1000;
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(secs).toBeLessThan(20);
    const lines = r.stdout.split('\n');
    const header = lines.findIndex((l) => /^\s+what ran\s+ops\s+ops\/s\s+exact\?$/.test(l));
    expect(header).toBeGreaterThan(0);
    const rows = lines.slice(header + 1, lines.indexOf('', header));
    expect(rows.map((l) => l.trim().split(/\s{2,}/)[0])).toEqual([
      'Mutex around a plain counter, 4 worker threads',
      'AtomicU64.add in SharedMemory, 4 processes',
      'NamedMutex around a plain counter, 4 processes',
      'NamedSemaphore ping-pong, 2 processes',
      'NamedEvent: one set() wakes 4 processes',
    ]);
    for (const l of rows) expect(l.trim().split(/\s{2,}/)[3]).toBe('yes');
    expect(r.stdout).toMatch(/µs per round trip/);
    expect(r.stdout).toMatch(/All exact, in [\d.]+ s/);
    expect(ownSegments(r.pid)).toEqual([]);
  });

  test('interrupted with SIGINT midway, it stops its processes, removes its segments and exits 130', async () => {
    const child = spawn(process.execPath, [CLI, 'demo'], { env: realEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await new Promise<void>((resolve) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d;
        // The worker row is printed: the 4 counting processes are starting now.
        if (out.includes('4 worker threads')) resolve();
      });
      void exited.then(() => resolve());
    });
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(err).toContain('fastipc: interrupted');
    expect(ownSegments(child.pid)).toEqual([]);
  });
});
