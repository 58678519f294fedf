/** Turns driver errors into one-line reasons and tells connection trouble from SQL trouble. */

interface DriverError {
  message?: string;
  code?: string;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

// Messages node-postgres uses for a connection that is gone or never came up; it sets no code for them.
const NETWORK_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Query read timeout',
  'Client has encountered a connection error',
  'Connection ended',
  'connection error',
];

/** True when the error means the warehouse could not be reached, as opposed to a bad statement. */
export function isConnectionError(err: unknown): boolean {
  const e = err as DriverError;
  if (!e) return false;
  if (e.code && NETWORK_CODES.has(e.code)) return true;
  // SQLSTATE class 08 (connection exception) and 57P01..57P03 (server shutting down / cannot connect now).
  if (e.code && (/^08/.test(e.code) || /^57P0[123]$/.test(e.code))) return true;
  const msg = e.message ?? '';
  return NETWORK_MESSAGES.some((m) => msg.includes(m));
}

/** A reason a user can act on, with the SQLSTATE when there is one. */
export function describeError(err: unknown, timeoutMs?: number): string {
  const e = err as DriverError;
  const msg = (e?.message ?? String(err)).split('\n')[0]?.trim() ?? '';
  if (e?.code === '25006') return `checks are read-only and this statement tries to write: ${msg}`;
  if (e?.code === '57014' && timeoutMs !== undefined) {
    return `statement timed out after ${timeoutMs / 1000}s (statement_timeout); raise the check's timeout or make the query cheaper`;
  }
  if (msg.includes('Query read timeout')) {
    return `no answer from the warehouse within ${timeoutMs !== undefined ? `${timeoutMs / 1000}s plus grace` : 'the timeout'} (network cut?)`;
  }
  if (isConnectionError(err)) return `warehouse unreachable: ${msg || e?.code}`;
  return e?.code && /^[0-9A-Z]{5}$/.test(e.code) ? `${msg} (SQLSTATE ${e.code})` : msg;
}
