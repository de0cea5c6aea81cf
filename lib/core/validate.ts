/**
 * Argument checks at the public boundary. Messages name the argument and the rule;
 * the error type says what kind of mistake it is (STYLE.md habit 8):
 * RangeError for numbers out of range, TypeError for wrong kinds.
 */

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'object' && value !== null) return value.constructor?.name ?? 'object';
  return String(value);
}

/** An integer in [min, max]; a non-number is a TypeError, anything else a RangeError. */
export function checkInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} ${describe(value)} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** A timeout in milliseconds: a number >= 0 (fractions allowed), Infinity for none. */
export function checkTimeout(value: unknown, name = 'timeout'): number {
  if (value === undefined) return Infinity;
  if (typeof value !== 'number')
    throw new TypeError(`${name} must be a number of milliseconds, got ${describe(value)}`);
  if (Number.isNaN(value) || value < 0) {
    throw new RangeError(`${name} ${describe(value)} must be a number of milliseconds >= 0 (or Infinity)`);
  }
  return value;
}

export function checkOptions<T extends object>(value: unknown, name = 'options'): Partial<T> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null)
    throw new TypeError(`${name} must be an object, got ${describe(value)}`);
  return value as Partial<T>;
}
