// A small ELF reader for the prebuild checks: machine, DT_NEEDED libraries, the symbol
// versions needed from each (GNU verneed) and the dynamic symbols left undefined.
// Only what those checks use; ELF64 little-endian only (every prebuild is).
import fs from 'node:fs';

const MACHINES = { 62: 'x64', 183: 'arm64' };
const SHT_DYNSYM = 11;
const SHT_DYNAMIC = 6;
const SHT_GNU_VERNEED = 0x6ffffffe;
const DT_NEEDED = 1;

/**
 * @returns {{ arch: string, type: number, interp: boolean, needed: string[], versions: Record<string, string[]>,
 *   undefinedSymbols: string[] }}
 */
export function readElf(file) {
  const b = fs.readFileSync(file);
  if (b.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${file}: not an ELF file`);
  if (b[4] !== 2 || b[5] !== 1) throw new Error(`${file}: not ELF64 little-endian`);
  const type = b.readUInt16LE(16);
  const machine = b.readUInt16LE(18);
  const phoff = Number(b.readBigUInt64LE(32));
  const shoff = Number(b.readBigUInt64LE(40));
  const phentsize = b.readUInt16LE(54);
  const phnum = b.readUInt16LE(56);
  const shentsize = b.readUInt16LE(58);
  const shnum = b.readUInt16LE(60);

  let interp = false;
  for (let i = 0; i < phnum; i++) if (b.readUInt32LE(phoff + i * phentsize) === 3) interp = true; // PT_INTERP

  const sections = Array.from({ length: shnum }, (_, i) => {
    const o = shoff + i * shentsize;
    return {
      type: b.readUInt32LE(o + 4),
      offset: Number(b.readBigUInt64LE(o + 24)),
      size: Number(b.readBigUInt64LE(o + 32)),
      link: b.readUInt32LE(o + 40),
      info: b.readUInt32LE(o + 44),
      entsize: Number(b.readBigUInt64LE(o + 56)),
    };
  });
  const str = (sec, at) => {
    const start = sections[sec].offset + at;
    return b.toString('latin1', start, b.indexOf(0, start));
  };

  const needed = [];
  const dynamic = sections.find((s) => s.type === SHT_DYNAMIC);
  if (dynamic) {
    for (let o = dynamic.offset; o < dynamic.offset + dynamic.size; o += 16) {
      const tag = Number(b.readBigInt64LE(o));
      if (tag === 0) break;
      if (tag === DT_NEEDED) needed.push(str(dynamic.link, Number(b.readBigUInt64LE(o + 8))));
    }
  }

  const versions = {};
  const verneed = sections.find((s) => s.type === SHT_GNU_VERNEED);
  if (verneed) {
    let o = verneed.offset;
    for (let n = 0; n < verneed.info; n++) {
      const cnt = b.readUInt16LE(o + 2);
      const fileName = str(verneed.link, b.readUInt32LE(o + 4));
      let a = o + b.readUInt32LE(o + 8);
      const names = [];
      for (let k = 0; k < cnt; k++) {
        names.push(str(verneed.link, b.readUInt32LE(a + 8)));
        a += b.readUInt32LE(a + 12);
      }
      versions[fileName] = names;
      const next = b.readUInt32LE(o + 12);
      if (!next) break;
      o += next;
    }
  }

  const undefinedSymbols = [];
  const dynsym = sections.find((s) => s.type === SHT_DYNSYM);
  if (dynsym) {
    for (let o = dynsym.offset + dynsym.entsize; o < dynsym.offset + dynsym.size; o += dynsym.entsize) {
      if (b.readUInt16LE(o + 6) === 0) undefinedSymbols.push(str(dynsym.link, b.readUInt32LE(o))); // st_shndx UNDEF
    }
  }
  return { arch: MACHINES[machine] ?? `machine ${machine}`, type, interp, needed, versions, undefinedSymbols };
}

/** 2.28 -> [2, 28]; compares glibc version strings. */
export function compareGlibc(a, b) {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

/**
 * What a prebuild needs, judged from its ELF file: problems as strings (none: it fits).
 * @param {{ arch: string, libc: 'glibc' | 'musl', glibcFloor: string }} want
 */
export function checkPrebuild(file, want) {
  const e = readElf(file);
  const problems = [];
  if (e.type !== 3) problems.push(`not a shared object (e_type ${e.type})`);
  if (e.interp) problems.push('has a program interpreter');
  if (e.arch !== want.arch) problems.push(`machine is ${e.arch}, not ${want.arch}`);
  const glibcVersions = Object.values(e.versions)
    .flat()
    .filter((v) => v.startsWith('GLIBC_') && /^GLIBC_[0-9.]+$/.test(v))
    .map((v) => v.slice(6));
  if (want.libc === 'glibc') {
    if (!e.needed.includes('libc.so.6'))
      problems.push(`needs ${e.needed.join(', ') || 'nothing'}, not glibc's libc.so.6`);
    const above = glibcVersions.filter((v) => compareGlibc(v, want.glibcFloor) > 0);
    if (above.length) problems.push(`needs GLIBC_${above.join(', GLIBC_')}, above the floor GLIBC_${want.glibcFloor}`);
  } else {
    if (glibcVersions.length)
      problems.push(`needs glibc symbol versions (${glibcVersions.join(', ')}): not a musl build`);
    if (e.needed.some((n) => n.startsWith('libc.so.6') || n.startsWith('libpthread.so.0')))
      problems.push(`needs glibc libraries: ${e.needed.join(', ')}`);
    if (!e.needed.some((n) => n === 'libc.so' || n.startsWith('libc.musl-')))
      problems.push(`needs ${e.needed.join(', ') || 'nothing'}, not musl's libc`);
  }
  if (!e.undefinedSymbols.includes('napi_create_function'))
    problems.push('does not import Node-API (napi_create_function)');
  return { elf: e, problems };
}
