// A job queue across processes: a NamedChannel carries jobs (JSON) from this process to
// three consumer processes; end() says there are no more, and each consumer's loop ends
// once the queue is drained. The consumers report through a second channel.
//
//   node examples/job-queue.mjs                # consumers under Node
//   node examples/job-queue.mjs /path/to/bun   # consumers under another runtime (Bun)
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NamedChannel, codecs } from 'fastipc';

const CONSUMERS = 3;
const JOBS = 3000;
const options = { capacity: 128, maxMessageBytes: 256, codec: codecs.json };

if (process.argv[2] === 'consume') {
  const [jobs, results] = [process.argv[3], process.argv[4]].map((n) => new NamedChannel(n, options));
  let done = 0;
  let total = 0;
  for await (const job of jobs) {
    total += job.words.split(' ').length; // the "work"
    done++;
  }
  results.send({ runtime: process.versions.bun ? 'Bun' : 'Node', done, total });
  jobs.close();
  results.close();
} else {
  const runtime = process.argv[2] ?? process.execPath;
  const jobsName = `example-jobs-${process.pid}`;
  const resultsName = `example-results-${process.pid}`;
  const jobs = new NamedChannel(jobsName, options);
  const results = new NamedChannel(resultsName, options);
  const me = fileURLToPath(import.meta.url);
  // (each exit is listened for from the start: a consumer may be gone before we look)
  const exited = Array.from({ length: CONSUMERS }, () => {
    const child = spawn(runtime, [me, 'consume', jobsName, resultsName], { stdio: 'inherit' });
    return new Promise((resolve) => child.once('exit', resolve));
  });
  for (let id = 0; id < JOBS; id++) {
    await jobs.sendAsync({ id, words: 'the quick brown fox '.repeat(1 + (id % 5)).trim() });
  }
  jobs.end();
  let done = 0;
  let total = 0;
  const runtimes = new Set();
  for (let c = 0; c < CONSUMERS; c++) {
    const r = await results.receiveAsync({ timeout: 30000 });
    if (!r) throw new Error('a consumer did not report');
    done += r.done;
    total += r.total;
    runtimes.add(r.runtime);
  }
  await Promise.all(exited);
  console.log(
    `${done} jobs done by ${CONSUMERS} consumers (${[...runtimes]}), ${total} words ` +
      `(expected ${JOBS} jobs, ${JOBS * 12} words)`,
  );
  if (done !== JOBS || total !== JOBS * 12) process.exitCode = 1;
  jobs.close();
  results.close();
}
