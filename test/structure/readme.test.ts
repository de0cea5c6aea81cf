// The README's layout section is the map of the tree: every folder of lib/ in its table,
// and the source map (scripts/source-map.mjs) as the files are now.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

test('the source map in the README lists every file of lib/ and shim/ with its summary, and nothing else', () => {
  // (jest cannot import the .mjs itself: ask it what the map is now)
  const now = execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'source-map.mjs')], { encoding: 'utf8' });
  const begin = '<!-- source-map:begin -->';
  const inReadme = readme.slice(readme.indexOf(begin) + begin.length, readme.indexOf('<!-- source-map:end -->'));
  expect(inReadme.trim()).toBe(now.trim()); // if not: node scripts/source-map.mjs --write
});

test("the README's layout table names every folder of lib/ and shim/", () => {
  const folders = ['lib', 'shim'].flatMap((top) =>
    fs
      .readdirSync(path.join(ROOT, top), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => `\`${top}/${e.name}/\``),
  );
  const section = readme.slice(readme.indexOf('## Layout'), readme.indexOf('<!-- source-map:begin -->'));
  expect(folders.filter((f) => !section.includes(f))).toEqual([]);
});
