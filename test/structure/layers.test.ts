// The layers of lib/ (README, Layout): every import points down or sideways, never up,
// each layer is its folder, and no file grows past the size that one can read at once.
import fs from 'node:fs';
import path from 'node:path';

const LIB = path.join(__dirname, '..', '..', 'lib');
/** Lower layers first; a file may import from its own layer and those before it. */
const LAYERS = ['core', 'backend', 'primitives', 'named', 'tools', '.'] as const;
const MAX_LINES = 350;

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? files(full) : e.name.endsWith('.ts') ? [full] : [];
  });
}

function layerOf(file: string): number {
  const top = path.relative(LIB, file).split(path.sep)[0];
  const i = LAYERS.indexOf(top as (typeof LAYERS)[number]);
  return i >= 0 ? i : LAYERS.indexOf('.');
}

/** The relative imports of a file (import and export ... from), resolved to files in lib/. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']*)'/gms)) {
    const base = path.resolve(path.dirname(file), m[1]);
    const target = [`${base}.ts`, path.join(base, 'index.ts')].find((f) => fs.existsSync(f));
    if (!target) throw new Error(`${path.relative(LIB, file)} imports ${m[1]}, which is not in lib/`);
    out.push(target);
  }
  return out;
}

test('lib/ has one folder per layer, and nothing else but index.ts', () => {
  const entries = fs.readdirSync(LIB).sort();
  expect(entries).toEqual(['backend', 'core', 'index.ts', 'named', 'primitives', 'tools']);
});

test('every import in lib/ points to its own layer or a lower one', () => {
  const upward: string[] = [];
  for (const file of files(LIB)) {
    for (const target of importsOf(file)) {
      if (layerOf(target) > layerOf(file)) upward.push(`${path.relative(LIB, file)} -> ${path.relative(LIB, target)}`);
    }
  }
  expect(upward).toEqual([]);
});

test('outside lib/primitives, primitives are imported through its index (which fixes the order of kinds)', () => {
  const direct: string[] = [];
  for (const file of files(LIB)) {
    if (layerOf(file) === LAYERS.indexOf('primitives')) continue;
    for (const target of importsOf(file)) {
      const rel = path.relative(LIB, target);
      if (rel.startsWith(`primitives${path.sep}`) && rel !== path.join('primitives', 'index.ts')) {
        direct.push(`${path.relative(LIB, file)} -> ${rel}`);
      }
    }
  }
  expect(direct).toEqual([]);
});

test('this test sees an upward import when there is one', () => {
  // the check above must be able to fail: core/errors.ts importing a primitive would be upward
  const fake = path.join(LIB, 'core', 'errors.ts');
  expect(layerOf(path.join(LIB, 'primitives', 'mutex.ts'))).toBeGreaterThan(layerOf(fake));
  expect(layerOf(path.join(LIB, 'index.ts'))).toBe(LAYERS.length - 1);
});

test(`no file in lib/ is longer than ${MAX_LINES} lines`, () => {
  const long = files(LIB)
    .map((f) => [path.relative(LIB, f), fs.readFileSync(f, 'utf8').trimEnd().split('\n').length] as const)
    .filter(([, n]) => n > MAX_LINES);
  expect(long).toEqual([]);
});
