/**
 * The packed tarball, as a user gets it: `npm pack` (whose prepack builds dist/ and the
 * Node-API prebuilds), then `npm install <tarball>` into new projects with npm 11's default
 * of blocking dependencies' install scripts: one as here (Linux x64), one as on a Mac
 * (`--os=darwin --cpu=arm64`), one as on Windows. Then: a FutexWord handoff between an ESM
 * and a CJS process; one NamedMutex counter shared exactly by a Node, a Bun and a Deno
 * process (both from devDependencies); the atomics backend where process.platform reads
 * darwin or win32; the prebuilds' ELF files.
 *
 * The pack runs in a copy of the working tree (node_modules linked, not copied, and the
 * dev addon in build/ copied): prepack rebuilds dist/, and the tests running beside this
 * one load dist/ from the repository. The copy also shows that packing leaves a working
 * tree as it found it.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const REPO = path.resolve(__dirname, '..');
const FIXTURES = path.join(__dirname, 'fixtures');
const PACKAGE = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
};

/** Top-level entries of the repository that the copy leaves out (generated, or linked). */
const NOT_COPIED = new Set(['node_modules', '.git', 'dist', 'prebuilds', 'coverage']);
const BUN = path.join(REPO, 'node_modules', '@oven', 'bun-linux-x64', 'bin', 'bun');
const DENO = path.join(REPO, 'node_modules', '@deno', 'linux-x64-glibc', 'deno');

/** How long a child waits for the other side before it gives up and fails. */
const CHILD_TIMEOUT_MS = 60_000;

let tmp: string;
let tarball: string;
let project: string;
let installed: string;
let listing: string[];
let installResult: SpawnSyncReturns<string>;
let source: string;
let treeBefore: Map<string, string>;
let treeAfter: Map<string, string>;
const offLinux: Record<string, { project: string; install: SpawnSyncReturns<string> }> = {};
const shmName = `pkgtest-${process.pid}-${Date.now()}`;
const shmDir = process.env.FASTIPC_SHM_DIR || '/dev/shm';
const children = new Set<ChildProcess>();

/**
 * The environment for npm and the children: without the npm_* variables of a parent
 * `npm test` (npm_config_prefix, npm_lifecycle_*, npm_package_* ...), which npm would read
 * as configuration, nor FASTIPC_* switches meant for the repository's own tests.
 */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    const k = key.toLowerCase();
    if (k.startsWith('npm_') || k.startsWith('fastipc_') || k === 'init_cwd') delete env[key];
  }
  return env;
}

function run(cmd: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, {
    cwd,
    env: cleanEnv(),
    encoding: 'utf8',
    timeout: 180_000,
    killSignal: 'SIGKILL',
    maxBuffer: 64 << 20,
  });
  if (r.error || r.status !== 0) {
    throw new Error(
      `\`${cmd} ${args.join(' ')}\` in ${cwd} failed ` +
        `(status ${r.status}, signal ${r.signal}${r.error ? `, ${r.error.message}` : ''})\n` +
        `--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`,
    );
  }
  return r;
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function start(cmd: string, args: string[]): { child: ChildProcess; exited: Promise<Exit> } {
  // (the children register in the tests' PID directory, not in the user's /dev/shm/fastipc-<uid>)
  const env = { ...cleanEnv(), FASTIPC_PID_DIR: process.env.FASTIPC_PID_DIR };
  const child = spawn(cmd, args, { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
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

/** The last line of a child's stdout as JSON, or an error that shows everything it printed. */
function report<T>(who: string, e: Exit): T {
  const detail = `${who} exited with ${e.signal ?? e.code}\n--- stdout\n${e.stdout}\n--- stderr\n${e.stderr}`;
  if (e.code !== 0) throw new Error(detail);
  try {
    return JSON.parse(e.stdout.trim().split('\n').pop() ?? '') as T;
  } catch {
    throw new Error(`no JSON report: ${detail}`);
  }
}

/** Every string target in an exports map. */
function targets(exportsMap: unknown): string[] {
  if (typeof exportsMap === 'string') return [exportsMap];
  if (exportsMap && typeof exportsMap === 'object') return Object.values(exportsMap).flatMap(targets);
  return [];
}

function removeSegment(): void {
  for (const f of fs.readdirSync(shmDir)) {
    if (f === `fastipc.${shmName}` || f.startsWith(`fastipc.${shmName}.tmp-`))
      fs.rmSync(path.join(shmDir, f), { force: true });
  }
}

/** Every file below `dir` (links not followed) with a hash of its bytes, but dist/. */
function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const rel = path.relative(dir, p);
      if (rel === 'dist') continue; // rebuilt by prepack, as by every build
      if (e.isDirectory()) walk(p);
      else
        out.set(
          rel,
          e.isSymbolicLink()
            ? `-> ${fs.readlinkSync(p)}`
            : crypto.createHash('sha1').update(fs.readFileSync(p)).digest('hex'),
        );
    }
  };
  walk(dir);
  return out;
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fastipc-package-'));
  source = path.join(tmp, 'source');
  const packs = path.join(tmp, 'packs');
  project = path.join(tmp, 'project');
  fs.mkdirSync(packs);
  fs.mkdirSync(project);

  fs.cpSync(REPO, source, {
    recursive: true,
    filter: (from) => {
      const rel = path.relative(REPO, from);
      return !NOT_COPIED.has(rel.split(path.sep)[0]) && !rel.endsWith('.tgz');
    },
  });
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(source, 'node_modules'), 'dir');

  treeBefore = tree(source);
  run('npm', ['pack', '--pack-destination', packs], source);
  treeAfter = tree(source);
  const tgz = fs.readdirSync(packs).filter((f) => f.endsWith('.tgz'));
  expect(tgz).toEqual([`${PACKAGE.name}-${PACKAGE.version}.tgz`]);
  tarball = path.join(packs, tgz[0]);
  listing = run('tar', ['-tzf', tarball], tmp).stdout.split('\n').filter(Boolean);

  run('npm', ['init', '-y'], project);
  installResult = run('npm', ['install', tarball], project);
  installed = path.join(project, 'node_modules', PACKAGE.name);

  for (const f of ['pkg-waiter.mjs', 'pkg-waker.cjs', 'runtime-counter.mjs'])
    fs.copyFileSync(path.join(FIXTURES, f), path.join(project, f));

  for (const [platform, cpu] of [
    ['darwin', 'arm64'],
    ['win32', 'x64'],
  ]) {
    const dir = path.join(tmp, `project-${platform}`);
    fs.mkdirSync(dir);
    run('npm', ['init', '-y'], dir);
    offLinux[platform] = {
      project: dir,
      install: run('npm', ['install', `--os=${platform}`, `--cpu=${cpu}`, tarball], dir),
    };
    for (const f of ['off-linux.mjs', 'as-platform.cjs']) fs.copyFileSync(path.join(FIXTURES, f), path.join(dir, f));
  }
}, 240_000);

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  removeSegment();
  if (tmp) {
    fs.rmSync(path.join(tmp, 'source', 'node_modules'), { force: true }); // the link, never its target
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

describe('the packed tarball installs into a new temporary project with scripts blocked', () => {
  it('holds the Node-API prebuild and both builds with their types', () => {
    expect(listing).toEqual(
      expect.arrayContaining([
        'package/package.json',
        'package/dist/index.js',
        'package/dist/index.mjs',
        'package/dist/index.d.ts',
        'package/dist/index.d.mts',
      ]),
    );
    const prebuilds = listing.filter((f) => f.startsWith('package/prebuilds/linux-x64/'));
    expect(prebuilds.some((f) => f.endsWith('.node'))).toBe(true);
  });

  it(
    'holds a prebuild for every Linux target this machine has the toolchain for, ' +
      'each of the right machine and libc, none above GLIBC_2.28',
    () => {
      const r = run(
        process.execPath,
        [path.join(REPO, 'scripts', 'prebuild.mjs'), '--check', path.join(installed, 'prebuilds')],
        REPO,
      );
      const checks = JSON.parse(r.stdout) as {
        target: string;
        present: boolean;
        toolchain: boolean;
        problems: string[];
      }[];
      expect(checks.map((c) => c.target)).toEqual([
        'linux-x64 glibc',
        'linux-arm64 glibc',
        'linux-x64 musl',
        'linux-arm64 musl',
      ]);
      for (const c of checks) {
        expect({ target: c.target, problems: c.problems }).toEqual({ target: c.target, problems: [] });
        // a toolchain on this machine means its prebuild must be in the tarball (`npm pack` is the release step)
        if (c.toolchain) expect({ target: c.target, present: c.present }).toEqual({ target: c.target, present: true });
      }
      expect(checks[0].present).toBe(true);
      // and nothing else in prebuilds/
      const files = listing.filter((f) => f.startsWith('package/prebuilds/') && !f.endsWith('/'));
      expect(files.sort()).toEqual(
        checks
          .filter((c) => c.present)
          .map((c) => `package/prebuilds/${c.target.replace(' ', '/fastipc.napi.')}.node`)
          .sort(),
      );
    },
  );

  it('packing left the working tree as it was, and its dev addon still loads', () => {
    expect([...treeAfter.keys()].filter((k) => !treeBefore.has(k))).toEqual([]);
    expect([...treeBefore.keys()].filter((k) => treeAfter.get(k) !== treeBefore.get(k))).toEqual([]);
    const script =
      `const p = require('node-gyp-build').path(${JSON.stringify(source)}); ` + 'require(p).gettid(); console.log(p)';
    expect(run(process.execPath, ['-e', script], source).stdout.trim()).toBe(
      path.join(source, 'build', 'Release', 'fastipc.node'),
    );
  });

  it('fastipc bench writes its table to the current folder (or --out), never into the installed package', () => {
    const before = tree(installed);
    const cli = path.join(installed, 'dist', 'cli.js');
    const env = { ...cleanEnv(), RUNS: '1', BENCH_SCALE: '0.01', FASTIPC_PID_DIR: process.env.FASTIPC_PID_DIR };
    const here = spawnSync(process.execPath, [cli, 'bench', 'atomics'], {
      cwd: project,
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect([here.status, here.stderr]).toEqual([0, expect.any(String)]);
    expect(fs.readFileSync(path.join(project, 'fastipc-bench.md'), 'utf8')).toMatch(/AtomicU32\.add\(1\)/);
    const out = path.join(tmp, 'bench-out');
    const there = spawnSync(process.execPath, [cli, 'bench', '--out', out, 'atomics'], {
      cwd: project,
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(there.status).toBe(0);
    expect(fs.existsSync(path.join(out, 'fastipc-bench.md'))).toBe(true);
    expect(tree(installed)).toEqual(before);
  }, 240_000);

  it('its package.json has no script that npm would list as blocked but install, and no os restriction', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
    const lifecycle = ['preinstall', 'install', 'postinstall', 'prepare', 'preprepare', 'postprepare', 'prepublish'];
    expect(Object.keys(manifest.scripts).filter((s) => lifecycle.includes(s))).toEqual(['install']);
    expect(manifest.os).toBeUndefined();
    expect(manifest.files).not.toContain('scripts');
  });

  it('installs without running its install script, and every exports target is there', () => {
    // npm 11 names the package whose scripts it did not run, and keeps it pending.
    const id = `${PACKAGE.name}@${PACKAGE.version}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(installResult.stderr).toMatch(new RegExp(`install-scripts\\s+${id}\\b`));
    const pending = JSON.parse(run('npm', ['install-scripts', 'ls', '--json'], project).stdout) as {
      allowScripts: { name: string; changes: { change: string }[] }[];
    };
    expect(pending.allowScripts.find((p) => p.name === PACKAGE.name)?.changes.map((c) => c.change)).toEqual([
      'pending',
    ]);

    // No source build: whatever loads is the prebuild from the tarball.
    expect(fs.existsSync(path.join(installed, 'build'))).toBe(false);
    expect(fs.readdirSync(path.join(installed, 'prebuilds', 'linux-x64')).some((f) => f.endsWith('.node'))).toBe(true);

    const manifest = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
    const missing = targets(manifest.exports).filter((t) => !fs.existsSync(path.join(installed, t)));
    expect(missing).toEqual([]);
  });

  it('a FutexWord over SharedMemory hands off between an ESM and a CJS process of that project', async () => {
    const a = start(process.execPath, ['pkg-waiter.mjs', shmName, String(CHILD_TIMEOUT_MS)]);
    const b = start(process.execPath, ['pkg-waker.cjs', shmName, String(CHILD_TIMEOUT_MS)]);
    try {
      const [ea, eb] = await Promise.all([a.exited, b.exited]);
      const ra = report<{
        module: string;
        addon: string;
        backend: string;
        first: string;
        later: string[];
        final: number;
      }>('process A (ESM)', ea);
      const rb = report<{ module: string; addon: string; backend: string; woken: number; wokenAfterStore: number }>(
        'process B (CJS)',
        eb,
      );

      // The exports map served each module system its own build, from the installed package.
      expect(ra.module).toBe(path.join(fs.realpathSync(installed), 'dist', 'index.mjs'));
      expect(rb.module).toBe(path.join(fs.realpathSync(installed), 'dist', 'index.js'));
      // And the addon is the prebuild.
      for (const r of [ra, rb]) {
        expect(fs.realpathSync(r.addon)).toBe(
          path.join(fs.realpathSync(installed), 'prebuilds', 'linux-x64', 'fastipc.napi.glibc.node'),
        );
        expect(r.backend).toBe('futex');
      }

      // B's wake found A asleep in the kernel (the word was still 0, so nothing else ends A's first wait).
      expect(rb.woken).toBe(1);
      expect(ra.first).toBe('ok');
      // Then A saw the 1 that B stored, whether or not it slept once more before.
      expect(ra.final).toBe(1);
      expect(ra.later.length).toBeLessThanOrEqual(1);
      for (const r of ra.later) expect(['ok', 'not-equal']).toContain(r);
      if (rb.wokenAfterStore === 1) expect(ra.later).toEqual(['ok']);
      else expect(rb.wokenAfterStore).toBe(0);
    } finally {
      a.child.kill('SIGKILL');
      b.child.kill('SIGKILL');
    }
  }, 120_000);
});

describe('other runtimes: Bun and Deno (devDependencies) run the installed package', () => {
  it(
    'a Node, a Bun and a Deno process add to one NamedMutex counter at ' +
      'once, exactly; each runs workers and async waits',
    async () => {
      for (const bin of [BUN, DENO]) expect(fs.existsSync(bin)).toBe(true);
      const { NamedEvent, NamedMutex, NamedSemaphore, SharedMemory } = await import('../lib');
      const name = `pkgtest-rt-${process.pid}`;
      const n = 20_000;
      const lock = new NamedMutex(name);
      const shm = SharedMemory.open(`${name}-counter`, { size: 64 });
      const ready = new NamedSemaphore(`${name}-ready`);
      const go = new NamedEvent(`${name}-go`);
      const runs: { child: ChildProcess; exited: Promise<Exit> }[] = [];
      try {
        const args = ['runtime-counter.mjs', name, String(n), String(CHILD_TIMEOUT_MS)];
        runs.push(start(process.execPath, args), start(BUN, args), start(DENO, ['run', '-A', ...args]));
        for (let i = 0; i < 3; i++) {
          if (!(await ready.waitAsync({ timeout: CHILD_TIMEOUT_MS })))
            throw new Error(`only ${i} of 3 runtimes got ready`);
        }
        go.set();
        const exits = await Promise.all(runs.map((r) => r.exited));
        const reports = exits.map((e, i) =>
          report<{ runtime: string; workerTotal: number; started: boolean; asyncLocks: number }>(
            ['node', 'bun', 'deno'][i],
            e,
          ),
        );
        expect(reports).toEqual(
          ['node', 'bun', 'deno'].map((runtime) => ({
            runtime,
            workerTotal: 2 * n,
            started: true,
            asyncLocks: n / 10,
          })),
        );
        expect(new Int32Array(shm.buffer, 0, 1)[0]).toBe(3 * n);
      } finally {
        for (const r of runs) r.child.kill('SIGKILL');
        for (const h of [go, ready, lock, shm]) h.close();
      }
    },
    120_000,
  );
});

describe.each(['darwin', 'win32'])('installed as on %s (npm install --os)', (platform) => {
  it(
    'installs, and there the atomics backend works between workers while what ' +
      'needs the addon throws ERR_FASTIPC_UNSUPPORTED_PLATFORM',
    () => {
      const { project: dir, install } = offLinux[platform];
      expect(install.status).toBe(0);
      const pkg = path.join(dir, 'node_modules', PACKAGE.name);
      const env = { ...cleanEnv(), FASTIPC_TEST_PLATFORM: platform };
      // its install script does nothing there (npm blocked it anyway)
      const script = spawnSync(
        process.execPath,
        ['--require', path.join(dir, 'as-platform.cjs'), path.join(pkg, 'scripts', 'install.cjs')],
        { cwd: pkg, env, encoding: 'utf8' },
      );
      expect([script.status, script.stderr]).toEqual([0, '']);
      expect(fs.existsSync(path.join(pkg, 'build'))).toBe(false);

      const r = spawnSync(process.execPath, ['--require', path.join(dir, 'as-platform.cjs'), 'off-linux.mjs'], {
        cwd: dir,
        env,
        encoding: 'utf8',
        timeout: 60_000,
      });
      const out = report<Record<string, unknown>>(`off-linux.mjs as ${platform}`, {
        code: r.status,
        signal: r.signal,
        stdout: r.stdout,
        stderr: r.stderr,
      });
      // a FastipcError: an Error with a code
      const refused = `FastipcError ERR_FASTIPC_UNSUPPORTED_PLATFORM: says Linux-only`;
      expect(out).toEqual({
        platform,
        platforms: [platform, platform],
        total: 40_000,
        expected: 40_000,
        tokens: [true, true],
        eventSet: true,
        refusals: {
          NamedMutex: refused,
          SharedMemory: refused,
          'Mutex on an ArrayBuffer': refused,
          "Mutex { backend: 'futex' }": refused,
        },
      });
    },
    60_000,
  );
});
