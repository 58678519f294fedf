import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createPgWriter } from '../src/warehouse/pg.js';
import { runCli, type Served, startCli } from './helpers/cli.js';
import { onRealPostgres, TEST_DATABASE_URL } from './helpers/db.js';
import { waitFor } from './helpers/wait.js';

// Issue 11: `mlwatch demo --warehouse-url postgresql://user:password@...` never prints the password.

const PASSWORD = 's3cretpw';

describe('mlwatch demo --warehouse-url with a password', () => {
  const stops: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const stop of stops) await stop();
  });

  it('a warehouse it cannot seed: the failure names the cause, not the password', () => {
    // Nothing listens on port 1: the seeding fails at once, with the driver's own message.
    const url = `postgresql://postgres:${PASSWORD}@127.0.0.1:1/test`;
    const r = runCli(['demo', '--port', '0', '--warehouse-url', url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot seed the demo warehouse: connect ECONNREFUSED 127.0.0.1:1');
    expect(r.stderr + r.stdout).not.toContain(PASSWORD);
  });

  // Trust authentication (as CI's PostgreSQL has it) accepts any password, so the demo starts with this one.
  it.skipIf(!onRealPostgres)('the banner shows the URL with <redacted> for its password', async () => {
    const schema = `demo_${randomBytes(4).toString('hex')}`;
    const u = new URL(TEST_DATABASE_URL as string);
    u.password = PASSWORD;
    const served: Served = await startCli([
      'demo',
      '--port',
      '0',
      '--batch-interval',
      '1',
      '--schema',
      schema,
      '--warehouse-url',
      u.toString(),
    ]);
    stops.push(async () => {
      await served.stop('SIGKILL');
      const writer = createPgWriter(TEST_DATABASE_URL as string);
      await writer.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await writer.close();
    });
    await waitFor(() => served.logs().includes('  checks: '), 30_000, 'the banner');
    u.password = '';
    const shown = u.toString().replace(`${u.username}@`, `${u.username}:<redacted>@`);
    expect(served.logs()).toContain(`mlwatch demo: ${shown} schema ${schema}`);
    await waitFor(async () => (await fetch(`${served.url}/readyz`)).status === 200, 60_000, 'demo ready');
    expect(await served.stop('SIGTERM')).toBe(0);
    expect(served.logs()).not.toContain(PASSWORD);
  });
});
