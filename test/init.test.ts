import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Chooser } from '../src/init/choose.js';
import { Cancelled, Prompter } from '../src/init/prompt.js';
import { splitPassword } from '../src/init/secrets.js';
import { CLI, runCli, startCli } from './helpers/cli.js';
import { onRealPostgres, TEST_DATABASE_URL } from './helpers/db.js';
import { type DemoWarehouse, openDemoWarehouse } from './helpers/demo-warehouse.js';
import { parseExposition, sampleValue, series } from './helpers/exposition.js';
import { bruteAuc } from './helpers/oracle.js';
import { findOnPath } from './helpers/tools.js';
import { waitFor } from './helpers/wait.js';

/**
 * `mlwatch init` against the demo's warehouse, on the engine the environment selects, through the built CLI:
 * what it proposes, that check-config and once accept the file, and that once's values are the ones SQL
 * computes from the same tables. Then the refusals: an existing file, an ambiguous score column.
 */

let wh: DemoWarehouse;
const tmp = mkdtempSync(join(tmpdir(), 'mlwatch-init-'));

beforeAll(async () => {
  wh = await openDemoWarehouse();
}, 120_000);

afterAll(async () => {
  await wh?.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** A schema with a predictions table of two score columns (score, probability) and its labels table. */
let ambiguous: string | undefined;
async function ambiguousSchema(): Promise<string> {
  if (ambiguous === undefined) {
    ambiguous = wh.otherSchema('amb');
    await wh.exec(`CREATE SCHEMA ${ambiguous};
      CREATE TABLE ${ambiguous}.lead_scores (lead_id bigint, scored_at timestamptz, score float8, probability float8);
      CREATE TABLE ${ambiguous}.conversions_labels (lead_id bigint, labeled_at timestamptz, converted boolean);`);
  }
  return ambiguous;
}

const init = (file: string, ...more: string[]) =>
  runCli(['init', '--warehouse-url', wh.url, '--schema', wh.schema, '--output', file, '--yes', ...more]);

/** Epoch seconds of `sql`'s one value, e.g. max(ingested_at). */
const epoch = async (sql: string) =>
  Number((await wh.query(`SELECT extract(epoch FROM (${sql}))::float8 AS v`))[0]?.v);
const count = async (sql: string, params: unknown[]) => Number((await wh.query(sql, params))[0]?.n);

describe('mlwatch init on the demo warehouse', () => {
  const file = join(tmp, 'mlwatch.yaml');
  let once: { stdout: string; stderr: string; code: number | null };
  let before: number;
  let after: number;

  it('proposes the demo datasets, models, jobs, service and KPI, and says where state lives and that the role only reads', () => {
    const r = init(file);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Wrote ');
    expect(r.stdout).toMatch(/state store \(tickets, retraining requests, rollbacks\) lives in/);
    expect(r.stdout).toContain('mlwatch only reads');
    const text = readFileSync(file, 'utf8');
    // The comments survive: the role, the state store, each entry's note.
    expect(text).toMatch(/^# mlwatch only reads the warehouse/m);
    expect(text).toMatch(/^# The state store \(tickets, retraining requests, rollbacks\) lives in/m);
    expect(text).toMatch(/^ {2}# binary classification: each prediction of /m);

    const s = wh.schema;
    const cfg = parse(text);
    expect(cfg.warehouse).toEqual({ url: wh.url, statement_timeout: '30s' });
    if (onRealPostgres) expect(cfg.state).toEqual({ schema: 'mlwatch' });
    // A PGlite directory is opened by one instance at a time: its store gets a directory of its own.
    else expect(cfg.state).toEqual({ url: `pglite:${join(tmp, 'mlwatch-state')}`, schema: 'mlwatch' });
    expect(cfg.datasets.map((d: { name: string }) => d.name)).toEqual([
      'applications',
      'decisions',
      'sim_pending_outcomes',
    ]);
    expect(cfg.datasets[0]).toEqual({
      name: 'applications',
      table: `${s}.applications`,
      timestamp: 'ingested_at',
      checks: {
        freshness: {},
        volume: { window: '1h' },
        nulls: {
          columns: ['income', 'age', 'employment_years', 'purpose', 'region', 'requested_amount'],
          window: '1h',
        },
      },
    });
    expect(cfg.models).toEqual([
      {
        name: 'defaulted',
        task: 'binary_classification',
        owner: 'data-science',
        dataset: 'applications',
        predictions: {
          table: `${s}.predictions`,
          key: 'application_id',
          timestamp: 'predicted_at',
          score: 'score',
          version: 'model_version',
        },
        labels: {
          table: `${s}.outcomes`,
          key: 'application_id',
          timestamp: 'observed_at',
          label: 'defaulted',
        },
        windows: ['1d', '7d', '14d'],
        threshold: 0.5,
      },
      {
        name: 'risk_tier',
        task: 'multiclass_classification',
        owner: 'data-science',
        dataset: 'applications',
        predictions: {
          table: `${s}.risk_tier_predictions`,
          key: 'application_id',
          timestamp: 'predicted_at',
          scores: { low: 'p_low', medium: 'p_medium', high: 'p_high' },
          version: 'model_version',
        },
        labels: {
          table: `${s}.risk_tier_outcomes`,
          key: 'application_id',
          timestamp: 'observed_at',
          label: 'tier',
        },
        windows: ['1d', '7d', '14d'],
      },
    ]);
    const common = {
      table: `${s}.job_runs`,
      job_column: 'job',
      status_column: 'status',
      success_values: ['success'],
      started_column: 'started_at',
      finished_column: 'finished_at',
    };
    expect(cfg.jobs).toEqual([
      { name: 'feature_pipeline', ...common, job: 'feature_pipeline' },
      { name: 'scoring_batch', ...common, job: 'scoring_batch' },
    ]);
    expect(cfg.serving).toEqual([
      {
        name: 'requests',
        table: `${s}.requests`,
        timestamp: 'at',
        latency: { column: 'latency_ms', unit: 'ms' },
        status: { column: 'status' },
        objective: '500ms',
      },
    ]);
    expect(cfg.kpis).toEqual([
      {
        name: 'decisions_approved_rate',
        ratio: { table: `${s}.decisions`, timestamp: 'decided_at', numerator: 'approved' },
        dataset: 'applications',
      },
    ]);
  });

  it('passes check-config', () => {
    const r = runCli(['check-config', file]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      `${file}: valid, 11 check(s) (3 dataset_scan, 2 model_labels, 2 model_performance, 2 job, 1 serving, 1 kpi)\n`,
    );
    expect(r.code).toBe(0);
  });

  it('runs once with every check succeeding', () => {
    before = Date.now() / 1000;
    once = runCli(['once', '--config', file]);
    after = Date.now() / 1000;
    expect(once.stderr).not.toContain('failed');
    expect(once.code).toBe(0);
    const m = parseExposition(once.stdout);
    const success = series(m, 'mlwatch_check_success');
    expect(success.map((x) => x.labels.check).sort()).toEqual(
      [
        'dataset:applications:scan',
        'dataset:decisions:scan',
        'dataset:sim_pending_outcomes:scan',
        'job:feature_pipeline',
        'job:scoring_batch',
        'kpi:decisions_approved_rate',
        'model:defaulted:labels',
        'model:defaulted:performance',
        'model:risk_tier:labels',
        'model:risk_tier:performance',
        'serving:requests',
      ].sort(),
    );
    expect(success.every((x) => x.value === 1)).toBe(true);
  });

  // The demo's tables are not fed while the test runs, so a value over [now - w, now) is bounded by the same
  // count taken with now at the start and at the end of `once`: fewer rows fall in the window as it moves on.
  const between = async (got: number, sql: string) => {
    const [low, high] = [await count(sql, [after]), await count(sql, [before])];
    expect(got).toBeGreaterThanOrEqual(low);
    expect(got).toBeLessThanOrEqual(high);
  };

  it("prints the datasets' freshness and volume as SQL computes them", async () => {
    const m = parseExposition(once.stdout);
    const newest = await epoch(`SELECT max(ingested_at) FROM ${wh.schema}.applications`);
    const last = sampleValue(m, 'mlwatch_dataset_last_update_timestamp_seconds', { dataset: 'applications' });
    expect(last).toBeCloseTo(newest, 3);
    // The age of the newest row on the warehouse's clock, which is this machine's.
    const age = sampleValue(m, 'mlwatch_dataset_newest_row_age_seconds', { dataset: 'applications' });
    expect(age).toBeGreaterThanOrEqual(before - newest - 1);
    expect(age).toBeLessThanOrEqual(after - newest + 1);

    const rows = sampleValue(m, 'mlwatch_dataset_rows', { dataset: 'applications', window: '1h' });
    expect(rows).toBeGreaterThan(0);
    await between(
      rows,
      `SELECT count(*)::int AS n FROM ${wh.schema}.applications WHERE ingested_at >= to_timestamp($1::float8) - interval '1 hour'`,
    );
  });

  it("prints the model's AUC and the job, service and KPI values as SQL computes them", async () => {
    const m = parseExposition(once.stdout);
    const s = wh.schema;
    const predictions = sampleValue(m, 'mlwatch_model_predictions', {
      model: 'defaulted',
      window: '14d',
      version: 'credit-gbm-3.2',
    });
    await between(
      predictions,
      `SELECT count(*)::int AS n FROM ${s}.predictions WHERE predicted_at >= to_timestamp($1::float8) - interval '14 days'`,
    );
    // The 14-day AUC by brute force over the same join: within what a few seconds of window movement can change.
    const pairs = await wh.query(
      `SELECT p.score::float8 AS s, o.defaulted::int AS y FROM ${s}.predictions p JOIN ${s}.outcomes o USING (application_id)
       WHERE p.predicted_at >= to_timestamp($1::float8) - interval '14 days'`,
      [before],
    );
    const auc = sampleValue(m, 'mlwatch_model_auc', {
      model: 'defaulted',
      window: '14d',
      version: 'credit-gbm-3.2',
    });
    expect(auc).toBeGreaterThan(0.6);
    expect(Math.abs(auc - bruteAuc(pairs.map((r) => ({ s: Number(r.s), y: Number(r.y) }))))).toBeLessThan(
      2e-3,
    );

    const runs = sampleValue(m, 'mlwatch_job_runs', {
      job_name: 'feature_pipeline',
      window: '1d',
      outcome: 'success',
    });
    expect(runs).toBeGreaterThan(0);
    await between(
      runs,
      `SELECT count(*)::int AS n FROM ${s}.job_runs WHERE job = 'feature_pipeline' AND status = 'success'
         AND finished_at IS NOT NULL AND started_at >= to_timestamp($1::float8) - interval '1 day'`,
    );
    const requests = sampleValue(m, 'mlwatch_serving_requests', { service_name: 'requests', window: '1h' });
    expect(requests).toBeGreaterThan(0);
    await between(
      requests,
      `SELECT count(*)::int AS n FROM ${s}.requests WHERE "at" >= to_timestamp($1::float8) - interval '1 hour'`,
    );
    const rate = sampleValue(m, 'mlwatch_kpi_value', { kpi: 'decisions_approved_rate', window: '1d' });
    const [row] = await wh.query(
      `SELECT avg(approved::int)::float8 AS v FROM ${s}.decisions WHERE decided_at >= to_timestamp($1::float8) - interval '1 day'`,
      [before],
    );
    expect(Math.abs(rate - Number(row?.v))).toBeLessThan(0.01);
  });
});

describe('mlwatch init refuses', () => {
  it('to overwrite a file without --force, before connecting, and replaces it with --force', () => {
    const file = join(tmp, 'existing.yaml');
    writeFileSync(file, 'warehouse: { url: pglite:memory }\n');
    const r = init(file);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `${file} exists; init does not overwrite it. Pass --force to replace it, or --output another file.\n`,
    );
    expect(readFileSync(file, 'utf8')).toBe('warehouse: { url: pglite:memory }\n');
    const forced = init(file, '--force');
    expect(forced.code).toBe(0);
    expect(parse(readFileSync(file, 'utf8')).models).toHaveLength(2);
  });

  it('to guess between two score columns, naming --score, and takes the flag', async () => {
    const amb = await ambiguousSchema();
    const file = join(tmp, 'ambiguous.yaml');
    const args = ['init', '--warehouse-url', wh.url, '--schema', amb, '--output', file, '--yes'];
    const r = runCli(args);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      [
        'mlwatch init cannot decide on its own:',
        `  - the score column (P(positive)) of ${amb}.lead_scores is ambiguous: score, probability could each be it; pass --score <column>`,
        'Nothing was written.',
        '',
      ].join('\n'),
    );
    expect(existsSync(file)).toBe(false);

    const wrong = runCli([...args, '--score', 'nope']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(
      `--score nope: not a choice for the score column (P(positive)) of ${amb}.lead_scores; pass one of: score, probability`,
    );

    const ok = runCli([...args, '--score', 'probability']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const model = parse(readFileSync(file, 'utf8')).models[0];
    expect(model.predictions).toEqual({
      table: `${amb}.lead_scores`,
      key: 'lead_id',
      timestamp: 'scored_at',
      score: 'probability',
    });
    expect(model.labels).toEqual({
      table: `${amb}.conversions_labels`,
      key: 'lead_id',
      timestamp: 'labeled_at',
      label: 'converted',
    });
    expect(runCli(['check-config', file]).code).toBe(0);
  });

  it('without a warehouse, with an in-memory or a missing one, without a stack trace', () => {
    const file = join(tmp, 'none.yaml');
    const none = runCli(['init', '--output', file, '--yes']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^pass --warehouse-url URL .* or --demo for the demo warehouse\n$/);
    const memory = runCli(['init', '--warehouse-url', 'pglite:memory', '--output', file, '--yes']);
    expect(memory.code).toBe(1);
    expect(memory.stderr).toContain('an in-memory warehouse is empty in every new process');
    expect(memory.stderr).not.toMatch(/^\s+at /m);
    // A typo in a PGlite path is refused rather than made into a new, empty database.
    const typo = join(tmp, 'no-such-warehouse');
    const missing = runCli(['init', '--warehouse-url', `pglite:${typo}`, '--output', file, '--yes']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`--warehouse-url pglite:${typo}: no PGlite database in ${typo}\n`);
    expect(existsSync(typo)).toBe(false);
    expect(existsSync(file)).toBe(false);
  });
});

describe('mlwatch init and secrets', () => {
  it('keeps a password out of the URL it writes', () => {
    expect(splitPassword('postgresql://app:s%40cret@db:5432/wh?sslmode=require')).toEqual({
      url: 'postgresql://app@db:5432/wh?sslmode=require',
      hadPassword: true,
      password: 's@cret',
    });
    expect(splitPassword('postgres://app@db/wh?password=x&application_name=a')).toEqual({
      url: 'postgres://app@db/wh?application_name=a',
      hadPassword: true,
      password: 'x',
    });
    expect(splitPassword('pglite:/var/lib/wh')).toEqual({ url: 'pglite:/var/lib/wh', hadPassword: false });
  });

  // Trust authentication takes any password, so the real server shows the whole path: written, loaded, used.
  it.skipIf(!onRealPostgres)(
    'writes ${WAREHOUSE_PASSWORD} instead, and check-config and once read it',
    () => {
      const url = new URL(TEST_DATABASE_URL as string);
      url.password = 'init-test-secret';
      const file = join(tmp, 'secret.yaml');
      const r = runCli([
        'init',
        '--warehouse-url',
        url.toString(),
        '--schema',
        wh.schema,
        '--output',
        file,
        '--yes',
      ]);
      expect(r.code).toBe(0);
      const text = readFileSync(file, 'utf8');
      expect(text).not.toContain('init-test-secret');
      expect(`${r.stdout}${r.stderr}`).not.toContain('init-test-secret');
      expect(parse(text).warehouse.password).toBe('${WAREHOUSE_PASSWORD}');
      expect(r.stdout).toContain('export WAREHOUSE_PASSWORD=');
      const unset = runCli(['check-config', file], { WAREHOUSE_PASSWORD: '' });
      expect(unset.code).toBe(1);
      expect(unset.stderr).toContain('environment variable WAREHOUSE_PASSWORD is not set');
      const env = { WAREHOUSE_PASSWORD: 'init-test-secret' };
      expect(runCli(['check-config', file], env).code).toBe(0);
      const ran = runCli(['once', '--config', file], env);
      expect(ran.code).toBe(0);
      expect(series(parseExposition(ran.stdout), 'mlwatch_check_success').every((x) => x.value === 1)).toBe(
        true,
      );
    },
  );
});

describe('mlwatch init --demo', () => {
  it("seeds the demo's tables where they are missing, then uses them as they are", () => {
    const file = join(tmp, 'demo.yaml');
    const where = onRealPostgres
      ? ['--warehouse-url', TEST_DATABASE_URL as string, '--schema', wh.otherSchema('demo')]
      : ['--demo-dir', join(tmp, 'demo-warehouse')];
    const first = runCli(['init', '--demo', ...where, '--output', file, '--yes']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('seeded 35 days of the credit-scoring story');
    expect(parse(readFileSync(file, 'utf8')).models.map((x: { name: string }) => x.name)).toEqual([
      'defaulted',
      'risk_tier',
    ]);
    const second = runCli(['init', '--demo', ...where, '--output', file, '--yes', '--force']);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('its tables are there already: used as they are');
    expect(runCli(['check-config', file]).code).toBe(0);
  });
});

describe('questions in a terminal', () => {
  const question = {
    flag: '--score',
    what: 'the score column of t',
    candidates: ['score', 'probability'],
    allowed: ['score', 'probability', 'amount'],
  };
  const prompter = (input: string) => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    let shown = '';
    stdout.on('data', (d) => {
      shown += d;
    });
    stdin.end(input);
    return { p: new Prompter(stdin, stdout), shown: () => shown };
  };

  it('takes a number or a name, asks again after a wrong answer, and cancels at end of input', async () => {
    const a = prompter('2\n');
    expect(await a.p.choose(question)).toBe('probability');
    expect(a.shown()).toContain('  1) score\n  2) probability\n');
    const b = prompter('7\namount\n');
    expect(await b.p.choose(question)).toBe('amount');
    expect(b.shown()).toContain("'7' is not one of them");
    const c = prompter('');
    await expect(c.p.choose(question)).rejects.toBeInstanceOf(Cancelled);
    const d = prompter('\nn\n');
    expect(await d.p.confirm('Write it?', true)).toBe(true);
    expect(await d.p.confirm('Write it?', true)).toBe(false);
  });

  // script(1) gives the CLI a pseudo-terminal, so process.stdin.isTTY holds as in a person's shell; the answers
  // are typed ahead, which the line reader keeps until each question.
  it.skipIf(findOnPath('script') === undefined)(
    'in a terminal, the CLI asks for the score column and writes the answer',
    async () => {
      const amb = await ambiguousSchema();
      const file = join(tmp, 'terminal.yaml');
      const command = [CLI, 'init', '--warehouse-url', wh.url, '--schema', amb, '--output', file]
        .map((a) => `'${a}'`)
        .join(' ');
      const r = spawnSync('script', ['-qec', `'${process.execPath}' ${command}`, '/dev/null'], {
        input: '2\ny\n',
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.stdout).toContain(`the score column (P(positive)) of ${amb}.lead_scores? (or pass --score)`);
      expect(r.stdout).toContain('  1) score\r\n  2) probability');
      expect(r.stdout).toContain(`Write ${file}? [Y/n]`);
      expect(r.status).toBe(0);
      expect(parse(readFileSync(file, 'utf8')).models[0].predictions.score).toBe('probability');
    },
  );

  it('asks only where the catalog leaves a choice, and a flag answers without asking', async () => {
    const asked: string[] = [];
    const chooser = new Chooser(async (q) => {
      asked.push(q.what);
      return 'probability';
    });
    expect(await chooser.choose({ ...question, candidates: ['score'] })).toBe('score');
    expect(await chooser.choose({ ...question, given: 'amount' })).toBe('amount');
    expect(asked).toEqual([]);
    expect(await chooser.choose(question)).toBe('probability');
    expect(asked).toEqual(['the score column of t']);
    expect(chooser.problems).toEqual([]);
  });
});

// A warehouse role that may only read (docs/warehouse-role.md) cannot hold the default state store, the
// warehouse's own database: init sees that in the catalog and gives this one instance an embedded store, which
// `serve` then migrates and uses. The same file with the default store is the control: its migration is refused.
describe.skipIf(!onRealPostgres)('mlwatch init with a warehouse role that may only read', () => {
  const role = `mlwatch_init_reader_${process.pid}`;
  const file = join(tmp, 'reader.yaml');
  let url: string;

  beforeAll(async () => {
    await wh.exec(`CREATE ROLE ${role} LOGIN;
      GRANT USAGE ON SCHEMA ${wh.schema} TO ${role};
      GRANT SELECT ON ALL TABLES IN SCHEMA ${wh.schema} TO ${role};`);
    const u = new URL(wh.url);
    u.username = role;
    u.password = '';
    url = u.toString();
  });
  afterAll(async () => {
    await wh.exec(`DROP OWNED BY ${role}; DROP ROLE IF EXISTS ${role};`);
  });

  const storeUp = async (config: string) => {
    // Insecure actions: the file init writes has no access clients yet, and only the store is under test here.
    const served = await startCli([
      'serve',
      '--config',
      config,
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--web.insecure-actions',
    ]);
    try {
      return await waitFor(
        async () => {
          const m = parseExposition(await (await fetch(`${served.url}/metrics`)).text());
          // The first attempt is over once either way is said: up, or the refusal in the log.
          const up = sampleValue(m, 'mlwatch_state_store_up');
          if (up === 1) return { up, logs: served.logs() };
          if (/state\.url is not set/.test(served.logs())) return { up, logs: served.logs() };
          return undefined;
        },
        30_000,
        'the state store to be migrated or refused',
        () => served.logs(),
      );
    } finally {
      await served.stop();
    }
  };

  it('proposes an embedded state store, which serve migrates, where the default store is refused', async () => {
    const r = runCli(['init', '--warehouse-url', url, '--schema', wh.schema, '--output', file, '--yes']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('The warehouse role may only read (it cannot create schema mlwatch)');
    const cfg = parse(readFileSync(file, 'utf8'));
    expect(cfg.state).toEqual({ url: `pglite:${join(tmp, 'reader-state')}`, schema: 'mlwatch' });
    expect(runCli(['check-config', file]).code).toBe(0);

    const own = await storeUp(file);
    expect(own.up, own.logs).toBe(1);

    const defaultStore = join(tmp, 'reader-default-store.yaml');
    writeFileSync(defaultStore, readFileSync(file, 'utf8').replace(/^ {2}url: .*pglite:.*\n/m, ''));
    expect(parse(readFileSync(defaultStore, 'utf8')).state).toEqual({ schema: 'mlwatch' });
    const refused = await storeUp(defaultStore);
    expect(refused.up).toBe(0);
    expect(refused.logs).toMatch(/permission denied/);
  }, 120_000);
});
