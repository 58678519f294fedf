import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { ApproverRole } from '../../actions/rollbacks/rollback-config.js';
import type { AccessConfig, AccessRole } from './access-config.js';
import { BcryptCache } from './bcrypt-cache.js';

/** Who is calling, once authenticated. */
export interface Principal {
  name: string;
  roles: ReadonlySet<AccessRole>;
  /** Set when the caller is a rollback approver (they are viewers too). */
  approver?: { name: string; role: ApproverRole } | undefined;
  via: 'basic' | 'bearer' | 'anonymous';
}

export type Authentication =
  | { kind: 'anonymous' }
  | { kind: 'ok'; principal: Principal }
  /** `user`: the basic-auth user name presented (for the log; never the password or token). */
  | { kind: 'failed'; scheme: 'basic' | 'bearer' | 'other'; reason: string; user?: string | undefined }
  /** Asked to spend no bcrypt work, and the basic credentials were not verified before. */
  | { kind: 'unverified' };

export interface Credentials {
  access: AccessConfig;
  approvers: readonly { name: string; role: ApproverRole; token_sha256: string }[];
  /** The web config's basic_auth_users: user -> bcrypt hash. */
  basicAuthUsers: ReadonlyMap<string, string>;
}

interface TokenHolder {
  hash: Buffer;
  principal: Principal;
}

// A user name nobody has still costs one bcrypt comparison, so timing does not tell which names exist.
const DUMMY_HASH = bcrypt.hashSync('mlwatch-no-such-user', 10);

/**
 * Turns an Authorization header into a Principal. Bearer tokens are compared by SHA-256 against every configured
 * hash (clients and approvers), each in constant time and all of them, so timing says nothing about which hash
 * was close. Basic credentials are checked against the web config's bcrypt hashes; a verified pair is cached
 * (bcrypt costs ~70 ms on purpose, and Prometheus sends the same pair every scrape), as exporter-toolkit does.
 */
export class Authenticator {
  private readonly tokens: TokenHolder[];
  private readonly basic: ReadonlyMap<string, string>;
  private readonly rolesByName: ReadonlyMap<string, ReadonlySet<AccessRole>>;

  constructor(
    c: Credentials,
    private readonly cache = new BcryptCache(),
  ) {
    this.basic = c.basicAuthUsers;
    this.rolesByName = new Map(c.access.clients.map((cl) => [cl.name, new Set(cl.roles)]));
    this.tokens = [
      ...c.access.clients.flatMap((cl) =>
        cl.token_sha256 === undefined
          ? []
          : [
              {
                hash: Buffer.from(cl.token_sha256, 'hex'),
                principal: { name: cl.name, roles: new Set(cl.roles), via: 'bearer' as const },
              },
            ],
      ),
      ...c.approvers.map((a) => ({
        hash: Buffer.from(a.token_sha256, 'hex'),
        principal: {
          name: a.name,
          roles: new Set<AccessRole>(['viewer']),
          approver: { name: a.name, role: a.role },
          via: 'bearer' as const,
        },
      })),
    ];
  }

  /** Whether any credential can hold `role` (serve refuses to start when no one can post webhooks). */
  canAnyone(role: AccessRole): boolean {
    return [...this.rolesByName.values()].some((r) => r.has(role));
  }

  hasBasicUsers(): boolean {
    return this.basic.size > 0;
  }

  /**
   * `cheapOnly`: for a client address refused for failed attempts. Bearer tokens cost a hash and are still
   * checked; basic credentials pass only when verified before (Prometheus' own, cached), so a blocked address
   * gets no more bcrypt work for its guesses while a legitimate client behind the same address keeps working.
   */
  async authenticate(header: string | undefined, cheapOnly = false): Promise<Authentication> {
    if (header === undefined || header.trim() === '') return { kind: 'anonymous' };
    const m = /^(\S+)\s+(\S+)\s*$/.exec(header);
    const scheme = m?.[1]?.toLowerCase();
    if (!m || (scheme !== 'bearer' && scheme !== 'basic')) {
      return {
        kind: 'failed',
        scheme: 'other',
        reason: 'the Authorization header is neither Bearer <token> nor Basic',
      };
    }
    if (scheme === 'bearer') return this.bearer(m[2] as string);
    return this.basicAuth(m[2] as string, cheapOnly);
  }

  private bearer(token: string): Authentication {
    const presented = createHash('sha256').update(token).digest();
    let found: Principal | undefined;
    for (const t of this.tokens) {
      if (timingSafeEqual(presented, t.hash) && !found) found = t.principal;
    }
    if (!found)
      return {
        kind: 'failed',
        scheme: 'bearer',
        reason: 'this token belongs to no configured client or approver',
      };
    return { kind: 'ok', principal: found };
  }

  private async basicAuth(encoded: string, cheapOnly: boolean): Promise<Authentication> {
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0)
      return { kind: 'failed', scheme: 'basic', reason: 'basic credentials are not user:password' };
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const hash = this.basic.get(user);
    if (cheapOnly && (hash === undefined || !this.cache.known(user, password, hash)))
      return { kind: 'unverified' };
    const ok = await this.cache.verify(user, password, hash ?? DUMMY_HASH);
    if (!ok || hash === undefined) {
      return {
        kind: 'failed',
        scheme: 'basic',
        reason: 'wrong user name or password',
        user: printable(user),
      };
    }
    const roles = this.rolesByName.get(user) ?? new Set<AccessRole>();
    return { kind: 'ok', principal: { name: user, roles, via: 'basic' } };
  }
}

/** A user name as it may appear in a log line: bounded and without control characters. */
function printable(user: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  return user.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, 64);
}
