import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { formatDuration, parseDuration } from '../../src/config/duration.js';
import { ROOT } from '../helpers/cli.js';
import { freePort, Proc, waitHttpOk } from './process.js';

/** Up to this `for:` the stack divides by 24; beyond it, by 240 (scaledFor). */
const KNEE_MS = 15 * 60_000;

/**
 * How long the stack's rules wait for a rule's `for:` of `ms`: a 24th up to 15 minutes (37.5 s), and a 240th of
 * the rest beyond, so the hour-long model alerts fire after 49 s where a 24th of an hour (150 s) made the
 * model-layer file wait 7.5 of its 9 minutes. The map only grows, so the rules keep their order: an inhibiting
 * alert (warehouse down after 2m) still fires before the alerts it silences (a check after 10m), and every
 * alert after every alert with a shorter `for:`. At least 1 s, in whole seconds.
 */
export function scaledFor(ms: number): number {
  const scaled = ms <= KNEE_MS ? ms / 24 : KNEE_MS / 24 + (ms - KNEE_MS) / 240;
  return Math.max(1000, Math.round(scaled / 1000) * 1000);
}

/** The bundle's rules with every `for:` shortened by scaledFor; returns the scaled durations by alert (ms). */
export function scaledRules(dstDir: string): Record<string, number> {
  mkdirSync(dstDir, { recursive: true });
  const fors: Record<string, number> = {};
  const src = join(ROOT, 'prometheus/rules');
  for (const f of readdirSync(src).filter((x) => x.endsWith('.yml'))) {
    const doc = parse(readFileSync(join(src, f), 'utf8')) as {
      groups: { rules: { alert?: string; for?: string }[] }[];
    };
    for (const g of doc.groups) {
      for (const r of g.rules) {
        if (!r.for) continue;
        const ms = scaledFor(parseDuration(r.for) ?? 0);
        r.for = formatDuration(ms);
        if (r.alert) fors[r.alert] = ms;
      }
    }
    writeFileSync(join(dstDir, f), stringify(doc));
  }
  return fors;
}

export interface PrometheusRun {
  proc: Proc;
  url: string;
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
}

/** How Prometheus reaches mlwatch: over https, trusting the stack's CA, as a basic-auth user. */
export interface MlwatchScrape {
  target: string;
  caFile: string;
  username: string;
  passwordFile: string;
}

/** Several replicas of the exporter, scraped over plain http (no web config: /metrics is open). */
export interface PlainScrape {
  targets: string[];
}

export async function startPrometheus(
  dir: string,
  mlwatch: MlwatchScrape | PlainScrape,
  alertmanagerTargets: string | string[],
): Promise<PrometheusRun> {
  const port = await freePort();
  const scrape =
    'targets' in mlwatch
      ? { static_configs: [{ targets: mlwatch.targets }] }
      : {
          // As prometheus/prometheus.yml would with TLS on: the password from a file, never in the config.
          scheme: 'https',
          tls_config: { ca_file: mlwatch.caFile },
          basic_auth: { username: mlwatch.username, password_file: mlwatch.passwordFile },
          static_configs: [{ targets: [mlwatch.target] }],
        };
  const config = {
    global: { scrape_interval: '1s', evaluation_interval: '1s' },
    rule_files: [join(dir, 'rules/*.yml')],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [alertmanagerTargets].flat() }] }] },
    scrape_configs: [
      { job_name: 'mlwatch', ...scrape },
      { job_name: 'prometheus', static_configs: [{ targets: [`127.0.0.1:${port}`] }] },
    ],
  };
  writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
  const proc = new Proc('prometheus', 'prometheus', [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-lifecycle',
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
    async query(expr: string) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await res.json()) as { status: string; error?: string; data: { result: never[] } };
      if (body.status !== 'success') throw new Error(`query failed: ${expr}: ${body.error}`);
      return body.data.result;
    },
  };
}
