import type { Server } from 'node:http';
import type { Express } from 'express';
import type { Logger } from 'pino';
import { runningNow } from '../actions/report/now/running.js';
import { ConfigError } from '../config/errors.js';
import type { LoadedConfig } from '../config/load.js';
import { createApp } from '../http/app.js';
import type { FailureLimiter } from '../http/auth/failure-limiter.js';
import { Security } from '../http/auth/security.js';
import { createWebServer } from '../http/auth/tls-server.js';
import { WebConfigSource } from '../http/auth/web-config-source.js';
import { LandingSources } from '../http/landing/sources.js';
import type { Warehouse } from '../warehouse/types.js';
import { type Actions, type ActionsOptions, startActions } from './actions.js';
import { Exporter } from './exporter.js';
import { PendingMemory } from './pending-memory.js';
import { openCheckSharing } from './sharing/open.js';

export interface ServeOptions extends Omit<ActionsOptions, 'registry' | 'reportNow'> {
  /** Loads the config again for /-/reload and SIGHUP; throws ConfigError when it is invalid. */
  loadAgain: () => LoadedConfig;
  host: string;
  port: number;
  /** --web.config.file: TLS and basic-auth users in exporter-toolkit's format (docs/security.md). */
  webConfigFile?: string | undefined;
  /** --web.enable-lifecycle: POST /-/reload answers (to the lifecycle role). */
  enableLifecycle?: boolean;
  /** --web.insecure-actions: the action endpoints answer callers without credentials (local use only). */
  insecureActions?: boolean;
  /** How often the web config's files are looked at for changes (tests shorten it). */
  webConfigCheckMs?: number;
  /** Failed authentications allowed per client address and minute (tests that fail on purpose raise it). */
  failureLimiter?: FailureLimiter;
  openWarehouse?: (config: LoadedConfig) => Warehouse;
  /** How long shutdown waits for checks in flight before giving up on them. */
  shutdownGraceMs?: number;
  /** Extra HTTP endpoints (the demo's incident switches), with the guard that decides who may call them. */
  routes?: (app: Express, security: Security) => void;
  /** Extra work on shutdown (the demo stops its feeder). */
  onShutdown?: () => Promise<void>;
}

export interface Running extends Pick<Actions, 'state' | 'retrain' | 'rollbacks' | 'reports'> {
  exporter: Exporter;
  security: Security;
  /** https or http, as the web config says. */
  scheme: 'http' | 'https';
  server: Server;
  port: number;
  reload(): Promise<{ ok: true } | { ok: false; errors: string }>;
  shutdown(): Promise<void>;
}

/** A config that must not be served as it is: the message says what to add. */
export class StartRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartRefused';
  }
}

/** Starts the exporter and its HTTP server, and wires SIGHUP (reload) and SIGTERM/SIGINT (graceful stop). */
export async function serve(o: ServeOptions): Promise<Running> {
  // Before anything connects anywhere: a bad web config or an unguarded action endpoint stops the start.
  const web = new WebConfigSource(o.webConfigFile, o.log, o.webConfigCheckMs);
  const security = new Security(o.config.raw, {
    web,
    log: o.log,
    lifecycle: o.enableLifecycle ?? false,
    insecureActions: o.insecureActions ?? false,
    ...(o.failureLimiter ? { limiter: o.failureLimiter } : {}),
  });
  const problems = security.problems(o.config.raw);
  if (problems.length > 0)
    throw new StartRefused(`${o.config.file}: ${problems.join(`\n${o.config.file}: `)}`);
  if (o.insecureActions) {
    o.log.warn(
      '--web.insecure-actions: anyone who can reach this port may post webhooks and read tickets; use it only on a trusted host',
    );
  }
  // Replicas of one config share their checks through the state store (src/runtime/sharing/): each check runs
  // on one of them. Not with a store the caller opened (the demo's and tests' in-process PGlite): none to share.
  // The store is migrated by the actions, started next: until then, nothing is shared.
  let storeReady = () => false;
  const sharing = o.openState
    ? undefined
    : openCheckSharing(o.config, { log: o.log, isStoreReady: () => storeReady() });
  const memory = new PendingMemory();
  const exporter = Exporter.start(o.config, {
    log: o.log,
    memory,
    ...(o.openWarehouse ? { openWarehouse: o.openWarehouse } : {}),
    sharing,
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
    // The weekly review without Prometheus: this exporter's own latest values (src/actions/report/now/).
    reportNow: runningNow(() => exporter.cachedChecks()),
  });
  const { state, retrain, rollbacks, reports } = actions;
  storeReady = () => state.isReady();
  // Checks that remember between runs (incremental ones) keep it in the state store.
  memory.attach(actions.memory);
  security.register(exporter.registry);
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
      const refused = security.problems(config.raw);
      if (refused.length > 0) {
        const errors = refused.map((p) => `${config.file}: ${p}`).join('\n');
        exporter.refused(errors);
        return { ok: false as const, errors };
      }
      await exporter.reload(config);
      actions.configure(config);
      security.configure(config.raw);
      return { ok: true as const };
    });
    reloading = next;
    return next;
  };

  const routes = (app: Express) => {
    actions.routes(app, security);
    o.routes?.(app, security);
  };
  // The landing page's firing alerts (report.prometheus_url) and actions: counts from the registry's gauges.
  const landing = new LandingSources({ registry: exporter.registry, state, retrain, rollbacks, log: o.log });
  const app = createApp({ exporter: () => exporter, reload, routes, security, web, log: o.log, landing });
  const server = createWebServer(app, web, o.log);
  const scheme = web.current().tls ? 'https' : 'http';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch(async (err) => {
    // The port is taken (or not ours): stop what started, so the caller can exit with the reason.
    await exporter.stop(1000);
    await actions.stop();
    throw err;
  });
  // Node closes an idle keep-alive connection after 5 s by default. A client (Prometheus, a load balancer, a
  // test whose event loop was busy) that sends on such a socket just as it closes gets "socket hang up". Keep
  // idle connections longer than the usual scrape interval (up to 60 s); the headers timeout must exceed it.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  o.log.info(
    {
      host: o.host,
      port,
      scheme,
      checks: o.config.checks.length,
      lifecycle: o.enableLifecycle ?? false,
      ...(o.webConfigFile ? { web_config: o.webConfigFile } : {}),
    },
    'mlwatch listening',
  );

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
  return { exporter, security, scheme, state, retrain, rollbacks, reports, server, port, reload, shutdown };
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
