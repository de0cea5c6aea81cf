// What users read in their editor: the built .d.ts documents every public declaration,
// and compiles for a user without @types/node or the DOM library.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.join(__dirname, '..', '..');
const DTS = path.join(ROOT, 'dist', 'index.d.ts');

function hasDoc(node: ts.Node): boolean {
  return ts.getJSDocCommentsAndTags(node).length > 0;
}

function isPrivate(node: ts.Node): boolean {
  return ts.canHaveModifiers(node) && !!ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword);
}

/** Every declaration in `file` that a user sees without a doc comment, as "Class.member". */
function undocumented(file: string): string[] {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const missing: string[] = [];
  const nameOf = (n: ts.Node) => (n as { name?: ts.Node }).name?.getText(source) ?? ts.SyntaxKind[n.kind];
  for (const statement of source.statements) {
    if (ts.isClassDeclaration(statement) || ts.isInterfaceDeclaration(statement)) {
      const owner = nameOf(statement);
      // a Named class's body is empty: its base (NamedClass, NamedHandle) carries the docs
      if (!hasDoc(statement) && !owner.endsWith('_base')) missing.push(owner);
      for (const member of statement.members as ts.NodeArray<ts.Node>) {
        if (isPrivate(member) || ts.isIndexSignatureDeclaration(member)) continue;
        if (!hasDoc(member))
          missing.push(`${owner}.${ts.isConstructorDeclaration(member) ? 'constructor' : nameOf(member)}`);
      }
    } else if (ts.isFunctionDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) {
      if (!hasDoc(statement)) missing.push(nameOf(statement));
    }
  }
  return missing;
}

test('every public class, constructor, method, getter, option and type in dist/index.d.ts has a doc comment', () => {
  expect(undocumented(DTS)).toEqual([]);
});

test('the doc check finds an undocumented member', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fastipc-dts-'));
  try {
    const file = path.join(dir, 'x.d.ts');
    fs.writeFileSync(
      file,
      '/** A thing. */\ndeclare class Thing {\n  /** Documented. */\n  a(): void;\n  b(): void;\n}\n',
    );
    expect(undocumented(file)).toEqual(['Thing.b']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the types compile for a user with neither @types/node nor the DOM library', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fastipc-types-'));
  try {
    fs.mkdirSync(path.join(dir, 'node_modules'));
    fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'fastipc'));
    fs.writeFileSync(
      path.join(dir, 'use.ts'),
      [
        "import { Mutex, NamedSemaphore, FastipcError, type FastipcErrorCode } from 'fastipc';",
        'const m = new Mutex(new SharedArrayBuffer(Mutex.BYTES));',
        'const ok: boolean = m.lock({ timeout: 10 });',
        'const s = new NamedSemaphore("x", { initial: 1, mode: 0o600 });',
        'const signal = { aborted: false, reason: undefined, addEventListener() {}, removeEventListener() {} };',
        'const p: Promise<boolean> = s.waitAsync({ signal });',
        'const code: FastipcErrorCode | undefined = new FastipcError("ETIMEDOUT", "x").code;',
        'const d: Disposable = m.acquire();',
        'export { ok, p, code, d };',
      ].join('\n'),
    );
    fs.writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: 'ES2022',
          module: 'commonjs',
          moduleResolution: 'node',
          lib: ['ES2022', 'ES2024.SharedMemory', 'ESNext.Disposable'],
          types: [],
        },
        files: ['use.ts'],
      }),
    );
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    let out = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' });
    } catch (err) {
      out = (err as { stdout?: string }).stdout ?? String(err);
    }
    expect(out).toBe('');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
