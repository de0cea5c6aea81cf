#!/usr/bin/env node
/**
 * The `fastipc` command (the package's bin, built to dist/cli.js):
 *
 *   fastipc list [--json]                       every segment: kind, state, size, users
 *   fastipc inspect NAME [--kind K] [--json]    one segment, with its header words
 *   fastipc rm NAME [--kind K] | rm --stale     unlink one, or those nobody uses
 *   fastipc demo                                what fastipc does, on this machine
 *   fastipc bench [--quick] [--json FILE] [--only NAME] [--out DIR] [FILTER...]
 *                                               the benchmark suite; writes DIR/fastipc-bench.md (default: cwd)
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
import { checkName, shmDir } from '../../named/shared-memory';
import { demoChild, demoWorker, isDemoWorker, runDemo } from '../demo';
import {
  findSegments,
  listSegments,
  removeSegment,
  removeStale,
  segmentKinds,
  type Kind,
  type SegmentInfo,
} from '../inspect';
import { hasHelp, helpText } from './help';
import { headerWords, inspectText, listJson, processesText, stateText, table } from './text';

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

function kindOption(value: string | undefined, command: string): Kind | undefined {
  if (value === undefined) return undefined;
  const kinds = segmentKinds();
  if (!kinds.includes(value)) {
    throw new UsageError(`--kind must be one of ${kinds.join(', ')}, got ${JSON.stringify(value)}`, command);
  }
  return value;
}

function nameArgument(positionals: string[], command: string): string {
  if (positionals.length === 0) throw new UsageError(`${command} needs a segment NAME`, command);
  if (positionals.length > 1)
    throw new UsageError(`${command} takes one NAME, got ${positionals.length}: ${positionals.join(' ')}`, command);
  try {
    return checkName(positionals[0]);
  } catch (err) {
    throw new UsageError((err as Error).message, command);
  }
}

type Options = Record<string, { type: 'boolean' | 'string'; short?: string }>;

/** parseArgs, strict, with its errors turned into usage errors of `command`. */
function parse(
  command: string,
  args: string[],
  options: Options,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    return parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    const message = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(message[0].toLowerCase() + message.slice(1), command);
  }
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
    throw new NotFound(
      `no ${kind ? `${kind} ` : ''}segment named ${JSON.stringify(name)} in ${shmDir()} (see fastipc list)`,
    );
  }
  if (found.length > 1) {
    throw new UsageError(
      `${JSON.stringify(name)} names ${found.length} segments: ` +
        `${found.map((s) => `${s.file} (${s.kind})`).join(', ')}; ` +
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
      `fastipc: note: pid ${live.join(', ')} still ${live.length > 1 ? 'have' : 'has'} it open ` +
        `and keep${live.length > 1 ? '' : 's'} ` +
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
    throw new NotFound(
      `the benchmark suite (bench/run.mjs) is not in this installation${root ? ` (${root})` : ''}; ` +
        'run it from a checkout of fastipc',
    );
  }
  return new Promise((done, fail) => {
    // The results go to the folder the user is in (or --out), never into the package.
    const out = args.includes('--out') ? [] : ['--out', process.cwd()];
    const child = spawn(
      process.execPath,
      [runner, ...args.map((a, i) => (args[i - 1] === '--out' ? path.resolve(a) : a)), ...out],
      {
        cwd: root,
        stdio: 'inherit',
      },
    );
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
  const manifest = root
    ? (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string })
    : undefined;
  io.out(manifest?.version ?? 'unknown');
  return EXIT_OK;
}

function help(command: string, io: Out): number {
  io.out(helpText(command)!.trimEnd());
  return EXIT_OK;
}

const COMMANDS: Record<string, (args: string[], io: Out) => number | Promise<number>> = {
  list,
  inspect,
  rm,
  demo,
  bench,
};

export async function main(argv: string[], io: Out): Promise<number> {
  const [command, ...args] = argv;
  try {
    if (command === '__demo-child') return demoChild(args[0]);
    if (command === undefined) {
      io.err(helpText('main')!.trimEnd());
      return EXIT_USAGE;
    }
    if (command === '--help' || command === '-h') return help('main', io);
    if (command === '--version' || command === '-v') return version(io);
    if (command === 'help') {
      const topic = args[0] ?? 'main';
      if (!hasHelp(topic) || topic === 'main') {
        if (args[0] !== undefined)
          throw new UsageError(`no command ${JSON.stringify(args[0])}; commands: ${Object.keys(COMMANDS).join(', ')}`);
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
    io.err(
      `fastipc: ${e.message?.replace(/^fastipc: /, '') ?? String(err)}` +
        `${e.code && !e.message?.includes(e.code) ? ` (${e.code})` : ''}`,
    );
    return EXIT_FAILED;
  }
}

if (!isMainThread && isDemoWorker(workerData)) {
  demoWorker(workerData); // the demo's worker threads run this file too
} else {
  const io: Out = { out: (t) => process.stdout.write(t + '\n'), err: (t) => process.stderr.write(t + '\n') };
  void main(process.argv.slice(2), io).then((code) => (process.exitCode = code));
}
