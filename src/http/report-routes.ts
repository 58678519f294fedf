import type { Express } from 'express';
import type { ReportService } from '../report/service.js';
import type { StateService } from '../state/service.js';
import { only } from './app.js';
import { unavailable } from './webhook.js';

/** GET /api/v1/reports/latest: the last weekly review the cadence kept, as Markdown. */
export function reportRoutes(state: StateService, reports: ReportService) {
  return (app: Express) => {
    app.all(
      '/api/v1/reports/latest',
      only(['GET', 'HEAD'], async (_req, res) => {
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
      }),
    );
  };
}
