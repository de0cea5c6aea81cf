// Two HTTP servers (two processes) guard one resource, a file, with Web-Locks-style named
// locks: `locks.request(name, callback)` holds the lock, across every process of this
// user, until the callback's promise settles. Each POST /add reads the file, waits a
// little (as a real handler would, on a database, say), and writes it back: without the
// lock, concurrent requests would overwrite each other's updates.
//
//   node examples/http-locks.mjs
import { fork } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { locks } from 'fastipc';

if (process.argv[2] === 'serve') {
  const file = process.argv[3];
  const server = http.createServer(async (req, res) => {
    const value = await locks.request(`example-ledger:${file}`, async () => {
      const n = Number(await fs.readFile(file, 'utf8'));
      await new Promise((resolve) => setTimeout(resolve, 1));
      await fs.writeFile(file, String(n + 1));
      return n + 1;
    });
    res.end(String(value));
  });
  server.listen(0, '127.0.0.1', () => process.send(server.address().port));
  process.on('disconnect', () => server.close());
} else {
  const REQUESTS = 200;
  const file = path.join(os.tmpdir(), `fastipc-example-ledger-${process.pid}`);
  await fs.writeFile(file, '0');
  const servers = [0, 1].map(() => fork(new URL(import.meta.url), ['serve', file]));
  const exited = servers.map((s) => new Promise((resolve) => s.once('exit', resolve)));
  const ports = await Promise.all(servers.map((s) => new Promise((resolve) => s.once('message', resolve))));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 25 });
  const post = (port) =>
    new Promise((resolve, reject) => {
      const req = http.request({ port, host: '127.0.0.1', method: 'POST', path: '/add', agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
  // 200 requests, 50 at a time, spread over both servers
  await Promise.all(
    Array.from({ length: 50 }, async (_, k) => {
      for (let i = k; i < REQUESTS; i += 50) await post(ports[i % 2]);
    }),
  );
  agent.destroy();
  for (const s of servers) s.disconnect();
  await Promise.all(exited);
  const final = Number(await fs.readFile(file, 'utf8'));
  await fs.rm(file);
  console.log(`ledger = ${final} after ${REQUESTS} requests to 2 servers (expected ${REQUESTS})`);
  if (final !== REQUESTS) process.exitCode = 1;
}
