/**
 * fastipc's segments seen from outside: which exist, what each holds and who uses it,
 * read without mapping or registering (the CLI's `list`, `inspect` and `rm`).
 *
 * A segment is a regular file in the shm folder (`shmDir()`), named by kind: `fastipc.<name>`
 * for a SharedMemory (kind 'shm'), and `fastipc-<named>.<name>` for each Named primitive,
 * whose namespace `<named>` ('mutex', 'semaphore', 'event', ...) its kind declares
 * (lib/primitives/kinds.ts). What the words of each kind mean comes from the kind as well.
 *
 * `<file>.tmp-<pid>-<hex>` is a creator's temporary (SharedMemory publishes a new segment
 * with link(2)), and the PID directory (`fastipc-<uid>`) is a folder: neither is a segment.
 *
 * State comes from read(2) of the first 64 bytes. On tmpfs a read copies from the very
 * pages that users have mapped, so each aligned word is as current as an Atomics.load;
 * the words are not one atomic snapshot, which a display can live with.
 */
import fs from 'node:fs';
import path from 'node:path';
import { forget, locked, registrations } from '../named/registry';
import { PREFIX, shmDir } from '../named/shared-memory';
import { allKinds, kindOfMagic, kindOfNamed } from '../primitives';

/** A segment kind: a Named namespace ('mutex', ...: the kinds' `named`), or 'shm' for a SharedMemory. */
export type Kind = string;

/** Every segment kind: each Named kind, then 'shm'. */
export function segmentKinds(): Kind[] {
  return [...allKinds().map((k) => k.named), 'shm'];
}

function filePrefix(kind: Kind): string | undefined {
  return kind === 'shm' ? PREFIX : kindOfNamed(kind)?.namedPrefix;
}

const HEADER_BYTES = 64;
const TEMPORARY = /^(.+)\.tmp-(\d+)-[0-9a-f]+$/;
const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

/** Word indexes (int32) of the header. */
const MAGIC = 0;
const VERSION_WORD = 1;

/** What the header says: whether a primitive is there and ready to read. */
export type HeaderStatus =
  | 'empty' //          magic 0: nothing initialised at offset 0
  | 'initialising' //   a known magic, version still 0
  | 'ready' //          a known magic and this fastipc's layout version
  | 'other-version' //  a known magic, a layout this fastipc does not know
  | 'unknown'; //       a non-zero magic that names no fastipc primitive

/** A primitive's state: its kind's name, then what its kind decodes from its words. */
export interface PrimitiveState {
  primitive: string;
  [field: string]: unknown;
}

export interface ThreadInfo {
  tid: number;
  start: number;
  alive: boolean;
}

export interface ProcessInfo {
  pid: number;
  /** True while any of its registered threads runs. */
  alive: boolean;
  threads: ThreadInfo[];
}

export interface SegmentInfo {
  name: string;
  kind: Kind;
  /** The file's name in the shm folder, e.g. 'fastipc-mutex.jobs'. */
  file: string;
  path: string;
  size: number;
  uid: number;
  mode: number;
  /** The header's magic as its four letters ('MUTX'), or as hex when not ASCII; null if 0. */
  magic: string | null;
  version: number;
  status: HeaderStatus;
  /** The primitive at offset 0 and its state, when status is 'ready'. */
  state: PrimitiveState | null;
  /** Registered users, from the PID directory (only ours: it is per uid). */
  processes: ProcessInfo[];
  /** Some registered process still runs. */
  live: boolean;
  /** The first 16 int32 words (fewer if the file is shorter). */
  words: number[];
  /** Why the segment could not be read (a symlink, no permission). */
  error?: string;
}

/** The kind and name of a segment file, or null for anything else (temporaries too). */
export function parseFile(file: string): { kind: Kind; name: string } | null {
  if (TEMPORARY.test(file)) return null;
  for (const kind of segmentKinds()) {
    const prefix = filePrefix(kind)!;
    if (file.startsWith(prefix) && file.length > prefix.length) return { kind, name: file.slice(prefix.length) };
  }
  return null;
}

export function fileOf(kind: Kind, name: string): string {
  const prefix = filePrefix(kind);
  if (prefix === undefined) throw new TypeError(`no segment kind ${JSON.stringify(kind)}`);
  return prefix + name;
}

/** Reads up to the first 64 bytes of a regular file, refusing symlinks; with its stat. */
export function readHeader(file: string): { words: number[]; stat: fs.Stats } {
  const fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EINVAL' });
    const bytes = Buffer.alloc(HEADER_BYTES);
    const got = fs.readSync(fd, bytes, 0, HEADER_BYTES, 0);
    const words: number[] = [];
    for (let at = 0; at + 4 <= got; at += 4) words.push(bytes.readInt32LE(at));
    return { words, stat };
  } finally {
    fs.closeSync(fd);
  }
}

/** The four letters of a magic if they are printable ASCII, else its hex. */
export function magicText(magic: number): string | null {
  if (magic === 0) return null;
  const letters = [0, 8, 16, 24].map((shift) => (magic >>> shift) & 0xff);
  if (letters.every((c) => c >= 0x20 && c < 0x7f)) return String.fromCharCode(...letters);
  return `0x${(magic >>> 0).toString(16).padStart(8, '0')}`;
}

function headerStatus(words: number[]): HeaderStatus {
  const magic = words[MAGIC] ?? 0;
  if (magic === 0) return 'empty';
  const kind = kindOfMagic(magic);
  if (!kind) return 'unknown';
  const version = words[VERSION_WORD] ?? 0;
  if (version === 0) return 'initialising';
  return version === kind.version ? 'ready' : 'other-version';
}

/** The state of the primitive whose header is `words` (status 'ready'), as its kind decodes it. */
export function decodeState(words: number[]): PrimitiveState | null {
  if (words.length < 16 || headerStatus(words) !== 'ready') return null;
  const kind = kindOfMagic(words[MAGIC])!;
  return { primitive: kind.name, ...kind.decode(words) };
}

/** The registered users of segment `file`, by process. */
export function processesOf(file: string): ProcessInfo[] {
  const byPid = new Map<number, ProcessInfo>();
  for (const r of registrations(file)) {
    let p = byPid.get(r.pid);
    if (!p) byPid.set(r.pid, (p = { pid: r.pid, alive: false, threads: [] }));
    p.threads.push({ tid: r.tid, start: r.start, alive: r.alive });
    p.alive ||= r.alive;
  }
  return [...byPid.values()].sort((a, b) => a.pid - b.pid);
}

/** Everything about one segment file of the shm folder; null if it is gone. */
export function readSegment(file: string, dir = shmDir()): SegmentInfo | null {
  const parsed = parseFile(file);
  if (!parsed) return null;
  const full = path.join(dir, file);
  let lst: fs.Stats;
  try {
    lst = fs.lstatSync(full);
  } catch {
    return null;
  }
  if (!lst.isFile() && !lst.isSymbolicLink()) return null; // the PID directory, or anything else
  const processes = processesOf(file);
  const info: SegmentInfo = {
    ...parsed,
    file,
    path: full,
    size: lst.size,
    uid: lst.uid,
    mode: lst.mode & 0o7777,
    magic: null,
    version: 0,
    status: 'empty',
    state: null,
    processes,
    live: processes.some((p) => p.alive),
    words: [],
  };
  if (lst.isSymbolicLink())
    return { ...info, error: 'a symlink (fastipc refuses those unless allowForeign); not read' };
  try {
    const { words, stat } = readHeader(full);
    Object.assign(info, { size: stat.size, uid: stat.uid, mode: stat.mode & 0o7777, words });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    return { ...info, error: `not readable (${code ?? (err as Error).message})` };
  }
  info.magic = magicText(info.words[MAGIC] ?? 0);
  info.version = info.words[VERSION_WORD] ?? 0;
  info.status = headerStatus(info.words);
  info.state = decodeState(info.words);
  return info;
}

/** Every segment in the shm folder, sorted by name, then kind. */
export function listSegments(dir = shmDir()): SegmentInfo[] {
  const out: SegmentInfo[] = [];
  for (const file of fs.readdirSync(dir)) {
    if (!file.startsWith('fastipc')) continue;
    const info = readSegment(file, dir);
    if (info) out.push(info);
  }
  const order = segmentKinds();
  return out.sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : order.indexOf(a.kind) - order.indexOf(b.kind),
  );
}

/** The segments named `name`, of every kind or of `kind` only. */
export function findSegments(name: string, kind?: Kind, dir = shmDir()): SegmentInfo[] {
  const out: SegmentInfo[] = [];
  for (const k of kind ? [kind] : segmentKinds()) {
    const info = readSegment(fileOf(k, name), dir);
    if (info) out.push(info);
  }
  return out;
}

/** Whether the primitive at offset 0 is not the one the kind promises (a NamedMutex file holding a Semaphore). */
export function mismatched(info: SegmentInfo): boolean {
  const expected = kindOfNamed(info.kind);
  const found = info.words.length ? kindOfMagic(info.words[MAGIC]) : undefined;
  return expected !== undefined && found !== undefined && found !== expected;
}

/**
 * Unlinks segment `file` under the PID directory's lock and forgets its registrations:
 * the unlink and the forget are one step for every opener and closer. Processes that
 * have it mapped keep their memory; the next open creates a new segment. Returns false
 * if it was already gone.
 */
export function removeSegment(file: string, dir = shmDir()): boolean {
  return locked(() => {
    try {
      fs.unlinkSync(path.join(dir, file));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    forget(file);
    return true;
  });
}

export interface Removed {
  file: string;
  why: string;
}

function pidRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH'; // EPERM: it runs, as another user
  }
}

function ownedByUs(st: fs.Stats): boolean {
  return st.uid === process.getuid?.();
}

/**
 * Removes, under the PID directory's lock, every segment of ours with no live registered
 * user, and the temporaries of creators that died. Opening registers under the same
 * lock, so a segment that has no live user here has none at all (among processes that
 * share this PID directory). Other users' segments are left alone: their registrations
 * are in their own PID directory.
 */
export function removeStale(dir = shmDir()): Removed[] {
  return locked(() => {
    const removed: Removed[] = [];
    for (const file of fs.readdirSync(dir)) {
      if (!file.startsWith('fastipc')) continue;
      const full = path.join(dir, file);
      let st: fs.Stats;
      try {
        st = fs.lstatSync(full);
      } catch {
        continue;
      }
      if (!st.isFile() || !ownedByUs(st)) continue;
      const temp = TEMPORARY.exec(file);
      if (temp) {
        const pid = Number(temp[2]);
        if (parseFile(temp[1]) && !pidRuns(pid)) {
          fs.rmSync(full, { force: true });
          removed.push({ file, why: `temporary of pid ${pid}, which is gone` });
        }
        continue;
      }
      if (!parseFile(file)) continue;
      const regs = registrations(file);
      if (regs.some((r) => r.alive)) continue;
      fs.rmSync(full, { force: true });
      forget(file);
      const dead = new Set(regs.map((r) => r.pid));
      removed.push({
        file,
        why: dead.size ? `every user is gone (pid ${[...dead].join(', ')})` : 'no registered user',
      });
    }
    return removed;
  });
}
