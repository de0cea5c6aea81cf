// Removes the tests' PID directory, and fails the run if a test left a segment behind:
// a segment named by uniqueName() (test-<tag>-<pid>-<n>) whose jest worker has exited.
const fs = require('node:fs');
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
};
module.exports = async () => {
  const dir = process.env.FASTIPC_PID_DIR;
  if (dir && dir.startsWith('/dev/shm/fastipc-test-pids-')) fs.rmSync(dir, { recursive: true, force: true });
  const left = fs.readdirSync('/dev/shm').filter((f) => {
    const m = /^fastipc[.-].*test-[a-z]+-(\d+)-\d+$/.exec(f);
    return m && !alive(Number(m[1]));
  });
  if (left.length) {
    for (const f of left) fs.rmSync(`/dev/shm/${f}`, { force: true });
    throw new Error(`tests left segments in /dev/shm (now removed): ${left.join(', ')}`);
  }
};
