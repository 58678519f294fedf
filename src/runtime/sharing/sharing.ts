import type { CachedCheck } from '../check-cache.js';

/** What a replica does at a check's turn: run it against the warehouse, or serve the replica that does. */
export type Turn = 'run' | 'follow';

/**
 * Checks shared between replicas (docs/architecture.md, "Two replicas"): each check is run by one replica at a
 * time, which shares its result; the others serve that result. The scheduler asks at every turn and hands each
 * run's result over. No method throws: when the replicas cannot agree (the state store is away), a replica runs
 * its checks itself, which costs the warehouse double work but never costs a check its run.
 */
export interface CheckSharing {
  /** The checks of the current config, after start and after each reload; `taken` is told of each result taken. */
  configure(cached: readonly CachedCheck[], taken: (state: CachedCheck) => void): void;
  turn(state: CachedCheck): Promise<Turn>;
  /** After this replica ran the check: shares the result, when the check is this replica's to run. */
  publish(state: CachedCheck): Promise<void>;
  /**
   * After a run that could not reach the warehouse: the check is left to the other replicas (one that reaches
   * the warehouse keeps it), and the others keep serving the last result shared.
   */
  release(state: CachedCheck): Promise<void>;
  /** Whether this replica's last turn at the check ran it (mlwatch_check_runner); undefined before a turn. */
  runsHere(state: CachedCheck): boolean | undefined;
  /** Ends the sharing: another replica takes over this one's checks at their next turn. */
  stop(): Promise<void>;
}
