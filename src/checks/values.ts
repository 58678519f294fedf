/** Decoding driver values into sample values and label values, the same way for every check kind. */

export class ValueError extends Error {}

/**
 * A number for Prometheus, or null for SQL NULL. pg returns numeric and bigint as strings, PGlite
 * returns bigint as number; timestamps become Unix seconds, booleans 1 and 0.
 */
export function toSampleValue(v: unknown, column: string): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Date) return v.getTime() / 1000;
  if (typeof v === 'string') {
    const n = Number(v);
    if (v.trim() !== '' && (!Number.isNaN(n) || v === 'NaN')) return n;
  }
  throw new ValueError(
    `column '${column}' holds ${JSON.stringify(v)}, which is not a number; cast it in SQL (e.g. ::float8) or use it as a label`,
  );
}

/** A count read from a statement's row (a bigint arrives as a string from pg): finite and >= 0, or an error. */
export function toCount(v: unknown, what: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`expected a count for ${what}, got ${String(v)}`);
  return n;
}

export function toLabelValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  return String(v);
}
