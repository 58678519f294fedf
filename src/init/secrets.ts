/**
 * The warehouse URL as mlwatch.yaml may hold it: without its password. A password in the URL's userinfo (or a
 * `password=` parameter, which libpq and node-postgres read too) stays out of the file; the file takes it from
 * the environment at load time instead (`${WAREHOUSE_PASSWORD}`, the loader's substitution), so the file can
 * be committed and the secret kept where secrets are kept.
 */

export const PASSWORD_VARIABLE = 'WAREHOUSE_PASSWORD';

export interface SplitUrl {
  /** The URL without a password, as it is written into the file. */
  url: string;
  /** Whether the URL had a password (then the file reads it from PASSWORD_VARIABLE). */
  hadPassword: boolean;
  /** The password, for this run's own connection only; never written. */
  password?: string | undefined;
}

export function splitPassword(url: string): SplitUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { url, hadPassword: false };
  }
  // pglite: and duckdb: URLs carry a path, never credentials.
  if (!/^postgres(ql)?:$/.test(u.protocol)) return { url, hadPassword: false };
  const fromQuery = u.searchParams.get('password');
  const fromUserinfo = u.password !== '' ? decode(u.password) : undefined;
  if (fromUserinfo === undefined && fromQuery === null) return { url, hadPassword: false };
  u.password = '';
  u.searchParams.delete('password');
  return { url: u.toString(), hadPassword: true, password: fromUserinfo ?? fromQuery ?? undefined };
}

// The URL keeps userinfo percent-encoded (p%40ss); the server wants what the user meant (p@ss).
function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
