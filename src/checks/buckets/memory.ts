import type { PartRow, State, Sums } from './state.js';

/**
 * The incremental check's state in the state store (CheckMemory): a restart, or the other replica, starts from
 * the buckets the last run kept instead of summing 14 days again. Loaded at the start of every run when the
 * store holds a newer revision than the process (another replica ran the check since), saved at the end with
 * the buckets that changed; both outside the run's transaction (Check.beforeRun, afterRun). The store is an
 * optimisation, never a dependency: when it fails, the run goes on from what the process remembers, and the
 * next save that works writes what changed meanwhile.
 */

/**
 * A bucket as stored: its rows as [version, bin, sums], a sum that JSON cannot hold as a number (NaN from a NaN
 * value in the rows, a regression minimum of no labels: Infinity) as its text.
 */
type StoredBucket = Array<[string | null, number | string | null, Array<number | string>]>;

interface StoredHeader {
  keptMs?: number;
  full?: { atUs: number; counts: Array<[string, unknown]> };
  reconciledUs?: number;
  shift?: number;
  shape?: string;
  overCapUs?: number;
}

/** Replaces the state with the store's copy when the store holds another revision (or this process has none). */
export async function recall(state: State, id: string, fingerprint: string): Promise<void> {
  if (state.memory === undefined) return;
  let saved: Awaited<ReturnType<typeof state.memory.load>>;
  try {
    saved = await state.memory.load(id, fingerprint, state.revision);
  } catch {
    return; // logged by the store; this run goes on from the process's state
  }
  if (saved === undefined || saved === 'unchanged') return;
  const header = saved.header as StoredHeader;
  const buckets = new Map<number, Sums>();
  for (const [bucket, body] of saved.parts) buckets.set(bucket, decodeBucket(body as StoredBucket));
  state.buckets = buckets;
  state.keptMs = header.keptMs;
  state.full = header.full && { atUs: header.full.atUs, values: new Map(header.full.counts) };
  state.reconciledUs = header.reconciledUs;
  state.shift = header.shift;
  state.shape = header.shape;
  state.overCapUs = header.overCapUs;
  state.revision = saved.revision;
  state.dirty = new Set();
  state.dropped = new Set();
  state.rewrite = false;
  state.unsaved = false;
}

/** Saves what the last run changed (and what earlier saves failed to write); keeps it marked when it fails. */
export async function persist(state: State, id: string, fingerprint: string): Promise<void> {
  if (state.memory === undefined || !state.unsaved) return;
  const rewrite = state.rewrite || state.revision === undefined;
  const changed = rewrite ? [...state.buckets.keys()] : [...state.dirty].filter((b) => state.buckets.has(b));
  const header: StoredHeader = {
    ...(state.keptMs === undefined ? {} : { keptMs: state.keptMs }),
    ...(state.full === undefined ? {} : { full: { atUs: state.full.atUs, counts: [...state.full.values] } }),
    ...(state.reconciledUs === undefined ? {} : { reconciledUs: state.reconciledUs }),
    ...(state.shift === undefined ? {} : { shift: state.shift }),
    ...(state.shape === undefined ? {} : { shape: state.shape }),
    ...(state.overCapUs === undefined ? {} : { overCapUs: state.overCapUs }),
  };
  const parts = new Map(changed.map((b) => [b, encodeBucket(state.buckets.get(b) as Sums)]));
  let revision: number | 'conflict';
  try {
    revision = await state.memory.save(id, fingerprint, {
      base: rewrite ? undefined : state.revision,
      header,
      parts,
      drop: rewrite ? [] : [...state.dropped].filter((b) => !state.buckets.has(b)),
    });
  } catch {
    return; // the dirty buckets stay marked for the next save
  }
  if (revision === 'conflict') {
    // Another replica saved since: its state is as good as this one; the next run reads it.
    state.revision = undefined;
    state.unsaved = false;
    return;
  }
  state.revision = revision;
  state.dirty = new Set();
  state.dropped = new Set();
  state.rewrite = false;
  state.unsaved = false;
}

function encodeBucket(sums: Sums): StoredBucket {
  return [...sums.values()].map((r) => [r.v, r.b, r.sums.map((x) => (Number.isFinite(x) ? x : String(x)))]);
}

function decodeBucket(body: StoredBucket): Sums {
  const out: Sums = new Map();
  for (const [v, b, stored] of body) {
    const row: PartRow = { v, b, sums: stored.map(Number) };
    out.set(rowKey(row), row);
  }
  return out;
}

/** The key of a version and bin inside a bucket's Sums. */
export function rowKey(r: Pick<PartRow, 'v' | 'b'>): string {
  return `${r.v ?? '\u0001'}\u0000${r.b ?? ''}`;
}
