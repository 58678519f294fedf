import type { Response } from 'express';
import { Counter, type Registry } from 'prom-client';
import { selfFamilies } from '../../metrics/self-families.js';

export const REFUSAL_REASONS = [
  'unauthenticated',
  'forbidden',
  'cross_origin',
  'lifecycle_disabled',
  'unsupported_media_type',
  'invalid_text',
  'rate_limited',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/**
 * Answers a refused request (a status, a one-line reason in plain text) and counts it in
 * mlwatch_http_requests_refused_total{reason}: a fixed set of reasons, so the series stay bounded whatever
 * clients send.
 */
export class Refusals {
  private counter?: Counter;

  register(registry: Registry): void {
    this.counter = new Counter({
      name: selfFamilies.httpRefused.name,
      help: selfFamilies.httpRefused.help,
      labelNames: [...selfFamilies.httpRefused.labels],
      registers: [registry],
    });
    // Every reason from the start, so rate() sees the first refusal rather than a new series.
    for (const reason of REFUSAL_REASONS) this.counter.inc({ reason }, 0);
  }

  refuse(
    res: Response,
    status: number,
    reason: RefusalReason,
    message: string,
    headers: Record<string, string> = {},
  ): void {
    this.counter?.inc({ reason });
    res.status(status).set(headers).type('text/plain').send(`${message}\n`);
  }
}
