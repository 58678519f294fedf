/**
 * Secrets never leave the process in text: every message, log line and page shows `<redacted>` where a
 * password, token, header value or URL password would be.
 */

export const REDACTED = '<redacted>';

// Keys whose value is a credential. token_sha256 is not a secret (the config is meant to hold the hash), but
// the mistake most likely at that key is pasting the token itself, so messages never quote it either.
const SECRET_KEYS = new Set([
  'password',
  'sslpassword',
  'token',
  'secret',
  'credentials',
  'authorization',
  'api_key',
  'apikey',
  'token_sha256',
]);
const SECRET_SUFFIX = /_(password|token|secret)$/;

const isSecretName = (key: string): boolean => {
  const k = key.toLowerCase();
  return SECRET_KEYS.has(k) || SECRET_SUFFIX.test(k);
};

/**
 * Whether the config value at `path` may hold a secret: a key named like a credential anywhere on the path, or
 * anything in a `headers` map (any header can carry one: x-api-key, cookie, a tracker's own scheme).
 */
export function isSecretKey(path: readonly PropertyKey[]): boolean {
  return path.some((p) => typeof p === 'string' && (p === 'headers' || isSecretName(p)));
}

/** A URL as the user wrote it, with the password of its userinfo (and any password= parameter) redacted. */
export function redactUrl(url: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined) return redactQuery(redactUserinfo(url));
  if (!parsed.password) return redactQuery(url);
  // Edit the text rather than re-serialise the URL, so the user sees what they wrote (no added slash etc.).
  const m = /^([^/?#]*\/\/)([^@:/?#]*):([^/?#\\]*)@/.exec(url);
  return redactQuery(m ? `${m[1]}${m[2]}:${REDACTED}@${url.slice(m[0].length)}` : redactUserinfo(url));
}

// Not a URL (a typo, a password holding a raw / or #): everything between // and the last @ may be userinfo.
function redactUserinfo(url: string): string {
  const at = url.lastIndexOf('@');
  return at < 0 ? url : `${url.slice(0, userinfoStart(url, at))}${REDACTED}${url.slice(at)}`;
}

function userinfoStart(url: string, at: number): number {
  const slashes = url.indexOf('//');
  return slashes >= 0 && slashes < at ? slashes + 2 : 0;
}

// libpq takes password=... (and sslpassword) in the query string; webhooks sometimes take token=...
function redactQuery(url: string): string {
  return url.replace(/([?&])([^=&#]+)=([^&#]*)/g, (whole, sep: string, key: string, value: string) =>
    value !== '' && isSecretName(decodeSafe(key)) ? `${sep}${key}=${REDACTED}` : whole,
  );
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The secrets a URL carries: its userinfo password (as written and decoded) and password-like parameters. */
export function urlSecrets(url: string): string[] {
  const out: string[] = [];
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Unparsable: what redactUrl would hide (between // and the last @) is the secret.
    const at = url.lastIndexOf('@');
    if (at > 0) out.push(url.slice(userinfoStart(url, at), at));
    return out;
  }
  if (parsed.password) out.push(parsed.password, decodeSafe(parsed.password));
  for (const [key, value] of parsed.searchParams) if (value && isSecretName(key)) out.push(value);
  return out;
}

// Replacing a one- to three-character secret in every text would garble the text and still tell it
// (where the characters went missing); values that short are not passwords worth the name.
const MIN_SECRET_LENGTH = 4;

// A scheme, or // before an @ (a URL with a typo in its scheme): only these are searched for passwords, so an
// e-mail address in an annotation is not taken for userinfo.
const LOOKS_LIKE_URL = /^[a-z][a-z0-9+.-]*:|\/\/[^@]*@/i;

/**
 * Holds secret values and replaces them in any text, for texts mlwatch does not write itself: a driver's error,
 * a fetch failure, a message quoting config input.
 */
export class Redactor {
  private secrets: string[] = [];

  add(value: string | undefined): this {
    if (value === undefined || value.length < MIN_SECRET_LENGTH || this.secrets.includes(value)) return this;
    // Longest first, so a secret that contains another is replaced whole.
    this.secrets = [...this.secrets, value].sort((a, b) => b.length - a.length);
    return this;
  }

  addUrl(url: string | undefined): this {
    if (url !== undefined) for (const s of urlSecrets(url)) this.add(s);
    return this;
  }

  /**
   * Every secret of a config tree (the parsed YAML, or the loaded config): the values under secret keys (and
   * the ${...} references left in them when the environment could not fill them), and the passwords of URLs.
   */
  addTree(tree: unknown, path: PropertyKey[] = []): this {
    if (typeof tree === 'string') {
      if (isSecretKey(path)) {
        this.add(tree);
        // The credential of `Bearer <token>` may be echoed without its scheme.
        this.add(/^(?:basic|bearer|token)\s+(\S+)$/i.exec(tree)?.[1]);
        for (const ref of tree.match(/\$\{[^}]*\}/g) ?? []) this.add(ref);
      }
      if (LOOKS_LIKE_URL.test(tree)) this.addUrl(tree);
    } else if (typeof tree === 'number' && isSecretKey(path)) {
      this.add(String(tree));
    } else if (Array.isArray(tree)) {
      tree.forEach((v, i) => {
        this.addTree(v, [...path, i]);
      });
    } else if (tree !== null && typeof tree === 'object') {
      for (const [k, v] of Object.entries(tree)) this.addTree(v, [...path, k]);
    }
    return this;
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join(REDACTED);
    return out;
  }
}
