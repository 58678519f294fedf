import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { CachedCheck } from '../runtime/check-cache.js';
import type { CatalogEntry } from './family.js';
import { selfFamilies } from './self-families.js';

/** What the exporter's own health metrics are read from, at scrape time. */
export interface SelfSource {
  cached(): Iterable<CachedCheck>;
  intervalSeconds(state: CachedCheck): number;
  /** Whether this exporter runs the check, or serves another replica's run of it (undefined before its first turn). */
  runsHere(state: CachedCheck): boolean | undefined;
  warehouseUp(): number | undefined;
  reload(): { successful: boolean; lastSuccessAt?: number };
  version: string;
}

function spec(e: CatalogEntry) {
  return { name: e.name, help: e.help, labelNames: [...e.labels] };
}

/**
 * prom-client registry with the process metrics and the exporter's own health. Every gauge is filled from
 * the source when scraped, so a check that was removed by a reload leaves no series behind.
 */
export function createSelfRegistry(src: SelfSource, withProcessMetrics = true): Registry {
  const registers = [new Registry()];
  const [registry] = registers as [Registry];
  if (withProcessMetrics) {
    collectDefaultMetrics({ register: registry });
    // prom-client exports these gauges with a _total suffix, which `promtool check metrics` rejects; the same
    // counts remain available per type as nodejs_active_handles, nodejs_active_requests, nodejs_active_resources.
    for (const name of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ]) {
      registry.removeSingleMetric(name);
    }
  }

  const perCheck = (e: CatalogEntry, value: (s: CachedCheck) => number | undefined) =>
    new Gauge({
      ...spec(e),
      registers,
      collect() {
        this.reset();
        for (const s of src.cached()) {
          const v = value(s);
          if (v !== undefined) this.set({ check: s.check.id }, v);
        }
      },
    });
  const perCheckCounter = (e: CatalogEntry, value: (s: CachedCheck) => number) =>
    new Counter({
      ...spec(e),
      registers,
      collect() {
        this.reset();
        for (const s of src.cached()) this.inc({ check: s.check.id }, value(s));
      },
    });

  perCheck(selfFamilies.checkSuccess, (s) =>
    s.status === 'pending' ? undefined : s.status === 'ok' ? 1 : 0,
  );
  perCheck(selfFamilies.checkDuration, (s) => s.lastDurationSeconds);
  perCheck(selfFamilies.checkLastSuccess, (s) =>
    s.lastSuccessAt !== undefined ? s.lastSuccessAt / 1000 : undefined,
  );
  perCheck(selfFamilies.checkInterval, (s) => src.intervalSeconds(s));
  perCheckCounter(selfFamilies.checkRuns, (s) => s.runs);
  perCheckCounter(selfFamilies.checkErrors, (s) => s.errors);
  perCheckCounter(selfFamilies.checkOverruns, (s) => s.overruns);
  perCheck(selfFamilies.checkRunner, (s) => {
    const here = src.runsHere(s);
    return here === undefined ? undefined : here ? 1 : 0;
  });
  perCheckCounter(selfFamilies.checkPeerResults, (s) => s.peerResults);
  new Gauge({
    ...spec(selfFamilies.checkSkippedSamples),
    registers,
    collect() {
      this.reset();
      for (const s of src.cached()) {
        for (const [reason, n] of Object.entries(s.skipped)) this.set({ check: s.check.id, reason }, n);
      }
    },
  });
  new Gauge({
    ...spec(selfFamilies.warehouseUp),
    registers,
    collect() {
      this.reset();
      const up = src.warehouseUp();
      if (up !== undefined) this.set(up);
    },
  });
  new Gauge({ ...spec(selfFamilies.buildInfo), registers }).set(
    { version: src.version, node_version: process.version },
    1,
  );
  new Gauge({
    ...spec(selfFamilies.reloadSuccessful),
    registers,
    collect() {
      this.set(src.reload().successful ? 1 : 0);
    },
  });
  new Gauge({
    ...spec(selfFamilies.reloadSuccessTimestamp),
    registers,
    collect() {
      this.reset();
      const at = src.reload().lastSuccessAt;
      if (at !== undefined) this.set(at / 1000);
    },
  });
  return registry;
}
