#!/usr/bin/env node
/**
 * The README's source map: every file of lib/ and shim/, each with the first sentence of
 * its top comment.
 *
 *   node scripts/source-map.mjs           print it
 *   node scripts/source-map.mjs --write   put it into README.md between the source-map markers
 *
 * test/structure/readme.test.ts checks that README.md holds what this prints.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BEGIN = '<!-- source-map:begin -->';
const END = '<!-- source-map:end -->';

function files(dir) {
  return fs
    .readdirSync(path.join(ROOT, dir), { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .flatMap((e) => {
      const rel = path.posix.join(dir, e.name);
      return e.isDirectory() ? files(rel) : /\.(ts|c|h)$/.test(e.name) ? [rel] : [];
    });
}

/** The first sentence of a file's leading block comment (its first paragraph), on one line. */
export function summary(text) {
  const m = /^(?:#![^\n]*\n)?\s*\/\*\*?([\s\S]*?)\*\//.exec(text);
  if (!m) return '';
  const lines = m[1].split('\n').map((l) => l.replace(/^\s*\*\s?/, '').trim());
  const paragraph = [];
  for (const l of lines) {
    if (l === '' && paragraph.length) break;
    if (l !== '') paragraph.push(l);
    if (/[:.]$/.test(l)) break; // a line that ends a sentence, or introduces a list
  }
  const body = paragraph.join(' ');
  const end = body.search(/(?<!\be\.g|\bi\.e)\.(\s|$)/);
  return (end >= 0 ? body.slice(0, end + 1) : body.replace(/[:,;]$/, '.')).replace(/\s+/g, ' ');
}

export function sourceMap() {
  return [...files('lib'), ...files('shim')]
    .map((f) => `- \`${f}\` — ${summary(fs.readFileSync(path.join(ROOT, f), 'utf8')) || '(no top comment)'}`)
    .join('\n');
}

export function readmeMap(readme) {
  const a = readme.indexOf(BEGIN);
  const b = readme.indexOf(END);
  return a < 0 || b < a ? null : readme.slice(a + BEGIN.length, b).trim();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const map = sourceMap();
  if (process.argv.includes('--write')) {
    const file = path.join(ROOT, 'README.md');
    const readme = fs.readFileSync(file, 'utf8');
    const a = readme.indexOf(BEGIN);
    const b = readme.indexOf(END);
    if (a < 0 || b < a) throw new Error(`README.md has no ${BEGIN} ... ${END} block`);
    fs.writeFileSync(file, `${readme.slice(0, a + BEGIN.length)}\n${map}\n${readme.slice(b)}`);
  } else {
    console.log(map);
  }
}
