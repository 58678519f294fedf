import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { toolOnPath } from './tools.js';

/** The bundle's Alertmanager files. */
export const AM_DIR = fileURLToPath(new URL('../../alertmanager/', import.meta.url));
export const AM_CONFIG = join(AM_DIR, 'alertmanager.yml');
export const AM_RENDER = join(AM_DIR, 'render.mjs');

/** The five receivers that notify someone, in route order; `null` is the root default that notifies no one. */
export const RECEIVERS = [
  'ticketing',
  'platform-oncall',
  'data-science',
  'business-analysts',
  'retraining',
] as const;
export type Receiver = (typeof RECEIVERS)[number];

/** The environment variable render.mjs reads for each receiver's webhook URL. */
export const RECEIVER_URL_VARS: Record<Receiver, string> = {
  ticketing: 'MLWATCH_AM_TICKETING_URL',
  'platform-oncall': 'MLWATCH_AM_PLATFORM_ONCALL_URL',
  'data-science': 'MLWATCH_AM_DATA_SCIENCE_URL',
  'business-analysts': 'MLWATCH_AM_BUSINESS_ANALYSTS_URL',
  retraining: 'MLWATCH_AM_RETRAINING_URL',
};

/** amtool, and the Alertmanager server (Debian names it prometheus-alertmanager; upstream, alertmanager). */
export const AMTOOL = toolOnPath('amtool');
export const ALERTMANAGER_BIN = toolOnPath('prometheus-alertmanager', 'alertmanager');

/**
 * Renders the bundle's Alertmanager config into `dir` with every receiver's webhook pointing at `urls`
 * (through alertmanager/render.mjs, exactly as a user would) and returns the path of the alertmanager.yml
 * to pass to `--config.file`. The templates are copied next to it. Throws with render.mjs' message on error.
 * `credentialsFile`: the token file of the webhooks that carry mlwatch's token (default
 * /run/secrets/mlwatch-webhook-token, which a test machine lacks).
 */
export function renderAlertmanagerConfig(opts: {
  urls: Record<Receiver, string>;
  dir: string;
  credentialsFile?: string;
}): string {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('MLWATCH_AM_')) env[name] = value;
  }
  for (const receiver of RECEIVERS) env[RECEIVER_URL_VARS[receiver]] = opts.urls[receiver];
  if (opts.credentialsFile) env.MLWATCH_AM_WEBHOOK_CREDENTIALS_FILE = opts.credentialsFile;
  const r = spawnSync(process.execPath, [AM_RENDER, '--out', opts.dir], {
    env,
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.status !== 0) {
    throw new Error(
      `render.mjs exited ${r.status ?? r.signal}: ${r.stderr}${r.error ? String(r.error) : ''}`,
    );
  }
  return join(opts.dir, 'alertmanager.yml');
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
 * Rewrites a rendered config with every group wait and interval at 1 s (repeats at 1 h): the bundle's routing
 * and inhibitions as they are, with notifications within seconds instead of minutes, so a test can wait for
 * them instead of hoping none came.
 */
export function shortenWaits(file: string): void {
  const config = parse(readFileSync(file, 'utf8')) as { route: Route };
  config.route.group_wait = '1s';
  shorten(config.route);
  writeFileSync(file, stringify(config));
}

/** Runs amtool with a bounded timeout. */
export function amtool(args: string[]): { code: number | null; stdout: string; stderr: string } {
  if (!AMTOOL) throw new Error('amtool is not on PATH');
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
  if (!ALERTMANAGER_BIN) throw new Error('neither prometheus-alertmanager nor alertmanager is on PATH');
  const storage = mkdtempSync(join(tmpdir(), 'mlwatch-am-data-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    ALERTMANAGER_BIN,
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
