import type { Server } from 'node:http';
import type { Express } from 'express';
import type { Logger } from 'pino';
import { ConfigError } from '../config/errors.js';
import type { LoadedConfig } from '../config/load.js';
import { createApp } from '../http/app.js';
import type { Warehouse } from '../warehouse/types.js';
import { type Actions, type ActionsOptions, startActions } from './actions.js';
import { Exporter } from './exporter.js';

export interface ServeOptions extends Omit<ActionsOptions, 'registry'> {
  /** Loads the config again for /-/reload and SIGHUP; throws ConfigError when it is invalid. */
  loadAgain: () => LoadedConfig;
  host: string;
  port: number;
  openWarehouse?: (config: LoadedConfig) => Warehouse;
  /** How long shutdown waits for checks in flight before giving up on them. */
  shutdownGraceMs?: number;
  /** Extra HTTP endpoints (the demo's incident switches). */
  routes?: (app: Express) => void;
  /** Extra work on shutdown (the demo stops its feeder). */
  onShutdown?: () => Promise<void>;
}

export interface Running extends Pick<Actions, 'state' | 'retrain' | 'rollbacks' | 'reports'> {
  exporter: Exporter;
  server: Server;
  port: number;
  reload(): Promise<{ ok: true } | { ok: false; errors: string }>;
  shutdown(): Promise<void>;
}

/** Starts the exporter and its HTTP server, and wires SIGHUP (reload) and SIGTERM/SIGINT (graceful stop). */
export async function serve(o: ServeOptions): Promise<Running> {
  const exporter = Exporter.start(o.config, {
    log: o.log,
    ...(o.openWarehouse ? { openWarehouse: o.openWarehouse } : {}),
  });
  // The ticket log, retraining, rollbacks and the weekly review, on the state store (src/runtime/actions.ts).
  const actions = startActions({
    config: o.config,
    log: o.log,
    registry: exporter.registry,
    openState: o.openState,
    retrain: o.retrain,
    ticketForward: o.ticketForward,
    rollback: o.rollback,
    report: o.report,
  });
  const { state, retrain, rollbacks, reports } = actions;
  let reloading: Promise<{ ok: true } | { ok: false; errors: string }> | undefined;

  const reload = () => {
    // Reloads are serialized: a second request waits for the first and then reloads again.
    const next = (reloading ?? Promise.resolve()).then(async () => {
      let config: LoadedConfig;
      try {
        config = o.loadAgain();
      } catch (err) {
        const errors = err instanceof ConfigError ? err.message : String(err);
        exporter.refused(errors);
        return { ok: false as const, errors };
      }
      await exporter.reload(config);
      actions.configure(config);
      return { ok: true as const };
    });
    reloading = next;
    return next;
  };

  const routes = (app: Express) => {
    actions.routes(app);
    o.routes?.(app);
  };
  const app = createApp({ exporter: () => exporter, reload, routes });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(o.port, o.host, () => resolve(s));
    s.once('error', reject);
  });
  // Node closes an idle keep-alive connection after 5 s by default. A client (Prometheus, a load balancer, a
  // test whose event loop was busy) that sends on such a socket just as it closes gets "socket hang up". Keep
  // idle connections longer than the usual scrape interval (up to 60 s); the headers timeout must exceed it.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  o.log.info({ host: o.host, port, checks: o.config.checks.length }, 'mlwatch listening');

  let stopping: Promise<void> | undefined;
  const shutdown = () => {
    stopping ??= (async () => {
      o.log.info('shutting down');
      server.close();
      server.closeAllConnections();
      const clean = await exporter.stop(o.shutdownGraceMs ?? 10_000);
      if (!clean) o.log.warn('checks still running after the grace period were abandoned');
      await actions.stop();
      await o.onShutdown?.();
    })();
    return stopping;
  };
  return { exporter, state, retrain, rollbacks, reports, server, port, reload, shutdown };
}

/** For the CLI: signals drive reload and shutdown; the process exits 0 after a clean stop. */
export function handleSignals(running: Running, log: Logger): void {
  process.on('SIGHUP', () => {
    void running.reload().then((r) => {
      if (r.ok) log.info('reloaded on SIGHUP');
    });
  });
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      void running.shutdown().then(() => process.exit(0));
    });
  }
}
