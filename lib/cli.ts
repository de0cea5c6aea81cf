#!/usr/bin/env node
/**
 * The `fastipc` command (the package's bin, built to dist/cli.js):
 *
 *   fastipc list [--json]                       every segment: kind, state, size, users
 *   fastipc inspect NAME [--kind K] [--json]    one segment, with its header words
 *   fastipc rm NAME [--kind K] | rm --stale     unlink one, or those nobody uses
 *   fastipc demo                                what fastipc does, on this machine
 *   fastipc bench [--out DIR] [FILTER...]       the benchmark suite; writes DIR/fastipc-bench.md (default: cwd)
 *
 * Exit status: 0 ok; 1 not found, or a failure; 2 a usage error. Errors go to stderr,
 * prefixed `fastipc: `. Reading never maps or registers (lib/inspect.ts); removing
 * happens under the PID directory's lock, as SharedMemory's own unlink does.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isMainThread, workerData } from 'node:worker_threads';
import { demoChild, demoWorker, isDemoWorker, runDemo } from './demo';
import { kindOf, VERSION } from './header';
import {
  findSegments,
  KINDS,
  listSegments,
  magicText,
  mismatched,
  removeSegment,
  removeStale,
  type Kind,
  type PrimitiveState,
  type SegmentInfo,
} from './inspect';
import { OWNER_DIED, TID_MASK, WAITERS } from './mutex';
import { checkName, shmDir } from './shared-memory';

const EXIT_OK = 0;
const EXIT_FAILED = 1; // not found, nothing matched, or the operation failed
const EXIT_USAGE = 2;

/** An error the user can fix by typing something else: exit 2, with a pointer to --help. */
class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

/** Something asked for is not there: exit 1. */
class NotFound extends Error {}

const HELP: Record<string, string> = {
  main: `Usage: fastipc <command> [options]

Futex-based mutexes, semaphores and events over shared memory. This command shows and
removes the shared-memory segments that fastipc programs use on this machine.

Commands:
  list [--json]                      every segment: kind, name, state, size, processes
  inspect NAME [--kind K] [--json]   one segment in detail, with its header words
  rm NAME [--kind K]                 unlink a segment
  rm --stale                         unlink the segments that no running process uses
  demo                               what fastipc does, run on this machine (a few seconds)
  bench [--out DIR] [FILTER...]      run the benchmark suite; its table goes to DIR (default: .)
  help [COMMAND]                     this text, or a command's

Options:
  -h, --help       help (also after a command: fastipc list --help)
  -v, --version    print fastipc's version

Segments live in $FASTIPC_SHM_DIR or /dev/shm; who uses them is recorded in the PID
directory, $FASTIPC_PID_DIR or /dev/shm/fastipc-<uid>.
Exit status: 0 ok, 1 not found or failed, 2 usage error.
`,
  list: `Usage: fastipc list [--json]

Lists every fastipc segment in ${'$'}FASTIPC_SHM_DIR or /dev/shm:
  KIND       mutex, semaphore, event (NamedMutex, NamedSemaphore, NamedEvent) or shm
             (SharedMemory)
  STATE      a mutex: locked by pid/tid, or unlocked; a semaphore: its count; an event:
             set or clear; shm: the primitive at offset 0, if any
  SIZE       bytes
  PROCESSES  the registered users, each live or dead

Options:
  --json       print a JSON array, one object per segment
  -h, --help   this text
`,
  inspect: `Usage: fastipc inspect NAME [--kind mutex|semaphore|event|shm] [--json]

Shows one segment as \`list\` does, plus its file, mode, owner, each registered thread and
its header words (offset, value, meaning).

Options:
  --kind K     which namespace, when NAME exists in more than one
  --json       print one JSON object (with a "header" array of words)
  -h, --help   this text

Exit status: 1 if there is no such segment, 2 if NAME is ambiguous without --kind.
`,
  rm: `Usage: fastipc rm NAME [--kind mutex|semaphore|event|shm]
       fastipc rm --stale

Unlinks a segment, under the PID directory's lock, and forgets its registrations.
Processes that have it open keep their memory; the next open of NAME creates a new one.

  --stale      remove every segment of ours that no running process has open (its users
               all died or never registered), and the temporaries of creators that died
  --kind K     which namespace, when NAME exists in more than one
  -h, --help   this text

Exit status: 1 if there is no such segment, 2 if NAME is ambiguous without --kind.
`,
  demo: `Usage: fastipc demo

Runs fastipc on this machine for a few seconds and prints what ran, how fast, and whether
each result was exact: worker threads counting under a Mutex; processes counting with an
AtomicU64 and under a NamedMutex; a NamedSemaphore ping-pong; a NamedEvent waking several
processes at once. Removes every segment it made. Exit status 0 only if all was exact.

Options:
  -h, --help   this text
`,
  bench: `Usage: fastipc bench [--out DIR] [FILTER...]

Runs the benchmark suite (node bench/run.mjs in the package root) and prints its table;
FILTER keeps the benches whose file name contains it. Environment knobs such as RUNS and
BENCH_SCALE are passed through. The table is written to DIR/fastipc-bench.md, by default
in the current folder (never inside the installed package).

Options:
  --out DIR    the folder for fastipc-bench.md (default: the current folder)
  -h, --help   this text
`,
};

function kindOption(value: string | undefined, command: string): Kind | undefined {
  if (value === undefined) return undefined;
  if (!(KINDS as readonly string[]).includes(value)) {
    throw new UsageError(`--kind must be one of ${KINDS.join(', ')}, got ${JSON.stringify(value)}`, command);
  }
  return value as Kind;
}

function nameArgument(positionals: string[], command: string): string {
  if (positionals.length === 0) throw new UsageError(`${command} needs a segment NAME`, command);
  if (positionals.length > 1) throw new UsageError(`${command} takes one NAME, got ${positionals.length}: ${positionals.join(' ')}`, command);
  try {
    return checkName(positionals[0]);
  } catch (err) {
    throw new UsageError((err as Error).message, command);
  }
}

type Options = Record<string, { type: 'boolean' | 'string'; short?: string }>;

/** parseArgs, strict, with its errors turned into usage errors of `command`. */
function parse(command: string, args: string[], options: Options): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    const message = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(message[0].toLowerCase() + message.slice(1), command);
  }
}

// ---- text ---------------------------------------------------------------------------

function primitiveText(s: PrimitiveState): string {
  switch (s.primitive) {
    case 'Mutex': {
      if (!s.locked) return s.waiters ? 'unlocked, waiters' : 'unlocked';
      let text = s.ownerPid === null ? `locked by tid ${s.ownerTid} (owner record not yet written)` : `locked by pid ${s.ownerPid} tid ${s.ownerTid}`;
      if (s.ownerAlive === false) text += ' (dead)';
      if (s.waiters) text += ', waiters';
      if (s.ownerDied) text += ', recovered from a dead owner';
      return text;
    }
    case 'Semaphore':
      return `count ${s.count}` + (s.sleepers ? `, ${s.sleepers} waiting` : '');
    case 'Event':
      return (s.set ? 'set' : 'clear') + (s.sleepers ? `, ${s.sleepers} waiting` : '');
  }
}

/** The STATE column: what is at offset 0 and its state. */
export function stateText(info: SegmentInfo): string {
  if (info.error) return info.error;
  const found = info.words.length ? kindOf(info.words[0]) : undefined;
  const at0 = info.kind === 'shm' || mismatched(info) ? `${found} at +0: ` : '';
  switch (info.status) {
    case 'empty':
      return info.kind === 'shm' ? '-' : 'not initialised';
    case 'unknown':
      return info.kind === 'shm' ? '-' : `not a fastipc primitive (magic ${info.magic})`;
    case 'initialising':
      return `${at0}being initialised`;
    case 'other-version':
      return `${at0}layout version ${info.version} (this fastipc reads ${VERSION})`;
    case 'ready':
      return at0 + primitiveText(info.state!);
  }
}

function processesText(info: SegmentInfo): string {
  if (info.uid !== process.getuid?.()) return `(uid ${info.uid}'s)`;
  if (info.processes.length === 0) return '-';
  return info.processes.map((p) => `${p.pid} ${p.alive ? 'live' : 'dead'}`).join(', ');
}

function table(header: string[], rows: string[][], rightAligned: Set<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : rightAligned.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [fmt(header), ...rows.map(fmt)].join('\n');
}

interface Word {
  offset: number;
  field: string;
  value: number;
  hex: string;
  meaning: string;
}

const FIELDS: Record<string, string[]> = {
  Mutex: ['magic', 'version', 'state', 'owner pid', 'owner start (lo)', 'owner start (hi)', 'owner tid', 'owner pid namespace'],
  Semaphore: ['magic', 'version', 'count', 'sleepers'],
  Event: ['magic', 'version', 'state', 'sleepers'],
};

function hex(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
}

function mutexStateText(state: number): string {
  const tid = state & TID_MASK;
  const parts = [tid ? `tid ${tid}` : 'unlocked'];
  if (state & OWNER_DIED) parts.push('OWNER_DIED');
  if (state & WAITERS) parts.push('WAITERS');
  return parts.join(' | ');
}

/** The header words of a segment, each with the field it is and what its value means. */
export function headerWords(info: SegmentInfo): Word[] {
  const primitive = info.words.length ? kindOf(info.words[0]) : undefined;
  const fields = primitive ? FIELDS[primitive] : [];
  return info.words.map((value, i) => {
    const field = fields[i] ?? (primitive ? 'reserved' : 'data');
    let meaning = '';
    if (primitive && i === 0) meaning = `'${magicText(value)}' (${primitive})`;
    else if (primitive && i === 1) meaning = value === 0 ? 'being initialised' : value === VERSION ? 'current' : 'unknown layout';
    else if (primitive === 'Mutex' && i === 2) meaning = mutexStateText(value);
    else if (primitive === 'Event' && i === 2) meaning = `${value & 1 ? 'set' : 'clear'}, generation ${value >>> 1}`;
    return { offset: 4 * i, field, value, hex: hex(value), meaning };
  });
}

/** Header words as lines; runs of zero reserved (or data) words are folded into one. */
function wordLines(words: Word[]): string[] {
  const lines: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    let j = i;
    if ((w.field === 'reserved' || w.field === 'data') && w.value === 0) {
      while (j + 1 < words.length && words[j + 1].field === w.field && words[j + 1].value === 0) j++;
    }
    const offset = j > i ? `+${w.offset}..+${words[j].offset + 3}` : `+${w.offset}`;
    const value = j > i ? 'all zero' : `${w.hex}  ${String(w.value).padStart(11)}`;
    lines.push(`    ${offset.padEnd(9)} ${value.padEnd(23)}  ${w.field}${w.meaning ? `: ${w.meaning}` : ''}`);
    i = j;
  }
  return lines;
}

function inspectText(info: SegmentInfo): string {
  const label = info.kind === 'shm' ? 'SharedMemory' : `Named${info.kind[0].toUpperCase()}${info.kind.slice(1)}`;
  const lines = [
    `${info.file}`,
    `  kind       ${info.kind} (${label} ${JSON.stringify(info.name)})`,
    `  file       ${info.path}`,
    `  size       ${info.size} bytes, mode ${info.mode.toString(8).padStart(4, '0')}, uid ${info.uid}`,
    `  state      ${stateText(info)}`,
  ];
  if (info.processes.length === 0) lines.push(`  processes  ${processesText(info)}`);
  else {
    lines.push('  processes');
    for (const p of info.processes) {
      const threads = p.threads.map((t) => `tid ${t.tid}${t.alive === p.alive ? '' : t.alive ? ' live' : ' dead'}`).join(', ');
      lines.push(`    pid ${p.pid}  ${p.alive ? 'live' : 'dead'}  (${threads})`);
    }
  }
  if (info.words.length) {
    lines.push(`  header words (int32, little-endian${info.kind === 'shm' ? ', the first 64 bytes' : ''})`);
    lines.push(...wordLines(headerWords(info)));
  }
  return lines.join('\n');
}

/** A segment for --json: without the raw words, the mode as octal text ("0600"). */
function listJson(info: SegmentInfo): Omit<SegmentInfo, 'words' | 'mode'> & { mode: string } {
  const { words: _words, mode, ...rest } = info;
  return { ...rest, mode: mode.toString(8).padStart(4, '0') };
}

// ---- commands -----------------------------------------------------------------------

type Out = { out: (text: string) => void; err: (text: string) => void };

function list(args: string[], io: Out): number {
  const { values, positionals } = parse('list', args, { json: { type: 'boolean' } });
  if (values.help) return help('list', io);
  if (positionals.length) throw new UsageError(`list takes no arguments, got ${positionals.join(' ')}`, 'list');
  const segments = listSegments();
  if (values.json) {
    io.out(JSON.stringify(segments.map(listJson), null, 2));
    return EXIT_OK;
  }
  if (segments.length === 0) {
    io.out(`no fastipc segments in ${shmDir()}`);
    return EXIT_OK;
  }
  const rows = segments.map((s) => [s.kind, s.name, stateText(s), String(s.size), processesText(s)]);
  io.out(table(['KIND', 'NAME', 'STATE', 'SIZE', 'PROCESSES'], rows, new Set([3])));
  return EXIT_OK;
}

/** The one segment `name` (of `kind`), or a NotFound / an ambiguity UsageError. */
function resolve(command: string, name: string, kind: Kind | undefined): SegmentInfo {
  const found = findSegments(name, kind);
  if (found.length === 0) {
    throw new NotFound(`no ${kind ? `${kind} ` : ''}segment named ${JSON.stringify(name)} in ${shmDir()} (see fastipc list)`);
  }
  if (found.length > 1) {
    throw new UsageError(
      `${JSON.stringify(name)} names ${found.length} segments: ${found.map((s) => `${s.file} (${s.kind})`).join(', ')}; ` +
        `choose one with --kind ${found.map((s) => s.kind).join('|')}`,
      command,
    );
  }
  return found[0];
}

function inspect(args: string[], io: Out): number {
  const { values, positionals } = parse('inspect', args, { json: { type: 'boolean' }, kind: { type: 'string' } });
  if (values.help) return help('inspect', io);
  const kind = kindOption(values.kind as string | undefined, 'inspect');
  const info = resolve('inspect', nameArgument(positionals, 'inspect'), kind);
  if (values.json) io.out(JSON.stringify({ ...listJson(info), header: headerWords(info) }, null, 2));
  else io.out(inspectText(info));
  return EXIT_OK;
}

function rm(args: string[], io: Out): number {
  const { values, positionals } = parse('rm', args, { stale: { type: 'boolean' }, kind: { type: 'string' } });
  if (values.help) return help('rm', io);
  const kind = kindOption(values.kind as string | undefined, 'rm');
  if (values.stale) {
    if (positionals.length || kind) throw new UsageError('rm --stale takes no NAME and no --kind', 'rm');
    const removed = removeStale();
    for (const r of removed) io.out(`removed ${r.file}: ${r.why}`);
    if (removed.length === 0) io.out(`nothing stale in ${shmDir()}`);
    return EXIT_OK;
  }
  const info = resolve('rm', nameArgument(positionals, 'rm'), kind);
  if (!removeSegment(info.file)) throw new NotFound(`${info.file} was removed meanwhile`);
  const live = info.processes.filter((p) => p.alive).map((p) => p.pid);
  io.out(`removed ${info.file}`);
  if (live.length) {
    io.err(
      `fastipc: note: pid ${live.join(', ')} still ${live.length > 1 ? 'have' : 'has'} it open and keep${live.length > 1 ? '' : 's'} ` +
        `its memory; the next open of ${JSON.stringify(info.name)} creates a new segment`,
    );
  }
  return EXIT_OK;
}

function packageRoot(): string | undefined {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    try {
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (manifest.name === 'fastipc') return dir;
    } catch {
      /* not here */
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

function bench(args: string[], io: Out): Promise<number> | number {
  if (args.includes('--help') || args.includes('-h')) return help('bench', io);
  const root = packageRoot();
  const runner = root && path.join(root, 'bench', 'run.mjs');
  if (!runner || !fs.existsSync(runner)) {
    throw new NotFound(`the benchmark suite (bench/run.mjs) is not in this installation${root ? ` (${root})` : ''}; run it from a checkout of fastipc`);
  }
  return new Promise((done, fail) => {
    // The results go to the folder the user is in (or --out), never into the package.
    const out = args.includes('--out') ? [] : ['--out', process.cwd()];
    const child = spawn(process.execPath, [runner, ...args.map((a, i) => (args[i - 1] === '--out' ? path.resolve(a) : a)), ...out], {
      cwd: root,
      stdio: 'inherit',
    });
    child.on('error', fail);
    child.on('exit', (code, signal) => done(code ?? 128 + (os.constants.signals[signal!] ?? 0)));
  });
}

async function demo(args: string[], io: Out): Promise<number> {
  const { values, positionals } = parse('demo', args, {});
  if (values.help) return help('demo', io);
  if (positionals.length) throw new UsageError(`demo takes no arguments, got ${positionals.join(' ')}`, 'demo');
  return runDemo(__filename, io.out, io.err);
}

function version(io: Out): number {
  const root = packageRoot();
  const manifest = root ? (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }) : undefined;
  io.out(manifest?.version ?? 'unknown');
  return EXIT_OK;
}

function help(command: string, io: Out): number {
  io.out(HELP[command].trimEnd());
  return EXIT_OK;
}

const COMMANDS: Record<string, (args: string[], io: Out) => number | Promise<number>> = { list, inspect, rm, demo, bench };

export async function main(argv: string[], io: Out): Promise<number> {
  const [command, ...args] = argv;
  try {
    if (command === '__demo-child') return demoChild(args[0]);
    if (command === undefined) {
      io.err(HELP.main.trimEnd());
      return EXIT_USAGE;
    }
    if (command === '--help' || command === '-h') return help('main', io);
    if (command === '--version' || command === '-v') return version(io);
    if (command === 'help') {
      const topic = args[0] ?? 'main';
      if (!HELP[topic] || topic === 'main') {
        if (args[0] !== undefined) throw new UsageError(`no command ${JSON.stringify(args[0])}; commands: ${Object.keys(COMMANDS).join(', ')}`);
        return help('main', io);
      }
      return help(topic, io);
    }
    const run = COMMANDS[command];
    if (!run) {
      throw new UsageError(
        command.startsWith('-')
          ? `unknown option ${JSON.stringify(command)} (options come after the command)`
          : `unknown command ${JSON.stringify(command)}; commands: ${Object.keys(COMMANDS).join(', ')}`,
      );
    }
    return await run(args, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`fastipc: ${err.message}\nSee \`fastipc ${err.command ? `${err.command} ` : ''}--help\`.`);
      return EXIT_USAGE;
    }
    if (err instanceof NotFound) {
      io.err(`fastipc: ${err.message}`);
      return EXIT_FAILED;
    }
    const e = err as NodeJS.ErrnoException;
    io.err(`fastipc: ${e.message?.replace(/^fastipc: /, '') ?? String(err)}${e.code && !e.message?.includes(e.code) ? ` (${e.code})` : ''}`);
    return EXIT_FAILED;
  }
}

if (!isMainThread && isDemoWorker(workerData)) {
  demoWorker(workerData); // the demo's worker threads run this file too
} else {
  const io: Out = { out: (t) => process.stdout.write(t + '\n'), err: (t) => process.stderr.write(t + '\n') };
  void main(process.argv.slice(2), io).then((code) => (process.exitCode = code));
}
