import express, { type Express, type Request, type Response } from 'express';
import { CONTENT_TYPE } from '../metrics/exposition.js';
import type { Exporter } from '../runtime/exporter.js';
import { landingPage } from './landing.js';

export interface AppDeps {
  exporter: () => Exporter;
  /** Re-reads the config file; resolves with the problems when the new config was refused. */
  reload: () => Promise<{ ok: true } | { ok: false; errors: string }>;
  /** Extra endpoints (the demo's incident switches), mounted before the 404 handler. */
  routes?: (app: Express) => void;
}

export function only(methods: string[], handler: (req: Request, res: Response) => unknown) {
  return async (req: Request, res: Response) => {
    if (!methods.includes(req.method)) {
      res
        .set('Allow', methods.join(', '))
        .status(405)
        .type('text/plain')
        .send(`method ${req.method} not allowed; use ${methods.join(' or ')}\n`);
      return;
    }
    await handler(req, res);
  };
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // Prometheus never revalidates; hashing a megabyte of exposition per scrape for an ETag is waste.
  app.set('etag', false);

  app.all(
    '/metrics',
    only(['GET', 'HEAD'], async (_req, res) => {
      // Served from the cache: never waits on the warehouse.
      res.type(CONTENT_TYPE).send(await deps.exporter().metricsText());
    }),
  );
  app.all(
    '/',
    only(['GET', 'HEAD'], (_req, res) => {
      res.type('html').send(landingPage(deps.exporter()));
    }),
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
      const waiting = e.checkStates().filter((s) => s.status === 'pending').length;
      res
        .status(503)
        .type('text/plain')
        .send(`not ready: ${waiting} check(s) have not finished their first run\n`);
    }),
  );
  app.all(
    '/-/reload',
    only(['POST', 'PUT'], async (_req, res) => {
      const result = await deps.reload();
      // Like Prometheus: a config that cannot be loaded answers 500 with the reasons; the old one keeps running.
      if (result.ok) res.type('text/plain').send('config reloaded\n');
      else
        res
          .status(500)
          .type('text/plain')
          .send(`config refused, previous config still running:\n${result.errors}\n`);
    }),
  );
  deps.routes?.(app);
  app.use((req: Request, res: Response) => {
    res.status(404).type('text/plain').send(`no such endpoint: ${req.method} ${req.path}; try /metrics\n`);
  });
  // Last resort: an unexpected error answers 500 with its message and never takes the process down.
  app.use((err: Error, _req: Request, res: Response, _next: () => void) => {
    res.status(500).type('text/plain').send(`internal error: ${err.message}\n`);
  });
  return app;
}
