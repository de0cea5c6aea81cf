#!/usr/bin/env node
// Builds the Node-API prebuilds that ship inside the tarball (npm pack runs it), in
// node-gyp-build's layout: prebuilds/<platform>-<arch>/fastipc.napi.<libc>.node.
//
//   node scripts/prebuild.mjs [--out DIR] [--require-all] [--json]
//   node scripts/prebuild.mjs --check [DIR]     check existing prebuilds, print JSON
//
// Each target is compiled straight from every .c file below shim/ (shim/sys/ and
// shim/napi/, the same files as binding.gyp's sources) with its own compiler, against the
// Node-API headers of the `node-api-headers` package (no Node headers to download):
//   linux-x64   glibc  gcc (this machine's)                 no symbol above GLIBC_2.28
//   linux-arm64 glibc  aarch64-linux-gnu-gcc                 Debian: gcc-aarch64-linux-gnu
//   linux-x64   musl   musl-gcc                              Debian: musl-tools
//   linux-arm64 musl   aarch64-linux-gnu-gcc + musl specs    Debian: gcc-aarch64-linux-gnu,
//                                                            musl-dev:arm64 (dpkg --add-architecture arm64)
// A target whose toolchain is missing is skipped with the Debian packages that bring it
// (fails with --require-all); the glibc target of this machine's arch is always required.
// Every prebuild is then checked from its ELF file (scripts/elf.mjs): machine, libc,
// nothing above the glibc floor. It writes only below the output folder: build/ and the
// dev addon there are not touched.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { checkPrebuild } from './elf.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
export const GLIBC_FLOOR = '2.28';
/** Every .c file below shim/ (shim/sys/, shim/napi/), which binding.gyp must list too. */
export function shimSources() {
  const found = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.c')) found.push(full);
    }
  };
  walk(path.join(ROOT, 'shim'));
  const listed = JSON.parse(fs.readFileSync(path.join(ROOT, 'binding.gyp'), 'utf8')).targets[0].sources.map((f) =>
    path.join(ROOT, f),
  );
  const unlisted = found.filter((f) => !listed.includes(f));
  const missing = listed.filter((f) => !found.includes(f));
  if (unlisted.length || missing.length) {
    const rel = (l) => l.map((f) => path.relative(ROOT, f)).join(', ');
    throw new Error(
      `binding.gyp's sources and shim/ disagree:${unlisted.length ? ` not listed: ${rel(unlisted)};` : ''}` +
        `${missing.length ? ` listed, not found: ${rel(missing)}` : ''}`,
    );
  }
  return found.sort();
}
const CFLAGS = [
  '-std=gnu11',
  '-O2',
  '-fPIC',
  '-shared',
  '-fvisibility=hidden',
  '-Wall',
  '-Wextra',
  '-Wno-unused-parameter',
  '-DNAPI_VERSION=8',
  '-s',
];

const MUSL_ARM64_SPECS = '/usr/lib/aarch64-linux-musl/musl-gcc.specs';
// musl's include path has no kernel headers (linux/futex.h): the toolchain's own go in
// through a folder of links (Debian: linux-libc-dev, and its -arm64-cross twin).
const KERNEL_HEADERS = {
  x64: {
    linux: '/usr/include/linux',
    'asm-generic': '/usr/include/asm-generic',
    asm: '/usr/include/x86_64-linux-gnu/asm',
  },
  arm64: {
    linux: '/usr/aarch64-linux-gnu/include/linux',
    'asm-generic': '/usr/aarch64-linux-gnu/include/asm-generic',
    asm: '/usr/aarch64-linux-gnu/include/asm',
  },
};
function kernelHeaders(arch, scratch) {
  const dir = path.join(scratch, `kernel-headers-${arch}`);
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, target] of Object.entries(KERNEL_HEADERS[arch])) {
    if (!fs.existsSync(target))
      throw new Error(
        `no kernel headers at ${target} (Debian: linux-libc-dev${arch === 'arm64' ? '-arm64-cross' : ''})`,
      );
    fs.rmSync(path.join(dir, name), { force: true });
    fs.symlinkSync(target, path.join(dir, name));
  }
  return ['-isystem', dir];
}

/** The targets: [dir, libc, compiler, extra flags, Debian packages that bring the toolchain]. */
export const TARGETS = [
  {
    dir: 'linux-x64',
    arch: 'x64',
    libc: 'glibc',
    cc: process.arch === 'x64' ? 'gcc' : 'x86_64-linux-gnu-gcc',
    flags: ['-include', path.join(ROOT, 'shim', 'glibc-floor.h'), '-Wl,--no-as-needed', '-l:libpthread.so.0'],
    packages: process.arch === 'x64' ? ['gcc'] : ['gcc-x86-64-linux-gnu'],
  },
  {
    dir: 'linux-arm64',
    arch: 'arm64',
    libc: 'glibc',
    cc: process.arch === 'arm64' ? 'gcc' : 'aarch64-linux-gnu-gcc',
    flags: ['-include', path.join(ROOT, 'shim', 'glibc-floor.h'), '-Wl,--no-as-needed', '-l:libpthread.so.0'],
    packages: ['gcc-aarch64-linux-gnu'],
  },
  { dir: 'linux-x64', arch: 'x64', libc: 'musl', cc: 'musl-gcc', flags: [], packages: ['musl-tools'] },
  {
    dir: 'linux-arm64',
    arch: 'arm64',
    libc: 'musl',
    cc: 'aarch64-linux-gnu-gcc',
    flags: ['-specs', MUSL_ARM64_SPECS],
    needsFile: MUSL_ARM64_SPECS,
    packages: ['gcc-aarch64-linux-gnu', 'musl-dev:arm64'],
  },
];

function has(cc) {
  try {
    execFileSync(cc, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function prebuild({
  out = path.join(ROOT, 'prebuilds'),
  requireAll = false,
  log = (s) => process.stderr.write(`${s}\n`),
} = {}) {
  const sources = shimSources();
  const headers = path.join(path.dirname(require.resolve('node-api-headers/package.json')), 'include');
  const results = [];
  for (const t of TARGETS) {
    const file = path.join(out, t.dir, `fastipc.napi.${t.libc}.node`);
    const name = `${t.dir} ${t.libc}`;
    if (!has(t.cc) || (t.needsFile && !fs.existsSync(t.needsFile))) {
      const why =
        `no ${t.cc}${t.needsFile ? ` with ${t.needsFile}` : ''} ` + `(Debian: apt-get install ${t.packages.join(' ')})`;
      results.push({ target: name, file: null, skipped: why });
      log(`prebuild ${name}: skipped, ${why}`);
      continue;
    }
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fastipc-prebuild-'));
    try {
      const extra = t.libc === 'musl' ? kernelHeaders(t.arch, scratch) : [];
      execFileSync(t.cc, [...CFLAGS, '-I', headers, ...extra, ...sources, ...t.flags, '-o', file], {
        stdio: ['ignore', 'inherit', 'inherit'],
      });
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
    const { problems } = checkPrebuild(file, { arch: t.arch, libc: t.libc, glibcFloor: GLIBC_FLOOR });
    if (problems.length) throw new Error(`prebuild ${name} (${file}): ${problems.join('; ')}`);
    results.push({ target: name, file, skipped: null });
    log(`prebuild ${name}: ${path.relative(ROOT, file)} (${fs.statSync(file).size} bytes, checked)`);
  }
  const host = results.find((r) => r.target === `linux-${process.arch} glibc`);
  if (host && !host.file)
    throw new Error(`the prebuild for this machine (${host.target}) could not be built: ${host.skipped}`);
  const skipped = results.filter((r) => r.skipped);
  if (requireAll && skipped.length)
    throw new Error(`--require-all: ${skipped.map((r) => `${r.target}: ${r.skipped}`).join('; ')}`);
  return results;
}

const MUSL_X64_LOADER = '/lib/ld-musl-x86_64.so.1';

/**
 * Checks the prebuilds in `dir` (a prebuilds/ folder): for every target, whether its file
 * is there, whether this machine has the toolchain to build it, and what is wrong with it
 * (scripts/elf.mjs; for x64 musl also musl's own loader, where installed: every symbol it
 * cannot resolve must be Node-API's, which Node provides).
 */
export function check(dir) {
  return TARGETS.map((t) => {
    const file = path.join(dir, t.dir, `fastipc.napi.${t.libc}.node`);
    const toolchain = has(t.cc) && (!t.needsFile || fs.existsSync(t.needsFile));
    if (!fs.existsSync(file)) return { target: `${t.dir} ${t.libc}`, present: false, toolchain, problems: [] };
    const { problems } = checkPrebuild(file, { arch: t.arch, libc: t.libc, glibcFloor: GLIBC_FLOOR });
    let muslLoader = false;
    if (t.libc === 'musl' && t.arch === 'x64' && fs.existsSync(MUSL_X64_LOADER)) {
      muslLoader = true;
      let out = '';
      try {
        out = execFileSync(MUSL_X64_LOADER, ['--list', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (err) {
        out = `${err.stdout ?? ''}${err.stderr ?? ''}`;
      }
      const unresolved = [...out.matchAll(/Error relocating [^:]+: ([^:]+): symbol not found/g)].map((m) => m[1]);
      const foreign = unresolved.filter((s) => !s.startsWith('napi_'));
      if (foreign.length) problems.push(`musl's loader cannot resolve ${foreign.join(', ')}`);
      if (!/libc\.so => \/lib\/ld-musl-x86_64\.so\.1/.test(out))
        problems.push(`musl's loader did not map libc.so to itself: ${out.trim()}`);
    }
    return { target: `${t.dir} ${t.libc}`, present: true, toolchain, muslLoader, problems };
  });
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--out');
  try {
    const checkAt = args.indexOf('--check');
    if (checkAt >= 0) {
      const results = check(path.resolve(args[checkAt + 1] ?? path.join(ROOT, 'prebuilds')));
      process.stdout.write(`${JSON.stringify(results)}\n`);
      process.exit(results.some((r) => r.problems.length) ? 1 : 0);
    }
    const results = prebuild({
      out: at >= 0 ? path.resolve(args[at + 1]) : undefined,
      requireAll: args.includes('--require-all'),
    });
    if (args.includes('--json')) process.stdout.write(`${JSON.stringify(results)}\n`);
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}
