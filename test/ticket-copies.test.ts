import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStateDb, pgliteStateDb, type StateDb } from '../src/actions/store/db.js';
import { migrate } from '../src/actions/store/migrations.js';
import type { WebhookAlert } from '../src/actions/tickets/alert-payload.js';
import { incidentKey } from '../src/actions/tickets/incident.js';
import { TicketLog } from '../src/actions/tickets/tickets.js';
import { STALE_LABELS } from './helpers/alerts.js';
import { onRealPostgres, openTestDb, type TestDb } from './helpers/db.js';

// Two exporter replicas serve the same check results, so each incident fires once per replica: the same alert
// but for the replica's own `instance` and `pod`, with its own fingerprint and start. The ticket log makes one
// ticket of them, resolved once every copy is; alerts about different subjects stay apart.

let db: TestDb;
const stores: StateDb[] = [];
let n = 0;

beforeAll(async () => {
  db = await openTestDb();
}, 60_000);
afterAll(async () => {
  for (const s of stores) if (db.kind === 'pg') await s.close();
  await db?.close();
});

/** A fresh, migrated state schema and a TicketLog on it (and a second store on it, for races). */
async function log(): Promise<{ log: TicketLog; other: TicketLog; s: string; db: StateDb }> {
  const open = () =>
    db.kind === 'pglite'
      ? pgliteStateDb(db.pglite as NonNullable<TestDb['pglite']>, false)
      : openStateDb({ url: db.url as string, applicationName: 'mlwatch-test', connectTimeoutMs: 5000 });
  const [a, b] = [open(), open()];
  stores.push(a, b);
  const s = `"${db.schema}_copies${++n}"`;
  await migrate(a, s);
  return { log: new TicketLog(a, s), other: new TicketLog(b, s), s, db: a };
}

/** The alert as the replica `replica` fires it. */
function copy(replica: 'a' | 'b', o: Partial<WebhookAlert> & { dataset?: string } = {}): WebhookAlert {
  const { dataset = 'applications', ...over } = o;
  return {
    status: 'firing',
    labels: { ...STALE_LABELS, dataset, instance: `mlwatch-${replica}:10027`, pod: `mlwatch-${replica}` },
    annotations: { summary: `${dataset} is stale` },
    startsAt: replica === 'a' ? '2026-12-06T10:00:00Z' : '2026-12-06T10:00:15Z',
    endsAt: '2026-12-06T10:04:00Z',
    fingerprint: `fp-${dataset}-${replica}`,
    ...over,
  };
}

const resolved = (c: WebhookAlert, at: string): WebhookAlert => ({ ...c, status: 'resolved', endsAt: at });

async function rows(t: { db: StateDb; s: string }) {
  return t.db.transaction((tx) =>
    tx.query(`SELECT id, fingerprint, state, notifications, resolved_at FROM ${t.s}.tickets ORDER BY id`),
  );
}

describe('ticket copies from replicas', () => {
  it('the incident key ignores the replica labels and nothing else', () => {
    expect(incidentKey(copy('a').labels)).toBe(incidentKey(copy('b').labels));
    expect(incidentKey(copy('a').labels)).not.toBe(incidentKey(copy('a', { dataset: 'outcomes' }).labels));
    // Label order does not matter.
    const reversed = Object.fromEntries(Object.entries(copy('a').labels).reverse());
    expect(incidentKey(reversed)).toBe(incidentKey(copy('a').labels));
  });

  it('two copies are one ticket, resolved when the second resolves', async () => {
    const t = await log();
    expect(await t.log.ingest([copy('a')])).toMatchObject({ opened: 1, updated: 0 });
    expect(await t.log.ingest([copy('b')])).toMatchObject({ opened: 0, updated: 1 });
    let [ticket] = await rows(t);
    expect(ticket).toMatchObject({ fingerprint: 'fp-applications-a', state: 'open', notifications: 2 });
    expect(await rows(t)).toHaveLength(1);
    // One replica's copy resolves (it restarted, or its alert cleared first): the incident is still on.
    await t.log.ingest([resolved(copy('a'), '2026-12-06T10:20:00Z')]);
    [ticket] = await rows(t);
    expect(ticket).toMatchObject({ state: 'open', resolved_at: null });
    await t.log.ingest([resolved(copy('b'), '2026-12-06T10:21:00Z')]);
    [ticket] = await rows(t);
    expect(ticket?.state).toBe('resolved');
    expect(new Date(ticket?.resolved_at as string).toISOString()).toBe('2026-12-06T10:21:00.000Z');
    // The incident again, later: a new ticket.
    await t.log.ingest([copy('a', { startsAt: '2026-12-06T12:00:00Z' })]);
    expect((await rows(t)).map((r) => r.state)).toEqual(['resolved', 'open']);
  });

  it('joins only copies from another replica: the same replica firing again is a new occurrence', async () => {
    const t = await log();
    await t.log.ingest([copy('a')]);
    // Replica a's alert starts again while its ticket is open (its resolution was lost): a new ticket, as before.
    await t.log.ingest([copy('a', { startsAt: '2026-12-06T11:00:00Z', fingerprint: 'fp-applications-a2' })]);
    expect(await rows(t)).toHaveLength(2);
    // Alerts without replica labels never join each other.
    const bare = { ...copy('a'), labels: { ...STALE_LABELS, dataset: 'bare' }, fingerprint: 'fp-bare-1' };
    await t.log.ingest([bare, { ...bare, fingerprint: 'fp-bare-2', startsAt: '2026-12-06T10:00:30Z' }]);
    expect(await rows(t)).toHaveLength(4);
  });

  it('copies about different subjects, or in one webhook, stay apart or join as they should', async () => {
    const t = await log();
    await t.log.ingest([
      copy('a'),
      copy('b'),
      copy('a', { dataset: 'outcomes' }),
      copy('b', { dataset: 'outcomes' }),
    ]);
    const all = await rows(t);
    expect(all).toHaveLength(2);
    expect(all.map((r) => Number(r.notifications))).toEqual([2, 2]);
  });

  it.skipIf(!onRealPostgres)(
    'two mlwatch replicas receiving the two copies at once open one ticket',
    async () => {
      for (let round = 0; round < 5; round++) {
        const t = await log();
        const results = await Promise.all([t.log.ingest([copy('a')]), t.other.ingest([copy('b')])]);
        expect(results.map((r) => r.opened).sort()).toEqual([0, 1]);
        expect(await rows(t)).toHaveLength(1);
      }
    },
  );
});
