import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { RECEIVERS, type Receiver, renderAlertmanagerConfig } from '../helpers/alertmanager.js';
import { freePort, Proc, waitHttpOk } from './process.js';
import type { WebhookRecorder } from './recorder.js';

interface Route {
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  routes?: Route[];
}

// The bundle's routing and inhibitions as they are; only the waits shrink so a test takes seconds, not minutes.
function shortenTimings(route: Route): void {
  if (route.group_wait) route.group_wait = '1s';
  if (route.group_interval) route.group_interval = '1s';
  if (route.repeat_interval) route.repeat_interval = '1h';
  for (const r of route.routes ?? []) shortenTimings(r);
}

export interface AlertmanagerRun {
  proc: Proc;
  url: string;
  target: string;
  alerts(): Promise<{ labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } }[]>;
}

export async function startAlertmanager(dir: string, recorder: WebhookRecorder): Promise<AlertmanagerRun> {
  const urls = Object.fromEntries(RECEIVERS.map((r) => [r, recorder.url(r)])) as Record<Receiver, string>;
  const file = renderAlertmanagerConfig({ urls, dir });
  const config = parse(readFileSync(file, 'utf8')) as { route: Route };
  config.route.group_wait = '1s';
  shortenTimings(config.route);
  writeFileSync(file, stringify(config));
  const port = await freePort();
  const proc = new Proc('alertmanager', 'prometheus-alertmanager', [
    `--config.file=${file}`,
    `--storage.path=${join(dir, 'am-data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--cluster.listen-address=',
  ]);
  const url = `http://127.0.0.1:${port}`;
  await waitHttpOk(`${url}/-/ready`, proc);
  return {
    proc,
    url,
    target: `127.0.0.1:${port}`,
    async alerts() {
      return (await (await fetch(`${url}/api/v2/alerts`)).json()) as never;
    },
  };
}
