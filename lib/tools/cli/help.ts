/**
 * The `fastipc` command's help texts. The kinds they list come from the registry of kinds
 * (lib/primitives/kinds.ts), so a new primitive shows up here without an edit.
 */
import { allKinds } from '../../primitives';

const named = () => allKinds().map((k) => k.named);
const kindChoice = () => [...named(), 'shm'].join('|');

/** The help of each command ('main': the command itself), built when asked for. */
export function helpText(command: string): string | undefined {
  const texts: Record<string, () => string> = HELP;
  return texts[command]?.();
}

export function hasHelp(command: string): boolean {
  return command in HELP;
}

const HELP: Record<string, () => string> = {
  main: () => `Usage: fastipc <command> [options]

Futex-based synchronization primitives over shared memory. This command shows and
removes the shared-memory segments that fastipc programs use on this machine.

Commands:
  list [--json]                      every segment: kind, name, state, size, processes
  inspect NAME [--kind K] [--json]   one segment in detail, with its header words
  rm NAME [--kind K]                 unlink a segment
  rm --stale                         unlink the segments that no running process uses
  demo                               what fastipc does, run on this machine (a few seconds)
  bench [--quick] [--json FILE] [--out DIR] [FILTER...]
                                     run the benchmark suite; its table goes to DIR (default: .)
  help [COMMAND]                     this text, or a command's

Options:
  -h, --help       help (also after a command: fastipc list --help)
  -v, --version    print fastipc's version

Segments live in $FASTIPC_SHM_DIR or /dev/shm; who uses them is recorded in the PID
directory, $FASTIPC_PID_DIR or /dev/shm/fastipc-<uid>.
Exit status: 0 ok, 1 not found or failed, 2 usage error.
`,
  list: () => `Usage: fastipc list [--json]

Lists every fastipc segment in ${'$'}FASTIPC_SHM_DIR or /dev/shm:
  KIND       ${named().join(', ')} (${allKinds()
    .map((k) => `Named${k.name}`)
    .join(', ')})
             or shm (SharedMemory)
  STATE      what each kind says of itself (a mutex: locked by pid/tid, or unlocked; a
             semaphore: its count; ...); shm: the primitive at offset 0, if any
  SIZE       bytes
  PROCESSES  the registered users, each live or dead

Options:
  --json       print a JSON array, one object per segment
  -h, --help   this text
`,
  inspect: () => `Usage: fastipc inspect NAME [--kind ${kindChoice()}] [--json]

Shows one segment as \`list\` does, plus its file, mode, owner, each registered thread and
its header words (offset, value, meaning).

Options:
  --kind K     which namespace, when NAME exists in more than one
  --json       print one JSON object (with a "header" array of words)
  -h, --help   this text

Exit status: 1 if there is no such segment, 2 if NAME is ambiguous without --kind.
`,
  rm: () => `Usage: fastipc rm NAME [--kind ${kindChoice()}]
       fastipc rm --stale

Unlinks a segment, under the PID directory's lock, and forgets its registrations.
Processes that have it open keep their memory; the next open of NAME creates a new one.

  --stale      remove every segment of ours that no running process has open (its users
               all died or never registered), and the temporaries of creators that died
  --kind K     which namespace, when NAME exists in more than one
  -h, --help   this text

Exit status: 1 if there is no such segment, 2 if NAME is ambiguous without --kind.
`,
  demo: () => `Usage: fastipc demo

Runs fastipc on this machine for a few seconds and prints what ran, how fast, and whether
each result was exact: worker threads counting under a Mutex; processes counting with an
AtomicU64 and under a NamedMutex; a NamedSemaphore ping-pong; a NamedEvent waking several
processes at once. Removes every segment it made. Exit status 0 only if all was exact.

Options:
  -h, --help   this text
`,
  bench: () => `Usage: fastipc bench [--quick] [--json FILE] [--only NAME] [--out DIR] [FILTER...]

Runs the benchmark suite (node bench/run.mjs in the package root) and prints its table;
FILTER (or --only NAME) keeps the benches whose file name contains it. Environment knobs
such as RUNS and BENCH_SCALE are passed through. The table is written to
DIR/fastipc-bench.md, by default in the current folder (never inside the installed package).

Options:
  --quick      a smoke run of about 40 s (BENCH_SCALE=0.1, RUNS=5 unless set)
  --json FILE  also write the rows as JSON (fields: BENCHMARKS.md, JSON)
  --only NAME  only the benches whose file name contains NAME (may repeat)
  --out DIR    the folder for fastipc-bench.md (default: the current folder)
  -h, --help   this text
`,
};
