import { Command } from 'commander';
import { checkConfig } from './commands/check-config.js';
import { fail, loadOrExit, parsePort, startError } from './commands/common.js';
import { doctor } from './commands/doctor.js';
import { registerInit } from './commands/init.js';
import { failOnMissingLogin, missingLogin } from './commands/login-check.js';
import { once } from './commands/once.js';
import { portTaken } from './commands/port-check.js';
import { type ReportFlags, report } from './commands/report.js';
import { listRetrainRequests, type RetrainListFlags } from './commands/retrain.js';
import {
  type ApiFlags,
  type CliResult,
  decideRollback,
  listRollbacks,
  requestRollback,
  showRollback,
} from './commands/rollback.js';
import { verifyRollbackAudit } from './commands/rollback-verify.js';
import { schemaLock } from './commands/schema-lock.js';
import { ackTicket, handoffTicket } from './commands/ticket-actions.js';
import { listTickets, type TicketListFlags } from './commands/tickets.js';
import { WEB_FLAGS, type WebOptions, webOptions } from './commands/web-flags.js';
import { loadConfigFile } from './config/load.js';
import { DEFAULT_PORT } from './defaults.js';
import { INCIDENTS, isIncident } from './demo/incidents.js';
import { runDemo } from './demo/run.js';
import { createLogger } from './log.js';
import { warnAboutWarehouseRole } from './runtime/role-check.js';
import { handleSignals, serve } from './runtime/serve.js';
import { VERSION } from './version.js';

interface DemoFlags {
  port: string;
  host: string;
  warehouseUrl?: string;
  engine?: string;
  schema: string;
  batchInterval: string;
  incident: string;
}

const program = new Command('mlwatch')
  .description('Prometheus exporter for ML systems on a SQL warehouse')
  .version(VERSION)
  .option('--log-level <level>', 'debug, info, warn or error', process.env.MLWATCH_LOG_LEVEL ?? 'info');

program
  .command('serve')
  .description('run the checks on their schedules and serve /metrics')
  .requiredOption('-c, --config <file>', 'config file (mlwatch.yaml)')
  .option('-p, --port <n>', 'HTTP port', String(DEFAULT_PORT))
  .option('--host <addr>', 'address to listen on', '0.0.0.0')
  .option(WEB_FLAGS.configFile, 'TLS and basic auth in exporter-toolkit format (docs/security.md)')
  .option(WEB_FLAGS.lifecycle, 'answer POST /-/reload (to clients with the lifecycle role)')
  .option(
    WEB_FLAGS.insecureActions,
    'let callers without credentials post webhooks and read tickets (local use only)',
  )
  .action(async (opts: { config: string; port: string; host: string } & WebOptions) => {
    const log = createLogger(program.opts().logLevel);
    const config = loadOrExit(opts.config);
    const port = parsePort(opts.port);
    const taken = await portTaken(opts.host, port);
    if (taken) fail(taken);
    await failOnMissingLogin(config);
    try {
      const running = await serve({
        config,
        loadAgain: () => loadConfigFile(opts.config),
        host: opts.host,
        port,
        log,
        ...webOptions(opts),
      });
      handleSignals(running, log);
      warnAboutWarehouseRole(config, log);
    } catch (err) {
      fail(startError(err, port));
    }
  });

program
  .command('doctor')
  .description(
    'report what the warehouse role may do beyond reading what the config watches (docs/warehouse-role.md)',
  )
  .requiredOption('-c, --config <file>', 'config file')
  .option('--strict', 'exit 1 when anything was found (default: findings are warnings, exit 0)')
  .option('--json', 'print JSON')
  .action(async (opts: { config: string; strict?: boolean; json?: boolean }) => {
    const r = await doctor(loadOrExit(opts.config), {
      strict: opts.strict ?? false,
      json: opts.json ?? false,
    });
    (r.code === 2 ? process.stderr : process.stdout).write(r.out);
    process.exitCode = r.code;
  });

program
  .command('check-config')
  .description('validate config files; exit 1 with every problem, file:line and path')
  .argument('<files...>')
  .action((files: string[]) => {
    process.exitCode = checkConfig(files);
  });

program
  .command('once')
  .description('run every check once, print the exposition text; exit 1 if any check failed')
  .requiredOption('-c, --config <file>', 'config file')
  .action(async (opts: { config: string }) => {
    const config = loadOrExit(opts.config);
    const missing = await missingLogin(config, false);
    if (missing) fail(missing);
    process.exitCode = await once(config, createLogger(program.opts().logLevel));
  });

registerInit(program);

const schema = program
  .command('schema')
  .description('the schema lock file that schema checks compare against');
schema
  .command('lock')
  .description('write the columns of every dataset with a schema check to the lock file (commit it)')
  .requiredOption('-c, --config <file>', 'config file')
  .option('-o, --out <file>', 'write every dataset to this file instead of the lock file(s) the config names')
  .action(async (opts: { config: string; out?: string }) => {
    process.exitCode = await schemaLock(opts.config, { out: opts.out });
  });

const printed = (r: CliResult) => {
  (r.code === 0 ? process.stdout : process.stderr).write(`${r.out}\n`);
  process.exitCode = r.code;
};

const tickets = program
  .command('tickets')
  .description("the shared ticket log (Alertmanager's ticketing receiver)");
tickets
  .command('list')
  .description('list tickets from the state store, newest first')
  .requiredOption('-c, --config <file>', 'config file (its state section says where the log is)')
  .option('--state <state>', 'open or resolved')
  .option('--team <team>', 'only this team, e.g. platform')
  .option('--layer <layer>', 'only this layer, e.g. model')
  .option('--limit <n>', 'at most this many', '100')
  .option('--json', 'print JSON instead of a table')
  .action(async (opts: { config: string } & TicketListFlags) => {
    const result = await listTickets(loadOrExit(opts.config), opts);
    (result.code === 0 ? process.stdout : process.stderr).write(`${result.out}\n`);
    process.exitCode = result.code;
  });

// Acknowledge and hand off through the running exporter, as the responder whose token is given: the ticket
// records who did it from the credential (docs/tickets.md).
const responderOptions = (c: Command) =>
  c
    .argument('<id>', 'the ticket id (mlwatch tickets list)')
    .option('--url <url>', 'the exporter', `http://127.0.0.1:${DEFAULT_PORT}`)
    .option('--token <token>', 'your responder token (default: $MLWATCH_TOKEN)')
    .option('--json', 'print the ticket as JSON');
responderOptions(
  tickets
    .command('ack')
    .description("acknowledge a ticket for its assignee (platform's page, or a hand-off)"),
).action(async (id: string, opts: ApiFlags) => printed(await ackTicket(id, opts)));
responderOptions(
  tickets
    .command('handoff')
    .description('hand a ticket to data science: recorded on it, and their receiver is notified')
    .requiredOption('--to <team>', 'the team that takes it over: data-science')
    .requiredOption('--reason <text>', 'what was ruled out and why it is theirs'),
).action(async (id: string, opts: ApiFlags & { to: string; reason: string }) =>
  printed(await handoffTicket(id, opts)),
);

const retrain = program
  .command('retrain')
  .description("retraining requests (each model's cadence and Alertmanager's retraining receiver)");
retrain
  .command('list')
  .description('list retraining requests from the state store, newest first')
  .requiredOption('-c, --config <file>', 'config file (its state section says where the requests are)')
  .option('--model <model>', 'only this model')
  .option('--state <state>', 'pending or dispatched')
  .option('--limit <n>', 'at most this many', '100')
  .option('--json', 'print JSON instead of a table')
  .action(async (opts: { config: string } & RetrainListFlags) => {
    const result = await listRetrainRequests(loadOrExit(opts.config), opts);
    (result.code === 0 ? process.stdout : process.stderr).write(`${result.out}\n`);
    process.exitCode = result.code;
  });

program
  .command('report')
  .description('the weekly data-science review as Markdown (docs/report.md)')
  .option('-c, --config <file>', 'config file (its warehouse, report and state sections say where to read)')
  .option('--since <duration>', 'the period, ending now; also the model window compared', '7d')
  .option('--prometheus <url>', 'the Prometheus with the time series (default: report.prometheus_url)')
  .option('--exporter <url>', "without Prometheus: the values now from this exporter's /metrics (the demo)")
  .option('--at <time>', 'end the period at this ISO time instead of now, e.g. 2026-11-23T08:00:00Z')
  .action(async (opts: { config?: string } & ReportFlags) => {
    const config = opts.config === undefined ? undefined : loadOrExit(opts.config);
    // A one-off run's info lines (warehouse reachable) are noise beside the review; warnings and below stay.
    const level = program.opts().logLevel;
    const result = await report(config, opts, { log: createLogger(level === 'info' ? 'warn' : level) });
    for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
    (result.code === 0 ? process.stdout : process.stderr).write(`${result.out}\n`);
    process.exitCode = result.code;
  });

const rollback = program
  .command('rollback')
  .description('rollback requests with joint approval, through a running exporter (docs/rollbacks.md)');
const apiOptions = (c: Command) =>
  c
    .option('--url <url>', 'the exporter', `http://127.0.0.1:${DEFAULT_PORT}`)
    .option('--token <token>', 'your approver token (default: $MLWATCH_TOKEN)')
    .option('--json', 'print JSON');
apiOptions(
  rollback
    .command('request')
    .description(
      'ask for a model to be rolled back; it runs once an engineering and a product approver approve',
    )
    .requiredOption('--model <model>', 'a model with a rollback block in the config')
    .requiredOption('--to-version <version>', 'the version to roll back to')
    .requiredOption('--reason <text>', 'why, for the approvers and the audit log'),
).action(async (opts: ApiFlags & { model: string; toVersion: string; reason: string }) =>
  printed(await requestRollback(opts)),
);
for (const decision of ['approve', 'reject'] as const) {
  apiOptions(
    rollback
      .command(decision)
      .description(
        decision === 'approve' ? 'approve a pending request' : 'reject a pending request (closes it)',
      )
      .argument('<id>', 'the request id (mlwatch rollback list)')
      .option('--comment <text>', 'kept in the audit log'),
  ).action(async (id: string, opts: ApiFlags & { comment?: string }) =>
    printed(await decideRollback(decision, id, opts)),
  );
}
apiOptions(
  rollback
    .command('list')
    .description('list rollback requests, newest first')
    .option('--state <state>', 'pending, approved, executing, executed, failed, rejected or expired'),
).action(async (opts: ApiFlags & { state?: string }) => printed(await listRollbacks(opts)));
apiOptions(
  rollback.command('show').description('one request with its approvals and audit log').argument('<id>'),
).action(async (id: string, opts: ApiFlags) => printed(await showRollback(id, opts)));

rollback
  .command('verify')
  .description("check the rollback audit log's hash chain in the state store (exit 1 when broken)")
  .requiredOption('-c, --config <file>', 'config file (its state section says where the log is)')
  .option('--json', 'print JSON')
  .action(async (opts: { config: string; json?: boolean }) =>
    printed(await verifyRollbackAudit(loadOrExit(opts.config), { json: opts.json })),
  );

program
  .command('demo')
  .description('seed a demo warehouse (embedded PGlite, or a Postgres with --warehouse-url) and serve it')
  .option('-p, --port <n>', 'HTTP port', String(DEFAULT_PORT))
  .option('--host <addr>', 'address to listen on', '127.0.0.1')
  .option(
    '--warehouse-url <url>',
    'seed this Postgres instead of the embedded engine (the schema is replaced)',
  )
  .option('--schema <name>', 'schema the demo tables live in', 'mlwatch_demo')
  .option('--engine <name>', 'pglite (default), postgres (with --warehouse-url) or duckdb (Parquet files)')
  .option('--batch-interval <seconds>', 'seconds between live batches', '10')
  .option(
    '--incident <names>',
    `switch incidents on from the start, comma-separated: ${INCIDENTS.join(', ')}`,
    '',
  )
  .option(WEB_FLAGS.configFile, 'TLS and basic auth in exporter-toolkit format (docs/security.md)')
  .option(WEB_FLAGS.lifecycle, 'answer POST /-/reload (to clients with the lifecycle role)')
  .action(async (opts: DemoFlags & WebOptions) => {
    const log = createLogger(program.opts().logLevel);
    const port = parsePort(opts.port);
    const batchSeconds = Number(opts.batchInterval);
    if (!(batchSeconds > 0))
      fail(`--batch-interval: '${opts.batchInterval}' is not a positive number of seconds`);
    if (!/^[a-z_][a-z0-9_]*$/.test(opts.schema)) fail(`--schema: '${opts.schema}' must be lower_snake_case`);
    const incidents = opts.incident.split(',').filter(Boolean);
    const unknown = incidents.filter((i) => !isIncident(i));
    if (unknown.length > 0)
      fail(`--incident: no incident ${unknown.join(', ')}; available: ${INCIDENTS.join(', ')}`);
    // Before seeding, which takes seconds: a taken port is known now.
    const taken = await portTaken(opts.host, port);
    if (taken) fail(taken);
    await runDemo({
      port,
      host: opts.host,
      warehouseUrl: opts.warehouseUrl,
      engine: opts.engine,
      schema: opts.schema,
      batchMs: batchSeconds * 1000,
      incidents: incidents.filter(isIncident),
      log,
      ...webOptions(opts),
    });
  });

await program.parseAsync();
