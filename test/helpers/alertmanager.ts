import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

/** The bundle's Alertmanager files. */
export const AM_DIR = fileURLToPath(new URL('../../alertmanager/', import.meta.url));
export const AM_CONFIG = join(AM_DIR, 'alertmanager.yml');
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The five receivers that notify someone, in route order; `null` is the root default that notifies no one. */
export const RECEIVERS = [
  'ticketing',
  'platform-oncall',
  'data-science',
  'business-analysts',
  'retraining',
] as const;
export type Receiver = (typeof RECEIVERS)[number];

/**
 * Where alertmanager.yml reads the files an operator mounts (docs/alertmanager.md): the secrets directory, under
 * it the receivers' URL files (`url_file`, one `<receiver>-url` each: the keys of the Kubernetes Secret too) and
 * the webhook token (`credentials_file`).
 */
export const SECRETS_DIR = '/run/secrets';
export const URL_DIR = `${SECRETS_DIR}/mlwatch-alertmanager`;
export const urlFileOf = (receiver: Receiver) => `${URL_DIR}/${receiver}-url`;
export const TOKEN_FILE = `${SECRETS_DIR}/mlwatch-webhook-token`;
/** The development URL files docker-compose.yml mounts at URL_DIR. */
export const COMPOSE_URL_DIR = join(ROOT, 'secrets', 'mlwatch-alertmanager');

/**
 * alertmanager.yml's webhooks read their URL with `url_file`, which Alertmanager has from 0.26: Debian 12's 0.25
 * (`amtool`, `prometheus-alertmanager` on PATH) refuses the file. The tests therefore run trixie's 0.28, which
 * scripts/install-prometheus3.sh unpacks under .cache/prometheus-current/ (scripts/install-stack-deps.sh runs it).
 */
export const CURRENT_AM_DIR = join(ROOT, '.cache', 'prometheus-current', 'trixie');
export const INSTALL_CURRENT = 'run scripts/install-prometheus3.sh (scripts/install-stack-deps.sh runs it)';

/**
 * A binary of CURRENT_AM_DIR, or undefined; under CI (which .ci/run sets) a missing one fails the test file
 * instead, as test/helpers/tools.ts does for tools on PATH, so a broken install cannot turn tests into skips.
 */
function currentBinary(name: string): string | undefined {
  const file = join(CURRENT_AM_DIR, name);
  try {
    accessSync(file, constants.X_OK);
    return file;
  } catch {}
  if (process.env.CI) throw new Error(`${file} is missing and CI is set: ${INSTALL_CURRENT}`);
  return undefined;
}

/** amtool 0.28 and the Alertmanager 0.28 server (Debian names it prometheus-alertmanager). */
export const AMTOOL = currentBinary('amtool');
export const ALERTMANAGER_BIN = currentBinary('prometheus-alertmanager');

/** The Alertmanager server's path; throws, saying how to install it, when it is missing. */
export function requireAlertmanager(): string {
  if (!ALERTMANAGER_BIN) {
    throw new Error(`${join(CURRENT_AM_DIR, 'prometheus-alertmanager')} is missing: ${INSTALL_CURRENT}`);
  }
  return ALERTMANAGER_BIN;
}

interface WebhookConfig {
  url?: string;
  url_file?: string;
  http_config?: { authorization?: { credentials_file?: string } };
}

/** Each receiver's webhook as alertmanager.yml (or another config's text) writes it. */
export function webhooksOf(text: string): Map<string, WebhookConfig[]> {
  const config = parse(text) as { receivers: { name: string; webhook_configs?: WebhookConfig[] }[] };
  return new Map(config.receivers.map((r) => [r.name, r.webhook_configs ?? []]));
}

/** A copy of the bundle's config with its secrets in place, as `writeAlertmanagerConfig` writes it. */
export interface MountedConfig {
  /** The alertmanager.yml to pass to `--config.file`. */
  file: string;
  /** The directory standing for /run/secrets. */
  secrets: string;
  /** Where the copy reads each receiver's URL. */
  urlFile: Record<Receiver, string>;
  /** Where the copy reads the webhook token. */
  tokenFile: string;
}

/**
 * Writes the bundle's Alertmanager config into `dir` as an operator deploys it: alertmanager.yml and its templates
 * as they are, the receivers' URL files (`urls`) and the webhook token in a secrets directory, `dir`/secrets, laid
 * out as /run/secrets is (mlwatch-alertmanager/<receiver>-url, mlwatch-webhook-token). A test cannot mount that
 * directory at /run/secrets, so the copy's `url_file` and `credentials_file` paths have their /run/secrets prefix
 * replaced by it, and by nothing else: a webhook that read its URL from anywhere else, or inline, is refused here
 * (naming the receiver), since the deployments would not provide it.
 */
export function writeAlertmanagerConfig(opts: {
  urls: Record<Receiver, string>;
  dir: string;
  token: string;
}): MountedConfig {
  const secrets = join(opts.dir, 'secrets');
  const source = readFileSync(AM_CONFIG, 'utf8');
  const mounted = (path: string) => join(secrets, posix.relative(SECRETS_DIR, path));
  const hooks = webhooksOf(source);
  const urlFile = {} as Record<Receiver, string>;
  for (const receiver of RECEIVERS) {
    const [hook, ...more] = hooks.get(receiver) ?? [];
    const file = hook?.url_file;
    if (more.length > 0 || file === undefined || hook?.url !== undefined || !file.startsWith(`${URL_DIR}/`)) {
      throw new Error(
        `${AM_CONFIG}: receiver ${receiver} must have one webhook reading its URL with url_file from ${URL_DIR}/ ` +
          `(found ${JSON.stringify(hooks.get(receiver) ?? null)})`,
      );
    }
    const shared = RECEIVERS.find((other) => urlFile[other] === mounted(file));
    // Each receiver gets a URL of its own here; a shared file would hold only the last one written.
    if (shared)
      throw new Error(`${AM_CONFIG}: receivers ${shared} and ${receiver} read the same url_file ${file}`);
    urlFile[receiver] = mounted(file);
  }
  mkdirSync(join(secrets, basename(URL_DIR)), { recursive: true });
  for (const receiver of RECEIVERS)
    writeFileSync(urlFile[receiver], `${opts.urls[receiver]}\n`, { mode: 0o600 });
  const tokenFile = mounted(TOKEN_FILE);
  writeFileSync(tokenFile, opts.token, { mode: 0o600 });
  // Only the values of url_file and credentials_file lines under /run/secrets change; comments, routes,
  // inhibitions and templates stay byte for byte.
  let paths = 0;
  const text = source.replace(
    /^([ \t]*(?:-[ \t]+)?(?:url_file|credentials_file):[ \t]*)"(\/run\/secrets\/[^"]+)"[ \t]*$/gm,
    (_line, head: string, path: string) => {
      paths++;
      return `${head}${JSON.stringify(mounted(path))}`;
    },
  );
  // Five URL files and the token of ticketing and retraining: a path spelled otherwise would stay /run/secrets.
  if (paths !== RECEIVERS.length + 2 || text.includes(`"${SECRETS_DIR}/`)) {
    throw new Error(
      `${AM_CONFIG}: expected ${RECEIVERS.length + 2} double-quoted /run/secrets paths, found ${paths}`,
    );
  }
  mkdirSync(opts.dir, { recursive: true });
  cpSync(join(AM_DIR, 'templates'), join(opts.dir, 'templates'), { recursive: true });
  const file = join(opts.dir, 'alertmanager.yml');
  writeFileSync(file, text);
  return { file, secrets, urlFile, tokenFile };
}

interface Route {
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  routes?: Route[];
}

function shorten(route: Route): void {
  if (route.group_wait) route.group_wait = '1s';
  if (route.group_interval) route.group_interval = '1s';
  if (route.repeat_interval) route.repeat_interval = '1h';
  for (const r of route.routes ?? []) shorten(r);
}

/**
 * Rewrites a copy of the config with every group wait and interval at 1 s (repeats at 1 h): the bundle's routing
 * and inhibitions as they are, with notifications within seconds instead of minutes, so a test can wait for
 * them instead of hoping none came.
 */
export function shortenWaits(file: string): void {
  const config = parse(readFileSync(file, 'utf8')) as { route: Route };
  config.route.group_wait = '1s';
  shorten(config.route);
  writeFileSync(file, stringify(config));
}

/**
 * `amtool config routes test` of `file`: where an alert with `labels` (name=value strings, or a map) is routed,
 * verified against `receivers` (comma-separated, in route order; amtool exits non-zero when they differ).
 * `receivers` in the answer is what amtool printed, trimmed.
 */
export function amtoolRoutes(
  file: string,
  receivers: string,
  labels: readonly string[] | Readonly<Record<string, string>>,
): { code: number | null; receivers: string; stdout: string } {
  const pairs = Array.isArray(labels)
    ? labels
    : Object.entries(labels as Record<string, string>).map(([k, v]) => `${k}=${v}`);
  const r = amtool([
    'config',
    'routes',
    'test',
    `--config.file=${file}`,
    `--verify.receivers=${receivers}`,
    ...pairs,
  ]);
  return { code: r.code, receivers: r.stdout.trim(), stdout: r.stdout };
}

/** Runs amtool 0.28 with a bounded timeout. */
export function amtool(args: string[]): { code: number | null; stdout: string; stderr: string } {
  if (!AMTOOL) throw new Error(`${join(CURRENT_AM_DIR, 'amtool')} is missing: ${INSTALL_CURRENT}`);
  const r = spawnSync(AMTOOL, args, { encoding: 'utf8', timeout: 30_000 });
  return {
    code: r.status,
    stdout: r.stdout ?? '',
    stderr: `${r.stderr ?? ''}${r.error ? String(r.error) : ''}`,
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RunningAlertmanager {
  url: string;
  child: ChildProcess;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Starts a standalone Alertmanager on 127.0.0.1 (clustering off, storage in a temp dir) and waits, at most
 * `timeoutMs`, for /-/ready.
 */
export async function startAlertmanager(
  configFile: string,
  timeoutMs = 20_000,
): Promise<RunningAlertmanager> {
  const bin = requireAlertmanager();
  const storage = mkdtempSync(join(tmpdir(), 'mlwatch-am-data-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    bin,
    [
      `--config.file=${configFile}`,
      `--storage.path=${storage}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--web.external-url=${url}`,
      '--cluster.listen-address=',
      '--log.level=info',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let logs = '';
  child.stdout?.on('data', (d) => {
    logs += d;
  });
  child.stderr?.on('data', (d) => {
    logs += d;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(storage, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`alertmanager exited (${child.exitCode ?? child.signalCode}) before ready:\n${logs}`);
    }
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) });
      if (res.status === 200) break;
    } catch {}
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`alertmanager not ready within ${timeoutMs} ms:\n${logs}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, child, logs: () => logs, stop };
}

/** A row of alertmanager/tests/routes.tsv: labels of an alert, the receivers it reaches, and why. */
export interface RouteRow {
  line: number;
  labels: string[];
  receivers: string;
  why: string;
}

/** alertmanager/tests/routes.tsv, the routing table both amtool tests check; its header must be exact. */
export function readRoutesTable(): RouteRow[] {
  const rows: RouteRow[] = [];
  let header = false;
  readFileSync(join(AM_DIR, 'tests', 'routes.tsv'), 'utf8')
    .split('\n')
    .forEach((text, i) => {
      if (text.trim() === '' || text.startsWith('#')) return;
      const cells = text.split('\t');
      if (cells.length !== 3) throw new Error(`routes.tsv:${i + 1}: expected 3 tab-separated cells`);
      const [labels, receivers, why] = cells as [string, string, string];
      if (!header) {
        header = true;
        if (cells.join(' ') !== 'labels receivers why')
          throw new Error(`routes.tsv:${i + 1}: expected the header labels, receivers, why`);
        return;
      }
      rows.push({ line: i + 1, labels: labels.split(' ').filter(Boolean), receivers, why });
    });
  return rows;
}
