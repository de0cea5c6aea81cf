// Tests use their own PID directory, removed at the end, so they neither see nor leave
// registrations in the user's /dev/shm/fastipc-<uid>. Children inherit the variable.
const fs = require('node:fs');
module.exports = async () => {
  process.env.FASTIPC_PID_DIR = fs.mkdtempSync('/dev/shm/fastipc-test-pids-');
};
