/**
 * The packed tarball, as a user gets it: `npm pack` (whose prepack builds dist/ and the
 * Node-API prebuild), then `npm install <tarball>` into a new project with npm 11's default
 * of blocking dependencies' install scripts, then a FutexWord handoff between an ESM and a
 * CJS process of that project over one SharedMemory segment.
 *
 * The pack runs in a copy of the working tree (node_modules linked, not copied): prepack
 * cleans dist/ and node-gyp rebuilds build/, and the tests running beside this one load
 * both from the repository.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const REPO = path.resolve(__dirname, '..');
const FIXTURES = path.join(__dirname, 'fixtures');
const PACKAGE = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { name: string; version: string };

/** Top-level entries of the repository that the copy leaves out (generated, or linked). */
const NOT_COPIED = new Set(['node_modules', '.git', 'build', 'dist', 'prebuilds', 'coverage']);

/** How long a child waits for the other side before it gives up and fails. */
const CHILD_TIMEOUT_MS = 60_000;

let tmp: string;
let tarball: string;
let project: string;
let installed: string;
let listing: string[];
let installResult: SpawnSyncReturns<string>;
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
      `\`${cmd} ${args.join(' ')}\` in ${cwd} failed (status ${r.status}, signal ${r.signal}${r.error ? `, ${r.error.message}` : ''})\n` +
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

function start(file: string, args: string[]): { child: ChildProcess; exited: Promise<Exit> } {
  // (the children register in the tests' PID directory, not in the user's /dev/shm/fastipc-<uid>)
  const env = { ...cleanEnv(), FASTIPC_PID_DIR: process.env.FASTIPC_PID_DIR };
  const child = spawn(process.execPath, [file, ...args], { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
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
    if (f === `fastipc.${shmName}` || f.startsWith(`fastipc.${shmName}.tmp-`)) fs.rmSync(path.join(shmDir, f), { force: true });
  }
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fastipc-package-'));
  const source = path.join(tmp, 'source');
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

  run('npm', ['pack', '--pack-destination', packs], source);
  const tgz = fs.readdirSync(packs).filter((f) => f.endsWith('.tgz'));
  expect(tgz).toEqual([`${PACKAGE.name}-${PACKAGE.version}.tgz`]);
  tarball = path.join(packs, tgz[0]);
  listing = run('tar', ['-tzf', tarball], tmp).stdout.split('\n').filter(Boolean);

  run('npm', ['init', '-y'], project);
  installResult = run('npm', ['install', tarball], project);
  installed = path.join(project, 'node_modules', PACKAGE.name);

  for (const f of ['pkg-waiter.mjs', 'pkg-waker.cjs']) fs.copyFileSync(path.join(FIXTURES, f), path.join(project, f));
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

  it('installs without running its install script, and every exports target is there', () => {
    // npm 11 names the package whose scripts it did not run, and keeps it pending.
    const id = `${PACKAGE.name}@${PACKAGE.version}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(installResult.stderr).toMatch(new RegExp(`install-scripts\\s+${id}\\b`));
    const pending = JSON.parse(run('npm', ['install-scripts', 'ls', '--json'], project).stdout) as {
      allowScripts: { name: string; changes: { change: string }[] }[];
    };
    expect(pending.allowScripts.find((p) => p.name === PACKAGE.name)?.changes.map((c) => c.change)).toEqual(['pending']);

    // No source build: whatever loads is the prebuild from the tarball.
    expect(fs.existsSync(path.join(installed, 'build'))).toBe(false);
    expect(fs.readdirSync(path.join(installed, 'prebuilds', 'linux-x64')).some((f) => f.endsWith('.node'))).toBe(true);

    const manifest = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
    const missing = targets(manifest.exports).filter((t) => !fs.existsSync(path.join(installed, t)));
    expect(missing).toEqual([]);
  });

  it('a FutexWord over SharedMemory hands off between an ESM and a CJS process of that project', async () => {
    const a = start('pkg-waiter.mjs', [shmName, String(CHILD_TIMEOUT_MS)]);
    const b = start('pkg-waker.cjs', [shmName, String(CHILD_TIMEOUT_MS)]);
    try {
      const [ea, eb] = await Promise.all([a.exited, b.exited]);
      const ra = report<{ module: string; addon: string; backend: string; first: string; later: string[]; final: number }>(
        'process A (ESM)',
        ea,
      );
      const rb = report<{ module: string; addon: string; backend: string; woken: number; wokenAfterStore: number }>(
        'process B (CJS)',
        eb,
      );

      // The exports map served each module system its own build, from the installed package.
      expect(ra.module).toBe(path.join(fs.realpathSync(installed), 'dist', 'index.mjs'));
      expect(rb.module).toBe(path.join(fs.realpathSync(installed), 'dist', 'index.js'));
      // And the addon is the prebuild.
      for (const r of [ra, rb]) {
        expect(path.dirname(fs.realpathSync(r.addon))).toBe(path.join(fs.realpathSync(installed), 'prebuilds', 'linux-x64'));
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
