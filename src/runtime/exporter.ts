import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { CheckMemory } from '../checks/types.js';
import type { LoadedConfig } from '../config/load.js';
import { catalogEntries } from '../metrics/catalog.js';
import { familyHeader, renderAging } from '../metrics/exposition.js';
import { createSelfRegistry } from '../metrics/self.js';
import type { FamilyDef } from '../metrics/types.js';
import { VERSION } from '../version.js';
import { openWarehouse } from '../warehouse/open.js';
import type { Warehouse } from '../warehouse/types.js';
import { CachedCheck } from './check-cache.js';
import { Scheduler } from './scheduler.js';
import type { CheckSharing } from './sharing/sharing.js';

export interface ExporterOptions {
  log: Logger;
  /** Builds the warehouse for a config; the demo passes its in-process PGlite. */
  openWarehouse?: (config: LoadedConfig) => Warehouse;
  pingIntervalMs?: number;
  withProcessMetrics?: boolean;
  /** Replicas sharing checks through the state store (src/runtime/sharing/); serve() passes it; stopped here. */
  sharing?: CheckSharing | undefined;
  /** The state store's memory, handed to every check (Check.remember), after each reload too. */
  memory?: CheckMemory;
}

const PING_TIMEOUT_MS = 5000;

/**
 * The running exporter: one config, its warehouse, its scheduler and the cache of check results. /metrics,
 * the landing page and the probes read from here; reload swaps the config without losing cached samples of
 * checks whose definition did not change.
 */
export class Exporter {
  private cached: CachedCheck[] = [];
  private scheduler!: Scheduler;
  private warehouse!: Warehouse;
  private families = new Map<string, FamilyDef>();
  private up: number | undefined;
  private pingTimer?: NodeJS.Timeout;
  private reloadState: { successful: boolean; lastSuccessAt?: number; lastError?: string } = {
    successful: true,
  };
  private ready = false;
  readonly registry: Registry;

  private constructor(
    public config: LoadedConfig,
    private readonly o: ExporterOptions,
  ) {
    this.registry = createSelfRegistry(
      {
        cached: () => this.cached,
        intervalSeconds: (s) => s.intervalSeconds,
        // Alone, every check is this exporter's to run.
        runsHere: (s) => (o.sharing ? o.sharing.runsHere(s) : true),
        warehouseUp: () => this.up,
        reload: () => this.reloadState,
        version: VERSION,
      },
      o.withProcessMetrics ?? true,
    );
  }

  static start(config: LoadedConfig, o: ExporterOptions): Exporter {
    const e = new Exporter(config, o);
    e.warehouse = e.open(config);
    e.install(config, []);
    e.reloadState = { successful: true, lastSuccessAt: Date.now() };
    e.startPing();
    return e;
  }

  isReady(): boolean {
    return this.ready;
  }

  cachedChecks(): readonly CachedCheck[] {
    return this.cached;
  }

  warehouseUp(): number | undefined {
    return this.up;
  }

  reloadStatus() {
    return this.reloadState;
  }

  /** Resolves once every check of the current config has run once. */
  firstRound(): Promise<void> {
    return this.scheduler.firstRound;
  }

  /**
   * Runs checks now (all, or those with the given ids) and resolves when they have finished. With replicas
   * sharing checks, a check another replica runs is not run here: its latest result is taken instead.
   */
  runNow(ids?: readonly string[]): Promise<void> {
    const cached = ids ? this.cached.filter((s) => ids.includes(s.check.id)) : this.cached;
    return this.scheduler.runNow(cached);
  }

  /** The exposition: self metrics from prom-client, then every check family from the cache. */
  async metricsText(): Promise<string> {
    let out = await this.registry.metrics();
    const byFamily = new Map<string, string>();
    const now = performance.now();
    for (const s of this.cached) {
      for (const [name, lines] of s.rendered) byFamily.set(name, (byFamily.get(name) ?? '') + lines);
      if (s.aging.length === 0) continue;
      for (const [name, lines] of renderAging(s.aging, now))
        byFamily.set(name, (byFamily.get(name) ?? '') + lines);
    }
    for (const name of [...byFamily.keys()].sort()) {
      const f = this.families.get(name);
      if (f) out += familyHeader(f) + byFamily.get(name);
    }
    return out;
  }

  /**
   * Swaps in a new config. The caller has validated it; a config that cannot be loaded never gets here, and
   * refused() records that instead.
   */
  async reload(next: LoadedConfig): Promise<void> {
    const old = this.cached;
    // Wait for runs in flight, so the new scheduler never runs a check while its old run is still going.
    await this.scheduler.stop(next.warehouse.statementTimeoutMs + 5000);
    if (JSON.stringify(next.warehouse) !== JSON.stringify(this.config.warehouse)) {
      const previous = this.warehouse;
      this.warehouse = this.open(next);
      this.up = undefined;
      await previous.close().catch(() => {});
    }
    this.config = next;
    this.install(next, old);
    this.reloadState = { successful: true, lastSuccessAt: Date.now() };
    this.o.log.info({ checks: this.cached.length }, 'config reloaded');
  }

  refused(reason: string): void {
    this.reloadState = { ...this.reloadState, successful: false, lastError: reason };
    this.o.log.error({ reason }, 'config reload refused; the previous config keeps running');
  }

  async stop(graceMs: number): Promise<boolean> {
    clearInterval(this.pingTimer);
    const finished = await this.scheduler.stop(graceMs);
    // Whatever is still running: the other replicas take this one's checks at their next turn.
    await this.o.sharing?.stop();
    // pool.end() waits for checked-out clients; in-flight runs past the grace are abandoned with the process.
    if (finished) await this.warehouse.close().catch(() => {});
    return finished;
  }

  private open(config: LoadedConfig): Warehouse {
    return this.o.openWarehouse ? this.o.openWarehouse(config) : openWarehouse(config.warehouse);
  }

  private install(config: LoadedConfig, previous: CachedCheck[]): void {
    const byId = new Map(previous.map((s) => [s.check.id, s]));
    this.cached = config.checks.map((check) => {
      const state = new CachedCheck(check);
      if (this.o.memory) check.remember?.(this.o.memory);
      const before = byId.get(check.id);
      if (before?.check.fingerprint === check.fingerprint) state.adopt(before);
      else if (before)
        Object.assign(state, {
          runs: before.runs,
          errors: before.errors,
          overruns: before.overruns,
          peerResults: before.peerResults,
        });
      return state;
    });
    this.families = new Map<string, FamilyDef>(catalogEntries.map((e) => [e.name, e]));
    for (const c of config.checks) for (const f of c.families) this.families.set(f.name, f);
    this.scheduler = new Scheduler({
      warehouse: this.warehouse,
      cached: this.cached,
      concurrency: this.warehouse.maxConcurrency,
      jitter: config.defaults.jitter,
      log: this.o.log,
      onWarehouseContact: (up) => this.noteContact(up),
      sharing: this.o.sharing,
    });
    const scheduler = this.scheduler;
    this.o.sharing?.configure(this.cached, (state) => scheduler.noteResult(state));
    void this.scheduler.firstRound.then(() => {
      this.ready = true;
    });
    this.scheduler.start();
  }

  private noteContact(up: boolean): void {
    const now = up ? 1 : 0;
    if (this.up !== now)
      this.o.log[up ? 'info' : 'warn']({ up }, up ? 'warehouse reachable' : 'warehouse unreachable');
    this.up = now;
  }

  private startPing(): void {
    const ping = async () => {
      const wh = this.warehouse;
      try {
        await wh.ping(PING_TIMEOUT_MS);
        if (wh === this.warehouse) this.noteContact(true);
      } catch {
        if (wh === this.warehouse) this.noteContact(false);
      }
    };
    void ping();
    this.pingTimer = setInterval(ping, this.o.pingIntervalMs ?? 10_000);
    this.pingTimer.unref();
  }
}
