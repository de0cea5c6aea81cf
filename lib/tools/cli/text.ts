/**
 * What the `fastipc` command prints: the STATE column, the header words with their meaning,
 * the inspect view, tables. Each kind says what its words mean (lib/primitives/kinds.ts).
 */
import { kindOfMagic } from '../../primitives';
import { magicText, mismatched, type SegmentInfo } from '../inspect';

/** The STATE column: what is at offset 0 and its state. */
export function stateText(info: SegmentInfo): string {
  if (info.error) return info.error;
  const found = info.words.length ? kindOfMagic(info.words[0]) : undefined;
  const at0 = info.kind === 'shm' || mismatched(info) ? `${found?.name} at +0: ` : '';
  switch (info.status) {
    case 'empty':
      return info.kind === 'shm' ? '-' : 'not initialised';
    case 'unknown':
      return info.kind === 'shm' ? '-' : `not a fastipc primitive (magic ${info.magic})`;
    case 'initialising':
      return `${at0}being initialised`;
    case 'other-version':
      return `${at0}layout version ${info.version} (this fastipc reads ${found?.version})`;
    case 'ready':
      return at0 + found!.describe(info.state!);
  }
}

export function processesText(info: SegmentInfo): string {
  if (info.uid !== process.getuid?.()) return `(uid ${info.uid}'s)`;
  if (info.processes.length === 0) return '-';
  return info.processes.map((p) => `${p.pid} ${p.alive ? 'live' : 'dead'}`).join(', ');
}

export function table(header: string[], rows: string[][], rightAligned: Set<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : rightAligned.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [fmt(header), ...rows.map(fmt)].join('\n');
}

export interface Word {
  offset: number;
  field: string;
  value: number;
  hex: string;
  meaning: string;
}

function hex(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
}

/** The header words of a segment, each with the field it is and what its value means. */
export function headerWords(info: SegmentInfo): Word[] {
  const kind = info.words.length ? kindOfMagic(info.words[0]) : undefined;
  return info.words.map((value, i) => {
    let field = kind ? 'reserved' : 'data';
    let meaning = '';
    if (kind && i === 0) [field, meaning] = ['magic', `'${magicText(value)}' (${kind.name})`];
    else if (kind && i === 1) {
      field = 'version';
      meaning = value === 0 ? 'being initialised' : value === kind.version ? 'current' : 'unknown layout';
    } else if (kind && kind.fields[i - 2]) {
      field = kind.fields[i - 2].name;
      meaning = kind.fields[i - 2].meaning?.(value) ?? '';
    }
    return { offset: 4 * i, field, value, hex: hex(value), meaning };
  });
}

/** Header words as lines; runs of zero reserved (or data) words are folded into one. */
function wordLines(words: Word[]): string[] {
  const lines: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    let j = i;
    if ((w.field === 'reserved' || w.field === 'data') && w.value === 0) {
      while (j + 1 < words.length && words[j + 1].field === w.field && words[j + 1].value === 0) j++;
    }
    const offset = j > i ? `+${w.offset}..+${words[j].offset + 3}` : `+${w.offset}`;
    const value = j > i ? 'all zero' : `${w.hex}  ${String(w.value).padStart(11)}`;
    lines.push(`    ${offset.padEnd(9)} ${value.padEnd(23)}  ${w.field}${w.meaning ? `: ${w.meaning}` : ''}`);
    i = j;
  }
  return lines;
}

export function inspectText(info: SegmentInfo): string {
  const label = info.kind === 'shm' ? 'SharedMemory' : `Named${info.kind[0].toUpperCase()}${info.kind.slice(1)}`;
  const lines = [
    `${info.file}`,
    `  kind       ${info.kind} (${label} ${JSON.stringify(info.name)})`,
    `  file       ${info.path}`,
    `  size       ${info.size} bytes, mode ${info.mode.toString(8).padStart(4, '0')}, uid ${info.uid}`,
    `  state      ${stateText(info)}`,
  ];
  if (info.processes.length === 0) lines.push(`  processes  ${processesText(info)}`);
  else {
    lines.push('  processes');
    for (const p of info.processes) {
      const threads = p.threads
        .map((t) => `tid ${t.tid}${t.alive === p.alive ? '' : t.alive ? ' live' : ' dead'}`)
        .join(', ');
      lines.push(`    pid ${p.pid}  ${p.alive ? 'live' : 'dead'}  (${threads})`);
    }
  }
  if (info.words.length) {
    lines.push(`  header words (int32, little-endian${info.kind === 'shm' ? ', the first 64 bytes' : ''})`);
    lines.push(...wordLines(headerWords(info)));
  }
  return lines.join('\n');
}

/** A segment for --json: without the raw words, the mode as octal text ("0600"). */
export function listJson(info: SegmentInfo): Omit<SegmentInfo, 'words' | 'mode'> & { mode: string } {
  const { words: _words, mode, ...rest } = info;
  return { ...rest, mode: mode.toString(8).padStart(4, '0') };
}
