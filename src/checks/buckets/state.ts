import type { CheckMemory } from '../types.js';

/** The sums of one version and bin (NULL: counts in no metric) in the order of the task's sums (task.ts). */
export interface PartRow {
  v: string | null;
  /** A number (a calibration bin, a class), or text where the task's bins are values (a segment's). */
  b: number | string | null;
  sums: number[];
}

/** A part's or bucket's rows by version and bin. */
export type Sums = Map<string, PartRow>;

/** What the incremental check remembers between runs: in the process, and in the state store when it has one. */
export interface State {
  /** Sums per complete bucket in the kept state, by bucket index; a bucket without predictions is kept empty. */
  buckets: Map<number, Sums>;
  /** The kept state counts the labels stamped before this (ms since the epoch). */
  keptMs?: number;
  /** The last full run: when, and its values per (window, version) (the task's: Counts, RegressionSums). */
  full?: { atUs: number; values: Map<string, unknown> };
  /** The offset the kept sums are taken about, where the task keeps one (IncrementalTask.shiftFrom). */
  shift?: number;
  reconciledUs?: number;
  /** What the kept sums are taken over where it is read at run time (a dataset's `nulls: all` columns). */
  shape?: string;
  /** The state store's memory, once the running exporter hands it over (Check.remember). */
  memory?: CheckMemory;
  /** The revision of the store's copy this state was loaded or last saved as. */
  revision?: number;
  /** Buckets changed since the last save that reached the store. */
  dirty: Set<number>;
  /**
   * Buckets let go since the last save that reached the store: those that left the windows, and those a
   * window's start now splits (summed as fresh parts until it moves on; a copy kept meanwhile would miss the
   * labels that arrive).
   */
  dropped: Set<number>;
  /** The store's copy must be written anew in full (first save, buckets dropped, clock gone back). */
  rewrite: boolean;
  /**
   * When the kept rows last outgrew the task's cap (IncrementalTask.rowCap): until fullIntervalMs later, every run
   * recomputes in full and keeps nothing. Saved, so that a restart or the other replica does not try again sooner.
   */
  overCapUs?: number;
  /** Set by a run, cleared by the save after it. */
  unsaved: boolean;
}
