// Copies the figures of bench/results/latest.md into README.md, between the
// <!-- bench:start --> and <!-- bench:end --> markers, one row per candidate:
//   node bench/readme.mjs
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const latest = fs.readFileSync(`${root}bench/results/latest.md`, 'utf8');
const readme = fs.readFileSync(`${root}README.md`, 'utf8');

const field = (name) => latest.match(new RegExp(`^- ${name}: (.*)$`, 'm'))?.[1];
const rows = [];
let comparison = '';
let baseline = '';
for (const line of latest.split('\n')) {
  if (!line.startsWith('| ') || line.startsWith('| bench ')) continue;
  const c = line
    .split('|')
    .slice(1, -1)
    .map((s) => s.trim());
  if (c.length < 10) continue;
  const [, name, impl, median, , , unit, ratio, target, result] = c;
  if (name) {
    comparison = name;
    baseline = '—'; // (a figure without a baseline: syscalls per operation)
  }
  if (ratio === 'baseline') baseline = `${impl} ${median} ${unit}`;
  else
    rows.push(
      `| ${comparison} | ${baseline} | ${impl} ${median} ${unit} | ${ratio} | ` +
        `${target ? `${target} ${result.replace(/\*/g, '')}` : ''} |`,
    );
}
if (!rows.length) throw new Error('bench/results/latest.md: no rows found');
const block = [
  '<!-- bench:start -->',
  `- date: ${field('date')}`,
  `- machine: ${field('machine')}`,
  `- commit: ${field('commit')}`,
  '',
  '| comparison | baseline | fastipc | ratio | target |',
  '|---|---|---|---|---|',
  ...rows,
  '<!-- bench:end -->',
].join('\n');
const start = readme.indexOf('<!-- bench:start -->');
const end = readme.indexOf('<!-- bench:end -->');
if (start < 0 || end < start) throw new Error('README.md: bench markers not found');
fs.writeFileSync(`${root}README.md`, readme.slice(0, start) + block + readme.slice(end + '<!-- bench:end -->'.length));
console.log(`README.md: ${rows.length} rows from bench/results/latest.md`);
