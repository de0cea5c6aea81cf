#!/usr/bin/env node
// The package's install script. Where a prebuild fits (prebuilds/ in the tarball) or the
// addon is built already, nothing happens; else on Linux it builds the addon from source
// (node-gyp: python3, make, a C compiler). It never fails an install: without the addon
// the package still loads and the `atomics` backend works, and whatever needs the addon
// throws an Error that says why. Off Linux there is no addon to build.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

if (process.platform !== 'linux') process.exit(0);
const root = path.join(__dirname, '..');
const r = spawnSync(process.execPath, [require.resolve('node-gyp-build/bin.js')], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  process.stderr.write(
    'fastipc: no prebuilt addon fits this machine and building it from source failed (see above).\n' +
      'fastipc still works between worker threads (the atomics backend); SharedMemory, the Named\n' +
      'primitives and the futex backend need the addon: install python3, make and a C compiler,\n' +
      'then run `npm rebuild fastipc`.\n',
  );
}
