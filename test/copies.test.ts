// Two copies of the library in one thread (an ESM import and a CJS require) share one
// per-thread state (lib/thread-state.ts), so they behave as one library.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { leftSegments, removeSegments, uniqueName } from './helpers';

afterAll(() => removeSegments());

test('closing the CJS handle of a NamedMutex leaves the lock the thread holds through the ESM handle', () => {
  const name = uniqueName('copies');
  const r = spawnSync(process.execPath, [path.join(__dirname, 'fixtures', 'two-copies.mjs'), name], {
    encoding: 'utf8',
    timeout: 30000,
  });
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout)).toEqual({
    distinctClasses: true,
    heldAfterCjsClose: true,
    registrations: 1,
    asyncResults: [true, true],
    unlockedAfterClose: true,
  });
  // the last close of the thread, through the ESM copy, unlinked the segments
  expect(fs.existsSync(`/dev/shm/fastipc-mutex.${name}`)).toBe(false);
  expect(leftSegments()).toEqual([]);
});
