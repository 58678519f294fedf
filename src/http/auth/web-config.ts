import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { parseDuration } from '../../config/duration.js';
import { ConfigError, formatPath, readConfigText, readErrorText } from '../../config/errors.js';
import { configErrorMap } from '../../config/messages.js';
import { YamlSource } from '../../config/yaml-source.js';
import { GO_CIPHER_SUITES, GO_CURVES } from './tls-names.js';

/**
 * The web configuration file (--web.config.file) in the format of Prometheus' exporter-toolkit, key for key
 * (https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md), so the people who run
 * node_exporter with TLS and basic auth configure mlwatch the same way. Who may do what beyond that lives in
 * mlwatch.yaml's `access` section; this file only says how the server listens and which basic-auth users exist.
 */

export const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

export const TLS_VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;
type TlsVersionName = keyof typeof TLS_VERSIONS;

// exporter-toolkit accepts exactly these response headers; anything else is refused there too.
export const ALLOWED_HEADERS = [
  'Content-Security-Policy',
  'X-Frame-Options',
  'X-Content-Type-Options',
  'X-XSS-Protection',
  'Strict-Transport-Security',
] as const;

const tlsVersion = z.enum(Object.keys(TLS_VERSIONS) as [TlsVersionName, ...TlsVersionName[]], {
  error: (iss) => `'${String(iss.input)}' is not a TLS version; use TLS10, TLS11, TLS12 or TLS13`,
});

const bcryptHash = z
  .string({ error: 'expected a bcrypt hash, e.g. from htpasswd -nBC 10 "" | tr -d \':\\n\'' })
  .regex(/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/, {
    // Never quote the value: it may be a password pasted by mistake.
    error:
      'not a bcrypt hash ($2y$10$ and 53 more characters); make one with htpasswd -nBC 10 "" | tr -d \':\\n\'',
  });

const tlsServerConfig = z
  .strictObject({
    cert: z.string().optional(),
    key: z.string().optional(),
    client_ca: z.string().optional(),
    cert_file: z.string().optional(),
    key_file: z.string().optional(),
    client_auth_type: z
      .enum(CLIENT_AUTH_TYPES, {
        error: (iss) =>
          `'${String(iss.input)}' is not a client auth type; use ${CLIENT_AUTH_TYPES.join(', ')}`,
      })
      .default('NoClientCert'),
    client_ca_file: z.string().optional(),
    client_allowed_sans: z.array(z.string()).optional(),
    min_version: tlsVersion.default('TLS12'),
    max_version: tlsVersion.default('TLS13'),
    cipher_suites: z
      .array(
        z.string().refine((s) => s in GO_CIPHER_SUITES, {
          error: (iss) =>
            `'${String(iss.input)}' is not a supported cipher suite; use Go's names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (docs/security.md lists them)`,
        }),
      )
      .optional(),
    prefer_server_cipher_suites: z.boolean().default(true),
    curve_preferences: z
      .array(
        z.string().refine((s) => s in GO_CURVES, {
          error: (iss) =>
            `'${String(iss.input)}' is not a supported curve; use ${Object.keys(GO_CURVES).join(', ')}`,
        }),
      )
      .optional(),
  })
  .superRefine((t, ctx) => {
    const pair = (inline: 'cert' | 'key' | 'client_ca', file: string) => {
      if (t[inline] !== undefined && (t as Record<string, unknown>)[file] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [inline], message: `give ${inline} or ${file}, not both` });
      }
    };
    pair('cert', 'cert_file');
    pair('key', 'key_file');
    pair('client_ca', 'client_ca_file');
    if (t.cert === undefined && t.cert_file === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['cert_file'],
        message: 'missing; TLS needs the server certificate (cert_file)',
      });
    }
    if (t.key === undefined && t.key_file === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['key_file'],
        message: 'missing; TLS needs the private key (key_file)',
      });
    }
    const verifies =
      t.client_auth_type === 'VerifyClientCertIfGiven' || t.client_auth_type === 'RequireAndVerifyClientCert';
    if (verifies && t.client_ca === undefined && t.client_ca_file === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['client_ca_file'],
        message: `missing; ${t.client_auth_type} verifies client certificates against this CA`,
      });
    }
    if (
      t.client_allowed_sans !== undefined &&
      t.client_auth_type !== 'RequireAnyClientCert' &&
      t.client_auth_type !== 'RequireAndVerifyClientCert'
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['client_allowed_sans'],
        message:
          'needs client_auth_type RequireAndVerifyClientCert (or RequireAnyClientCert): otherwise a client may send no certificate',
      });
    }
    const order = Object.keys(TLS_VERSIONS);
    if (order.indexOf(t.min_version) > order.indexOf(t.max_version)) {
      ctx.addIssue({
        code: 'custom',
        path: ['max_version'],
        message: `lower than min_version ${t.min_version}`,
      });
    }
  });

const httpServerConfig = z.strictObject({
  // Node's HTTP/1.1 server serves mlwatch; the key is accepted so a node_exporter file works unchanged.
  http2: z.boolean().default(true),
  headers: z
    .record(z.string(), z.string({ error: 'expected header values as strings' }))
    .superRefine((h, ctx) => {
      for (const name of Object.keys(h)) {
        if (!(ALLOWED_HEADERS as readonly string[]).includes(name)) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: `not a header the web config may set; use ${ALLOWED_HEADERS.join(', ')}`,
          });
        }
      }
    })
    .default({}),
});

const rateLimit = z.strictObject({
  interval: z
    .string({ error: 'expected the time between two requests, like 100ms or 1s; 0 turns the limit off' })
    .transform((text, ctx) => {
      if (text === '0' || text === '0s') return 0;
      const ms = parseDuration(text);
      if (ms === undefined || ms < 0) {
        ctx.addIssue({ code: 'custom', message: `'${text}' is not a duration; write it like 100ms or 1s` });
        return z.NEVER;
      }
      return ms;
    }),
  burst: z.int({ error: 'expected a whole number of requests' }).min(1, { error: 'burst is at least 1' }),
});

const webConfigSchema = z
  .strictObject({
    tls_server_config: tlsServerConfig.optional(),
    http_server_config: httpServerConfig.prefault({}),
    basic_auth_users: z
      .record(
        z
          .string()
          .regex(/^[^:\s]{1,64}$/, { error: 'a user name is 1 to 64 characters without : or spaces' }),
        bcryptHash,
        { error: 'expected a map of user: bcrypt hash' },
      )
      .nullish()
      .transform((u) => u ?? {}),
    rate_limit: rateLimit.optional(),
  })
  .prefault({});

export type WebConfigRaw = z.output<typeof webConfigSchema>;

/** The TLS material as read from disk (or inline), ready for Node's tls.createSecureContext. */
export interface TlsSettings {
  cert: string;
  key: string;
  ca?: string | undefined;
  clientAuth: ClientAuthType;
  allowedSans?: readonly string[] | undefined;
  minVersion: (typeof TLS_VERSIONS)[TlsVersionName];
  maxVersion: (typeof TLS_VERSIONS)[TlsVersionName];
  ciphers?: string | undefined;
  honorCipherOrder: boolean;
  ecdhCurve?: string | undefined;
}

export interface WebConfig {
  /** The path as given; every message names it that way. Undefined: no web config (plain HTTP, no users). */
  file?: string | undefined;
  tls?: TlsSettings | undefined;
  headers: Record<string, string>;
  /** user -> bcrypt hash */
  basicAuthUsers: ReadonlyMap<string, string>;
  rateLimit?: { intervalMs: number; burst: number } | undefined;
  /** Every file the config depends on (itself, certificate, key, CA), for the change watcher. */
  files: readonly string[];
}

export const NO_WEB_CONFIG: WebConfig = { headers: {}, basicAuthUsers: new Map(), files: [] };

/** Reads and validates the web config and the files it names. Throws ConfigError (file:line path: fix). */
export function loadWebConfigFile(file: string): WebConfig {
  const text = readConfigText(file, 'web config file');
  const src = new YamlSource(text);
  const syntax = src.syntaxProblems();
  if (syntax.length > 0) throw new ConfigError(file, syntax);
  const parsed = webConfigSchema.safeParse(src.doc.toJS() ?? {}, { error: configErrorMap });
  if (!parsed.success) {
    const problems = src.schemaProblems(parsed.error.issues);
    throw new ConfigError(file, problems);
  }
  const raw = parsed.data;
  const baseDir = dirname(resolve(file));
  const files = [resolve(file)];
  let tls: TlsSettings | undefined;
  if (raw.tls_server_config) {
    const t = raw.tls_server_config;
    const material = (inline: string | undefined, path: string | undefined, key: string) => {
      if (inline !== undefined) return inline;
      if (path === undefined) return undefined;
      const target = isAbsolute(path) ? path : resolve(baseDir, path);
      files.push(target);
      try {
        return readFileSync(target, 'utf8');
      } catch (err) {
        const at = ['tls_server_config', key];
        throw new ConfigError(file, [
          {
            line: src.lineOf(at),
            path: formatPath(at),
            message: `cannot read ${path}: ${readErrorText(err)}${isAbsolute(path) ? '' : ` (relative to the web config's folder, ${baseDir})`}`,
          },
        ]);
      }
    };
    tls = {
      cert: material(t.cert, t.cert_file, 'cert_file') as string,
      key: material(t.key, t.key_file, 'key_file') as string,
      ca: material(t.client_ca, t.client_ca_file, 'client_ca_file'),
      clientAuth: t.client_auth_type,
      allowedSans: t.client_allowed_sans,
      minVersion: TLS_VERSIONS[t.min_version],
      maxVersion: TLS_VERSIONS[t.max_version],
      ciphers: t.cipher_suites?.map((c) => GO_CIPHER_SUITES[c]).join(':'),
      honorCipherOrder: t.prefer_server_cipher_suites,
      ecdhCurve: t.curve_preferences?.map((c) => GO_CURVES[c]).join(':'),
    };
  }
  return {
    file,
    tls,
    headers: raw.http_server_config.headers,
    basicAuthUsers: new Map(Object.entries(raw.basic_auth_users)),
    rateLimit:
      raw.rate_limit && raw.rate_limit.interval > 0
        ? { intervalMs: raw.rate_limit.interval, burst: raw.rate_limit.burst }
        : undefined,
    files,
  };
}
