import type { Logger } from 'pino';
import type { LoadedConfig } from '../../config/load.js';
import { cronGapMs } from '../scheduler.js';
import { PgCheckSharing } from './pg-sharing.js';
import type { CheckSharing } from './sharing.js';

/**
 * The check sharing of a served config: through the state store when it is a PostgreSQL server, which every
 * replica reaches. None with an embedded store (PGlite is one process's: there is no other replica to share
 * with) or an embedded warehouse (each process would watch a database of its own).
 */
export function openCheckSharing(
  config: LoadedConfig,
  o: { log: Logger; isStoreReady: () => boolean },
): CheckSharing | undefined {
  if (!/^postgres(ql)?:/.test(config.state.url) || config.warehouse.url.startsWith('pglite:'))
    return undefined;
  return new PgCheckSharing({
    state: config.state,
    schema: config.state.schema,
    warehouse: warehouseIdentity(config.warehouse.url),
    log: o.log,
    isStoreReady: o.isStoreReady,
    followMs: followMs(config),
  });
}

/**
 * How often a replica looks for the others' results: a quarter of the shortest check interval, so what it
 * serves trails the runner by a fraction of an interval, between 0.5 s and 5 s (at the default 1m interval, 5 s:
 * one small read every 5 s, far below Prometheus' 15 s scrape).
 */
export function followMs(config: LoadedConfig): number {
  const shortest = Math.min(
    ...config.checks.map((c) => ('everyMs' in c.schedule ? c.schedule.everyMs : cronGapMs(c.schedule.cron))),
  );
  return Math.min(5_000, Math.max(500, Math.round(shortest / 4)));
}

/**
 * The warehouse a config reads, as replicas compare it: its URL without the password (a secret, and one that
 * may rotate while the warehouse stays the same).
 */
export function warehouseIdentity(url: string): string {
  if (!/^postgres(ql)?:/.test(url)) return url;
  try {
    const u = new URL(url);
    u.password = '';
    u.searchParams.delete('password');
    return u.toString();
  } catch {
    return url;
  }
}
