import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import type { Logger } from 'pino';
import type { StateSettings } from '../../actions/store/db.js';
import { quoteIdent } from '../../sql/identifiers.js';
import { isConnectionError } from '../../warehouse/errors.js';
import type { Row } from '../../warehouse/types.js';
import type { CachedCheck } from '../check-cache.js';
import {
  MAX_SHARED_BYTES,
  outcomeOf,
  readSamples,
  type SharedOutcome,
  samplesJson,
} from './shared-result.js';
import type { CheckSharing, Turn } from './sharing.js';

export interface PgSharingOptions {
  /** The state store's connection settings: the locks and the results live there. */
  state: StateSettings;
  /** The state store's schema (unquoted), migrated by the StoreService. */
  schema: string;
  /** The warehouse the checks read, without credentials: replicas share only checks of the same warehouse. */
  warehouse: string;
  log: Logger;
  /** Whether the state store is migrated (check_results exists). */
  isStoreReady(): boolean;
  /** How often the other replicas' results are looked for. */
  followMs: number;
  /** How long after a lost or refused connection the next attempt waits. */
  retryMs?: number;
  /**
   * How long the first turns wait for the connection and the migration: replicas starting together share
   * from their first run instead of each running everything once. Later turns never wait.
   */
  startupWaitMs?: number;
  maxSharedBytes?: number;
}

/** One check of the config as the sharing knows it. */
interface Entry {
  state: CachedCheck;
  /** The check's definition as shared: its fingerprint and the warehouse, hashed (check_results.definition). */
  definition: string;
  /** Its advisory lock: bigint, as a decimal string (what pg sends and returns). */
  key: string;
  /** The check_results revision last written or taken here. */
  revision?: string;
  /** The runner's last result was too large to share: this replica runs the check too. */
  oversize: boolean;
  runsHere?: boolean;
  /** performance.now() when a result was last taken from the runner, or when following began without one. */
  heardAt?: number;
  /** This replica runs the check because the runner's results stopped coming (logged once). */
  unheard?: boolean;
}

// Each statement on this connection takes milliseconds (a lock, one row); seconds mean the store is stuck.
const STATEMENT_TIMEOUT_MS = 5_000;
// An answer that never comes (a silent network) is a lost connection: the lock it held may be gone.
const QUERY_TIMEOUT_MS = 10_000;
// Settings of the session, set once it is open (SQL, so a pooler in session mode passes them too):
// - The server notices a replica whose host vanished (no FIN, no RST) by TCP keepalives; by default after two
//   hours, during which its locks, hence its checks, stay taken. 10 s idle, then 3 probes 5 s apart: about 25 s.
// - A result is rewritten at the check's next run, so losing the last ones to a crash of the server costs
//   nothing: no wait for the WAL flush (measured on PostgreSQL 15 here: a 3 KB result's write 2.8 ms -> 0.25 ms).
const SESSION = {
  tcp_keepalives_idle: '10',
  tcp_keepalives_interval: '5',
  tcp_keepalives_count: '3',
  synchronous_commit: 'off',
};
const CLEANUP_MS = 3_600_000;

/**
 * Checks shared through the state store's PostgreSQL. A check is run by the replica that holds its advisory
 * lock: session-level, on a connection of its own, taken at the check's first turn when free and kept as long as
 * the replica lives. Its session ending (the process stopped or killed, the host's connection reset) releases
 * the locks, and another replica takes each check at its next turn. The runner writes every result to
 * check_results; the others read the rows that changed every `followMs` (and at their own turns) and serve
 * them. docs/architecture.md, "Two replicas", says why locks held across runs rather than per run or a leader.
 */
export class PgCheckSharing implements CheckSharing {
  readonly replica = `${hostname()}:${process.pid}`;
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client | undefined> | undefined;
  private retryAt = 0;
  private lastError = 'not connected yet';
  /** Lock keys held by this replica's session. */
  private readonly held = new Set<string>();
  private entries = new Map<CachedCheck, Entry>();
  private taken: (state: CachedCheck) => void = () => {};
  private readonly timers: NodeJS.Timeout[] = [];
  private mode: 'shared' | 'alone' | undefined;
  private readonly graceUntil: number;
  private readonly table: string;
  private readonly publishFailing = new Set<string>();
  private queue: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(private readonly o: PgSharingOptions) {
    this.table = `${quoteIdent(o.schema)}.check_results`;
    this.graceUntil = Date.now() + (o.startupWaitMs ?? 3_000);
    const follow = setInterval(() => void this.follow(), o.followMs);
    const cleanUp = setInterval(() => void this.cleanUp(), CLEANUP_MS);
    for (const t of [follow, cleanUp]) {
      t.unref();
      this.timers.push(t);
    }
  }

  configure(cached: readonly CachedCheck[], taken: (state: CachedCheck) => void): void {
    this.taken = taken;
    const before = new Map([...this.entries.values()].map((e) => [e.key, e]));
    this.entries = new Map(
      cached.map((state) => {
        const definition = definitionOf(this.o.warehouse, state.check.fingerprint);
        const key = lockKey(this.o.schema, state.check.id, definition);
        const previous = before.get(key);
        const entry: Entry = { state, definition, key, oversize: previous?.oversize ?? false };
        if (previous?.revision !== undefined) entry.revision = previous.revision;
        if (previous?.runsHere !== undefined) entry.runsHere = previous.runsHere;
        return [state, entry];
      }),
    );
    // A check that left the config (or changed: its key has its definition) is free for the others at once.
    const keep = new Set([...this.entries.values()].map((e) => e.key));
    const dropped = [...this.held].filter((k) => !keep.has(k));
    const client = this.client;
    if (dropped.length === 0 || !client) return;
    for (const k of dropped) this.held.delete(k);
    // A lock that could not be released would keep its check from everyone: then the session goes, with it.
    void this.query(client, 'SELECT pg_advisory_unlock(k) FROM unnest($1::bigint[]) AS k', [dropped]).catch(
      (err) => this.lost(client, `cannot release the locks of removed checks: ${message(err)}`),
    );
  }

  async turn(state: CachedCheck): Promise<Turn> {
    const e = this.entries.get(state);
    if (!e) return 'run';
    const turn = await this.decide(e);
    e.runsHere = turn === 'run';
    return turn;
  }

  runsHere(state: CachedCheck): boolean | undefined {
    return this.entries.get(state)?.runsHere;
  }

  async publish(state: CachedCheck): Promise<void> {
    const e = this.entries.get(state);
    const client = this.client;
    if (!e || !client || !this.held.has(e.key) || !this.o.isStoreReady() || state.status === 'pending')
      return;
    // The run that just ended succeeded: its samples replace the shared ones. A failed one keeps them.
    const succeeded = state.status === 'ok';
    const samples = succeeded ? samplesJson(state, performance.now(), this.o.maxSharedBytes) : undefined;
    const oversize = samples === 'oversize';
    try {
      const [row] = await this.query(
        client,
        `INSERT INTO ${this.table} AS r (check_id, definition, runner, outcome, samples, oversize, samples_at)
         VALUES ($1, $2, $3, $4::json, $5::json, $6, CASE WHEN $7::boolean THEN now() END)
         ON CONFLICT (check_id, definition) DO UPDATE SET
           revision = r.revision + 1,
           runner = EXCLUDED.runner,
           outcome = EXCLUDED.outcome,
           samples = CASE WHEN $7::boolean THEN EXCLUDED.samples ELSE r.samples END,
           oversize = CASE WHEN $7::boolean THEN EXCLUDED.oversize ELSE r.oversize END,
           samples_at = COALESCE(EXCLUDED.samples_at, r.samples_at),
           written_at = now()
         RETURNING revision`,
        [
          state.check.id,
          e.definition,
          this.replica,
          JSON.stringify(outcomeOf(state)),
          succeeded && !oversize ? samples : null,
          oversize,
          succeeded,
        ],
      );
      e.revision = String(row?.revision);
      if (this.publishFailing.delete(state.check.id))
        this.o.log.info({ check: state.check.id }, 'check result shared again');
      if (succeeded && oversize !== e.oversize) {
        this.o.log.warn(
          { check: state.check.id, max_bytes: this.o.maxSharedBytes ?? MAX_SHARED_BYTES },
          oversize
            ? 'check result too large to share: every replica runs this check'
            : 'check result shared again after being too large',
        );
      }
      if (succeeded) e.oversize = oversize;
    } catch (err) {
      // The other replicas keep serving the previous result, and run the check themselves once no result has
      // come for two intervals and a timeout (unheard, below).
      if (!this.publishFailing.has(state.check.id)) {
        this.publishFailing.add(state.check.id);
        this.o.log.warn({ check: state.check.id, err: message(err) }, 'cannot share the check result');
      }
    }
  }

  async release(state: CachedCheck): Promise<void> {
    const e = this.entries.get(state);
    const client = this.client;
    if (!e || !client || !this.held.has(e.key)) return;
    this.held.delete(e.key);
    await this.query(client, 'SELECT pg_advisory_unlock($1::bigint)', [e.key]).catch((err) =>
      this.lost(client, `cannot release a check's lock: ${message(err)}`),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    await this.connecting;
    const client = this.client;
    this.client = undefined;
    this.held.clear();
    // Ending the session releases every lock; a silent network must not hold the shutdown up.
    if (client) await Promise.race([client.end().catch(() => {}), delay(2_000)]);
  }

  /** Runs the check here when this replica holds its lock or can take it; follows the holder otherwise. */
  private async decide(e: Entry): Promise<Turn> {
    const client = await this.ready();
    if (!client) return 'run';
    if (this.held.has(e.key)) return 'run';
    let got: boolean;
    try {
      const [row] = await this.query(client, 'SELECT pg_try_advisory_lock($1::bigint) AS got', [e.key]);
      got = row?.got === true;
    } catch (err) {
      // Refused (the state store's role may not take session locks: docs/warehouse-role.md) or lost: alone.
      this.alone(`cannot take check locks: ${message(err)}`);
      return 'run';
    }
    // A lock answered on a session that has since been lost is not held: run this once alone.
    if (this.client !== client) return 'run';
    this.shared();
    if (got) {
      this.held.add(e.key);
      e.heardAt = undefined;
      return 'run';
    }
    // Another replica runs it: take its latest result now rather than at the next look.
    await this.follow([e]);
    if (e.oversize) return 'run';
    return this.unheard(e) ? 'run' : 'follow';
  }

  /**
   * Whether the runner's results stopped coming: none taken for two intervals and a timeout (the longest a run
   * of it can take) since the last one, or since following began. The runner holds the check but cannot share
   * (its writes fail, the table is gone) or does not run it: this replica runs it rather than serve nothing or
   * stale values, as it would alone, and mlwatch_check_runner shows two runners.
   */
  private unheard(e: Entry): boolean {
    const now = performance.now();
    e.heardAt ??= now;
    const patience = 2 * e.state.intervalSeconds * 1000 + e.state.check.timeoutMs;
    const unheard = now - e.heardAt > patience;
    if (unheard && !e.unheard)
      this.o.log.warn(
        { check: e.state.check.id, seconds: Math.round(patience / 1000) },
        'no result shared by the replica that runs the check: running it here too',
      );
    e.unheard = unheard;
    return unheard;
  }

  /**
   * The connection, once the store is migrated. The first turns wait a moment while the connection is being made
   * or the store migrated; a refused connection is not waited for (it is tried again later), nor is anything
   * after the start.
   */
  private async ready(): Promise<pg.Client | undefined> {
    for (;;) {
      const client = this.client ?? (await this.connect());
      if (client && this.o.isStoreReady()) return client;
      const underWay = client !== undefined || this.connecting !== undefined;
      if (!underWay || this.stopped || Date.now() >= this.graceUntil) {
        this.alone(client ? 'the state store is not migrated yet' : this.lastError);
        return undefined;
      }
      await delay(50);
    }
  }

  /** Starts connecting unless a try is under way or backing off; waits for it until the startup grace ends. */
  private connect(): Promise<pg.Client | undefined> {
    if (!this.connecting && !this.stopped && Date.now() >= this.retryAt) {
      this.connecting = this.open().finally(() => {
        this.connecting = undefined;
      });
    }
    const pending = this.connecting;
    const wait = this.graceUntil - Date.now();
    if (!pending || wait <= 0) return Promise.resolve(undefined);
    return Promise.race([pending, delay(wait).then(() => undefined)]);
  }

  private async open(): Promise<pg.Client | undefined> {
    const s = this.o.state;
    const client = new pg.Client({
      connectionString: s.url,
      ...(s.password !== undefined ? { password: s.password } : {}),
      application_name: s.applicationName,
      connectionTimeoutMillis: s.connectTimeoutMs,
      statement_timeout: STATEMENT_TIMEOUT_MS,
      query_timeout: QUERY_TIMEOUT_MS,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    // Without listeners a dropped connection's 'error' would end the process.
    client.on('error', (err) => this.lost(client, err.message));
    client.on('end', () => this.lost(client, 'the connection ended'));
    try {
      await client.connect();
    } catch (err) {
      this.retryAt = Date.now() + (this.o.retryMs ?? 5_000);
      this.lastError = `cannot reach the state store: ${message(err)}`;
      await client.end().catch(() => {});
      return undefined;
    }
    // Settings only: a server that refuses one (a managed service's restriction) still shares, with its defaults.
    await client
      .query(
        `SELECT ${Object.keys(SESSION)
          .map((name, i) => `set_config('${name}', $${i + 1}, false)`)
          .join(', ')}`,
        Object.values(SESSION),
      )
      .catch((err) => this.o.log.warn({ err: message(err) }, 'check sharing: session settings refused'));
    if (this.stopped) {
      await client.end().catch(() => {});
      return undefined;
    }
    this.client = client;
    return client;
  }

  private lost(client: pg.Client, reason: string): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.held.clear();
    this.retryAt = Date.now() + (this.o.retryMs ?? 5_000);
    this.lastError = `lost the state store connection: ${reason}`;
    this.alone(this.lastError);
    void client.end().catch(() => {});
  }

  /**
   * Takes the results the other replicas shared since the last look: of `only`, or of every check whose lock
   * this replica does not hold. A result is taken once, by revision, whichever look sees it first.
   */
  private async follow(only?: Entry[]): Promise<void> {
    const client = this.client;
    if (!client || this.stopped || !this.o.isStoreReady()) return;
    const wanted = (only ?? [...this.entries.values()]).filter((e) => !this.held.has(e.key));
    if (wanted.length === 0) return;
    let rows: Row[];
    try {
      rows = await this.query(
        client,
        `SELECT r.check_id, r.definition, r.revision::text AS revision, r.outcome, r.samples, r.oversize,
                (extract(epoch FROM now() - r.samples_at) * 1000)::float8 AS since_ms
           FROM unnest($1::text[], $2::text[], $3::bigint[]) AS k (check_id, definition, revision)
           JOIN ${this.table} AS r ON r.check_id = k.check_id AND r.definition = k.definition
          WHERE r.revision IS DISTINCT FROM k.revision`,
        [
          wanted.map((e) => e.state.check.id),
          wanted.map((e) => e.definition),
          wanted.map((e) => e.revision ?? null),
        ],
      );
    } catch {
      return;
    }
    const byId = new Map(wanted.map((e) => [`${e.state.check.id}\n${e.definition}`, e]));
    const now = performance.now();
    for (const row of rows) {
      const e = byId.get(`${row.check_id}\n${row.definition}`);
      // Taken by a look that answered first, become this replica's meanwhile, or gone with a reload.
      if (!e || e.revision === row.revision || this.held.has(e.key) || this.entries.get(e.state) !== e)
        continue;
      e.revision = String(row.revision);
      e.oversize = row.oversize === true;
      if (e.oversize) continue;
      e.state.takeShared(row.outcome as SharedOutcome, readSamples(row.samples, Number(row.since_ms)), now);
      e.heardAt = now;
      this.taken(e.state);
    }
  }

  /** Rows of definitions no replica runs any more: replaced a day ago, or not written for longer than a month. */
  private async cleanUp(): Promise<void> {
    const client = this.client;
    if (!client || this.stopped || !this.o.isStoreReady()) return;
    await this.query(
      client,
      `DELETE FROM ${this.table} AS r
        WHERE r.written_at < now() - interval '35 days'
           OR (r.written_at < now() - interval '1 day'
               AND EXISTS (SELECT 1 FROM ${this.table} AS n
                            WHERE n.check_id = r.check_id AND n.written_at > r.written_at))`,
      [],
    ).catch(() => {});
  }

  /** One statement at a time on the connection (pg queues them too, but that is deprecated): in call order. */
  private query(client: pg.Client, sql: string, params: readonly unknown[]): Promise<Row[]> {
    const next = this.queue.then(() => this.send(client, sql, params));
    this.queue = next.catch(() => {});
    return next;
  }

  private async send(client: pg.Client, sql: string, params: readonly unknown[]): Promise<Row[]> {
    try {
      return (await client.query({ text: sql, values: [...params] })).rows;
    } catch (err) {
      if (isConnectionError(err)) this.lost(client, message(err));
      throw err;
    }
  }

  private alone(reason: string): void {
    if (this.mode === 'alone') return;
    this.mode = 'alone';
    this.o.log.warn(
      { reason },
      'checks not shared with other replicas: this exporter runs each check itself until it can take their locks',
    );
  }

  private shared(): void {
    if (this.mode === 'shared') return;
    const was = this.mode;
    this.mode = 'shared';
    this.o.log.info(
      { replica: this.replica },
      was === undefined ? 'checks shared with other replicas through the state store' : 'checks shared again',
    );
  }
}

/** A check's definition as replicas share it: what it computes (its fingerprint) and where (the warehouse). */
export function definitionOf(warehouse: string, fingerprint: string): string {
  return createHash('sha256')
    .update(JSON.stringify([warehouse, fingerprint]))
    .digest('hex');
}

/** A check's advisory lock key: the state store's schema, the check and its definition, hashed to a bigint. */
export function lockKey(schema: string, checkId: string, definition: string): string {
  const digest = createHash('sha256')
    .update(JSON.stringify(['mlwatch check', schema, checkId, definition]))
    .digest();
  return digest.readBigInt64BE(0).toString();
}

const message = (err: unknown) => ((err as Error)?.message ?? String(err)).split('\n')[0] ?? '';

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
