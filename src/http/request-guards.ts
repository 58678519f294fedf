import type { Request, RequestHandler } from 'express';
import type { Refusals } from './auth/refusals.js';

/**
 * Checks every request meets before any route sees it (docs/security.md, "Requests"):
 * - A request that changes something (any method but GET, HEAD, OPTIONS) from a web page of another origin is
 *   refused (403): a browser sends `Origin` (and `Sec-Fetch-Site`) with it. Without this, a page the operator
 *   opens could post a "simple" cross-site request carrying the browser's saved basic-auth credentials.
 * - A body is JSON or nothing: `Content-Type: application/json` (415 otherwise), so a cross-site form or
 *   text/plain post can never be parsed as a webhook.
 * - Text PostgreSQL cannot store (NUL, a lone UTF-16 surrogate) in the path or the query answers 400 here,
 *   not 500 from the state store.
 */

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function unstorableText(v: string): boolean {
  return v.includes('\u0000') || LONE_SURROGATE.test(v);
}

export function requestGuards(refusals: Refusals): RequestHandler {
  return (req, res, next) => {
    const bad = badText(req);
    if (bad !== undefined) {
      refusals.refuse(
        res,
        400,
        'invalid_text',
        `${bad} is not text the exporter accepts (a NUL character, a lone surrogate or a bad %-escape)`,
      );
      return;
    }
    if (SAFE_METHODS.has(req.method)) return next();
    const cross = crossOrigin(req);
    if (cross !== undefined) {
      refusals.refuse(
        res,
        403,
        'cross_origin',
        `cross-origin request refused (${cross}); call this API from a client, not a web page`,
      );
      return;
    }
    if (hasBody(req) && !isJson(req.get('content-type'))) {
      refusals.refuse(
        res,
        415,
        'unsupported_media_type',
        `the body must be JSON with Content-Type: application/json, not ${req.get('content-type') ?? 'no Content-Type'}`,
      );
      return;
    }
    next();
  };
}

function badText(req: Request): string | undefined {
  let path: string;
  try {
    path = decodeURIComponent(req.path);
  } catch {
    return 'the path';
  }
  if (unstorableText(path)) return 'the path';
  for (const [name, value] of Object.entries(req.query)) {
    if (unstorableText(name)) return 'a query parameter name';
    const values = Array.isArray(value) ? value : [value];
    for (const v of values)
      if (typeof v === 'string' && unstorableText(v)) return `the query parameter ${name.slice(0, 40)}`;
  }
  return undefined;
}

function crossOrigin(req: Request): string | undefined {
  const site = req.get('sec-fetch-site');
  if (site === 'cross-site' || site === 'same-site') return `Sec-Fetch-Site: ${site}`;
  const origin = req.get('origin');
  if (origin === undefined) return undefined;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return 'Origin is not a URL';
  }
  return host === req.get('host') ? undefined : `Origin ${origin.slice(0, 100)}`;
}

function hasBody(req: Request): boolean {
  const length = req.get('content-length');
  if (length !== undefined) return Number(length) > 0;
  return req.get('transfer-encoding') !== undefined;
}

function isJson(type: string | undefined): boolean {
  if (type === undefined) return false;
  const base = type.split(';')[0]?.trim().toLowerCase();
  return base === 'application/json';
}
