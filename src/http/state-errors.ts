import type { NextFunction, Request, Response } from 'express';
import { StateBusyError } from '../actions/store/busy.js';
import { isConnectionError } from '../warehouse/errors.js';

/**
 * Errors of the state store that say "not now" rather than "broken": a lock wait or statement past its timeout,
 * every pooled connection busy, the database unreachable. The request's transaction rolled back (or never began),
 * so it changed nothing and a retry is safe: 503 with Retry-After, which Alertmanager's webhook retries and any
 * other client can honour, instead of a 500 that reads like a bug. The reason is one fixed line per kind: a
 * driver's own text can carry a host, a user or a connection string.
 */

interface Answer {
  status: number;
  reason: string;
  retryAfterS?: number;
}

// Seconds: about one lock_timeout plus a statement, so a retry does not arrive while the store is still busy.
const BUSY_RETRY_S = 5;
// As long as the state service waits between reconnection attempts (src/actions/store/service.ts).
const UNREACHABLE_RETRY_S = 10;

const busy = (why: string): Answer => ({
  status: 503,
  reason: `state store busy: ${why}; nothing was changed, retry later`,
  retryAfterS: BUSY_RETRY_S,
});

function classify(err: unknown): Answer | undefined {
  if (err instanceof StateBusyError) return busy('no database connection free in time');
  const code = (err as { code?: unknown })?.code;
  switch (code) {
    case '55P03':
      return busy('a lock wait ran past lock_timeout (SQLSTATE 55P03)');
    case '57014':
      return busy('a statement ran past statement_timeout (SQLSTATE 57014)');
    case '40001':
    case '40P01':
      // Serialization failure or deadlock: the database rolled this transaction back for another to finish.
      return busy(`a conflicting transaction won (SQLSTATE ${code})`);
    case '53300':
      return busy('the server has no connection slot left (SQLSTATE 53300)');
    case '22021':
    case '22P05':
      // Not a busy store: text the database cannot keep. The webhook refuses NUL and lone surrogates up front
      // (src/actions/tickets/alert-payload.ts); this catches whatever else a driver turns into such bytes.
      return {
        status: 400,
        reason: `the request holds a character the state store cannot keep (a NUL or an invalid byte sequence, SQLSTATE ${code})`,
      };
  }
  if (isConnectionError(err)) {
    const full = ((err as Error)?.message ?? '').includes('timeout exceeded when trying to connect');
    return full
      ? busy('no database connection free in time')
      : {
          status: 503,
          reason: 'state store unreachable: the connection failed; nothing was changed, retry later',
          retryAfterS: UNREACHABLE_RETRY_S,
        };
  }
  return undefined;
}

/** Express error middleware: answers the state store errors above, passes anything else on. */
export function stateErrors(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  const answer = classify(err);
  if (!answer || res.headersSent) {
    next(err);
    return;
  }
  if (answer.retryAfterS !== undefined) res.set('Retry-After', String(answer.retryAfterS));
  res.status(answer.status).type('text/plain').send(`${answer.reason}\n`);
}
