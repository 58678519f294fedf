import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Served, startCli } from './helpers/cli.js';
import { ACCESS_YAML, bearer, TOKENS } from './helpers/credentials.js';
import { onRealPostgres, TEST_DATABASE_URL } from './helpers/db.js';
import { sampleValue, series } from './helpers/exposition.js';
import { scrape, waitFor } from './helpers/wait.js';

// The real CLI over HTTP: `mlwatch serve` against Postgres when configured, else an embedded PGlite.
const url = onRealPostgres ? (TEST_DATABASE_URL as string) : 'pglite:memory';
const dir = mkdtempSync(join(tmpdir(), 'mlwatch-serve-'));
const configFile = join(dir, 'mlwatch.yaml');

const config = (metric: string, value: number) => `warehouse:
  url: ${url}
defaults:
  interval: 1h
queries:
  - name: constant
    sql: SELECT ${value} AS n, 'a"b' AS tag
    metrics: [{ name: ${metric}, help: A constant., labels: [tag], value: n }]
${ACCESS_YAML}`;

let served: Served;
beforeAll(async () => {
  writeFileSync(configFile, config('t_constant', 1));
  served = await startCli([
    'serve',
    '--config',
    configFile,
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--web.enable-lifecycle',
  ]);
});
afterAll(async () => {
  await served?.stop('SIGKILL');
});

describe('mlwatch serve', () => {
  it('becomes ready after the first round and serves the cached metrics', async () => {
    await waitFor(async () => (await fetch(`${served.url}/readyz`)).status === 200, 20_000, 'readyz');
    const m = await scrape(served.url);
    expect(sampleValue(m, 't_constant', { tag: 'a"b' })).toBe(1);
    expect(sampleValue(m, 'mlwatch_build_info', { node_version: process.version })).toBe(1);
    expect(sampleValue(m, 'mlwatch_config_last_reload_successful')).toBe(1);
    expect(series(m, 'process_cpu_user_seconds_total')).toHaveLength(1);
  });

  it('answers the probes and the landing page', async () => {
    const health = await fetch(`${served.url}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, 'ok\n']);
    const page = await (await fetch(`${served.url}/`)).text();
    expect(page).toContain('<span class="id">query:constant</span> <span class="state ok">ok</span>');
    // The check's key value: its one series by its label, the value escaped.
    expect(page).toContain('<dt>tag=a&quot;b</dt><dd>1</dd>');
    const missing = await fetch(`${served.url}/nope`);
    expect(missing.status).toBe(404);
    const wrong = await fetch(`${served.url}/metrics`, { method: 'POST' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, HEAD');
  });

  it('refuses an invalid config on reload, keeps the old one, and says so in the metrics', async () => {
    writeFileSync(configFile, `${config('t_constant', 1)}bogus: true\n`);
    const res = await fetch(`${served.url}/-/reload`, { method: 'POST', headers: bearer(TOKENS.lifecycle) });
    expect(res.status).toBe(500);
    const line = config('t_constant', 1).split('\n').length;
    expect(await res.text()).toContain(`${configFile}:${line} bogus: unknown key`);
    const m = await scrape(served.url);
    expect(sampleValue(m, 'mlwatch_config_last_reload_successful')).toBe(0);
    expect(sampleValue(m, 't_constant', { tag: 'a"b' })).toBe(1);
  });

  it('applies a valid config on SIGHUP: new series appear, removed ones vanish', async () => {
    const before = sampleValue(
      await scrape(served.url),
      'mlwatch_config_last_reload_success_timestamp_seconds',
    );
    writeFileSync(configFile, config('t_renamed', 2));
    served.child.kill('SIGHUP');
    const m = await waitFor(async () => {
      const now = await scrape(served.url);
      return series(now, 't_renamed').length === 1 ? now : undefined;
    });
    expect(sampleValue(m, 't_renamed', { tag: 'a"b' })).toBe(2);
    expect(series(m, 't_constant')).toHaveLength(0);
    expect(sampleValue(m, 'mlwatch_config_last_reload_successful')).toBe(1);
    expect(sampleValue(m, 'mlwatch_config_last_reload_success_timestamp_seconds')).toBeGreaterThan(before);
  });

  it('shuts down cleanly on SIGTERM with exit code 0', async () => {
    const other = await startCli(['serve', '--config', configFile, '--port', '0', '--host', '127.0.0.1']);
    await waitFor(async () => (await fetch(`${other.url}/readyz`)).status === 200, 20_000, 'readyz');
    expect(await other.stop('SIGTERM')).toBe(0);
    expect(other.logs()).toContain('"msg":"shutting down"');
  });
});

describe('mlwatch once', () => {
  it('prints the exposition and exits 0 when every check passed, 1 when one failed', async () => {
    const { runCli } = await import('./helpers/cli.js');
    const good = runCli(['once', '--config', configFile]);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain('t_renamed{tag="a\\"b"} 2\n');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      `warehouse:\n  url: ${url}\nqueries:\n  - name: broken\n    sql: SELECT n FROM no_such_table\n    metrics: [{ name: t_b, help: h, value: n }]\n`,
    );
    const r = runCli(['once', '--config', bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('mlwatch_check_success{check="query:broken"} 0');
    expect(r.stderr).toContain(
      'check query:broken failed: relation "no_such_table" does not exist (SQLSTATE 42P01)',
    );
  });
});
