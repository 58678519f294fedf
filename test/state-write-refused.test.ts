import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '../src/config/load.js';
import type { Running } from '../src/runtime/serve.js';
import { ACCESS_YAML, WEBHOOK_HEADERS } from './helpers/credentials.js';
import { onRealPostgres, openTestDb, type TestDb } from './helpers/db.js';
import { memoryLogger } from './helpers/exporter.js';
import { serveOn } from './helpers/served.js';
import { webhook } from './helpers/state-server.js';
import { waitFor } from './helpers/wait.js';

// A warehouse role that may only read (docs/warehouse-role.md) meets the state store, which without a
// state.url of its own lives in the warehouse's database under that role: the exporter still serves its
// metrics, and says, in its log and in every 503, why the store cannot start and the two ways out.

const role = `mlwatch_ro_${randomBytes(4).toString('hex')}`;
let db: TestDb;
let r: Running | undefined;

beforeAll(async () => {
  db = await openTestDb();
  if (db.kind === 'pg')
    await db.writer.exec(`CREATE ROLE ${role} LOGIN; GRANT CONNECT ON DATABASE test TO ${role}`);
}, 60_000);
afterAll(async () => {
  await r?.shutdown();
  if (db?.kind === 'pg') {
    await db.writer.exec(`REVOKE CONNECT ON DATABASE test FROM ${role}; DROP ROLE IF EXISTS ${role}`);
  }
  await db?.close();
});

describe.skipIf(!onRealPostgres)(
  'a read-only warehouse role and the default state store (PostgreSQL only)',
  () => {
    it('serves, and says why the store cannot start and what to set', async () => {
      const logs = memoryLogger();
      const schema = `${db.schema}_refused`;
      const config = loadConfigText(
        `warehouse: { url: 'postgresql://${role}@127.0.0.1:5432/test' }\nstate: { schema: ${schema} }\n${ACCESS_YAML}`,
        'ro.yaml',
        {},
        '/',
      );
      r = await serveOn(db, config, { ownState: true, ready: false, log: logs.log });
      const reason = await waitFor(
        () => {
          const why = (r as Running).state.unavailableReason();
          return why.includes('permission denied') ? why : undefined;
        },
        20_000,
        'the state store to refuse the read-only role',
      );
      expect(reason).toContain(`the state store needs to create schema ${schema}`);
      expect(reason).toContain('state.url is not set, so the state store is the warehouse database');
      expect(reason).toContain('state.url: pglite:/var/lib/mlwatch/state');
      // The webhook answers 503 with the same reason, and the metrics are served meanwhile.
      const base = `http://127.0.0.1:${(r as Running).port}`;
      const hook = await fetch(`${base}/api/v1/alerts`, {
        method: 'POST',
        headers: WEBHOOK_HEADERS,
        body: JSON.stringify(webhook([])),
      });
      expect(hook.status).toBe(503);
      expect(await hook.text()).toContain('state.url is not set');
      expect((await fetch(`${base}/metrics`)).status).toBe(200);
      // Logged once, however many retries.
      const logged = logs.lines().filter((l) => String(l.msg).startsWith('state store unavailable'));
      expect(logged).toHaveLength(1);
      expect(String(logged[0]?.err)).toContain('state.url is not set');
    }, 40_000);
  },
);
