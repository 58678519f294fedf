import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, posix, relative, resolve } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { demoConfig } from '../src/demo/builtin-config.js';
import { loadWebConfigFile } from '../src/http/auth/web-config.js';
import { ROOT, runCli } from './helpers/cli.js';
import { toolOnPath } from './helpers/tools.js';

// The container bundle: Dockerfile (checked with Node alone) and docker-compose.yml (checked through
// `docker-compose config`, which CI installs with scripts/install-stack-deps.sh). No Docker engine is needed.

const COMPOSE_FILE = resolve(ROOT, 'docker-compose.yml');
const DOCKERFILE = resolve(ROOT, 'Dockerfile');
const hasCompose = toolOnPath('docker-compose') !== undefined;

/** `name:tag` with a version in the tag (at least major.minor), not `latest`; a digest alone also pins. */
function isPinned(ref: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(ref)) return true;
  const lastSegment = ref.slice(ref.lastIndexOf('/') + 1);
  const colon = lastSegment.indexOf(':');
  if (colon < 0) return false;
  const tag = lastSegment.slice(colon + 1);
  return tag !== 'latest' && /^v?\d+\.\d+/.test(tag);
}

describe('isPinned', () => {
  it('accepts exact versions and rejects floating tags', () => {
    for (const ok of [
      'postgres:15.19',
      'prom/prometheus:v3.13.3',
      'node:20.20.2-bookworm-slim',
      `a/b@sha256:${'f'.repeat(64)}`,
    ]) {
      expect(isPinned(ok), ok).toBe(true);
    }
    for (const bad of [
      'postgres',
      'postgres:latest',
      'postgres:15',
      'grafana/grafana:main',
      'localhost:5000/x',
    ]) {
      expect(isPinned(bad), bad).toBe(false);
    }
  });
});

interface Instruction {
  cmd: string;
  args: string;
}

/** Dockerfile instructions with line continuations joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let current = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    const m = /^(\S+)\s*(.*)$/.exec(current) as RegExpExecArray;
    out.push({ cmd: (m[1] as string).toUpperCase(), args: m[2] as string });
    current = '';
  }
  return out;
}

interface Stage {
  base: string;
  name?: string;
  instructions: Instruction[];
}

function stages(text: string): Stage[] {
  const globalArgs: Record<string, string> = {};
  const result: Stage[] = [];
  for (const ins of instructions(text)) {
    if (ins.cmd === 'ARG' && result.length === 0) {
      const [key, value = ''] = ins.args.split('=', 2) as [string, string?];
      globalArgs[key.trim()] = value.trim().replace(/^"(.*)"$/, '$1');
    } else if (ins.cmd === 'FROM') {
      const words = ins.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const base = (words[0] as string).replace(
        /\$\{?(\w+)\}?/g,
        (_, key: string) => globalArgs[key] ?? `\${${key}}`,
      );
      const asIndex = words.findIndex((w) => w.toUpperCase() === 'AS');
      result.push({ base, ...(asIndex > 0 ? { name: words[asIndex + 1] } : {}), instructions: [] });
    } else {
      result.at(-1)?.instructions.push(ins);
    }
  }
  return result;
}

describe('Dockerfile', () => {
  const all = stages(readFileSync(DOCKERFILE, 'utf8'));
  const last = all.at(-1) as Stage;
  const find = (cmd: string) => last.instructions.filter((i) => i.cmd === cmd);

  it('builds in several stages on pinned base images', () => {
    expect(all.length).toBeGreaterThan(1);
    const names = new Set(all.map((s) => s.name?.toLowerCase()));
    const external = all.map((s) => s.base).filter((b) => !names.has(b.toLowerCase()) && b !== 'scratch');
    expect(external.length).toBeGreaterThan(0);
    expect(external.filter((b) => !isPinned(b))).toEqual([]);
  });

  it('runs as a non-root user in the final stage', () => {
    const users = find('USER');
    expect(users.length, 'the last stage has no USER instruction').toBeGreaterThan(0);
    const user = (users.at(-1) as Instruction).args.split(':')[0];
    expect(['', 'root', '0']).not.toContain(user);
  });

  it('exposes 10027, has a health check, and starts bin/mlwatch.js', () => {
    expect(find('EXPOSE').map((i) => i.args)).toContain('10027');
    expect(find('HEALTHCHECK').at(-1)?.args).toMatch(/127\.0\.0\.1:10027\/healthz/);
    expect(find('ENTRYPOINT').at(-1)?.args).toBe('["node", "/app/bin/mlwatch.js"]');
  });

  it('does not ship dev dependencies or run `prepare` on the production install', () => {
    const installs = all.flatMap((s) => s.instructions).filter((i) => /\bnpm (ci|install)\b/.test(i.args));
    const prod = installs.filter((i) => i.args.includes('--omit=dev'));
    expect(prod.length).toBeGreaterThan(0);
    for (const i of prod) expect(i.args).toContain('--ignore-scripts');
  });
});

// ---- docker-compose.yml ----

type Service = {
  image?: string;
  command?: string | string[];
  /** Short form (a name) or long form; docker-compose 1.29 prints `{ source }`, v2 adds `target`. */
  secrets?: (string | { source: string; target?: string })[];
  build?: string | { context: string; dockerfile?: string };
  healthcheck?: { test?: string | string[]; disable?: boolean };
  environment?: Record<string, string | null> | string[];
  ports?: (string | { target: number | string; published?: number | string })[];
  volumes?: (string | { type: string; source?: string; target: string; read_only?: boolean })[];
};

interface Mount {
  type: 'bind' | 'volume';
  source: string;
  target: string;
  readOnly: boolean;
}

/** Both output shapes: docker-compose 1.29 prints `src:dst:mode` strings, `docker compose` v2 objects. */
function mounts(service: Service): Mount[] {
  return (service.volumes ?? []).map((v) => {
    if (typeof v !== 'string') {
      return {
        type: v.type === 'bind' ? 'bind' : 'volume',
        source: v.source ?? '',
        target: v.target,
        readOnly: v.read_only === true,
      };
    }
    const [source = '', target = '', mode = ''] = v.split(':');
    return {
      type: isAbsolute(source) || source.startsWith('.') ? 'bind' : 'volume',
      source,
      target,
      readOnly: mode.split(',').includes('ro'),
    };
  });
}

function environment(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((e) => [e.split('=')[0], e.slice(e.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v ?? '']));
}

function publishedPorts(service: Service): { published: string; target: string }[] {
  return (service.ports ?? []).map((p) => {
    if (typeof p !== 'string') return { published: String(p.published ?? ''), target: String(p.target) };
    const parts = p.replace(/\/(tcp|udp)$/, '').split(':');
    return { published: parts.at(-2) ?? '', target: parts.at(-1) ?? '' };
  });
}

let scratch: string | undefined;
function compose(args: string[]) {
  // Only this file (no docker-compose.override.yml, no COMPOSE_FILE), and the defaults written in it: the
  // variables it interpolates are removed from the environment so a developer's shell cannot change them.
  const names = new Set([...readFileSync(COMPOSE_FILE, 'utf8').matchAll(/\$\{(\w+)/g)].map((m) => m[1]));
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !names.has(k) && !k.startsWith('COMPOSE_')),
  );
  // An empty env file instead of a developer's .env (docker-compose 1.29 refuses /dev/null).
  if (!scratch) scratch = mkdtempSync(join(tmpdir(), 'mlwatch-compose-'));
  const envFile = join(scratch, 'empty.env');
  writeFileSync(envFile, '');
  return spawnSync('docker-compose', ['--file', COMPOSE_FILE, '--env-file', envFile, ...args], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
}

let resolved: Record<string, Service> | undefined;
function services(): Record<string, Service> {
  if (!resolved) {
    const r = compose(['config']);
    expect(r.status, r.stderr).toBe(0);
    resolved = (parse(r.stdout) as { services: Record<string, Service> }).services;
  }
  return resolved;
}

/** Repository path of a file inside a container, through the service's bind mounts from this repo. */
function hostPath(service: Service, containerPath: string): string | undefined {
  const mount = mounts(service)
    .filter(
      (m) => m.type === 'bind' && (containerPath === m.target || containerPath.startsWith(`${m.target}/`)),
    )
    .sort((a, b) => b.target.length - a.target.length)[0];
  return mount && resolve(mount.source, relative(mount.target, containerPath));
}

const inRepo = (path: string) => !relative(ROOT, path).startsWith('..') && !isAbsolute(relative(ROOT, path));

/** Where each secret a service lists appears in its container -> the secret's name. */
function secretMounts(service: Service): Map<string, string> {
  return new Map(
    (service.secrets ?? []).map((x) => {
      const { source, target } = typeof x === 'string' ? { source: x, target: undefined } : x;
      const at = target ?? source;
      return [posix.isAbsolute(at) ? at : `/run/secrets/${at}`, source];
    }),
  );
}

let topSecrets: Record<string, { file?: string }> | undefined;
/** The host file behind a top-level secret, as `docker-compose config` resolves it. */
function secretFile(name: string): string {
  if (!topSecrets) {
    const r = compose(['config']);
    expect(r.status, r.stderr).toBe(0);
    topSecrets = (parse(r.stdout) as { secrets?: Record<string, { file?: string }> }).secrets ?? {};
  }
  const file = topSecrets[name]?.file;
  expect(file, `secret ${name} has a file`).toBeDefined();
  return resolve(ROOT, file as string);
}

/** The value of a file secret as Prometheus and Alertmanager use it: surrounding whitespace stripped. */
const secretValue = (name: string) => readFileSync(secretFile(name), 'utf8').trim();

/** The host file a service reads at `containerPath`, which must be one of its secrets. */
function secretAt(service: string, containerPath: string): string {
  const name = secretMounts(services()[service] as Service).get(containerPath);
  expect(name, `${service} has a secret mounted at ${containerPath}`).toBeDefined();
  return name as string;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe.skipIf(!hasCompose)(
  'docker-compose.yml (needs docker-compose on PATH: scripts/install-stack-deps.sh)',
  () => {
    afterAll(() => {
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    });

    it('is valid for docker-compose (`docker-compose config -q` exits 0)', () => {
      const r = compose(['config', '-q']);
      expect(r.error).toBeUndefined();
      expect(r.status, r.stderr).toBe(0);
    });

    it('has the bundle services', () => {
      expect(Object.keys(services()).sort()).toEqual(
        ['alertmanager', 'grafana', 'mlwatch', 'node-exporter', 'prometheus', 'warehouse'].sort(),
      );
    });

    it('pins every image to a version', () => {
      const unpinned = Object.entries(services())
        .filter(([, s]) => s.build === undefined || s.image !== undefined)
        .filter(([, s]) => !isPinned(s.image ?? ''))
        .map(([name, s]) => `${name}: ${s.image ?? '(no image)'}`);
      expect(unpinned).toEqual([]);
    });

    it('gives every service a health check', () => {
      const missing = Object.entries(services())
        .filter(([, s]) => {
          const test = s.healthcheck?.test;
          const words = typeof test === 'string' ? [test] : (test ?? []);
          return s.healthcheck?.disable === true || words.length === 0 || words[0] === 'NONE';
        })
        .map(([name]) => name);
      expect(missing).toEqual([]);
    });

    it('builds mlwatch from the repository root, with the Dockerfile checked above', () => {
      const build = services().mlwatch?.build;
      const context = typeof build === 'string' ? build : build?.context;
      expect(context && resolve(ROOT, context)).toBe(resolve(ROOT));
      const dockerfile = typeof build === 'object' ? build.dockerfile : undefined;
      expect(resolve(ROOT, dockerfile ?? 'Dockerfile')).toBe(DOCKERFILE);
    });

    it('publishes mlwatch on 10027', () => {
      expect(publishedPorts(services().mlwatch as Service)).toContainEqual({
        published: '10027',
        target: '10027',
      });
    });

    it('mounts the bundle directories where their configs expect them', () => {
      const s = services();
      const at = (service: string, target: string) =>
        mounts(s[service] as Service).find((m) => m.type === 'bind' && m.target === target);
      const expected: [string, string, string][] = [
        ['prometheus', '/etc/prometheus', 'prometheus'],
        ['alertmanager', '/etc/alertmanager', 'alertmanager'],
        ['grafana', '/etc/grafana/provisioning', 'grafana/provisioning'],
        ['grafana', '/var/lib/grafana/dashboards', 'grafana/dashboards'],
      ];
      for (const [service, target, source] of expected) {
        const mount = at(service, target);
        expect(mount, `${service} mounts ./${source} at ${target}`).toBeDefined();
        expect(relative(ROOT, mount?.source ?? '')).toBe(source);
        expect(mount?.readOnly, `${service}:${target} is read-only`).toBe(true);
      }
    });

    it('bind-mounts only paths that exist in the repository (or the host root, read-only)', () => {
      const problems: string[] = [];
      for (const [name, service] of Object.entries(services())) {
        for (const m of mounts(service).filter((m) => m.type === 'bind')) {
          const source = resolve(ROOT, m.source);
          if (inRepo(source)) {
            if (!existsSync(source)) problems.push(`${name}: ./${relative(ROOT, source)} does not exist`);
          } else if (!(source === '/' && m.readOnly)) {
            problems.push(`${name}: ${m.source} is outside the repository`);
          }
        }
      }
      expect(problems).toEqual([]);
    });

    it('lets anonymous visitors into Grafana as viewers, home on a dashboard that exists', () => {
      const grafana = services().grafana as Service;
      const env = environment(grafana);
      expect(env.GF_AUTH_ANONYMOUS_ENABLED).toBe('true');
      expect(env.GF_AUTH_ANONYMOUS_ORG_ROLE).toBe('Viewer');
      const home = env.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
      expect(home).toBeDefined();
      const file = hostPath(grafana, home as string);
      expect(file, `${home} is not inside a bind mount`).toBeDefined();
      expect(existsSync(file as string) && statSync(file as string).isFile(), `${file} exists`).toBe(true);
    });

    // Credentials (docs/docker.md, Credentials): the files each side reads must be the ones Compose mounts, and
    // must agree with each other, or scrapes and webhooks are refused only once the stack runs.
    it('mounts every secret from a file of ./secrets that exists', () => {
      const names = new Set(Object.values(services()).flatMap((svc) => [...secretMounts(svc).values()]));
      expect([...names].sort()).toEqual(
        ['mlwatch-web-config', 'mlwatch-webhook-token', 'prometheus-scrape-password'].sort(),
      );
      for (const name of names) {
        const file = secretFile(name);
        expect(relative(ROOT, file).startsWith(`secrets${'/'}`), `${name}: ${file}`).toBe(true);
        expect(existsSync(file) && statSync(file).isFile(), `${file} exists`).toBe(true);
      }
    });

    it('gives Alertmanager the token file its config names, and the demo accepts that token for webhooks', () => {
      const am = parse(readFileSync(resolve(ROOT, 'alertmanager/alertmanager.yml'), 'utf8')) as {
        receivers: {
          name: string;
          webhook_configs?: {
            http_config?: { authorization?: { type?: string; credentials_file?: string } };
          }[];
        }[];
      };
      const auth = (name: string) =>
        am.receivers.find((r) => r.name === name)?.webhook_configs?.[0]?.http_config?.authorization;
      for (const receiver of ['ticketing', 'retraining']) {
        expect(auth(receiver)?.type, receiver).toBe('Bearer');
      }
      // One file for both, and the human receivers' bridges get no mlwatch token.
      const file = auth('ticketing')?.credentials_file as string;
      expect(auth('retraining')?.credentials_file).toBe(file);
      for (const human of ['platform-oncall', 'data-science', 'business-analysts']) {
        expect(auth(human), human).toBeUndefined();
      }
      const token = secretValue(secretAt('alertmanager', file));
      const clients = (
        demoConfig({ warehouseUrl: 'pglite:memory', schema: 'x' }) as {
          access: { clients: { name: string; roles: string[]; token_sha256?: string }[] };
        }
      ).access.clients;
      const client = clients.find((c) => c.token_sha256 === sha256(token));
      expect(client, "the token's SHA-256 belongs to a client of the demo's access section").toBeDefined();
      expect(client?.roles).toContain('webhook');
    });

    it('mounts a URL file for every Alertmanager webhook, read-only, at the path its url_file names', () => {
      const am = parse(readFileSync(resolve(ROOT, 'alertmanager/alertmanager.yml'), 'utf8')) as {
        receivers: { name: string; webhook_configs?: { url_file?: string }[] }[];
      };
      const alertmanager = services().alertmanager as Service;
      const hooks = am.receivers.flatMap((r) => (r.webhook_configs ?? []).map((h) => [r.name, h] as const));
      expect(hooks).toHaveLength(5);
      for (const [receiver, hook] of hooks) {
        const file = hook.url_file as string;
        expect(file, receiver).toMatch(/^\/run\/secrets\/mlwatch-alertmanager\/[a-z-]+-url$/);
        // Mounted from the repository's development files, which must hold a URL Alertmanager can post to.
        const host = hostPath(alertmanager, file);
        expect(host, `${receiver}: ${file} is inside a bind mount`).toBeDefined();
        expect(relative(ROOT, host as string)).toBe(`secrets/mlwatch-alertmanager/${receiver}-url`);
        expect(['http:', 'https:']).toContain(new URL(readFileSync(host as string, 'utf8').trim()).protocol);
      }
      const dir = mounts(alertmanager).find((m) => m.target === '/run/secrets/mlwatch-alertmanager');
      expect(dir?.readOnly, 'the URL directory is read-only').toBe(true);
    });

    it("has Prometheus scrape mlwatch as a user of mlwatch's web config, with the matching password", () => {
      const prom = parse(readFileSync(resolve(ROOT, 'prometheus/prometheus.yml'), 'utf8')) as {
        scrape_configs: { job_name: string; basic_auth?: { username?: string; password_file?: string } }[];
      };
      const basic = prom.scrape_configs.find((j) => j.job_name === 'mlwatch')?.basic_auth;
      expect(basic?.username).toBeDefined();
      const password = secretValue(secretAt('prometheus', basic?.password_file as string));

      const command = services().mlwatch?.command as string[];
      const flag = command.indexOf('--web.config.file');
      expect(flag, 'mlwatch starts with --web.config.file').toBeGreaterThanOrEqual(0);
      const web = loadWebConfigFile(secretFile(secretAt('mlwatch', command[flag + 1] as string)));
      const hash = web.basicAuthUsers.get(basic?.username as string);
      expect(hash, `the web config has a basic-auth user ${basic?.username}`).toBeDefined();
      expect(bcrypt.compareSync(password, hash as string)).toBe(true);
    });

    it('starts mlwatch with options its CLI knows (docker-compose config does not check commands)', () => {
      const command = services().mlwatch?.command;
      expect(Array.isArray(command), 'mlwatch has a command list').toBe(true);
      const [sub, ...args] = command as string[];
      const help = runCli([sub as string, '--help']);
      expect(help.code, help.stderr).toBe(0);
      const unknown = args
        .filter((a) => a.startsWith('--'))
        .filter((a) => !new RegExp(`(^|[\\s,])${a.replace(/\./g, '\\.')}(\\s|$)`, 'm').test(help.stdout));
      expect(unknown, `mlwatch ${sub} --help:\n${help.stdout}`).toEqual([]);
    });

    it('names compose services in prometheus.yml and the Grafana datasources', () => {
      const names = new Set(Object.keys(services()));
      const hosts: string[] = [];
      const prom = parse(readFileSync(resolve(ROOT, 'prometheus/prometheus.yml'), 'utf8')) as {
        scrape_configs?: { static_configs?: { targets?: string[] }[] }[];
        alerting?: { alertmanagers?: { static_configs?: { targets?: string[] }[] }[] };
      };
      for (const group of [...(prom.scrape_configs ?? []), ...(prom.alerting?.alertmanagers ?? [])]) {
        for (const sc of group.static_configs ?? [])
          hosts.push(...(sc.targets ?? []).map((t) => t.split(':')[0] as string));
      }
      const datasourceFile = resolve(ROOT, 'grafana/provisioning/datasources/prometheus.yml');
      expect(existsSync(datasourceFile), `${relative(ROOT, datasourceFile)} exists`).toBe(true);
      const datasources = parse(readFileSync(datasourceFile, 'utf8')) as { datasources?: { url?: string }[] };
      for (const ds of datasources.datasources ?? []) if (ds.url) hosts.push(new URL(ds.url).hostname);
      expect(hosts.length).toBeGreaterThan(0);
      expect(hosts.filter((h) => h !== 'localhost' && !names.has(h))).toEqual([]);
    });
  },
);
