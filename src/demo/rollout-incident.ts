import type { SqlWriter } from '../warehouse/types.js';

/**
 * The `rollout` incident: a worse model version is rolled out. The predictions since the median time of the
 * last 14 days' labeled predictions (so each version has about half the labels, about 950 of them, above the
 * alerts' 500) become ROLLOUT_VERSION and their scores are shuffled among themselves; every new prediction is
 * ROLLOUT_VERSION too and gets the original score of a random other one. The new version's AUC falls to about
 * 0.5 while MODEL_VERSION's stays near 0.8: MlwatchModelVersionWorse fires for ROLLOUT_VERSION and its ticket
 * carries the rollback request to MODEL_VERSION (MlwatchModelAucLow pages for the version too). Scores keep
 * their distribution, so prediction drift stays quiet. Switching off writes back each row's score and version.
 */

/** The version the rollout brings: the one after the demo's MODEL_VERSION (src/demo/batches.ts). */
export const ROLLOUT_VERSION = 'credit-gbm-3.3';

const backup = (s: string) => `${s}.sim_backup_rollout`;

export const ROLLOUT_BACKUP_SQL = (s: string) =>
  `CREATE TABLE IF NOT EXISTS ${backup(s)} (application_id bigint PRIMARY KEY, score double precision, model_version text);`;

/** Rolls the new version out over the recent half of the labeled window (originals backed up first). */
export async function rollOut(w: SqlWriter, s: string): Promise<void> {
  // A data-modifying CTE runs once, however often it is read: both sides of the shuffle see the same rows.
  await w.query(
    `WITH split AS (
       SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY p.predicted_at) AS at
       FROM ${s}.predictions p JOIN ${s}.outcomes o ON o.application_id = p.application_id
       WHERE p.predicted_at >= now() - interval '14 days' AND o.observed_at <= now()),
     backed AS (
       INSERT INTO ${backup(s)} (application_id, score, model_version)
       SELECT application_id, score, model_version FROM ${s}.predictions, split
       WHERE predicted_at >= split.at AND predicted_at <= now() AND score IS NOT NULL
       ON CONFLICT (application_id) DO NOTHING RETURNING application_id, score),
     slots AS (SELECT application_id, row_number() OVER (ORDER BY random()) AS r FROM backed),
     scores AS (SELECT score, row_number() OVER (ORDER BY random()) AS r FROM backed)
     UPDATE ${s}.predictions p SET score = sc.score, model_version = $1
     FROM slots JOIN scores sc USING (r)
     WHERE p.application_id = slots.application_id`,
    [ROLLOUT_VERSION],
  );
}

/** A new batch's predictions, (from, to], are the new version's too. */
export async function rollOutBatch(w: SqlWriter, s: string, from: Date, to: Date): Promise<void> {
  // The subquery reads the backup as it was before this statement, so never the row's own score.
  await w.query(
    `WITH backed AS (
       INSERT INTO ${backup(s)} (application_id, score, model_version)
       SELECT application_id, score, model_version FROM ${s}.predictions
       WHERE predicted_at > $1::timestamptz AND predicted_at <= $2::timestamptz AND score IS NOT NULL
       ON CONFLICT (application_id) DO NOTHING RETURNING application_id)
     UPDATE ${s}.predictions p
     SET model_version = $3,
         score = coalesce(
           (SELECT b.score FROM ${backup(s)} b WHERE b.application_id <> p.application_id ORDER BY random() LIMIT 1),
           random())
     WHERE p.application_id IN (SELECT application_id FROM backed)`,
    [from.toISOString(), to.toISOString(), ROLLOUT_VERSION],
  );
}

/** Rolls back: every row the rollout touched gets its score and version back. */
export async function rollBackRollout(w: SqlWriter, s: string): Promise<void> {
  await w.exec(
    `UPDATE ${s}.predictions p SET score = b.score, model_version = b.model_version FROM ${backup(s)} b
     WHERE p.application_id = b.application_id;
     DELETE FROM ${backup(s)};`,
  );
}
