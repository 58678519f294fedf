import { z } from 'zod';
import { redactUrl } from '../redact.js';

/**
 * URLs with a user and password in them (`https://user:pw@tracker/api`). Node's fetch refuses such a URL, and
 * its error quotes the URL whole, password included, into logs and `last_error`. So a webhook's credentials
 * move into an `authorization: Basic ...` header when the config is loaded, and nothing downstream ever holds
 * a URL with a password.
 */

export function hasCredentials(url: string): boolean {
  try {
    const u = new URL(url);
    return u.username !== '' || u.password !== '';
  } catch {
    return false;
  }
}

/** For a section's transform: moves the credentials of `cfg[key]` into `cfg.headers.authorization`. */
export function credentialsToHeader<K extends string>(key: K) {
  return <T extends { [k in K]?: string | undefined } & { headers?: Record<string, string> | undefined }>(
    cfg: T,
    ctx: z.RefinementCtx,
  ): T => {
    const url = cfg[key];
    if (url === undefined || !hasCredentials(url)) return cfg;
    const headers = cfg.headers ?? {};
    if (Object.keys(headers).some((h) => h.toLowerCase() === 'authorization')) {
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `'${redactUrl(url)}' carries a user and password and headers set authorization too; keep one (the URL's user:password is sent as authorization: Basic)`,
      });
      return z.NEVER;
    }
    const u = new URL(url);
    const basic = Buffer.from(`${decode(u.username)}:${decode(u.password)}`).toString('base64');
    u.username = '';
    u.password = '';
    return { ...cfg, [key]: u.toString(), headers: { ...headers, authorization: `Basic ${basic}` } };
  };
}

// The URL keeps userinfo percent-encoded (p%40ss); the header carries what the user meant (p@ss).
function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
