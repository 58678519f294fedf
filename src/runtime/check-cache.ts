import type { Check, CheckResult } from '../checks/types.js';
import { renderByFamily } from '../metrics/exposition.js';
import type { Sample } from '../metrics/types.js';
import { cronGapMs } from './scheduler.js';
import type { SharedOutcome, SharedSamples } from './sharing/shared-result.js';

export type CheckStatus = 'pending' | 'ok' | 'failing';

/** What the exporter knows about one check: its last good samples and how its runs went. */
export class CachedCheck {
  status: CheckStatus = 'pending';
  /** Rendered exposition lines of the last successful run, by family name. */
  rendered = new Map<string, string>();
  /** Samples of the last successful run whose value grows until the next run (Sample.agingSince): rendered per scrape. */
  aging: Sample[] = [];
  /**
   * Every sample of the last successful run, as the check returned them: the landing page picks a check's key
   * values from these (src/http/landing/key-values.ts). The same objects the run made, kept until the next one.
   */
  samples: readonly Sample[] = [];
  seriesCount = 0;
  skipped: Record<string, number> = {};
  lastRunStartedAt?: number;
  lastRunEndedAt?: number;
  lastDurationSeconds?: number;
  lastSuccessAt?: number;
  lastError?: string;
  /** Runs by this exporter: with replicas sharing checks, another replica's runs are not counted here. */
  runs = 0;
  errors = 0;
  overruns = 0;
  /** Results taken from another replica's run (src/runtime/sharing/) instead of running the check here. */
  peerResults = 0;
  queued = false;
  running = false;

  /** The check's schedule as seconds between runs (for cron: the gap between its next two runs). */
  readonly intervalSeconds: number;

  constructor(public check: Check) {
    const { schedule } = check;
    this.intervalSeconds = ('everyMs' in schedule ? schedule.everyMs : cronGapMs(schedule.cron)) / 1000;
  }

  succeed(result: CheckResult, endedAt: number, durationSeconds: number): void {
    // Replacing, not merging: a subject that disappeared (dropped column, removed row) loses its series now.
    this.rendered = renderByFamily(result.samples.filter((s) => s.agingSince === undefined));
    this.aging = result.samples.filter((s) => s.agingSince !== undefined);
    this.samples = result.samples;
    this.seriesCount = result.samples.length;
    this.skipped = result.skipped;
    this.status = 'ok';
    this.lastSuccessAt = endedAt;
    this.lastError = undefined;
    this.finish(endedAt, durationSeconds);
  }

  /** Keeps the last good samples; returns true when the failure reason changed (worth a log line). */
  fail(reason: string, endedAt: number, durationSeconds: number): boolean {
    const changed = this.status !== 'failing' || this.lastError !== reason;
    this.status = 'failing';
    this.lastError = reason;
    this.errors++;
    this.finish(endedAt, durationSeconds);
    return changed;
  }

  /**
   * Serves another replica's run of this check as if it were this one's: its outcome, and its samples when it
   * succeeded (a failed run keeps the last good samples there as here). `samples.aging` holds each growing
   * sample's age when it was shared plus the time since, so `agingSince` is put on this process's clock.
   * Not a run of this exporter: `runs` and `errors` stay.
   */
  takeShared(outcome: SharedOutcome, samples: SharedSamples | undefined, nowMs: number): void {
    if (samples) {
      this.rendered = new Map(Object.entries(samples.rendered));
      this.aging = samples.aging.map((a) => ({
        name: a.name,
        labels: a.labels,
        value: a.value,
        agingSince: nowMs - a.ageMs,
      }));
      this.samples = [...(samples.values ?? []), ...this.aging];
    }
    this.status = outcome.status;
    this.lastError = outcome.error;
    this.seriesCount = outcome.series;
    this.skipped = outcome.skipped;
    this.lastRunStartedAt = outcome.startedAt;
    this.lastRunEndedAt = outcome.endedAt;
    this.lastDurationSeconds = outcome.durationSeconds;
    this.lastSuccessAt = outcome.lastSuccessAt;
    this.peerResults++;
  }

  /** Carries results over a reload that left this check's definition unchanged. */
  adopt(previous: CachedCheck): void {
    Object.assign(this, {
      ...previous,
      check: this.check,
      intervalSeconds: this.intervalSeconds,
      queued: false,
      running: false,
    });
    this.check.adopt?.(previous.check);
  }

  private finish(endedAt: number, durationSeconds: number): void {
    this.runs++;
    this.lastRunEndedAt = endedAt;
    this.lastDurationSeconds = durationSeconds;
  }
}
