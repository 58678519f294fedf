import { join } from 'node:path';
import {
  RECEIVERS,
  type Receiver,
  requireAlertmanager,
  shortenWaits,
  writeAlertmanagerConfig,
} from '../helpers/alertmanager.js';
import { freePort, Proc, waitHttpOk } from './process.js';
import type { WebhookRecorder } from './recorder.js';

export interface AlertmanagerRun {
  proc: Proc;
  url: string;
  target: string;
  /** The file Alertmanager reads its webhook token from (credentials_file). */
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
  // The bundle's config as an operator deploys it: every receiver's URL file pointing at the recorder, and the
  // token in the credentials file (test/helpers/alertmanager.ts).
  const urls = Object.fromEntries(RECEIVERS.map((r) => [r, recorder.url(r)])) as Record<Receiver, string>;
  const { file, tokenFile } = writeAlertmanagerConfig({ urls, dir, token: webhookToken });
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
  // Alertmanager 0.28 (trixie's): the config's url_file needs 0.26 or newer, which Debian 12's 0.25 is not.
  const proc = new Proc(o.name ?? 'alertmanager', requireAlertmanager(), [
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
