import { basename } from 'node:path';
import { REDACTED, Redactor } from '../redact.js';

/**
 * The paths of a DuckDB warehouse, without the driver (the config imports this): which remote paths the
 * `warehouse.files` sources may name, how they are shown in messages, the directory DuckDB is allowed to read
 * for each, and the name a database file is attached under when it is read together with files.
 */

/**
 * The schemes read through DuckDB's httpfs extension (DuckDB 1.5 names httpfs for each of them when it is not
 * loaded). Not plain http: the data, and a presigned URL's signature, would cross the network in clear text.
 * Not hf:// (Hugging Face, also httpfs: not a warehouse's storage), nor az:// and abfss://, which need the
 * azure extension.
 */
export const REMOTE_SCHEMES = ['s3', 's3a', 's3n', 'gs', 'gcs', 'r2', 'https'] as const;

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
const WILDCARD = /[*?[{]/;

/** The lower-case scheme of a `scheme://` path, or undefined for a local path. */
export function schemeOf(path: string): string | undefined {
  return SCHEME.exec(path)?.[1]?.toLowerCase();
}

export function isRemotePath(path: string): boolean {
  return schemeOf(path) !== undefined;
}

/** A remote path's parts: what is before the query string is a bucket or host and a key or file path. */
function parts(path: string): { authority: string; key: string; query: string | undefined } {
  const rest = path.slice((SCHEME.exec(path)?.[0] ?? '').length);
  // A web URL's userinfo ends at its last @, whatever a password written unencoded holds: a / (before the
  // query) or a ? (before the first /). Either way it is still seen, refused and redacted. A bucket's key may
  // hold an @, so only https:// reads it so.
  let at = -1;
  if (schemeOf(path) === 'https') {
    const q0 = rest.indexOf('?');
    const s0 = rest.indexOf('/');
    at = Math.max(
      (q0 < 0 ? rest : rest.slice(0, q0)).lastIndexOf('@'),
      (s0 < 0 ? rest : rest.slice(0, s0)).lastIndexOf('@'),
    );
  }
  // The first ? after the userinfo starts the query: httpfs reads s3:// parameters (s3_region=...) from it, and
  // https:// sends it, so a ? is never a wildcard in a remote path.
  const q = rest.indexOf('?', at + 1);
  const beforeQuery = q < 0 ? rest : rest.slice(0, q);
  const slash = beforeQuery.indexOf('/', Math.max(at, 0));
  return {
    authority: slash < 0 ? beforeQuery : beforeQuery.slice(0, slash),
    key: slash < 0 ? '' : beforeQuery.slice(slash),
    query: q < 0 ? undefined : rest.slice(q + 1),
  };
}

/**
 * A path as messages show it: for a remote path, the userinfo and every query parameter's value replaced
 * (a presigned URL's X-Amz-Signature, an s3_secret_access_key parameter: which parameter carries a credential
 * depends on the store, so none is shown).
 */
export function redactPath(path: string): string {
  const scheme = SCHEME.exec(path)?.[0];
  if (scheme === undefined) return path;
  const { authority, key, query } = parts(path);
  const at = authority.lastIndexOf('@');
  const host = at < 0 ? authority : `${REDACTED}@${authority.slice(at + 1)}`;
  const shownQuery =
    query === undefined
      ? ''
      : `?${query.replace(/([^=&#]+)=([^&#]*)/g, (whole, k: string, v: string) => (v === '' ? whole : `${k}=${REDACTED}`))}`;
  return `${scheme}${host}${key}${shownQuery}`;
}

/** What redactPath hides, as written and percent-decoded: every text that may carry it is searched for these. */
export function pathSecrets(path: string): string[] {
  if (!isRemotePath(path)) return [];
  const { authority, query } = parts(path);
  const out: string[] = [];
  const at = authority.lastIndexOf('@');
  if (at >= 0) out.push(authority.slice(0, at), ...authority.slice(0, at).split(':'));
  for (const m of (query ?? '').matchAll(/[^=&#]+=([^&#]*)/g)) if (m[1]) out.push(m[1]);
  return [...out, ...out.map(decodeSafe)].filter((s) => s.length > 0);
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/**
 * For errors that may quote a remote path (DuckDB's do, whole): the same error, or one whose message has the
 * credentials of `paths` (pathSecrets) replaced, with the driver's code kept.
 */
export function credentialScrubber(paths: readonly string[]): (err: unknown) => unknown {
  const redactor = new Redactor();
  for (const p of paths) for (const s of pathSecrets(p)) redactor.add(s);
  return (err) => {
    if (!(err instanceof Error)) return err;
    const message = redactor.redact(err.message);
    if (message === err.message) return err;
    // The same error with its message replaced: its class and code stay, so whatever classifies it still can.
    const scrubbed = Object.create(Object.getPrototypeOf(err)) as Error;
    for (const key of Object.getOwnPropertyNames(err)) {
      if (key !== 'message' && key !== 'stack')
        Object.defineProperty(scrubbed, key, Object.getOwnPropertyDescriptor(err, key) as PropertyDescriptor);
    }
    scrubbed.message = message;
    scrubbed.stack = `${err.name}: ${message}`;
    return scrubbed;
  };
}

/** Why the config refuses a `warehouse.files` path, or undefined when DuckDB may read it. */
export function remotePathProblem(path: string): string | undefined {
  const scheme = schemeOf(path);
  if (scheme === undefined) return undefined;
  const shown = `'${redactPath(path)}'`;
  if (scheme === 'http') {
    return `${shown} is plain http: the data, and any signature in the URL, would cross the network in clear text; use https://`;
  }
  if (scheme === 'file') return `${shown}: write a local path without file://`;
  if (!(REMOTE_SCHEMES as readonly string[]).includes(scheme)) {
    return `${shown}: remote files are read through DuckDB's httpfs extension, which reads ${REMOTE_SCHEMES.map((s) => `${s}://`).join(', ')}; copy other stores' files to one of these or to a local directory`;
  }
  const { authority, key } = parts(path);
  if (authority.includes('@')) {
    return `${shown} carries credentials in the URL, where DuckDB's views and errors would hold them: for s3://, gs:// and r2:// give DuckDB a secret instead (docs/engines.md, "Remote files"); an https:// source that needs a password is not supported`;
  }
  if (authority === '' || WILDCARD.test(authority)) {
    return `${shown} names no ${scheme === 'https' ? 'host' : 'bucket'}: write ${scheme}://${scheme === 'https' ? 'host' : 'bucket'}/path/${scheme === 'https' ? 'file.parquet' : '*.parquet'}`;
  }
  if (key === '' || key === '/')
    return `${shown} names no file: add its path or a glob after the ${scheme === 'https' ? 'host' : 'bucket'}`;
  if (scheme === 'https' && WILDCARD.test(key)) {
    return `${shown}: a web server cannot be listed, so an https:// path is one file, not a glob; name the file, or read the bucket through s3://, gs:// or r2://`;
  }
  return undefined;
}

/**
 * The directory a file or glob lives under: its path up to the last separator before the first wildcard (for a
 * remote path, before its query string too). DuckDB's allowed_directories takes it as a prefix, remote or local.
 */
export function baseDirectory(path: string): string {
  const scheme = SCHEME.exec(path)?.[0];
  if (scheme === undefined) return upToWildcard(path, 0) || '/';
  const { authority, key } = parts(path);
  // Never shorter than scheme://bucket/: the config refuses a wildcard in the bucket or host, and a path
  // without a key, so this only guards against allowing a whole store.
  const root = `${scheme}${authority}/`;
  const dir = upToWildcard(`${scheme}${authority}${key}`, root.length);
  return dir.length < root.length ? root : dir;
}

/** The path up to the last / before its first wildcard at or after `from`. */
function upToWildcard(path: string, from: number): string {
  const wild = path.slice(from).search(WILDCARD);
  const head = wild < 0 ? path : path.slice(0, from + wild);
  return head.slice(0, head.lastIndexOf('/') + 1);
}

/** Catalog names a database file read with files may not take: DuckDB's own, and the files' schema. */
const RESERVED_CATALOGS = ['memory', 'system', 'temp', 'files'];

/**
 * The name a database file is attached under beside files: its file name up to the first dot, the name DuckDB
 * gives a file it opens (analytics.duckdb is `analytics`), so a statement that names the catalog reads the same.
 */
export function attachedName(file: string): string {
  return basename(file).split('.')[0] as string;
}

/** Why a database file cannot be attached beside files under its name, or undefined. */
export function attachedNameProblem(file: string): string | undefined {
  const name = attachedName(file);
  if (!/^[A-Za-z0-9_-]+$/.test(name)) {
    return `the database file is attached under its name up to the first dot, '${name}', which must be letters, digits, _ or -: rename the file or link it under such a name`;
  }
  if (RESERVED_CATALOGS.includes(name.toLowerCase())) {
    return `the database file is attached under its name up to the first dot, '${name}', which DuckDB or the files' schema (files.<name>) already uses: rename the file or link it under another name`;
  }
  return undefined;
}
