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
 */
import { FastipcError } from '../core/errors';
import { article, kindOfMagic, type Kind } from './kinds';

export const MAGIC = 0;
export const VERSION = 1;

const INIT_GRACE_MS = 1000;

/**
 * Initialises the primitive of `kind` at `view` (index 0 = its byteOffset) or attaches to
 * it. Returns true if this call initialised it.
 */
export function initOrAttach(view: Int32Array, kind: Kind, byteOffset: number, init: () => void): boolean {
  const found = Atomics.compareExchange(view, MAGIC, 0, kind.magic);
  if (found === 0) {
    init();
    Atomics.store(view, MAGIC + 1, kind.version);
    return true;
  }
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
