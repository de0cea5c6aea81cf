/**
 * Codecs: how a Channel turns a message into bytes and back. `encode` runs before the
 * channel is touched (an error there sends nothing), `decode` after the bytes are copied
 * out of shared memory (it gets a private copy it may keep).
 */
import v8 from 'node:v8';
import { describe } from '../core/validate';

/** Turns messages of type T into bytes and back. */
export interface Codec<T> {
  /** The bytes of `value`; it may throw (a TypeError for a value it cannot encode): nothing is sent. */
  encode(value: T): Uint8Array;
  /** The message of `bytes`, a copy owned by the caller. */
  decode(bytes: Uint8Array): T;
}

const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Uint8Array in (a Buffer is one), a fresh Uint8Array out: the default. */
const bytes: Codec<Uint8Array> = {
  encode(value) {
    if (!(value instanceof Uint8Array)) {
      throw new TypeError(`Channel (bytes codec): a message must be a Uint8Array, got ${describe(value)}`);
    }
    return value;
  },
  decode: (b) => b,
};

/** Strings, as UTF-8. */
const utf8: Codec<string> = {
  encode(value) {
    if (typeof value !== 'string') {
      throw new TypeError(`Channel (utf8 codec): a message must be a string, got ${describe(value)}`);
    }
    return Buffer.from(value, 'utf8');
  },
  decode: (b) => asBuffer(b).toString('utf8'),
};

/** Anything JSON.stringify takes (not undefined, functions or symbols), as UTF-8 JSON. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any: a Channel<Job> takes it as Codec<Job>
const json: Codec<any> = {
  encode(value) {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError(`Channel (json codec): ${describe(value)} has no JSON form`);
    return Buffer.from(text, 'utf8');
  },
  decode: (b) => JSON.parse(asBuffer(b).toString('utf8')),
};

/**
 * The structured clone that postMessage uses (node:v8 serialize/deserialize): Maps, Sets,
 * Dates, typed arrays, cycles; not functions.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as json
const v8Codec: Codec<any> = {
  encode: (value) => v8.serialize(value),
  decode: (b) => v8.deserialize(b),
};

/** The codecs that come with fastipc: `bytes` (the default), `utf8`, `json` and `v8`. */
export const codecs = { bytes, utf8, json, v8: v8Codec } as const;

/** @internal A codec option, checked: an object with encode and decode functions. */
export function checkCodec<T>(codec: unknown): Codec<T> {
  if (codec === undefined) return bytes as unknown as Codec<T>;
  const c = codec as Partial<Codec<T>> | null;
  if (typeof c !== 'object' || c === null || typeof c.encode !== 'function' || typeof c.decode !== 'function') {
    throw new TypeError(`codec must be an object with encode and decode functions, got ${describe(codec)}`);
  }
  return c as Codec<T>;
}
