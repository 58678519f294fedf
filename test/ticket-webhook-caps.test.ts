import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Running } from '../src/runtime/serve.js';
import { openTestDb, type TestDb } from './helpers/db.js';
import { getTickets, postAlerts, serveState, warningAlert, webhook } from './helpers/state-server.js';

// The ticketing webhook's caps (issue 11): at most 1,000 alerts and 1 MB a post, refused whole with 413 and the
// fix, so one post cannot open ten thousand tickets. Through an in-process `mlwatch serve` over HTTP, with the
// state store on the real PostgreSQL (or an embedded PGlite).

let db: TestDb;
let served: Running & { url: string };
const schema = () => `${db.schema}_caps`;

beforeAll(async () => {
  db = await openTestDb();
  served = await serveState(db, { schema: schema() });
}, 60_000);
afterAll(async () => {
  await served?.shutdown();
  if (db?.kind === 'pg') await db.writer.exec(`DROP SCHEMA IF EXISTS ${schema()} CASCADE`);
  await db?.close();
});

const alerts = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => warningAlert(`${prefix}-${i}`));

async function ticketCount(prefix: string): Promise<number> {
  const res = await getTickets(served.url, '?limit=1000');
  expect(res.status).toBe(200);
  const { tickets } = (await res.json()) as { tickets: { fingerprint: string }[] };
  return tickets.filter((t) => t.fingerprint.startsWith(`${prefix}-`)).length;
}

describe('POST /api/v1/alerts caps', () => {
  it('refuses 1,001 alerts whole with 413, the limit and the Alertmanager fix, and stores nothing', async () => {
    const res = await postAlerts(served.url, webhook(alerts('over', 1001)));
    expect(res.status).toBe(413);
    expect(await res.text()).toBe(
      "1001 alerts in one webhook, at most 1000; set max_alerts: 1000 in the receiver's webhook_config (Alertmanager then sends the first 1000 and counts the rest in truncatedAlerts)\n",
    );
    expect(await ticketCount('over')).toBe(0);
  });

  it('takes exactly 1,000 alerts', async () => {
    const res = await postAlerts(served.url, webhook(alerts('cap', 1000)));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ opened: 1000, updated: 0, resolved: 0, duplicates: 0 });
    expect(await ticketCount('cap')).toBe(1000);
  }, 60_000);

  it('still refuses a body over 1 MB with its own 413, whatever its alert count', async () => {
    const big = { ...warningAlert('big-0'), annotations: { description: 'x'.repeat(1_100_000) } };
    const res = await postAlerts(served.url, webhook([big]));
    expect([res.status, await res.text()]).toEqual([413, 'body larger than 1mb\n']);
    expect(await ticketCount('big')).toBe(0);
  });
});
