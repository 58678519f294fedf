import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../config/errors.js';
import { loadConfigText } from '../config/load.js';
import { Chooser } from '../init/choose.js';
import { demoWarehouse } from '../init/demo.js';
import { inspectWarehouse } from '../init/inspect.js';
import type { ModelFlags } from '../init/models.js';
import { Cancelled, Prompter } from '../init/prompt.js';
import { propose } from '../init/proposal.js';
import { Refused } from '../init/refused.js';
import { renderConfig } from '../init/render.js';
import { afterWriting, summary, undecided } from '../init/report.js';
import { PASSWORD_VARIABLE, splitPassword } from '../init/secrets.js';
import { planState } from '../init/state.js';
import { warehouseTarget } from '../init/target.js';
import { SECTIONS } from '../init/types.js';
import { Redactor, redactUrl } from '../redact.js';
import { describeError } from '../warehouse/errors.js';
import { openWarehouse } from '../warehouse/open.js';
import { loginHint } from './login-hint.js';

/**
 * `mlwatch init`: reads a warehouse's catalog, proposes what to watch, and writes a commented mlwatch.yaml that
 * `check-config` and `once` accept. With --yes (or without a terminal) it asks nothing and stops, naming the
 * flag, where it cannot decide; in a terminal it asks.
 */

export interface InitFlags extends ModelFlags {
  warehouseUrl?: string;
  demo?: boolean;
  demoDir?: string;
  schema?: string;
  output: string;
  yes?: boolean;
  force?: boolean;
}

export interface InitIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const DEMO_SCHEMA = 'mlwatch_demo';
// The state store's default schema: its tables are mlwatch's own, never a proposal.
const STATE_SCHEMA = 'mlwatch';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('propose a commented mlwatch.yaml from the tables of a warehouse (asks in a terminal)')
    .option('--warehouse-url <url>', 'postgresql://user@host:5432/db, pglite:/dir or duckdb:/file.duckdb')
    .option('--demo', "the demo's warehouse: seeds its tables when they are missing (docs/install.md)")
    .option(
      '--demo-dir <dir>',
      'with --demo and no --warehouse-url: the PGlite directory (default: beside --output)',
    )
    .option(
      '--schema <names>',
      'only these schemas, comma-separated (default: all; with --demo: mlwatch_demo)',
    )
    .option('-o, --output <file>', 'the config file to write', 'mlwatch.yaml')
    .option('-y, --yes', 'ask nothing: take what is detected, stop naming the flag where it cannot decide')
    .option('--force', 'overwrite the output file if it exists')
    .option('--model-table <table>', "a model's predictions table, schema.table")
    .option('--label-table <table>', "that model's labels table")
    .option('--key <column>', 'the column joining its predictions to their labels')
    .option('--score <column>', 'its score column (a regression model: its predicted value)')
    .option('--label <column>', 'its label column')
    .option('--model-name <name>', 'its name (the model label)')
    .action(async (opts: InitFlags) => {
      process.exitCode = await init(opts, process);
    });
}

export async function init(flags: InitFlags, io: InitIo): Promise<number> {
  const interactive = flags.yes !== true && io.stdin.isTTY === true;
  const prompter = interactive ? new Prompter(io.stdin, io.stdout) : undefined;
  const redactor = new Redactor().addUrl(flags.warehouseUrl);
  try {
    return await run(flags, io, prompter);
  } catch (err) {
    if (err instanceof Refused || err instanceof Cancelled) {
      io.stderr.write(`${redactor.redact(err.message)}\n`);
      return 1;
    }
    throw err;
  } finally {
    prompter?.close();
  }
}

async function run(flags: InitFlags, io: InitIo, prompter: Prompter | undefined): Promise<number> {
  const output = resolve(flags.output);
  // Before connecting: a refusal costs nothing then.
  if (existsSync(output) && flags.force !== true) {
    throw new Refused(
      `${flags.output} exists; init does not overwrite it. Pass --force to replace it, or --output another file.`,
    );
  }
  if (!existsSync(dirname(output)) || !statSync(dirname(output)).isDirectory()) {
    throw new Refused(`--output ${flags.output}: the folder ${dirname(output)} does not exist`);
  }

  const schemas = (flags.schema ?? (flags.demo ? DEMO_SCHEMA : ''))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

  const rawUrl = await warehouseTarget(flags, output, prompter);
  const split = splitPassword(rawUrl);
  if (flags.demo) await seedDemo(flags, rawUrl, schemas, io);

  const warehouse = openWarehouse({
    url: split.url,
    password: split.password,
    pool: 1,
    applicationName: 'mlwatch-init',
    connectTimeoutMs: 10_000,
  });
  let inspected: Awaited<ReturnType<typeof inspectWarehouse>>;
  try {
    inspected = await inspectWarehouse(warehouse, split.url, {
      schemas,
      exclude: [STATE_SCHEMA],
      timeoutMs: 30_000,
      stateSchema: STATE_SCHEMA,
    });
  } catch (err) {
    const hint = loginHint(err, {
      key: '--warehouse-url',
      url: rawUrl,
      purpose: 'warehouse',
      schemas,
      configFile: flags.output,
    });
    throw new Refused(hint ?? `cannot read the warehouse's tables: ${describeError(err, 30_000)}`);
  } finally {
    await warehouse.close();
  }

  const chooser = new Chooser(prompter ? (q) => prompter.choose(q) : undefined);
  const proposal = await propose(inspected, flags, chooser);
  if (chooser.problems.length > 0) {
    throw new Refused(undecided(chooser.problems));
  }
  if (SECTIONS.every((s) => proposal[s].length === 0)) {
    const where = schemas.length > 0 ? `schema ${schemas.join(', ')}` : 'any schema';
    throw new Refused(
      `nothing to watch: no table in ${where} has a timestamp column (timestamp with or without time zone) the role can read${proposal.notes.length ? `\n${proposal.notes.join('\n')}` : ''}`,
    );
  }

  const state = planState(split.url, `${output.replace(/\.ya?ml$/, '')}-state`, inspected.stateWritable);
  const text = renderConfig({
    proposal,
    file: flags.output,
    warehouseUrl: split.url,
    password: split.hadPassword,
    shownUrl: redactUrl(rawUrl),
    state,
  });
  validate(text, flags.output, output);

  io.stdout.write(summary(proposal, redactUrl(rawUrl)));
  if (prompter && !(await prompter.confirm(`Write ${flags.output}?`, true))) {
    io.stdout.write('Nothing was written.\n');
    return 0;
  }
  try {
    writeFileSync(output, text, { flag: flags.force ? 'w' : 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Refused(
      code === 'EEXIST'
        ? `${flags.output} appeared meanwhile; init does not overwrite it (pass --force)`
        : `cannot write ${flags.output}: ${code ?? (err as Error).message}`,
    );
  }
  io.stdout.write(afterWriting(flags.output, state.description, split.hadPassword));
  return 0;
}

async function seedDemo(flags: InitFlags, url: string, schemas: string[], io: InitIo): Promise<void> {
  if (schemas.length !== 1) throw new Refused('--demo: name one schema for the demo tables with --schema');
  const schema = schemas[0] as string;
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Refused(`--schema: '${schema}' must be lower_snake_case`);
  if (url.startsWith('duckdb:')) throw new Refused('--demo seeds PostgreSQL or PGlite, not DuckDB');
  const target = url.startsWith('pglite:') ? { dir: url.slice('pglite:'.length) } : { url };
  io.stdout.write(`Demo warehouse: ${redactUrl(url)}, schema ${schema}\n`);
  try {
    const { seeded } = await demoWarehouse(target, schema);
    io.stdout.write(
      seeded
        ? 'seeded 35 days of the credit-scoring story (applications, predictions, outcomes, job runs, requests, decisions)\n'
        : 'its tables are there already: used as they are\n',
    );
  } catch (err) {
    const hint = flags.warehouseUrl
      ? loginHint(err, { key: '--warehouse-url', url, purpose: 'demo' })
      : undefined;
    throw new Refused(hint ?? `cannot seed the demo warehouse: ${describeError(err)}`);
  }
}

// The file is checked as `check-config` checks it before it is written: a proposal the loader refuses is a bug
// of init's, reported as such rather than left for the user to find.
function validate(text: string, shown: string, output: string): void {
  const env = { ...process.env, [PASSWORD_VARIABLE]: process.env[PASSWORD_VARIABLE] || 'unset' };
  try {
    loadConfigText(text, shown, env, dirname(output));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new Refused(
      `the proposed config does not pass check-config (a bug in mlwatch init; please report it). Nothing was written.\n${err.message}`,
    );
  }
}
