import type { CachedCheck } from '../check-cache.js';

/**
 * What one replica's run of a check leaves for the others (src/runtime/sharing/), in the state store's
 * check_results row: everything a replica serves for the check, so the others' expositions equal the runner's.
 * Times are the runner's Unix milliseconds, exported as they are: a timestamp sample must read the same on every
 * replica, whatever their clocks.
 */
export interface SharedOutcome {
  status: 'ok' | 'failing';
  error?: string | undefined;
  startedAt?: number | undefined;
  endedAt?: number | undefined;
  durationSeconds?: number | undefined;
  lastSuccessAt?: number | undefined;
  /** Of the last successful run, as mlwatch_check_skipped_samples and the landing page show them. */
  series: number;
  skipped: Record<string, number>;
}

/**
 * The last successful run's exposition: the pre-rendered lines by family (kept in their order, so the scrape
 * concatenates the same text), and the samples whose value grows between runs with their age when shared.
 */
export interface SharedSamples {
  rendered: Record<string, string>;
  aging: { name: string; labels: Record<string, string>; value: number; ageMs: number }[];
  /**
   * The other samples as values, for what reads them rather than the exposition: the landing page's key
   * values (CachedCheck.samples). Absent in rows written before it was shared: no key values then.
   */
  values?: { name: string; labels: Record<string, string>; value: number }[];
}

/**
 * The largest exposition shared, in bytes of its JSON. A check beyond it (a custom query returning tens of
 * thousands of rows) is not shared: its row says `oversize`, and every replica runs it.
 */
export const MAX_SHARED_BYTES = 4 * 1024 * 1024;

export function outcomeOf(state: CachedCheck): SharedOutcome {
  if (state.status === 'pending') throw new Error(`check ${state.check.id} has not run: nothing to share`);
  return {
    status: state.status,
    error: state.lastError,
    startedAt: state.lastRunStartedAt,
    endedAt: state.lastRunEndedAt,
    durationSeconds: state.lastDurationSeconds,
    lastSuccessAt: state.lastSuccessAt,
    series: state.seriesCount,
    skipped: state.skipped,
  };
}

/**
 * The samples of the check's last successful run as JSON, or 'oversize' past `maxBytes`. `nowMs` is
 * performance.now(): the growing samples' ages are taken then, and the row's write adds the time since.
 */
export function samplesJson(
  state: CachedCheck,
  nowMs: number,
  maxBytes = MAX_SHARED_BYTES,
): string | 'oversize' {
  const samples: SharedSamples = {
    rendered: Object.fromEntries(state.rendered),
    aging: state.aging.map((s) => ({
      name: s.name,
      labels: s.labels,
      value: s.value,
      ageMs: Math.max(0, nowMs - (s.agingSince ?? nowMs)),
    })),
    values: state.samples
      .filter((s) => s.agingSince === undefined)
      .map((s) => ({ name: s.name, labels: s.labels, value: s.value })),
  };
  const json = JSON.stringify(samples);
  return Buffer.byteLength(json) > maxBytes ? 'oversize' : json;
}

/** A row's samples, with `sinceSharedMs` (the state store's clock, from the write to the read) added to each age. */
export function readSamples(raw: unknown, sinceSharedMs: number): SharedSamples | undefined {
  if (raw === null || raw === undefined) return undefined;
  const s = raw as SharedSamples;
  return {
    rendered: s.rendered,
    aging: s.aging.map((a) => ({ ...a, ageMs: a.ageMs + Math.max(0, sinceSharedMs) })),
    values: s.values ?? [],
  };
}
