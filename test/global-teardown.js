const fs = require('node:fs');
module.exports = async () => {
  const dir = process.env.FASTIPC_PID_DIR;
  if (dir && dir.startsWith('/dev/shm/fastipc-test-pids-')) fs.rmSync(dir, { recursive: true, force: true });
  const left = fs.readdirSync('/dev/shm').filter((f) => /^fastipc[.-].*test-/.test(f));
  if (left.length) throw new Error(`tests left segments in /dev/shm: ${left.join(', ')}`);
};
