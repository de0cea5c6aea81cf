/**
 * The registry of kinds: every primitive with a header declares its kind once, in its own
 * file, with `defineKind`; everything that needs to know the kinds (initOrAttach, the Named
 * helpers, `fastipc list/inspect`) reads them here. A new primitive needs no edit elsewhere.
 *
 * A kind is: its class name, the four letters of its magic, its size, its Named namespace
 * (files `fastipc-<named>.<name>`), its layout version, and how to show it (the fields of
 * its words after the header, a decoder of its state, a one-line summary).
 */

/** One int32 word of a primitive, as `fastipc inspect` shows it. */
export interface WordField {
  readonly name: string;
  /** What a value of this word means, in a few words; omitted: the number says it all. */
  readonly meaning?: (value: number) => string;
}

export interface KindSpec<State extends object = object> {
  /** The class name, e.g. 'Mutex'. */
  readonly name: string;
  /** Four printable ASCII letters, stored at +0 as the magic, e.g. 'MUTX'. */
  readonly tag: string;
  /** Bytes of memory the primitive takes (a multiple of 64). */
  readonly bytes: number;
  /** Named namespace: NamedMutex segments are files `fastipc-mutex.<name>`. */
  readonly named: string;
  /** Layout version of the words, stored at +4 (default 1). */
  readonly version?: number;
  /**
   * A part of another primitive (a RwLock's writer lock): known by its magic, so that no
   * other kind attaches to it, but not listed, and with no Named form (`named` unused).
   */
  readonly part?: boolean;
  /** The words after the magic and version, from +8 on; the rest show as reserved. */
  readonly fields: readonly WordField[];
  /** The state, decoded from the primitive's words (index 0 = the magic). */
  decode(words: readonly number[]): State;
  /** The state in a few words, for `fastipc list`. */
  describe(state: State): string;
}

export interface Kind<State extends object = object> extends KindSpec<State> {
  readonly version: number;
  /** The magic as the int32 that memory holds (little-endian letters). */
  readonly magic: number;
  /** Segment file prefix of the Named form, e.g. 'fastipc-mutex.'. */
  readonly namedPrefix: string;
}

/** The int32 of four ASCII letters, little-endian, as it reads from memory. */
export function magicOf(tag: string): number {
  return tag.charCodeAt(0) | (tag.charCodeAt(1) << 8) | (tag.charCodeAt(2) << 16) | (tag.charCodeAt(3) << 24);
}

const byMagic = new Map<number, Kind>();
const byName = new Map<string, Kind>();
const byNamed = new Map<string, Kind>();

/** Registers a kind; a tag, name or Named namespace that another kind has is refused. */
export function defineKind<State extends object>(spec: KindSpec<State>): Kind<State> {
  if (!/^[\x21-\x7e]{4}$/.test(spec.tag)) {
    throw new TypeError(`kind ${spec.name}: tag must be four printable ASCII letters, got ${JSON.stringify(spec.tag)}`);
  }
  if (!/^[a-z][a-z0-9-]*$/.test(spec.named)) {
    throw new TypeError(`kind ${spec.name}: named must be lower-case letters, digits and "-", got ${spec.named}`);
  }
  if (!Number.isInteger(spec.bytes) || spec.bytes < 64 || spec.bytes % 64 !== 0) {
    throw new RangeError(`kind ${spec.name}: bytes must be a positive multiple of 64, got ${spec.bytes}`);
  }
  const magic = magicOf(spec.tag);
  const clash = byMagic.get(magic) ?? byName.get(spec.name) ?? (spec.part ? undefined : byNamed.get(spec.named));
  if (clash) throw new TypeError(`kind ${spec.name} (${spec.tag}, ${spec.named}) clashes with ${clash.name}`);
  const kind: Kind<State> = {
    ...spec,
    version: spec.version ?? 1,
    magic,
    namedPrefix: `fastipc-${spec.named}.`,
  };
  byMagic.set(magic, kind as Kind);
  byName.set(spec.name, kind as Kind);
  if (!spec.part) byNamed.set(spec.named, kind as Kind);
  return kind;
}

/** The kind whose magic this is, if any. */
export function kindOfMagic(magic: number): Kind | undefined {
  return byMagic.get(magic);
}

/** The kind of a Named namespace ('mutex'), if any. */
export function kindOfNamed(named: string): Kind | undefined {
  return byNamed.get(named);
}

/** Every kind but parts, in the order they were defined. */
export function allKinds(): readonly Kind[] {
  return [...byMagic.values()].filter((k) => !k.part);
}

/** "a Mutex", "an Event". */
export function article(name: string): string {
  return /^[AEIOU]/.test(name) ? `an ${name}` : `a ${name}`;
}
