import type { Express } from 'express';
import type { Logger } from 'pino';
import { only } from '../http/app.js';
import { type DemoIncidents, INCIDENTS, isIncident } from './incidents.js';

/**
 * The demo's incident switches: GET /-/demo/incidents lists the active ones, PUT /-/demo/incidents/NAME
 * switches one on, DELETE switches it off.
 */
export function incidentRoutes(incidents: DemoIncidents, log: Logger) {
  return (app: Express) => {
    app.all(
      '/-/demo/incidents',
      only(['GET', 'HEAD'], (_req, res) => {
        res.json({ active: incidents.active(), available: INCIDENTS });
      }),
    );
    app.all(
      '/-/demo/incidents/:name',
      only(['PUT', 'DELETE'], async (req, res) => {
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
            .status(500)
            .type('text/plain')
            .send(`could not switch ${name} ${on ? 'on' : 'off'}: ${(err as Error).message}\n`);
          return;
        }
        log.info({ incident: name, on }, 'demo incident switched');
        res.json({ active: incidents.active() });
      }),
    );
  };
}
