import pino, { type DestinationStream, type Logger } from 'pino';
import { REDACTED } from './redact.js';

// Fields that could carry a credential if an object holding one is ever logged: a password, a token, a
// request's or a webhook's headers (every header: x-api-key and cookie are credentials too). Messages that
// quote driver or fetch errors are cleaned where they are written (src/redact.ts); this is the net under them.
// Exact paths and one-level wildcards keep pino's redaction cheap on every line.
export const LOG_REDACT_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.*',
  '*.headers.*',
  '*.*.headers.*',
];

/** JSON logs on stderr, so stdout stays clean for `mlwatch once` and piping. */
export function createLogger(
  level = process.env.MLWATCH_LOG_LEVEL ?? 'info',
  destination: DestinationStream = pino.destination(2),
): Logger {
  return pino(
    { level, base: { app: 'mlwatch' }, redact: { paths: LOG_REDACT_PATHS, censor: REDACTED } },
    destination,
  );
}
