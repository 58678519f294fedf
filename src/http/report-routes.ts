import type { Express, Request, Response } from 'express';
import type { ReportService } from '../actions/report/service.js';
import type { StoreService } from '../actions/store/service.js';
import { allow } from './app.js';
import type { Security } from './auth/security.js';
import { unavailable } from './webhook.js';

/** GET /api/v1/reports/latest: the last weekly review the cadence kept, as Markdown. */
export function reportRoutes(state: StoreService, reports: ReportService, security: Security) {
  return (app: Express) => {
    app.all(
      '/api/v1/reports/latest',
      allow(['GET', 'HEAD']),
      security.guard('viewer'),
      async (_req: Request, res: Response) => {
        if (unavailable(res, state)) return;
        const r = await reports.reports.latest();
        if (!r) {
          res.status(404).type('text/plain').send('no weekly review kept yet (report.cron builds one)\n');
          return;
        }
        res
          .status(200)
          .type('text/markdown; charset=utf-8')
          .set('x-report-period-start', r.periodStart)
          .set('x-report-period-end', r.periodEnd)
          .send(r.markdown);
      },
    );
  };
}
