import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Logger } from 'pino';
import { stringify } from 'yaml';
import { pgliteStateDb } from '../actions/store/db.js';
import { fail, startError } from '../commands/common.js';
import { loginHint } from '../commands/login-hint.js';
import { loadConfigText } from '../config/load.js';
import { DEFAULT_PORT } from '../defaults.js';
import { allow } from '../http/app.js';
import { Redactor, redactUrl } from '../redact.js';
import { handleSignals, type Running, serve } from '../runtime/serve.js';
import { createPgWriter } from '../warehouse/pg.js';
import { createPgliteWarehouse, createPgliteWriter } from '../warehouse/pglite.js';
import type { SqlWriter } from '../warehouse/types.js';
import { ActionSink, actionSinkRoutes, sinkPath } from './action-sink.js';
import { DemoFeeder, MODEL_VERSION } from './batches.js';
import { DEMO_APPROVERS, DEMO_HANDOFF_AFTER, DEMO_OPERATOR, demoConfig } from './builtin-config.js';
import { demoEngine } from './engine.js';
import { incidentRoutes } from './incident-routes.js';
import { DemoIncidents, INCIDENTS, type Incident, incidentNote } from './incidents.js';
import { LakeDemo } from './lake/lake-demo.js';
import { LAKE_SCHEMA, LAKE_TABLES, lakeConfig } from './lake/layout.js';
import { createDemoSchema } from './schema.js';
import { seedHistory, warehouseNow } from './seed.js';

export interface DemoOptions {
  port: number;
  host: string;
  /** A Postgres to seed; absent means the embedded PGlite engine. */
  warehouseUrl?: string | undefined;
  /** --engine: pglite, postgres (the default with warehouseUrl) or duckdb (src/demo/engine.ts). */
  engine?: string | undefined;
  schema: string;
  batchMs: number;
  /** Incidents switched on from the start; more can be switched at /-/demo/incidents/NAME. */
  incidents?: Incident[];
  log: Logger;
  /** --web.config.file and --web.enable-lifecycle, as for serve (docker-compose.yml passes the web config). */
  webConfigFile?: string | undefined;
  enableLifecycle?: boolean;
}

export const DEMO_CONFIG_NAME = '<built-in demo config>';

/**
 * `mlwatch demo`: a warehouse with an ML credit-scoring story, live batches, and the exporter serving it with
 * a built-in config. The config goes through the same loader as a user's file, so it is validated the same way.
 */
export async function runDemo(o: DemoOptions): Promise<void> {
  const chosen = demoEngine(o.engine, o.warehouseUrl);
  if ('error' in chosen) fail(chosen.error);
  const embedded = o.warehouseUrl === undefined ? new PGlite() : undefined;
  const writer: SqlWriter = embedded
    ? createPgliteWriter(embedded)
    : createPgWriter(o.warehouseUrl as string);
  await embedded?.waitReady;
  // DuckDB: the embedded PGlite simulates, and the story goes on as Parquet files (src/demo/lake/). Opened
  // before seeding, so a missing DuckDB driver is said at once.
  const lake =
    chosen.engine === 'duckdb' && embedded
      ? await LakeDemo.open(embedded, o.schema).catch((err: unknown) =>
          fail(`cannot write the demo's Parquet files: ${(err as Error).message}`),
        )
      : undefined;
  const started = performance.now();
  let until = new Date();
  try {
    await createDemoSchema(writer, o.schema);
    // The feeder continues exactly where the history ends, on the warehouse's clock.
    until = await warehouseNow(writer);
    const counts = await seedHistory(writer, o.schema, { until });
    o.log.info(
      { ...counts, seconds: ((performance.now() - started) / 1000).toFixed(1) },
      'demo warehouse seeded',
    );
    if (lake) {
      await lake.lake.seed(until);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      o.log.info({ files: lake.root, tables: LAKE_TABLES.length, seconds }, 'demo Parquet files written');
    }
  } catch (err) {
    // A missing role or database gets the commands that create it; any other error is passed on as it is.
    const hint =
      o.warehouseUrl === undefined
        ? undefined
        : loginHint(err, { key: '--warehouse-url', url: o.warehouseUrl, purpose: 'demo' });
    await lake?.close();
    // The driver's message may quote the URL it was given, password included.
    fail(
      new Redactor()
        .addUrl(o.warehouseUrl)
        .redact(hint ?? `cannot seed the demo warehouse: ${(err as Error).message}`),
    );
  }
  const feeder: DemoFeeder = new DemoFeeder(writer, o.schema, o.batchMs, {
    since: until,
    onError: (err) =>
      o.log.warn({ err: (err as Error).message }, 'demo batch failed; the next one covers the gap'),
    afterBatch: async (from, to) => {
      await incidents.afterBatch(from, to);
      await lake?.afterBatch(to);
    },
  });
  const incidents = new DemoIncidents(writer, o.schema, feeder, lake?.afterSwitch);
  for (const name of o.incidents ?? []) await incidents.set(name, true);
  feeder.start();

  // credit_default's retrain and rollback webhooks are the demo's own sinks, reached on loopback, so a
  // retraining request (the `auc` incident, through Alertmanager) ends in a call listed at
  // GET /-/demo/retrain-sink, and a rollback both demo approvers approved in one at GET /-/demo/rollback-sink.
  const retrainSink = new ActionSink();
  const rollbackSink = new ActionSink();
  const self = o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host;
  let port = o.port;
  let scheme = 'http';
  const selfUrl = () => `${scheme}://${self.includes(':') ? `[${self}]` : self}:${port}`;
  const config = () =>
    demoConfig({
      warehouseUrl: o.warehouseUrl ?? 'pglite:memory',
      // The lake's tables are DuckDB's views files.<table>.
      schema: lake ? LAKE_SCHEMA : o.schema,
      retrainWebhook: `${selfUrl()}${sinkPath('retrain')}`,
      rollbackWebhook: `${selfUrl()}${sinkPath('rollback')}`,
    });
  const text = () => stringify(lake ? lakeConfig(config(), lake.root) : config());
  const load = () => loadConfigText(text(), DEMO_CONFIG_NAME, process.env, process.cwd());
  // Test hook, absent unless MLWATCH_DEMO_TEST_ROUNDS=1 (test/demo-retrain.test.ts, test/demo-rollback.test.ts set
  // it). Those tests run the demo in a child process, so unlike test/retrain.test.ts and test/rollback.test.ts they
  // cannot call the services' own rounds to check 'exactly one call' without sleeping past a 5 s poll and hoping:
  // POST /-/demo/test/rounds runs a round of retrain dispatch and of rollback execution (joining one in flight,
  // as the poll would) and answers how many each sent. It only does sooner what the next poll does anyway.
  let actions: Pick<Running, 'retrain' | 'rollbacks'> | undefined;
  const testRounds = process.env.MLWATCH_DEMO_TEST_ROUNDS === '1';
  try {
    const running = await serve({
      config: load(),
      loadAgain: load,
      host: o.host,
      port: o.port,
      log: o.log,
      webConfigFile: o.webConfigFile,
      enableLifecycle: o.enableLifecycle ?? false,
      routes: (app, security) => {
        incidentRoutes(incidents, o.log)(app, security);
        actionSinkRoutes('retrain', retrainSink, o.log)(app, security);
        actionSinkRoutes('rollback', rollbackSink, o.log)(app, security);
        if (testRounds) {
          app.all('/-/demo/test/rounds', allow(['POST']), security.guard('any'), async (_req, res) => {
            if (!actions) {
              res.status(503).type('text/plain').send('the demo is still starting\n');
              return;
            }
            const [retrain, rollback] = await Promise.all([
              actions.retrain.dispatchDue(),
              actions.rollbacks.executeDue(),
            ]);
            res.json({ retrain, rollback });
          });
        }
      },
      // The checks read the same in-process database the feeder writes to, or the files written from it.
      ...(lake
        ? { openWarehouse: (c) => lake.openWarehouse(c) }
        : embedded
          ? { openWarehouse: () => createPgliteWarehouse(embedded, false) }
          : {}),
      // The ticket log lives in the same database too (schema mlwatch), so the demo needs nothing else.
      ...(embedded ? { openState: () => pgliteStateDb(embedded, false) } : {}),
      onShutdown: async () => {
        await feeder.stop();
        await lake?.close();
        await writer.close();
        await embedded?.close();
      },
    });
    handleSignals(running, o.log);
    if (running.port !== port || running.scheme !== scheme) {
      // --port 0 or a web config with TLS: the webhooks can name the port and scheme only now; retraining and
      // rollbacks take the settings again.
      port = running.port;
      scheme = running.scheme;
      const again = load().raw;
      running.retrain.configure(again.models);
      running.rollbacks.configure(again);
    }
    actions = running;
    const base = `${running.scheme}://${o.host === '0.0.0.0' ? 'localhost' : o.host}:${running.port}`;
    const auth = `-H 'authorization: Bearer ${DEMO_OPERATOR.token}'`;
    process.stderr.write(
      `mlwatch demo: ${warehouseLine(o, lake)}, a batch every ${o.batchMs / 1000}s\n` +
        (lake ? lakeLine(lake) : '') +
        `  metrics:  ${base}/metrics\n` +
        `  checks:   ${base}/\n` +
        `  demo operator (DEMO-ONLY token, published in the README; roles viewer, webhook, lifecycle, responder): ${DEMO_OPERATOR.token}\n` +
        `    every call below but /metrics needs it: ${auth}\n` +
        `  incidents (${INCIDENTS.join(', ')}): curl ${auth} -X PUT ${base}/-/demo/incidents/nulls  (DELETE to stop)\n` +
        `  tickets:  curl ${auth} ${base}/api/v1/tickets  (Alertmanager's ticketing receiver: POST ${base}/api/v1/alerts)\n` +
        `  hand-offs: npx mlwatch tickets ack|handoff ID --url ${base} --token ${DEMO_OPERATOR.token}; a model page nobody acknowledges goes to data science after ${DEMO_HANDOFF_AFTER}\n` +
        `  retrain:  curl ${auth} ${base}/api/v1/retrain/requests  (the retraining receiver: POST ${base}/api/v1/retrain)\n` +
        `  credit_default's retraining service (a recording sink): curl ${auth} ${base}${sinkPath('retrain')}\n` +
        rollbackWalkthrough(base, selfUrl()) +
        // selfUrl: the address a CLI on this machine reaches, the wildcard addresses included.
        `  weekly review, no Prometheus needed (the values now, from this demo's /metrics): npx mlwatch report --exporter ${selfUrl()}\n` +
        (incidents.active().length ? `  active incidents: ${incidents.active().join(', ')}\n` : '') +
        incidents
          .active()
          .map((i) => [i, incidentNote(i)])
          .filter(([, note]) => note)
          .map(([i, note]) => `    ${i}: ${note}\n`)
          .join(''),
    );
  } catch (err) {
    await lake?.close();
    fail(startError(err, o.port));
  }
}

/** What the start-up line says the checks read. */
function warehouseLine(o: DemoOptions, lake: LakeDemo | undefined): string {
  if (lake) return `DuckDB over the Parquet files in ${lake.root}, views ${LAKE_SCHEMA}.<table>`;
  return `${o.warehouseUrl === undefined ? 'embedded PGlite' : redactUrl(o.warehouseUrl)} schema ${o.schema}`;
}

/** Where the files are and who writes them. */
function lakeLine(lake: LakeDemo): string {
  const glob = join(lake.root, 'applications', '*.parquet');
  return (
    `  files:    a folder per table, a file per batch; written from an embedded PGlite that simulates the story and keeps the state store\n` +
    `            read them: duckdb -c "SELECT count(*) FROM '${glob}'"  (removed when the demo stops)\n`
  );
}

/**
 * The start-up lines that walk a rollback from request to execution with the two demo approvers. `apiUrl` is
 * the address the CLI reaches; `--url` is left out when it is the CLI's default.
 */
function rollbackWalkthrough(base: string, apiUrl: string): string {
  const [engineer, product] = DEMO_APPROVERS;
  const url = apiUrl === `http://127.0.0.1:${DEFAULT_PORT}` ? '' : ` --url ${apiUrl}`;
  const cmd = (args: string, token: string) => `      npx mlwatch rollback ${args}${url} --token ${token}\n`;
  return (
    `  rollbacks: ${base}/api/v1/rollbacks  (credit_default's deployment service, a recording sink: ${base}${sinkPath('rollback')})\n` +
    `    demo approvers (DEMO-ONLY tokens, published in the README; never use them in a real config):\n` +
    DEMO_APPROVERS.map((a) => `      ${a.name} (${a.role}): ${a.token}\n`).join('') +
    `    walk a rollback (1 is the id the first command prints; use that one if it differs):\n` +
    cmd(
      `request --model credit_default --to-version credit-gbm-3.1 --reason 'demo: AUC dropped with ${MODEL_VERSION}'`,
      engineer.token,
    ) +
    cmd('approve 1', engineer.token) +
    cmd('approve 1', product.token) +
    `    the result: npx mlwatch rollback list${url} --token ${engineer.token}\n` +
    `                and what the deployment service received: curl -H 'authorization: Bearer ${DEMO_OPERATOR.token}' ${base}${sinkPath('rollback')}\n`
  );
}
