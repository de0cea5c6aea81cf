/**
 * The header every primitive (but FutexWord and the atomics) starts with, and the
 * initialise-or-attach step.
 *
 * | offset | meaning                                                              |
 * |--------|----------------------------------------------------------------------|
 * | +0     | magic: four ASCII letters naming the kind ('MUTX', ...: kinds.ts)    |
 * | +4     | layout version; 0 while the initialiser is still writing the fields  |
 *
 * Zeroed memory is "fresh". Whoever wins CAS(magic, 0 -> MAGIC) writes the fields and
 * then stores the version; everyone else waits for the version and checks it. So an
 * attacher never uses fields that are still being written (a semaphore's initial count).
 *
 * A primitive of more than one 64-byte line (a RwLock) is created only on zeroed memory
 * (a RangeError otherwise, before anything is written), and its creator marks each later
 * line that its init() left without a primitive of its own (a part, kinds.ts):
 *
 * | offset | meaning                                                              |
 * |--------|----------------------------------------------------------------------|
 * | +0     | CONTINUED: no kind's magic (its low byte is not a printable letter)  |
 * | +4     | bytes back to the primitive's start                                  |
 *
 * so that a primitive made on such a line is a RangeError that names the one it is in.
 */
import { FastipcError } from '../core/errors';
import { article, kindOfMagic, type Kind } from './kinds';

export const MAGIC = 0;
export const VERSION = 1;
/** Bytes of a line: every primitive with a header starts on one and takes whole lines. */
export const LINE = 64;
/** Word 0 of a later line of a multi-line primitive; word 1 holds the bytes back to its start. */
export const CONTINUED = 0x2d2d2d01;

const INIT_GRACE_MS = 1000;

/**
 * Initialises the primitive of `kind` at `view` (index 0 = its byteOffset) or attaches to
 * it. Returns true if this call initialised it.
 */
export function initOrAttach(view: Int32Array, kind: Kind, byteOffset: number, init: () => void): boolean {
  if (view.length > LINE / 4 && Atomics.load(view, MAGIC) === 0) {
    try {
      checkZeroed(view, kind, byteOffset);
    } catch (err) {
      // not zeroed because another creator took the magic meanwhile and writes its lines: attach
      if (Atomics.load(view, MAGIC) === 0) throw err;
    }
  }
  const found = Atomics.compareExchange(view, MAGIC, 0, kind.magic);
  if (found === 0) {
    init();
    for (let at = LINE / 4; at < view.length; at += LINE / 4) {
      if (Atomics.load(view, at) === 0) {
        view[at + 1] = at * 4;
        Atomics.store(view, at, CONTINUED);
      }
    }
    Atomics.store(view, MAGIC + 1, kind.version);
    return true;
  }
  if (found === CONTINUED) throw inside(view, kind, byteOffset);
  if (found !== kind.magic) {
    const other = kindOfMagic(found);
    throw new TypeError(
      other
        ? `memory at byteOffset ${byteOffset} holds ${article(other.name)}, not ${article(kind.name)}`
        : `memory at byteOffset ${byteOffset} holds no ${kind.name} (magic 0x${(found >>> 0).toString(16)}): ` +
            'not zeroed and not a fastipc primitive',
    );
  }
  let v = Atomics.load(view, MAGIC + 1);
  const deadline = performance.now() + INIT_GRACE_MS;
  while (v === 0) {
    // The initialiser writes a handful of fields; this loop practically never turns.
    if (performance.now() > deadline) {
      throw new FastipcError(
        'ERR_FASTIPC_NOT_INITIALISED',
        `the ${kind.name} at byteOffset ${byteOffset} was never initialised (its initialiser died?)`,
      );
    }
    v = Atomics.load(view, MAGIC + 1);
  }
  if (v !== kind.version) {
    throw new TypeError(
      v > kind.version
        ? `the ${kind.name} at byteOffset ${byteOffset} has layout version ${v}, newer than this fastipc's ` +
            `${kind.version}: upgrade fastipc`
        : v > 0 && v < kind.version
          ? `the ${kind.name} at byteOffset ${byteOffset} has layout version ${v}, older than this fastipc's ` +
            `${kind.version}: an older fastipc made it; use that one, or remove it once no process uses it ` +
            '(for a Named one: fastipc rm NAME)'
          : `the ${kind.name} at byteOffset ${byteOffset} has unknown layout version ${v}`,
    );
  }
  return false;
}

/** A multi-line primitive is created only on zeroed memory: otherwise nothing is written. */
function checkZeroed(view: Int32Array, kind: Kind, byteOffset: number): void {
  const at = view.findIndex((w, i) => i >= LINE / 4 && w !== 0);
  if (at < 0) return;
  const other = at % (LINE / 4) === 0 ? kindOfMagic(view[at]) : undefined;
  throw new RangeError(
    `${article(kind.name)} at byteOffset ${byteOffset} takes ${view.length * 4} bytes, which must be zeroed to ` +
      `create it: the word at byteOffset ${byteOffset + at * 4} is not` +
      (other ? ` (${article(other.name)} is there)` : ''),
  );
}

/** The RangeError for a primitive made on a later line of a multi-line one. */
function inside(view: Int32Array, kind: Kind, byteOffset: number): RangeError {
  const back = view[MAGIC + 1];
  const start = view.byteOffset - back;
  const ok = back > 0 && back % LINE === 0 && start >= 0;
  const outer = ok ? kindOfMagic(new Int32Array(view.buffer, start, 1)[0]) : undefined;
  return new RangeError(
    `memory at byteOffset ${byteOffset} is inside ` +
      (outer ? `the ${outer.name} at byteOffset ${byteOffset - back}` : 'another primitive') +
      `, not free for ${article(kind.name)}`,
  );
}
