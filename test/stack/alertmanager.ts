import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AM_RENDER, RECEIVER_URL_VARS, RECEIVERS, shortenWaits } from '../helpers/alertmanager.js';
import { freePort, Proc, waitHttpOk } from './process.js';
import type { WebhookRecorder } from './recorder.js';

export interface AlertmanagerRun {
  proc: Proc;
  url: string;
  target: string;
  /** The file Alertmanager reads its webhook token from (credentials_file, relative in its config). */
  tokenFile: string;
  alerts(): Promise<
    {
      labels: Record<string, string>;
      /** Every receiver Alertmanager's routing sends the alert to (each matching route, `continue` included). */
      receivers: { name: string }[];
      status: { state: string; inhibitedBy: string[] };
    }[]
  >;
}

// Relative on purpose: Alertmanager resolves it against its config file's directory (`dir`, where render.mjs
// writes), which is what docs/alertmanager.md promises for a rendered copy; from anywhere else (its working
// directory is the repository) the file would be missing and every ticketing notification would fail.
const TOKEN_PATH = 'secrets/mlwatch-webhook-token';

/**
 * Renders the bundle's config into `dir` as an operator would: render.mjs with every receiver's URL and the
 * webhook credentials file set through their variables, and the token in that file.
 */
function render(dir: string, recorder: WebhookRecorder, token: string): { file: string; tokenFile: string } {
  const tokenFile = join(dir, TOKEN_PATH);
  mkdirSync(join(dir, 'secrets'), { recursive: true });
  writeFileSync(tokenFile, token, { mode: 0o600 });
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('MLWATCH_AM_')) env[name] = value;
  }
  for (const r of RECEIVERS) env[RECEIVER_URL_VARS[r]] = recorder.url(r);
  env.MLWATCH_AM_WEBHOOK_CREDENTIALS_FILE = TOKEN_PATH;
  const r = spawnSync(process.execPath, [AM_RENDER, '--out', dir], {
    env,
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.status !== 0) throw new Error(`render.mjs exited ${r.status ?? r.signal}: ${r.stderr}`);
  return { file: join(dir, 'alertmanager.yml'), tokenFile };
}

/** An Alertmanager of a cluster: its gossip address, its peers', and how long it waits on a peer's notification. */
export interface ClusterMember {
  listen: string;
  peers: string[];
  peerTimeout: string;
}

/**
 * `webhookToken`: the credential mlwatch's access section gives the webhook role. `o.cluster`: gossip with other
 * Alertmanagers (a high-availability pair) instead of running alone; `o.waits` rewrites the shortened waits.
 */
export async function startAlertmanager(
  dir: string,
  recorder: WebhookRecorder,
  webhookToken: string,
  o: { cluster?: ClusterMember; waits?: (file: string) => void; name?: string } = {},
): Promise<AlertmanagerRun> {
  const { file, tokenFile } = render(dir, recorder, webhookToken);
  // The bundle's routing and inhibitions as they are; only the waits shrink so a test takes seconds, not minutes.
  shortenWaits(file);
  o.waits?.(file);
  const port = await freePort();
  const cluster = o.cluster
    ? [
        `--cluster.listen-address=${o.cluster.listen}`,
        ...o.cluster.peers.map((p) => `--cluster.peer=${p}`),
        `--cluster.peer-timeout=${o.cluster.peerTimeout}`,
      ]
    : ['--cluster.listen-address='];
  const proc = new Proc(o.name ?? 'alertmanager', 'prometheus-alertmanager', [
    `--config.file=${file}`,
    `--storage.path=${join(dir, 'am-data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    ...cluster,
  ]);
  const url = `http://127.0.0.1:${port}`;
  // A process that never gets ready is stopped here: the caller has no handle on it yet.
  await waitHttpOk(`${url}/-/ready`, proc).catch(async (err) => {
    await proc.stop();
    throw err;
  });
  return {
    proc,
    url,
    target: `127.0.0.1:${port}`,
    tokenFile,
    async alerts() {
      return (await (await fetch(`${url}/api/v2/alerts`)).json()) as never;
    },
  };
}
