#!/usr/bin/env node
/**
 * After tsup: the bundled .d.ts files keep each source file's leading comment, which in
 * lib/ is the protocol notes (word tables, proofs) meant for the source. Users read the
 * types in their editor; so every comment block that is not directly followed by the
 * declaration it documents (a blank line after it) is removed. Doc comments stay.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist');
for (const file of fs.readdirSync(dist).filter((f) => /\.d\.(m|c)?ts$/.test(f))) {
  const full = path.join(dist, file);
  const text = fs.readFileSync(full, 'utf8');
  const cleaned = text.replace(/^\/\*(?:[^*]|\*(?!\/))*\*\/\n(?=\n|\/\*)/gm, '').replace(/\n{3,}/g, '\n\n');
  if (cleaned !== text) fs.writeFileSync(full, cleaned);
}
