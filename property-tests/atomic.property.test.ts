// AtomicU32 / AtomicU64 arithmetic equals a BigInt model modulo 2^32 / 2^64, for any
// sequence of operations (fast-check model run).
import fc from 'fast-check';
import { AtomicU32, AtomicU64 } from '../lib';

type Real = { a: AtomicU32; b: AtomicU64 };
type Model = { a: bigint; b: bigint };
const M32 = 1n << 32n;
const M64 = 1n << 64n;
const mod = (x: bigint, m: bigint) => ((x % m) + m) % m;

type Op = 'add' | 'sub' | 'exchange' | 'store' | 'compareExchange';

class U32Command implements fc.Command<Model, Real> {
  constructor(
    readonly op: Op,
    readonly x: number,
    readonly y: number,
  ) {}
  check = () => true;
  run(m: Model, r: Real) {
    const prev = m.a;
    let got: number | void = undefined;
    switch (this.op) {
      case 'add':
        got = r.a.add(this.x);
        m.a = mod(m.a + BigInt(this.x), M32);
        break;
      case 'sub':
        got = r.a.sub(this.x);
        m.a = mod(m.a - BigInt(this.x), M32);
        break;
      case 'exchange':
        got = r.a.exchange(this.x);
        m.a = BigInt(this.x);
        break;
      case 'store':
        r.a.store(this.x);
        m.a = BigInt(this.x);
        break;
      case 'compareExchange':
        // Half the time expect the real current value, so the swap happens.
        got = r.a.compareExchange(this.y % 2 ? Number(prev) : this.y, this.x);
        if (this.y % 2 || BigInt(this.y) === prev) m.a = BigInt(this.x);
        break;
    }
    if (this.op !== 'store') expect(BigInt(got as number)).toBe(prev);
    expect(BigInt(r.a.load())).toBe(m.a);
  }
  toString = () => `u32.${this.op}(${this.x}, ${this.y})`;
}

class U64Command implements fc.Command<Model, Real> {
  constructor(
    readonly op: Op,
    readonly x: bigint,
    readonly y: bigint,
  ) {}
  check = () => true;
  run(m: Model, r: Real) {
    const prev = m.b;
    let got: bigint | void = undefined;
    switch (this.op) {
      case 'add':
        got = r.b.add(this.x);
        m.b = mod(m.b + this.x, M64);
        break;
      case 'sub':
        got = r.b.sub(this.x);
        m.b = mod(m.b - this.x, M64);
        break;
      case 'exchange':
        got = r.b.exchange(this.x);
        m.b = this.x;
        break;
      case 'store':
        r.b.store(this.x);
        m.b = this.x;
        break;
      case 'compareExchange':
        got = r.b.compareExchange(this.y % 2n ? prev : this.y, this.x);
        if (this.y % 2n || this.y === prev) m.b = this.x;
        break;
    }
    if (this.op !== 'store') expect(got).toBe(prev);
    expect(r.b.load()).toBe(m.b);
  }
  toString = () => `u64.${this.op}(${this.x}n, ${this.y}n)`;
}

const ops = fc.constantFrom<Op>('add', 'sub', 'exchange', 'store', 'compareExchange');
const u32 = fc.oneof(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.constantFrom(0, 1, 2 ** 31, 2 ** 32 - 1));
const u64 = fc.oneof(fc.bigInt({ min: 0n, max: M64 - 1n }), fc.constantFrom(0n, 1n, 1n << 63n, M64 - 1n));

test('AtomicU32 and AtomicU64 match a BigInt model modulo 2^32 and 2^64', () => {
  const commands = [
    fc.tuple(ops, u32, u32).map(([op, x, y]) => new U32Command(op, x, y)),
    fc.tuple(ops, u64, u64).map(([op, x, y]) => new U64Command(op, x, y)),
  ];
  fc.assert(
    fc.property(fc.commands(commands, { maxCommands: 200 }), fc.boolean(), (cmds, shared) => {
      const memory = shared ? new SharedArrayBuffer(16) : new ArrayBuffer(16);
      const setup = () => ({
        model: { a: 0n, b: 0n },
        real: { a: new AtomicU32(memory, 0), b: new AtomicU64(memory, 8) },
      });
      fc.modelRun(setup, cmds);
    }),
    { numRuns: 300 },
  );
});
