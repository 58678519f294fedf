import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listenError } from '../src/commands/common.js';
import { runCli } from './helpers/cli.js';
import { ACCESS_YAML } from './helpers/credentials.js';

// A taken port, as issue 17 met it: another process (a plain Node HTTP server here, like another demo or
// `python3 -m http.server`) holds it, and `mlwatch serve` / `mlwatch demo` must exit 1 naming the port and
// that process, before starting anything, instead of logging "mlwatch listening".

const dir = mkdtempSync(join(tmpdir(), 'mlwatch-port-'));
const occupier = join(dir, 'occupy.mjs');
writeFileSync(
  occupier,
  `import http from 'node:http';
const s = http.createServer((req, res) => res.end('not mlwatch\\n'));
s.listen(Number(process.argv[3]), process.argv[2], () => console.log(s.address().port));
`,
);
const config = join(dir, 'mlwatch.yaml');
writeFileSync(
  config,
  `warehouse: { url: 'pglite:memory' }
queries:
  - { name: q, sql: SELECT 1 AS n, metrics: [{ name: t_n, help: h., value: n }] }
${ACCESS_YAML}`,
);

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

/** Starts the occupier on host (port 0: the OS picks) and resolves with its pid and port. */
function occupy(host: string, port = 0): Promise<{ pid: number; port: number }> {
  const child = spawn(process.execPath, [occupier, host, String(port)]);
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve({ pid: child.pid as number, port: Number(String(d).trim()) }));
    child.once('exit', (code) => reject(new Error(`occupier on ${host} exited ${code}`)));
  });
}

function ipv6Loopback(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(0, '::1', () => s.close(() => resolve(true)));
  });
}

function expectRefused(r: ReturnType<typeof runCli>, port: number, pid: number, host: string) {
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).toContain(`port ${port} is already in use on ${host} by pid ${pid} (`);
  expect(r.stderr).toContain(`occupy.mjs ${host} `);
  expect(r.stderr).toContain('pick another port with --port');
  expect(r.stderr).not.toContain('mlwatch listening');
  expect(r.stderr).not.toMatch(/^\s+at /m);
}

const hasIpv6Loopback = await ipv6Loopback();

describe('a taken port', () => {
  it('serve exits 1 naming the port and the process that holds it', async () => {
    const { pid, port } = await occupy('127.0.0.1');
    const r = runCli(['serve', '--config', config, '--host', '127.0.0.1', '--port', String(port)]);
    expectRefused(r, port, pid, '127.0.0.1');
  });

  it('serve on every address (the default host) is refused by a process on 127.0.0.1 too', async () => {
    const { pid, port } = await occupy('127.0.0.1');
    const r = runCli(['serve', '--config', config, '--host', '0.0.0.0', '--port', String(port)]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`port ${port} is already in use on 0.0.0.0 by pid ${pid} (`);
  });

  it('demo exits 1 before seeding its warehouse', async () => {
    const { pid, port } = await occupy('127.0.0.1');
    const r = runCli(['demo', '--port', String(port)]);
    expectRefused(r, port, pid, '127.0.0.1');
    expect(r.stderr).not.toContain('demo warehouse seeded');
  });

  it.runIf(hasIpv6Loopback)(
    'demo on 127.0.0.1 exits 1 when another process holds the port on ::1, where localhost may go',
    async () => {
      const { pid, port } = await occupy('::1');
      const r = runCli(['demo', '--port', String(port)]);
      expectRefused(r, port, pid, '::1');
      expect(r.stderr).toContain(`http://localhost:${port} would reach that process, not mlwatch`);
    },
  );

  it('the message of a listen that fails after the check names the process as well', async () => {
    const { pid, port } = await occupy('127.0.0.1');
    // The error a real listen on the taken port gives, as serve's listen would get it.
    const err = await new Promise<Error>((resolve) => {
      const s = createServer();
      s.once('error', resolve);
      s.listen(port, '127.0.0.1', () => s.close());
    });
    expect(listenError(err, port)).toMatch(
      new RegExp(`^port ${port} is already in use by pid ${pid} \\(.*occupy\\.mjs 127\\.0\\.0\\.1 0\\); `),
    );
  });
});
