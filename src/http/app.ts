import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { CONTENT_TYPE } from '../metrics/exposition.js';
import type { Exporter } from '../runtime/exporter.js';
import type { Security } from './auth/security.js';
import type { WebConfigSource } from './auth/web-config-source.js';
import { LANDING_CSP, landingPage } from './landing/page.js';
import type { LandingSources } from './landing/sources.js';
import { requestGuards } from './request-guards.js';
import { stateErrors } from './state-errors.js';

export interface AppDeps {
  exporter: () => Exporter;
  /** Re-reads the config file; resolves with the problems when the new config was refused. */
  reload: () => Promise<{ ok: true } | { ok: false; errors: string }>;
  /** Who may call what (src/http/auth/security.ts). */
  security: Security;
  /** The web config: response headers (http_server_config.headers). */
  web: WebConfigSource;
  log: Logger;
  /** Extra endpoints (the actions' APIs, the demo's incident switches), mounted before the 404 handler. */
  routes?: (app: Express) => void;
  /** The landing page's alerts and actions (serve passes them); without, the page shows the checks only. */
  landing?: LandingSources;
}

/** 405 with `Allow` for any other method: first, so a wrong method is told before any credential is asked. */
export function allow(methods: string[]) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (methods.includes(req.method)) return next();
    res
      .set('Allow', methods.join(', '))
      .status(405)
      .type('text/plain')
      .send(`method ${req.method} not allowed; use ${methods.join(' or ')}\n`);
  };
}

export function only(methods: string[], handler: (req: Request, res: Response) => unknown) {
  const check = allow(methods);
  return async (req: Request, res: Response) => {
    let passed = false;
    check(req, res, () => {
      passed = true;
    });
    if (passed) await handler(req, res);
  };
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // Prometheus never revalidates; hashing a megabyte of exposition per scrape for an ETag is waste.
  app.set('etag', false);
  const { security } = deps;
  app.use((_req, res, next) => {
    res.set(deps.web.current().headers);
    next();
  });
  app.use(security.rateLimit());
  app.use(requestGuards(security.refusals));

  app.all(
    '/metrics',
    allow(['GET', 'HEAD']),
    security.guard('metrics'),
    async (_req: Request, res: Response) => {
      // Served from the cache: never waits on the warehouse.
      res.type(CONTENT_TYPE).send(await deps.exporter().metricsText());
    },
  );
  app.all(
    '/',
    allow(['GET', 'HEAD']),
    // Open like /metrics (access.metrics), but a credential sent along is checked (a wrong one answers 401): the
    // lists of tickets and requests are the viewer role's, and only an authenticated request holds a role.
    // `/?as=viewer` asks for the role, so a browser is challenged for its basic-auth password even on an open page.
    (req: Request, res: Response, next: NextFunction) =>
      security.guard(
        req.query.as === 'viewer' ? 'viewer' : req.get('authorization') === undefined ? 'metrics' : 'any',
      )(req, res, next),
    async (_req: Request, res: Response) => {
      const exporter = deps.exporter();
      const viewer = security.mayView(res);
      const extras = await deps.landing?.gather({
        prometheusUrl: exporter.config.raw.report?.prometheus_url,
        viewer,
        signIn: !viewer && security.offersBasicAuth(),
      });
      // What a viewer sees must not be served from a shared cache to the next person.
      res.set({ 'Cache-Control': 'no-store', Vary: 'Authorization' });
      // The operator's own policy (web config headers) stands; else the page's, which allows its stylesheet only.
      if (!res.get('Content-Security-Policy')) res.set('Content-Security-Policy', LANDING_CSP);
      res.type('html').send(landingPage(exporter, extras));
    },
  );
  app.all(
    '/healthz',
    only(['GET', 'HEAD'], (_req, res) => {
      res.type('text/plain').send('ok\n');
    }),
  );
  app.all(
    '/readyz',
    only(['GET', 'HEAD'], (_req, res) => {
      const e = deps.exporter();
      if (e.isReady()) {
        res.type('text/plain').send('ready\n');
        return;
      }
      const waiting = e.cachedChecks().filter((s) => s.status === 'pending').length;
      res
        .status(503)
        .type('text/plain')
        .send(`not ready: ${waiting} check(s) have not finished their first run\n`);
    }),
  );
  app.all(
    '/-/reload',
    allow(['POST', 'PUT']),
    // Off unless --web.enable-lifecycle, and then only for the lifecycle role: a reload restarts every
    // changed check against the warehouse.
    security.guard('lifecycle'),
    async (_req: Request, res: Response) => {
      const result = await deps.reload();
      // Like Prometheus: a config that cannot be loaded answers 500 with the reasons; the old one keeps running.
      if (result.ok) res.type('text/plain').send('config reloaded\n');
      else
        res
          .status(500)
          .type('text/plain')
          .send(`config refused, previous config still running:\n${result.errors}\n`);
    },
  );
  deps.routes?.(app);
  app.use((req: Request, res: Response) => {
    res
      .status(404)
      .type('text/plain')
      .send(`no such endpoint: ${req.method} ${req.path.slice(0, 200)}; try /metrics\n`);
  });
  app.use(stateErrors);
  // Last resort: an unexpected error answers 500 and never takes the process down. Its message goes to the log
  // only: a driver's text may name hosts, users or statements the caller has no business seeing.
  app.use((err: Error, req: Request, res: Response, _next: NextFunction) => {
    deps.log.error({ err: err.message, method: req.method, route: req.path.slice(0, 200) }, 'request failed');
    if (res.headersSent) return;
    res.status(500).type('text/plain').send("internal error; the exporter's log has the reason\n");
  });
  return app;
}
