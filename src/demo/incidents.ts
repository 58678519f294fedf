import { MARKS } from '../http/landing/marks.js';
import type { SqlWriter } from '../warehouse/types.js';
import type { DemoFeeder } from './batches.js';
import { ROLLOUT_BACKUP_SQL, rollBackRollout, rollOut, rollOutBatch } from './rollout-incident.js';
import { quoteSchema } from './schema.js';
import {
  BACKUP_TABLES_SQL,
  batch,
  failRuns,
  recent,
  rejectApprovals,
  restoreSystem,
  slowRequests,
} from './system-incidents.js';

/**
 * Faults the demo can inject, each reversible, so alerts fire for real and resolve again:
 * - stale: the applications feed stalled STALE_MINUTES (20) minutes ago: the feeder pauses, and the applications
 *   of the last 20 minutes are held back, so the newest row is past the 15-minute freshness line at the next check
 *   rather than 15 minutes later. Switching off is the feed catching up: the held rows arrive, then one batch
 *   brings what happened while it was paused, so no window is left with a gap.
 * - nulls: a feature (income) goes 20 % NULL in the last hour and in every new batch.
 * - schema: a column is retyped (age: integer -> bigint); the schema check sees type_changed.
 * - drift: income shifts (x 2.5) over the last day and in every new batch; its PSI jumps.
 * - auc: the model degrades: the scores of the last 14 days are shuffled among themselves, and every new
 *   prediction gets the score of a random other one, so scores keep their distribution but no longer separate
 *   the classes; the 14-day AUC falls to about 0.5.
 * - rollout: a worse version is rolled out: the recent half of the last 14 days' labeled predictions, and every
 *   new one, become version credit-gbm-3.3 with shuffled scores (src/demo/rollout-incident.ts);
 *   MlwatchModelVersionWorse names the rollback to credit-gbm-3.2. It and auc both rewrite scores, so only one of
 *   them can be on at a time.
 * - labels: labels stop arriving: the labels observed in the last 7 days are held back, and so is every label a
 *   new batch delivers; the 7-day label coverage falls to 0.
 * - leakage: the 5 most recent labeled predictions get a label stamped an hour before the prediction.
 * - jobs: job runs start failing: the runs that finished in the last hour, and every run a new batch logs, get
 *   the status 'failed', so the 5m and 1h burn-rate windows see a 100 % error ratio at once.
 * - latency: requests get 8 times slower (p95 about 1.85 s instead of 0.23 s): those of the last 15 minutes and
 *   every new one.
 * - kpi: the approval rate drops by 30 % (relative): exactly 30 % of the last day's approvals become rejections,
 *   and each new approval does with probability 0.3, so the 1d rate falls about 30 % below its baseline (the
 *   median of the same day in the last 4 weeks).
 * Rewritten or held-back rows are kept in side tables and written back when the incident is switched off (the
 * labels delivered meanwhile included).
 */
export const INCIDENTS = [
  'stale',
  'nulls',
  'schema',
  'drift',
  'auc',
  'rollout',
  'labels',
  'leakage',
  'jobs',
  'latency',
  'kpi',
] as const;
export type Incident = (typeof INCIDENTS)[number];

/**
 * How long ago the `stale` incident's feed stalled: its rows since then are held back. Five minutes past
 * MlwatchDatasetStale's 15-minute line (MARKS.staleSeconds, held to the rule by test/landing-format.test.ts), so
 * the newest row is over it at once, whatever the gap between the last two applications (2 minutes on average).
 */
export const STALE_MINUTES = 20;

/** The columns of applications, which the `stale` incident moves to sim_held_applications and back. */
const APPLICATION_COLUMNS =
  'id, ingested_at, income, age, employment_years, purpose, region, requested_amount';

/**
 * Incidents that rewrite applications. While `stale` holds rows back, each of them is switched with the held rows
 * in place: nulls and drift cover them like any row of their window and, switched off, restore them from their
 * backups (which only reach rows in the table); schema retypes the column the rows are written back into.
 */
const REWRITE_APPLICATIONS: readonly Incident[] = ['nulls', 'drift', 'schema'];

/**
 * What switching an incident on means for its alert, when that needs saying: the switch's answer and the demo's
 * start-up lines carry it.
 */
export function incidentNote(name: Incident): string | undefined {
  if (name !== 'stale') return undefined;
  const line = MARKS.staleSeconds / 60;
  return (
    `the applications feed stalled ${STALE_MINUTES} minutes ago: its newest row is already past MlwatchDatasetStale's ${line}-minute line. ` +
    `The freshness check exports the age at its next run (every 15 s; the checks page flags it then); ` +
    `a Prometheus with the bundled rules (docker compose up) fires the alert within about a minute ` +
    `(15 s scrapes and evaluations, then the rule's for: 15s), and Alertmanager pages after its group_wait. ` +
    `Switched off, the feed catches up: the held rows and the missed batches arrive.`
  );
}

/** Incidents that rewrite the same rows: each restores what it saw, so one must be off before the other is on. */
const EXCLUSIVE: readonly (readonly Incident[])[] = [['auc', 'rollout']];

/** Switching an incident on while one that rewrites the same rows is on. */
export class IncidentConflict extends Error {}

export function isIncident(name: string): name is Incident {
  return (INCIDENTS as readonly string[]).includes(name);
}

export class DemoIncidents {
  private readonly on = new Set<Incident>();
  private readonly s: string;
  /** While `stale` is on: where the held rows begin, as the warehouse printed it (exact to the microsecond). */
  private staleSince: string | undefined;

  /**
   * `afterSwitch` runs once the warehouse took a switch: the DuckDB demo writes the rows it rewrote to the
   * Parquet files again (src/demo/lake/lake.ts), and the switch answers only then.
   */
  constructor(
    private readonly w: SqlWriter,
    schema: string,
    private readonly feeder: DemoFeeder,
    private readonly afterSwitch?: (name: Incident, enabled: boolean) => Promise<void>,
  ) {
    this.s = quoteSchema(schema);
  }

  active(): Incident[] {
    return INCIDENTS.filter((i) => this.on.has(i));
  }

  /** The switch in progress; the next one waits for it (see set). */
  private switching: Promise<void> = Promise.resolve();

  /**
   * Switches one incident. Switches run one at a time, in the order asked: two at once would each read the
   * other's half-done state (a nulls switch during stale's would miss the rows stale is holding back, and its
   * backup would never cover them).
   */
  set(name: Incident, enabled: boolean): Promise<void> {
    const next = this.switching.then(() => this.switchNow(name, enabled));
    // A failed switch is its caller's error; the queue goes on.
    this.switching = next.catch(() => {});
    return next;
  }

  private async switchNow(name: Incident, enabled: boolean): Promise<void> {
    if (enabled === this.on.has(name)) return;
    const other =
      enabled && EXCLUSIVE.find((g) => g.includes(name))?.find((i) => i !== name && this.on.has(i));
    if (other) {
      throw new IncidentConflict(
        `${other} is on and rewrites the same scores; switch it off first (DELETE /-/demo/incidents/${other})`,
      );
    }
    await this.w.exec(
      `CREATE TABLE IF NOT EXISTS ${this.s}.sim_backup_nulls (id bigint PRIMARY KEY, income numeric);
       CREATE TABLE IF NOT EXISTS ${this.s}.sim_backup_drift (id bigint PRIMARY KEY, income numeric);
       CREATE TABLE IF NOT EXISTS ${this.s}.sim_backup_auc (application_id bigint PRIMARY KEY, score double precision);
       CREATE TABLE IF NOT EXISTS ${this.s}.sim_backup_labels
         (application_id bigint PRIMARY KEY, observed_at timestamptz, defaulted boolean);
       CREATE TABLE IF NOT EXISTS ${this.s}.sim_backup_leakage (application_id bigint PRIMARY KEY, observed_at timestamptz);
       -- age bigint: it holds the column as the schema incident leaves it, either type.
       CREATE TABLE IF NOT EXISTS ${this.s}.sim_held_applications (id bigint PRIMARY KEY,
         ingested_at timestamptz NOT NULL, income numeric, age bigint, employment_years numeric, purpose text,
         region text, requested_amount numeric);
       ${ROLLOUT_BACKUP_SQL(this.s)}
       ${BACKUP_TABLES_SQL(this.s)}`,
    );
    const heldBack = this.staleSince !== undefined && REWRITE_APPLICATIONS.includes(name);
    if (heldBack) await this.releaseApplications();
    try {
      await this.apply(name, enabled);
    } finally {
      if (heldBack) await this.holdApplications();
    }
    // Recorded only once the warehouse took the change, so a failed switch can simply be retried.
    if (enabled) this.on.add(name);
    else this.on.delete(name);
    await this.afterSwitch?.(name, enabled);
    // The catch-up batch now rather than at the feeder's next tick, so the switch answers with the feed fresh.
    // After afterSwitch: the held rows are back in their files before the batch's files are added.
    if (name === 'stale' && !enabled) await this.feeder.runOnce();
  }

  private async apply(name: Incident, enabled: boolean): Promise<void> {
    switch (name) {
      case 'stale':
        if (enabled) await this.stall();
        else await this.catchUp();
        break;
      case 'schema':
        await this.w.exec(
          `ALTER TABLE ${this.s}.applications ALTER COLUMN age TYPE ${enabled ? 'bigint' : 'integer'}`,
        );
        break;
      case 'nulls':
        if (enabled) await this.nullify("now() - interval '1 hour'", 'now()', []);
        else await this.restore('sim_backup_nulls');
        break;
      case 'drift':
        if (enabled) await this.shift("now() - interval '1 day'", 'now()', []);
        else await this.restore('sim_backup_drift');
        break;
      case 'auc':
        if (enabled) await this.shuffleScores();
        else await this.restoreScores();
        break;
      case 'rollout':
        if (enabled) await rollOut(this.w, this.s);
        else await rollBackRollout(this.w, this.s);
        break;
      case 'labels':
        if (enabled) await this.holdLabels();
        else await this.releaseLabels();
        break;
      case 'leakage':
        if (enabled) await this.leak();
        else await this.unleak();
        break;
      case 'jobs':
        if (enabled) await failRuns(this.w, this.s, recent('finished_at', '1 hour'));
        else await restoreSystem(this.w, this.s, 'jobs');
        break;
      case 'latency':
        if (enabled) await slowRequests(this.w, this.s, recent('at', '15 minutes'));
        else await restoreSystem(this.w, this.s, 'latency');
        break;
      case 'kpi':
        if (enabled) await rejectApprovals(this.w, this.s, recent('decided_at', '1 day'), true);
        else await restoreSystem(this.w, this.s, 'kpi');
        break;
    }
  }

  /**
   * stale on: no batch after the one in flight, and the applications of the last STALE_MINUTES held back, as if
   * the feed had stopped then. Only applications, the dataset whose freshness is checked: the scoring service
   * logs its predictions and decisions on its own path, so they stay.
   */
  private async stall(): Promise<void> {
    await this.feeder.pause();
    try {
      const rows = await this.w.query(`SELECT (now() - interval '${STALE_MINUTES} minutes')::text AS since`);
      this.staleSince = String(rows[0]?.since);
      await this.holdApplications();
    } catch (err) {
      // Not switched on: the feed goes on as before, and the switch can be retried.
      this.staleSince = undefined;
      this.feeder.resume();
      throw err;
    }
  }

  /**
   * stale off: the held rows arrive late and the feeder resumes from where it paused (set() runs that batch at
   * once), so every row the stall kept back is delivered, as a pipeline that catches up delivers them.
   */
  private async catchUp(): Promise<void> {
    await this.releaseApplications();
    this.staleSince = undefined;
    this.feeder.resume();
  }

  /** Moves the applications since staleSince into sim_held_applications (the feeder is paused: no new ones). */
  private async holdApplications(): Promise<void> {
    await this.w.query(
      `WITH held AS (
         DELETE FROM ${this.s}.applications WHERE ingested_at > $1::timestamptz
         RETURNING ${APPLICATION_COLUMNS})
       INSERT INTO ${this.s}.sim_held_applications (${APPLICATION_COLUMNS})
       SELECT ${APPLICATION_COLUMNS} FROM held`,
      [this.staleSince as string],
    );
  }

  /** Puts every held application back, as it was held. */
  private async releaseApplications(): Promise<void> {
    await this.w.exec(
      `WITH back AS (DELETE FROM ${this.s}.sim_held_applications RETURNING ${APPLICATION_COLUMNS})
       INSERT INTO ${this.s}.applications (${APPLICATION_COLUMNS}) SELECT ${APPLICATION_COLUMNS} FROM back;`,
    );
  }

  /** The feeder's hook: rows of the batch just written get the active incidents too. */
  async afterBatch(from: Date, to: Date): Promise<void> {
    const range = ['$1::timestamptz', '$2::timestamptz'] as const;
    const params = [from.toISOString(), to.toISOString()];
    if (this.on.has('drift')) await this.shift(range[0], range[1], params, true);
    if (this.on.has('nulls')) await this.nullify(range[0], range[1], params, true);
    if (this.on.has('auc')) await this.scrambleNew(range[0], range[1], params);
    if (this.on.has('rollout')) await rollOutBatch(this.w, this.s, from, to);
    // Whatever the batch delivered was observed just now: held back like the rest.
    if (this.on.has('labels')) await this.holdLabels();
    if (this.on.has('jobs')) await failRuns(this.w, this.s, batch('finished_at', from, to));
    if (this.on.has('latency')) await slowRequests(this.w, this.s, batch('at', from, to));
    if (this.on.has('kpi')) await rejectApprovals(this.w, this.s, batch('decided_at', from, to), false);
  }

  // Every fifth row, not a random fifth: the stack test's window holds some 15 rows, where a random 20 % is
  // none at all 3.5 % of the time (0.8^15), and the null alert it waits for then never fires.
  private async nullify(from: string, to: string, params: string[], openStart = false): Promise<void> {
    await this.w.query(
      `WITH picked AS (
         INSERT INTO ${this.s}.sim_backup_nulls (id, income)
         SELECT id, income FROM ${this.s}.applications
         WHERE ingested_at ${openStart ? '>' : '>='} ${from} AND ingested_at <= ${to} AND income IS NOT NULL
           AND id % 5 = 0
         ON CONFLICT (id) DO NOTHING RETURNING id)
       UPDATE ${this.s}.applications SET income = NULL WHERE id IN (SELECT id FROM picked)`,
      params,
    );
  }

  private async shift(from: string, to: string, params: string[], openStart = false): Promise<void> {
    await this.w.query(
      `WITH picked AS (
         INSERT INTO ${this.s}.sim_backup_drift (id, income)
         SELECT id, income FROM ${this.s}.applications
         WHERE ingested_at ${openStart ? '>' : '>='} ${from} AND ingested_at <= ${to} AND income IS NOT NULL
         ON CONFLICT (id) DO NOTHING RETURNING id)
       UPDATE ${this.s}.applications SET income = round(income * 2.5) WHERE id IN (SELECT id FROM picked)`,
      params,
    );
  }

  private async restore(table: 'sim_backup_nulls' | 'sim_backup_drift'): Promise<void> {
    await this.w.exec(
      `UPDATE ${this.s}.applications a SET income = b.income FROM ${this.s}.${table} b WHERE a.id = b.id;
       DELETE FROM ${this.s}.${table};`,
    );
  }

  /** auc: the scores of the last 14 days, shuffled among themselves (originals backed up first). */
  private async shuffleScores(): Promise<void> {
    // A data-modifying CTE runs once, however often it is read: both sides of the shuffle see the same rows.
    await this.w.query(
      `WITH backed AS (
         INSERT INTO ${this.s}.sim_backup_auc (application_id, score)
         SELECT application_id, score FROM ${this.s}.predictions
         WHERE predicted_at >= now() - interval '14 days' AND score IS NOT NULL
         ON CONFLICT (application_id) DO NOTHING RETURNING application_id, score),
       slots AS (SELECT application_id, row_number() OVER (ORDER BY random()) AS r FROM backed),
       scores AS (SELECT score, row_number() OVER (ORDER BY random()) AS r FROM backed)
       UPDATE ${this.s}.predictions p SET score = sc.score
       FROM slots JOIN scores sc USING (r)
       WHERE p.application_id = slots.application_id`,
    );
  }

  /** auc, for a new batch: each new prediction takes the original score of a random other one. */
  private async scrambleNew(from: string, to: string, params: string[]): Promise<void> {
    // The subquery reads the backup as it was before this statement, so never the row's own score.
    await this.w.query(
      `WITH backed AS (
         INSERT INTO ${this.s}.sim_backup_auc (application_id, score)
         SELECT application_id, score FROM ${this.s}.predictions
         WHERE predicted_at > ${from} AND predicted_at <= ${to} AND score IS NOT NULL
         ON CONFLICT (application_id) DO NOTHING RETURNING application_id)
       UPDATE ${this.s}.predictions p
       SET score = coalesce(
         (SELECT b.score FROM ${this.s}.sim_backup_auc b WHERE b.application_id <> p.application_id
          ORDER BY random() LIMIT 1),
         random())
       WHERE p.application_id IN (SELECT application_id FROM backed)`,
      params,
    );
  }

  private async restoreScores(): Promise<void> {
    await this.w.exec(
      `UPDATE ${this.s}.predictions p SET score = b.score FROM ${this.s}.sim_backup_auc b
       WHERE p.application_id = b.application_id;
       DELETE FROM ${this.s}.sim_backup_auc;`,
    );
  }

  /**
   * labels: moves the labels observed in the last 7 days out of outcomes. Labels the leakage incident stamped
   * stay, so both incidents can be on together and each is undone by its own switch.
   */
  private async holdLabels(): Promise<void> {
    await this.w.query(
      `WITH held AS (
         DELETE FROM ${this.s}.outcomes
         WHERE observed_at >= now() - interval '7 days'
           AND application_id NOT IN (SELECT application_id FROM ${this.s}.sim_backup_leakage)
         RETURNING application_id, observed_at, defaulted)
       INSERT INTO ${this.s}.sim_backup_labels (application_id, observed_at, defaulted)
       SELECT application_id, observed_at, defaulted FROM held`,
    );
  }

  /** labels off: every held-back label returns, those delivered while the incident was on included. */
  private async releaseLabels(): Promise<void> {
    await this.w.exec(
      `INSERT INTO ${this.s}.outcomes (application_id, observed_at, defaulted)
       SELECT application_id, observed_at, defaulted FROM ${this.s}.sim_backup_labels
       ON CONFLICT (application_id) DO NOTHING;
       DELETE FROM ${this.s}.sim_backup_labels;`,
    );
  }

  /** leakage: the 5 most recent labeled predictions of the last 14 days get a label an hour before them. */
  private async leak(): Promise<void> {
    await this.w.query(
      `WITH picked AS (
         SELECT o.application_id, o.observed_at, p.predicted_at
         FROM ${this.s}.outcomes o JOIN ${this.s}.predictions p ON p.application_id = o.application_id
         WHERE p.predicted_at >= now() - interval '14 days' AND p.predicted_at < now()
           AND o.observed_at >= p.predicted_at AND o.defaulted IS NOT NULL
         ORDER BY p.predicted_at DESC, o.application_id LIMIT 5),
       backed AS (
         INSERT INTO ${this.s}.sim_backup_leakage (application_id, observed_at)
         SELECT application_id, observed_at FROM picked
         ON CONFLICT (application_id) DO NOTHING RETURNING application_id)
       UPDATE ${this.s}.outcomes o SET observed_at = picked.predicted_at - interval '1 hour'
       FROM picked WHERE o.application_id = picked.application_id
         AND o.application_id IN (SELECT application_id FROM backed)`,
    );
  }

  private async unleak(): Promise<void> {
    await this.w.exec(
      `UPDATE ${this.s}.outcomes o SET observed_at = b.observed_at FROM ${this.s}.sim_backup_leakage b
       WHERE o.application_id = b.application_id;
       UPDATE ${this.s}.sim_backup_labels o SET observed_at = b.observed_at FROM ${this.s}.sim_backup_leakage b
       WHERE o.application_id = b.application_id;
       DELETE FROM ${this.s}.sim_backup_leakage;`,
    );
  }
}
