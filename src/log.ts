import pino, { type Logger } from 'pino';

/** JSON logs on stderr, so stdout stays clean for `mlwatch once` and piping. */
export function createLogger(level = process.env.MLWATCH_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { app: 'mlwatch' } }, pino.destination(2));
}
