import type { Express, Request, Response } from 'express';
import type { Logger } from 'pino';
import { allow } from '../http/app.js';
import type { Security } from '../http/auth/security.js';
import { type DemoIncidents, INCIDENTS, IncidentConflict, incidentNote, isIncident } from './incidents.js';

/**
 * The demo's incident switches: GET /-/demo/incidents lists the active ones, PUT /-/demo/incidents/NAME
 * switches one on, DELETE switches it off; a switch answers the active ones, and for an incident whose alert takes
 * some explaining (incidentNote) a `note` on when it fires. Switching changes the demo's data, so it takes a
 * credential (any of the demo's); listing does not.
 */
export function incidentRoutes(incidents: DemoIncidents, log: Logger) {
  return (app: Express, security: Security) => {
    app.all('/-/demo/incidents', allow(['GET', 'HEAD']), (_req: Request, res: Response) => {
      res.json({ active: incidents.active(), available: INCIDENTS });
    });
    app.all(
      '/-/demo/incidents/:name',
      allow(['PUT', 'DELETE']),
      security.guard('any'),
      async (req: Request, res: Response) => {
        const name = String(req.params.name);
        if (!isIncident(name)) {
          res
            .status(404)
            .type('text/plain')
            .send(`no incident '${name}'; available: ${INCIDENTS.join(', ')}\n`);
          return;
        }
        const on = req.method === 'PUT';
        try {
          await incidents.set(name, on);
        } catch (err) {
          res
            .status(err instanceof IncidentConflict ? 409 : 500)
            .type('text/plain')
            .send(`could not switch ${name} ${on ? 'on' : 'off'}: ${(err as Error).message}\n`);
          return;
        }
        // What to expect of the alert, where the one who switched reads: the answer, and the demo's log.
        const note = on ? incidentNote(name) : undefined;
        log.info({ incident: name, on, ...(note ? { note } : {}) }, 'demo incident switched');
        res.json({ active: incidents.active(), ...(note ? { note } : {}) });
      },
    );
  };
}
