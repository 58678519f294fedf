import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { metricsOf, PER_INSTANCE_METRIC } from '../grafana/src/common.js';
import { loadConfigText } from '../src/config/load.js';
import { demoConfig } from '../src/demo/builtin-config.js';
import { createDemoSchema } from '../src/demo/schema.js';
import { seedHistory } from '../src/demo/seed.js';
import { Exporter } from '../src/runtime/exporter.js';
import { allPanelQueries } from '../tools/dashboard-lint.js';
import { openTestDb } from './helpers/db.js';
import { memoryLogger } from './helpers/exporter.js';
import { withIncrementalModel } from './helpers/incremental-demo.js';
import { toolOnPath } from './helpers/tools.js';
import { freePort, Proc, waitHttpOk } from './stack/process.js';

// The dashboards with two replicas of the exporter behind them (issue 16), against real Prometheus and the
// bundle's rules. Both replicas serve every check with the same values (one of them ran it); a user looking at
// "All" instances must see each check once, with the numbers one replica alone gives. The exposition is the
// demo exporter's own, after a round over 8 days of seeded history: every check the dashboards draw has data
// (risk_tier made incremental for the incremental checks table: helpers/incremental-demo.ts).
//
// Two Prometheus servers scrape it: one scrapes replica A only, the other A and B, a copy of A as the replica
// that runs no check (runner 0, no runs of its own, A's runs taken as results from the runner). Every panel
// query, at the same instant on both, must then either give exactly what A alone gives (check values: same
// series, same values), or, for a series of the replica's own (PER_INSTANCE_METRIC: up, memory, which checks
// it runs), give A's series as A alone does plus B's.

const prometheus = toolOnPath('prometheus');
const RULES = new URL('../prometheus/rules/', import.meta.url).pathname;

type Sample = { metric: Record<string, string>; value: [number, string] };

interface Prom {
  proc: Proc;
  url: string;
  query(expr: string, time: number): Promise<Sample[]>;
}

async function startPrometheus(dir: string, targets: { target: string; pod: string }[]): Promise<Prom> {
  const port = await freePort();
  const config = {
    global: { scrape_interval: '1s', evaluation_interval: '1s' },
    rule_files: [join(RULES, '*.yml')],
    scrape_configs: [
      {
        job_name: 'mlwatch',
        // As a Kubernetes scrape labels them: the replicas differ in instance and pod, share the namespace.
        static_configs: targets.map((t) => ({
          targets: [t.target],
          labels: { namespace: 'monitoring', pod: t.pod },
        })),
      },
    ],
  };
  writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
  const proc = new Proc('prometheus', prometheus as string, [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ]);
  const url = `http://127.0.0.1:${port}`;
  await waitHttpOk(`${url}/-/ready`, proc).catch(async (err) => {
    await proc.stop();
    throw err;
  });
  return {
    proc,
    url,
    async query(expr, time) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}&time=${time}`);
      const body = (await res.json()) as { status: string; error?: string; data: { result: Sample[] } };
      if (body.status !== 'success') throw new Error(`query failed: ${expr}: ${body.error}`);
      return body.data.result;
    },
  };
}

/** Replica B: serves A's check results and runs none of the checks itself. */
function followerOf(a: string): string {
  const runs = new Map<string, string>();
  for (const m of a.matchAll(/^mlwatch_check_runs_total(\{[^}]*\}) (\S+)$/gm))
    runs.set(m[1] as string, m[2] as string);
  return a.replace(
    /^(mlwatch_check_(runner|runs_total|errors_total|overruns_total|peer_results_total))(\{[^}]*\}) (\S+)$/gm,
    (_, name: string, kind: string, labels: string) =>
      `${name}${labels} ${kind === 'peer_results_total' ? (runs.get(labels) ?? '0') : '0'}`,
  );
}

/** Replica A: runs every check (an exporter alone runs them all; this pins it whatever its first turn said). */
function runnerOf(a: string): string {
  return a
    .replace(/^(mlwatch_check_runner\{[^}]*\}) \S+$/gm, '$1 1')
    .replace(/^(mlwatch_check_peer_results_total\{[^}]*\}) \S+$/gm, '$1 0');
}

function serve(text: string): Promise<Server> {
  const server = createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(text);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const key = (m: Record<string, string>) =>
  JSON.stringify(Object.entries(m).sort(([a], [b]) => a.localeCompare(b)));
const same = (a: string, b: string) =>
  a === b || (Number.isNaN(Number(a)) && Number.isNaN(Number(b))) || Math.abs(Number(a) - Number(b)) < 1e-9;

/** Differences between two results, as label sets only in one of them or with another value; [] if equal. */
function diff(got: Sample[], want: Sample[], values: boolean): string[] {
  const g = new Map(got.map((s) => [key(s.metric), s.value[1]]));
  const w = new Map(want.map((s) => [key(s.metric), s.value[1]]));
  const out: string[] = [];
  for (const [k, v] of g) {
    if (!w.has(k)) out.push(`extra ${k}`);
    else if (values && !same(v, w.get(k) as string)) out.push(`${k}: ${v}, alone ${w.get(k)}`);
  }
  for (const k of w.keys()) if (!g.has(k)) out.push(`missing ${k}`);
  return out;
}

/**
 * Panels the demo has no data for after one round over 8 days: the models' references lie 14 to 28 days back
 * (src/demo/builtin-config.ts), before the seeded history. Compared like the rest should they get data.
 */
const EMPTY_IN_DEMO = new Set(['Prediction drift (PSI)']);

let dir: string;
let servers: Server[] = [];
let single: Prom | undefined;
let pair: Prom | undefined;
let targets: string[] = [];

beforeAll(async () => {
  if (!prometheus) return;
  dir = mkdtempSync(join(tmpdir(), 'mlwatch-dashboard-replicas-'));
  const db = await openTestDb();
  let text: string;
  try {
    await createDemoSchema(db.writer, db.schema);
    await seedHistory(db.writer, db.schema, { days: 8 });
    const demo = demoConfig({ warehouseUrl: db.configUrl, schema: db.schema }) as {
      models: Record<string, unknown>[];
    };
    const config = stringify(withIncrementalModel(demo));
    const exporter = Exporter.start(loadConfigText(config, 'test.yaml', {}, '/'), {
      log: memoryLogger().log,
      openWarehouse: () => db.newWarehouse(),
      // The process panels are per instance: the exposition needs them.
      withProcessMetrics: true,
    });
    try {
      await exporter.firstRound();
      text = await exporter.metricsText();
    } finally {
      await exporter.stop(1000);
    }
  } finally {
    await db.close();
  }
  servers = [await serve(runnerOf(text)), await serve(followerOf(runnerOf(text)))];
  targets = servers.map((s) => `127.0.0.1:${(s.address() as AddressInfo).port}`);
  const [a, b] = targets as [string, string];
  const singleDir = mkdtempSync(join(dir, 'single-'));
  const pairDir = mkdtempSync(join(dir, 'pair-'));
  single = await startPrometheus(singleDir, [{ target: a, pod: 'mlwatch-0' }]);
  pair = await startPrometheus(pairDir, [
    { target: a, pod: 'mlwatch-0' },
    { target: b, pod: 'mlwatch-1' },
  ]);
  // Rates and count_over_time need several scrapes in their 1m window, alerts read recording rules of other
  // groups one evaluation late: wait for 6 scrapes of every target and a few evaluations past that.
  const deadline = Date.now() + 60_000;
  for (const [p, n] of [
    [single, 1],
    [pair, 2],
  ] as const) {
    for (;;) {
      const r = await p.query('count(count_over_time(up{job="mlwatch"}[1m]) >= 6)', Date.now() / 1000);
      if (Number(r[0]?.value[1] ?? 0) >= n) break;
      if (Date.now() > deadline) throw new Error(`prometheus did not scrape:\n${p.proc.logs()}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  await new Promise((r) => setTimeout(r, 3000));
}, 180_000);

afterAll(async () => {
  await Promise.all([single?.proc.stop(), pair?.proc.stop()]);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!prometheus)('the dashboards with two replicas of the exporter', () => {
  it('sees both replicas: a raw check series comes twice, once per replica', async () => {
    const t = Math.floor(Date.now() / 1000);
    const alone = await (single as Prom).query('mlwatch_check_success', t);
    const both = await (pair as Prom).query('mlwatch_check_success', t);
    expect(alone.length).toBeGreaterThan(5);
    expect(both.length).toBe(2 * alone.length);
    expect(new Set(both.map((s) => s.metric.pod))).toEqual(new Set(['mlwatch-0', 'mlwatch-1']));
  });

  it('every panel shows a check once, as one replica alone does; per-instance panels show each replica', async () => {
    const [a, b] = targets as [string, string];
    const t = Math.floor(Date.now() / 1000) - 1;
    const problems: string[] = [];
    const queries = allPanelQueries();
    expect(queries.length).toBeGreaterThan(100);
    let perInstance = 0;
    for (const q of queries) {
      const where = `${q.dashboard} / ${q.panel}: ${q.expr}`;
      const alone = await (single as Prom).query(q.expr, t);
      const both = await (pair as Prom).query(q.expr, t);
      if (alone.length === 0) {
        if (!EMPTY_IN_DEMO.has(q.panel))
          problems.push(`${where}\n  no data from one replica: nothing to compare`);
        continue;
      }
      const merged = diff(both, alone, true);
      if (merged.length === 0) continue;
      if (metricsOf(q.expr).some((m) => PER_INSTANCE_METRIC.test(m))) {
        // The replica's own series: A's as A alone gives them (their values may differ, as scrape durations
        // of two servers do), and B's beside them.
        const ofA = diff(
          both.filter((s) => s.metric.instance === a),
          alone,
          false,
        );
        const ofB = both.filter((s) => s.metric.instance === b).length;
        const others = both.filter((s) => s.metric.instance !== a && s.metric.instance !== b).length;
        if (ofA.length === 0 && ofB > 0 && others === 0) {
          perInstance++;
          continue;
        }
      }
      problems.push(`${where}\n  ${merged.slice(0, 4).join('\n  ')}`);
    }
    expect(problems, problems.join('\n')).toEqual([]);
    // Up, memory, the warehouse connection, which replica runs what: these stay per replica.
    expect(perInstance).toBeGreaterThan(10);
  });
});
