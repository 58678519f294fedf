import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import { describeError, isConnectionError } from '../warehouse/errors.js';
import type { Warehouse } from '../warehouse/types.js';
import type { CachedCheck } from './check-cache.js';
import type { CheckSharing } from './sharing/sharing.js';

export interface SchedulerOptions {
  warehouse: Warehouse;
  /** Every check of the config with its cache (last samples, run history), in config order. */
  cached: CachedCheck[];
  /** Checks in flight at once; capped by the warehouse's own limit (its pool size). */
  concurrency: number;
  /** Fraction of the interval used to spread checks: each gets a random phase in [0, jitter x interval). */
  jitter: number;
  log: Logger;
  /** Told whether each warehouse contact connected, for mlwatch_warehouse_up. */
  onWarehouseContact(up: boolean): void;
  /** Called after every run; tests and the landing page use it. */
  onRunFinished?(state: CachedCheck): void;
  /** Replicas sharing checks (src/runtime/sharing/): asked at each turn whether this one runs the check. */
  sharing?: CheckSharing | undefined;
}

/**
 * Runs every check on its own schedule against the warehouse: a bounded number in flight, never two runs of
 * the same check at once (a tick that finds the check still queued or running is counted as an overrun),
 * and results into the CachedCheck cache, which /metrics serves without waiting on the warehouse.
 */
export class Scheduler {
  private readonly queue: CachedCheck[] = [];
  private inFlight = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly cronTasks: ScheduledTask[] = [];
  private stopped = false;
  private readonly running = new Set<Promise<void>>();
  private readonly completion = new Map<CachedCheck, { promise: Promise<void>; resolve: () => void }>();
  private pendingFirstRound: Set<CachedCheck>;
  private resolveFirstRound!: () => void;
  /** Resolves when every check has finished its first run, successful or not (/readyz). */
  readonly firstRound: Promise<void>;
  readonly limit: number;

  constructor(private readonly o: SchedulerOptions) {
    this.limit = Math.max(1, Math.min(o.concurrency, o.warehouse.maxConcurrency));
    // A check carried over unchanged by a reload has already run: it keeps its place in its schedule.
    this.pendingFirstRound = new Set(o.cached.filter((s) => !carriedOver(s)));
    this.firstRound = new Promise((r) => {
      this.resolveFirstRound = r;
    });
    if (this.pendingFirstRound.size === 0) this.resolveFirstRound();
  }

  start(): void {
    for (const state of this.o.cached) {
      // A reload that leaves a check as it was does not run it again now: a loop of reloads must not multiply
      // the warehouse's load (each check would otherwise run once per reload).
      const carried = carriedOver(state);
      if (!carried) void this.trigger(state, false);
      const { schedule } = state.check;
      if ('everyMs' in schedule) {
        const phase = Math.random() * this.o.jitter * schedule.everyMs;
        const sinceLast = carried ? Date.now() - (state.lastRunStartedAt as number) : 0;
        const first = setTimeout(
          () => {
            void this.trigger(state);
            const every = setInterval(() => void this.trigger(state), schedule.everyMs);
            every.unref();
            this.timers.push(every);
          },
          Math.max(0, schedule.everyMs - sinceLast) + phase,
        );
        first.unref();
        this.timers.push(first);
      } else {
        const task = cron.schedule(schedule.cron, () => void this.trigger(state), {
          name: state.check.id,
          maxRandomDelay: Math.round(this.o.jitter * cronGapMs(schedule.cron)),
          suppressMissedWarning: true,
          unref: true,
        });
        this.cronTasks.push(task);
      }
    }
  }

  /**
   * Runs the given checks now, outside their schedule, and resolves when each has finished; a check already
   * queued or running is awaited instead of run twice.
   */
  async runNow(cached: readonly CachedCheck[] = this.o.cached): Promise<void> {
    await Promise.all(cached.map((s) => this.trigger(s, false)));
  }

  /**
   * Queues one run of the check unless one is already queued or running (a scheduled tick that finds it so
   * counts as an overrun). Resolves when the run it queued, or the one it found, has finished.
   */
  trigger(state: CachedCheck, scheduled = true): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const pending = this.completion.get(state);
    if (pending) {
      if (scheduled) state.overruns++;
      return pending.promise;
    }
    let resolve!: () => void;
    const promise = new Promise<void>((r) => {
      resolve = r;
    });
    this.completion.set(state, { promise, resolve });
    state.queued = true;
    this.queue.push(state);
    this.pump();
    return promise;
  }

  private pump(): void {
    while (!this.stopped && this.inFlight < this.limit && this.queue.length > 0) {
      const state = this.queue.shift() as CachedCheck;
      state.queued = false;
      state.running = true;
      this.inFlight++;
      const p = this.execute(state).finally(() => {
        state.running = false;
        this.inFlight--;
        this.running.delete(p);
        this.completion.get(state)?.resolve();
        this.completion.delete(state);
        // After the completion entry is gone, so a runNow() right after the first round runs the check anew.
        this.noteResult(state);
        this.o.onRunFinished?.(state);
        this.pump();
      });
      this.running.add(p);
    }
  }

  /**
   * A check has a result, its own or another replica's: the first round is over for it. A turn that followed
   * another replica before that one shared anything leaves the check pending until its result is taken.
   */
  noteResult(state: CachedCheck): void {
    if (state.status === 'pending') return;
    if (this.pendingFirstRound.delete(state) && this.pendingFirstRound.size === 0) this.resolveFirstRound();
  }

  private async execute(state: CachedCheck): Promise<void> {
    // Another replica runs this check: its result reaches the cache through the sharing, not from here.
    if (this.o.sharing && (await this.o.sharing.turn(state)) === 'follow') return;
    const reached = await this.run(state);
    // A run that could not reach the warehouse says nothing about the check: another replica, which may reach
    // it, gets the check instead of this failure.
    if (reached) await this.o.sharing?.publish(state);
    else await this.o.sharing?.release(state);
  }

  /** Runs the check into its cache; false when the warehouse could not be reached. */
  private async run(state: CachedCheck): Promise<boolean> {
    const { check } = state;
    const started = performance.now();
    state.lastRunStartedAt = Date.now();
    try {
      await check.beforeRun?.();
      const result = await this.o.warehouse.readOnly({ timeoutMs: check.timeoutMs }, (q) => check.run(q));
      await check.afterRun?.();
      const seconds = (performance.now() - started) / 1000;
      const recovered = state.status === 'failing';
      state.succeed(result, Date.now(), seconds);
      this.o.onWarehouseContact(true);
      if (recovered) this.o.log.info({ check: check.id }, 'check recovered');
      return true;
    } catch (err) {
      const seconds = (performance.now() - started) / 1000;
      const reason = describeError(err, check.timeoutMs);
      const connection = isConnectionError(err);
      if (connection) this.o.onWarehouseContact(false);
      // Logged once per state change: a check failing every 15 s for an hour logs one line, not 240.
      if (state.fail(reason, Date.now(), seconds))
        this.o.log.warn({ check: check.id, reason }, 'check failing');
      return !connection;
    }
  }

  /** Stops scheduling; waits up to graceMs for runs in flight. Returns true when all finished in time. */
  async stop(graceMs: number): Promise<boolean> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    for (const t of this.cronTasks) await t.destroy();
    for (const s of this.queue) {
      s.queued = false;
      this.completion.get(s)?.resolve();
      this.completion.delete(s);
    }
    this.queue.length = 0;
    if (this.running.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((r) => {
      timer = setTimeout(() => r(false), graceMs);
    });
    const done = Promise.allSettled([...this.running]).then(() => true as const);
    const finished = await Promise.race([done, timeout]);
    clearTimeout(timer);
    return finished;
  }
}

/** Whether the state was adopted from the previous config by a reload, with a run already behind it. */
function carriedOver(state: CachedCheck): boolean {
  return state.lastRunStartedAt !== undefined;
}

/** The gap between a cron expression's next two runs: its effective interval. */
export function cronGapMs(expr: string): number {
  const task = cron.createTask(expr, () => {});
  const [a, b] = task.getNextRuns(2);
  void task.destroy();
  return a && b ? b.getTime() - a.getTime() : 60_000;
}
