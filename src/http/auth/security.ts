import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { RawConfig } from '../../config/schema.js';
import { selfFamilies } from '../../metrics/self-families.js';
import { TokenBucket } from '../../token-bucket.js';
import type { AccessRole } from './access-config.js';
import { type Authentication, Authenticator, type Principal } from './authenticator.js';
import { BcryptBusy, BcryptCache } from './bcrypt-cache.js';
import { FailureLimiter } from './failure-limiter.js';
import { Refusals } from './refusals.js';
import type { WebConfig } from './web-config.js';
import type { WebConfigSource } from './web-config-source.js';

/**
 * What a route needs: `open` (probes), `metrics` (/metrics and /: open or any credential, per access.metrics),
 * `any` (any credential), a role, or `approver` (rollbacks).
 */
export type Need = 'open' | 'metrics' | 'any' | AccessRole | 'approver';

export interface SecurityOptions {
  web: WebConfigSource;
  log: Logger;
  /** --web.enable-lifecycle: /-/reload answers at all (and then needs the lifecycle role). */
  lifecycle: boolean;
  /** --web.insecure-actions: callers without credentials may read and post webhooks (local use only). */
  insecureActions: boolean;
  limiter?: FailureLimiter;
}

// What an anonymous caller may do when the operator chose --web.insecure-actions.
const ANONYMOUS: Principal = { name: 'anonymous', roles: new Set(['viewer', 'webhook']), via: 'anonymous' };

const WHAT: Record<AccessRole | 'approver', string> = {
  viewer: 'read tickets, retraining requests, rollbacks and the report',
  webhook: 'post Alertmanager notifications',
  lifecycle: 'reload the config',
  responder: 'acknowledge tickets or hand them off',
  approver: 'request, approve or reject rollbacks',
};

/**
 * Authentication and authorization for every route (docs/security.md): the credentials of mlwatch.yaml's
 * `access` and `approvers` sections plus the web config's basic-auth users, failed attempts logged and slowed
 * per client address, and the web config's global rate limit.
 */
export class Security {
  readonly refusals = new Refusals();
  private credentials: Pick<RawConfig, 'access' | 'approvers'>;
  private authn?: { web: WebConfig; authenticator: Authenticator };
  private bucket?: TokenBucket;
  private readonly cache = new BcryptCache();
  private readonly limiter: FailureLimiter;
  // (principal, route) pairs whose 403 was logged in the last minute: a misconfigured client polling a route it
  // may not use logs once a minute, not on every request.
  private readonly forbiddenLogged = new Map<string, number>();

  constructor(
    config: RawConfig,
    private readonly o: SecurityOptions,
  ) {
    this.credentials = { access: config.access, approvers: config.approvers };
    this.limiter = o.limiter ?? new FailureLimiter();
  }

  /** Takes the credentials of a reloaded config. */
  configure(config: RawConfig): void {
    this.credentials = { access: config.access, approvers: config.approvers };
    this.authn = undefined;
  }

  /**
   * What keeps this config from being served safely, as sentences naming the fix: no one can post webhooks (the
   * ticket log and retraining would never hear from Alertmanager), or a client without a token names no
   * basic-auth user. serve refuses to start (or to reload) with them.
   */
  problems(config: RawConfig): string[] {
    const out: string[] = [];
    const web = this.o.web.current();
    config.access.clients.forEach((c, i) => {
      if (c.token_sha256 === undefined && !web.basicAuthUsers.has(c.name)) {
        out.push(
          `access.clients[${i}] (${c.name}) has no token_sha256 and the web config${web.file ? ` (${web.file})` : ' (none: --web.config.file)'} has no basic_auth_users entry '${c.name}'; add one of them`,
        );
      }
    });
    const webhook = config.access.clients.some((c) => c.roles.includes('webhook'));
    if (!webhook && !this.o.insecureActions) {
      out.push(
        'no credential may post Alertmanager webhooks, so the ticket log and retraining would refuse every notification. ' +
          'Add a client with the webhook role to mlwatch.yaml, e.g.\n  access:\n    clients:\n      - { name: alertmanager, roles: [webhook], token_sha256: \'<printf %s "$TOKEN" | sha256sum>\' }\n' +
          'and give Alertmanager the token (webhook_configs[].http_config.authorization.credentials_file; docs/security.md), or start with --web.insecure-actions to leave the action endpoints open (local use only)',
      );
    }
    return out;
  }

  register(registry: Registry): void {
    this.refusals.register(registry);
    const web = this.o.web;
    new Gauge({
      name: selfFamilies.webConfigReloadSuccessful.name,
      help: selfFamilies.webConfigReloadSuccessful.help,
      registers: [registry],
      collect() {
        this.set(web.reloadError() === undefined ? 1 : 0);
      },
    });
  }

  /** The principal a guard let through, for the route handler. */
  static principal(res: Response): Principal {
    return res.locals.principal as Principal;
  }

  /**
   * Whether the request a guard let through may read what the viewer role guards (tickets, rollbacks,
   * retraining requests): its credential holds the role, or --web.insecure-actions opened those reads to anyone.
   * The landing page lists them only then.
   */
  mayView(res: Response): boolean {
    const p = res.locals.principal as Principal | undefined;
    return (p !== undefined && allowed(p, 'viewer')) || this.o.insecureActions;
  }

  /** Whether a browser can be asked for a password (the web config has basic-auth users): the landing page's sign-in. */
  offersBasicAuth(): boolean {
    return this.o.web.current().basicAuthUsers.size > 0;
  }

  /** Whether /metrics and / need a credential: access.metrics, else exporter-toolkit's rule (basic users set). */
  metricsNeedCredentials(): boolean {
    const mode = this.credentials.access.metrics;
    if (mode !== undefined) return mode === 'authenticated';
    return this.o.web.current().basicAuthUsers.size > 0;
  }

  guard(need: Need): RequestHandler {
    return (req, res, next) => {
      void this.check(need, req, res, next).catch(next);
    };
  }

  /** The web config's rate_limit over every request (exporter-toolkit applies it to the whole server). */
  rateLimit(): RequestHandler {
    return (_req, res, next) => {
      const limit = this.o.web.current().rateLimit;
      if (!limit) return next();
      const perSecond = 1000 / limit.intervalMs;
      if (!this.bucket?.sameAs(perSecond, limit.burst)) this.bucket = new TokenBucket(perSecond, limit.burst);
      const wait = this.bucket.take();
      if (wait === 0) return next();
      this.refusals.refuse(
        res,
        429,
        'rate_limited',
        'too many requests (the web config rate_limit); retry later',
        {
          'Retry-After': String(Math.max(1, Math.ceil(wait / 1000))),
        },
      );
    };
  }

  private async check(need: Need, req: Request, res: Response, next: NextFunction): Promise<void> {
    if (need === 'open' || (need === 'metrics' && !this.metricsNeedCredentials())) return next();
    if (need === 'lifecycle' && !this.o.lifecycle) {
      // As Prometheus answers without --web.enable-lifecycle.
      this.refusals.refuse(
        res,
        403,
        'lifecycle_disabled',
        'Lifecycle API is not enabled; start mlwatch with --web.enable-lifecycle',
      );
      return;
    }
    const from = req.socket.remoteAddress ?? 'unknown';
    const blocked = this.limiter.blockedFor(from);
    let auth: Authentication;
    try {
      auth = await this.authenticator().authenticate(req.get('authorization'), blocked > 0);
    } catch (err) {
      if (!(err instanceof BcryptBusy)) throw err;
      this.refusals.refuse(res, 429, 'rate_limited', 'too many password checks in progress; retry later', {
        'Retry-After': '1',
      });
      return;
    }
    // A blocked address still gets through with a credential that costs nothing to check (a token, or a
    // password verified before); every other attempt from it is refused without being checked.
    if (blocked > 0 && auth.kind !== 'ok') {
      this.refusals.refuse(
        res,
        429,
        'rate_limited',
        'too many failed authentications from this address; retry later',
        {
          'Retry-After': String(Math.ceil(blocked / 1000)),
        },
      );
      return;
    }
    if (auth.kind === 'failed') {
      const n = this.limiter.fail(from);
      // The first failure of a window and the one that blocks the address are logged; the rest are counted.
      if (n === 1 || n === this.limiter.limit) {
        this.o.log.warn(
          {
            from,
            method: req.method,
            route: req.path.slice(0, 200),
            scheme: auth.scheme,
            ...(auth.user !== undefined ? { user: auth.user } : {}),
            failures: n,
            ...(n === this.limiter.limit ? { blocked: true } : {}),
          },
          n === this.limiter.limit
            ? 'authentication failed; this address is refused (429) for the rest of the minute'
            : 'authentication failed',
        );
      }
      this.refusals.refuse(res, 401, 'unauthenticated', auth.reason, this.challenge());
      return;
    }
    let principal = auth.kind === 'ok' ? auth.principal : undefined;
    if (!principal && this.o.insecureActions && (need === 'viewer' || need === 'webhook'))
      principal = ANONYMOUS;
    if (!principal) {
      this.refusals.refuse(res, 401, 'unauthenticated', this.howToAuthenticate(need), this.challenge());
      return;
    }
    if (!allowed(principal, need)) {
      this.logForbidden(principal, req, need);
      this.refusals.refuse(
        res,
        403,
        'forbidden',
        need === 'approver'
          ? `${principal.name} is not an approver; only the approvers section's tokens may ${WHAT.approver}`
          : `${principal.name} may not ${WHAT[need as AccessRole]}: that needs the ${need} role (access.clients[].roles in mlwatch.yaml)`,
      );
      return;
    }
    res.locals.principal = principal;
    next();
  }

  private authenticator(): Authenticator {
    const web = this.o.web.current();
    if (this.authn?.web !== web) {
      this.authn = {
        web,
        authenticator: new Authenticator(
          { ...this.credentials, basicAuthUsers: web.basicAuthUsers },
          this.cache,
        ),
      };
    }
    return this.authn.authenticator;
  }

  private challenge(): Record<string, string> {
    // Basic first when there are basic-auth users, so a browser opening the landing page asks for a password.
    return {
      'WWW-Authenticate':
        this.o.web.current().basicAuthUsers.size > 0
          ? 'Basic realm="mlwatch", charset="UTF-8"'
          : 'Bearer realm="mlwatch"',
    };
  }

  private howToAuthenticate(need: Need): string {
    if (need === 'approver') return 'no credentials; send Authorization: Bearer <your approver token>';
    if (need === 'metrics' || need === 'any')
      return 'no credentials; send a configured credential (Authorization: Bearer <token> or basic auth)';
    return `no credentials; send Authorization: Bearer <token> of a client with the ${need} role (or basic auth as one)`;
  }

  private logForbidden(p: Principal, req: Request, need: Need): void {
    const key = `${p.name}\u0000${req.method} ${req.path.slice(0, 200)}`;
    const now = Date.now();
    if ((this.forbiddenLogged.get(key) ?? 0) > now - 60_000) return;
    if (this.forbiddenLogged.size >= 1000) this.forbiddenLogged.clear();
    this.forbiddenLogged.set(key, now);
    this.o.log.warn(
      {
        client: p.name,
        from: req.socket.remoteAddress,
        method: req.method,
        route: req.path.slice(0, 200),
        needs: need,
      },
      'request refused: the client lacks the role',
    );
  }
}

function allowed(p: Principal, need: Need): boolean {
  if (need === 'metrics' || need === 'any') return true;
  if (need === 'approver') return p.approver !== undefined;
  return p.roles.has(need as AccessRole);
}
