import pino from 'pino';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { pgliteStateDb } from '../../src/actions/store/db.js';
import { type LoadedConfig, loadConfigText } from '../../src/config/load.js';
import { type Running, type ServeOptions, serve } from '../../src/runtime/serve.js';
import { openTestDb, type TestDb } from './db.js';
import { memoryLogger } from './exporter.js';
import { waitFor } from './wait.js';
import { type WebhookSink, webhookSink } from './webhook-sink.js';

/**
 * Served exporters with actions: in-process `mlwatch serve` (HTTP on a free port) on the test database, with its
 * state store in a schema of the test's on the real PostgreSQL, or in the one embedded PGlite that every served
 * exporter of the file shares (standing in for one database); the tests of tickets, retraining and rollbacks
 * drive them over HTTP.
 */

/** The state store's URL in a served config: the real PostgreSQL's, or the shared PGlite. */
export const stateUrlOf = (db: TestDb) => db.url ?? 'pglite:memory';

/**
 * The empty tables that modelEntry's checks read, in the test's schema: preds (id, ts, score) and outcomes
 * (id, ts, label). The action tests only need the checks to exist.
 */
export async function createModelTables(db: TestDb): Promise<void> {
  await db.writer.exec(
    `CREATE TABLE ${db.schema}.preds (id int, ts timestamptz, score float8);
     CREATE TABLE ${db.schema}.outcomes (id int, ts timestamptz, label int);`,
  );
}

/**
 * A binary classifier of the models: section over the tables preds and outcomes (unqualified: the served tests
 * qualify them with qualifyModelTables, the config tests need no tables), with each of `extra` (retrain: ...,
 * rollback: ...; empty ones left out) as one more line of it.
 */
export function modelEntry(name: string, ...extra: string[]): string {
  return [
    `  - name: ${name}`,
    '    task: binary_classification',
    '    owner: data-science',
    '    predictions: { table: preds, key: id, timestamp: ts, score: score }',
    '    labels: { table: outcomes, key: id, timestamp: ts, label: label }',
    ...extra.filter((line) => line !== '').map((line) => `    ${line}`),
    '',
  ].join('\n');
}

/** modelEntry's tables, in the test's schema. */
export const qualifyModelTables = (models: string, schema: string) =>
  models
    .replaceAll('table: preds', `table: ${schema}.preds`)
    .replaceAll('table: outcomes', `table: ${schema}.outcomes`);

/**
 * `mlwatch serve` of `config` in-process on the test database (127.0.0.1, a free port, a quiet log kept in
 * memory), its state store the shared PGlite on that engine unless `ownState` (the config's state URL then
 * stands), waited on until the store is ready unless `ready: false`. `options` adds or replaces serve() options.
 */
export async function serveOn(
  db: TestDb,
  config: LoadedConfig,
  options: Partial<ServeOptions> & { ownState?: boolean; ready?: boolean } = {},
): Promise<Running> {
  const { ownState, ready, ...rest } = options;
  const pglite = db.pglite;
  const r = await serve({
    config,
    loadAgain: () => config,
    host: '127.0.0.1',
    port: 0,
    log: memoryLogger().log,
    openWarehouse: () => db.newWarehouse(),
    ...(pglite && !ownState ? { openState: () => pgliteStateDb(pglite, false) } : {}),
    ...rest,
  });
  if (ready === false) return r;
  try {
    await waitFor(() => r.state.isReady(), 20_000, 'state store ready');
  } catch (err) {
    await r.shutdown();
    throw err;
  }
  return r;
}

/**
 * `mlwatch serve` whose state store cannot be reached (nothing listens on port 1), on the test database's
 * warehouse; `yaml` follows the config's state: line. Not waited on: its store never gets ready.
 */
export function serveStoreDown(
  db: TestDb,
  yaml: string,
  options: Partial<ServeOptions> = {},
): Promise<Running> {
  const config = loadConfigText(
    `warehouse: { url: '${db.configUrl}' }\nstate: { url: 'postgresql://postgres@127.0.0.1:1/test', schema: down }\n${yaml}`,
    'down.yaml',
    {},
    '/',
  );
  return serveOn(db, config, { ownState: true, ready: false, log: pino({ level: 'silent' }), ...options });
}

/**
 * What a file of served tests shares: the test database (with createModelTables' tables when asked), a webhook
 * sink that stands for whatever the actions call, the exporters each test starts (shut down after it, the sink
 * then reset), a fresh state schema per test (`<schema>_<tag><n>`, dropped at the end on PostgreSQL), and the
 * exporters' clock: real time plus an offset the tests move (cooldowns, due attempts), back to 0 after each test.
 * useServedFixture registers its hooks.
 */
export class ServedFixture {
  offsetMs = 0;
  readonly now = () => new Date(Date.now() + this.offsetMs);
  private db_: TestDb | undefined;
  private sink_: WebhookSink | undefined;
  private readonly running: Running[] = [];
  private readonly schemas: string[] = [];

  constructor(
    private readonly tag: string,
    private readonly o: { modelTables?: boolean } = {},
  ) {}

  /** For beforeAll. */
  async open(): Promise<void> {
    this.db_ = await openTestDb();
    if (this.o.modelTables) await createModelTables(this.db_);
    this.sink_ = await webhookSink();
  }

  get db(): TestDb {
    if (!this.db_) throw new Error('the served fixture is not open yet (beforeAll)');
    return this.db_;
  }

  get sink(): WebhookSink {
    if (!this.sink_) throw new Error('the served fixture is not open yet (beforeAll)');
    return this.sink_;
  }

  /** The state store's URL in a served config (stateUrlOf). */
  get stateUrl(): string {
    return stateUrlOf(this.db);
  }

  /** modelEntry's tables in the test's schema (qualifyModelTables). */
  qualify(models: string): string {
    return qualifyModelTables(models, this.db.schema);
  }

  /** A fresh state schema for one test. */
  stateSchema(): string {
    const s = `${this.db.schema}_${this.tag}${this.schemas.length + 1}`;
    this.schemas.push(s);
    return s;
  }

  /** serveOn, the exporter shut down after the test. */
  async serve(config: LoadedConfig, options: Parameters<typeof serveOn>[2] = {}): Promise<Running> {
    return this.track(await serveOn(this.db, config, options));
  }

  /** serveStoreDown, the exporter shut down after the test. */
  async serveStoreDown(yaml: string, options: Partial<ServeOptions> = {}): Promise<Running> {
    return this.track(await serveStoreDown(this.db, yaml, options));
  }

  /** An exporter the test started itself, to be shut down after it. */
  track(r: Running): Running {
    this.running.push(r);
    return r;
  }

  /** Shuts `r` down in the middle of a test (a restart), not again after it. */
  async stop(r: Running): Promise<void> {
    await r.shutdown();
    const i = this.running.indexOf(r);
    if (i >= 0) this.running.splice(i, 1);
  }

  /**
   * For afterEach: shuts down the test's exporters, resets the sink (answering 200 at once, no calls; reopened if
   * the test closed it, already open: EADDRINUSE, ignored) and the clock.
   */
  async reset(): Promise<void> {
    await Promise.all(this.running.splice(0).map((r) => r.shutdown()));
    const sink = this.sink_;
    if (sink) {
      sink.status = 200;
      sink.holdMs = 0;
      sink.calls.length = 0;
      await sink.open().catch(() => {});
    }
    this.offsetMs = 0;
  }

  /** For afterAll. */
  async close(): Promise<void> {
    await this.sink_?.close();
    const db = this.db_;
    if (db?.kind === 'pg')
      for (const s of this.schemas) await db.writer.exec(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await db?.close();
  }
}

/** A ServedFixture for the calling test file, opened before its tests, reset after each, closed after all. */
export function useServedFixture(tag: string, o: { modelTables?: boolean } = {}): ServedFixture {
  const f = new ServedFixture(tag, o);
  beforeAll(() => f.open());
  afterEach(() => f.reset());
  afterAll(() => f.close());
  return f;
}
