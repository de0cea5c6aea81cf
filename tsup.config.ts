import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'lib/index.ts', cli: 'lib/tools/cli/index.ts' },
  format: ['cjs', 'esm'],
  dts: { entry: { index: 'lib/index.ts' } },
  target: 'node20',
  platform: 'node',
  shims: true, // __dirname in the ESM build: the addon is found from the package root
  clean: true,
  sourcemap: false,
  splitting: false,
});
