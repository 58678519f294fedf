/**
 * mlwatch bench: what authentication costs a scrape. Three in-process servers in one run, each answering
 * /metrics with the same exposition: open (no credential, the baseline), basic auth from a web config
 * (bcrypt cost 10, verified once and then cached, as exporter-toolkit does) and a bearer token (SHA-256).
 * Rounds of 50 concurrent scrapes alternate between the servers, so drift on a busy machine hits all alike;
 * the figure is each p99 divided by the open server's p99 from the same run (target: at most 1.5x).
 *
 *   npx tsx bench/auth.ts
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import bcrypt from 'bcryptjs';
import pino from 'pino';
import { loadConfigText } from '../src/config/load.js';
import { type Running, serve } from '../src/runtime/serve.js';
import { line, quantile, ratio, stats } from './stats.js';

const CONCURRENCY = 50;
const ROUNDS = 40;
const WARMUP = 4;
const TARGET = 1.5;

const sha = (t: string) => createHash('sha256').update(t).digest('hex');
const WEBHOOK = 'bench-webhook-token';
const SCRAPER = 'bench-scraper-token';
const dir = mkdtempSync(join(tmpdir(), 'mlwatch-bench-auth-'));

async function start(name: string, metrics: 'open' | 'authenticated', webConfig?: string): Promise<Running> {
  // Nothing behind it: the warehouse and state store are unreachable, so /metrics is the exporter's own health
  // and process metrics, the same on every server. A small body makes the per-request cost of auth stand out.
  const text =
    "warehouse: { url: 'postgresql://postgres@127.0.0.1:1/x' }\nstate: { url: 'postgresql://postgres@127.0.0.1:1/x' }\n" +
    `access:\n  metrics: ${metrics}\n  clients:\n` +
    `    - { name: alertmanager, roles: [webhook], token_sha256: '${sha(WEBHOOK)}' }\n` +
    `    - { name: scraper, roles: [viewer], token_sha256: '${sha(SCRAPER)}' }\n`;
  const config = loadConfigText(text, `${name}.yaml`, {}, dir);
  let webConfigFile: string | undefined;
  if (webConfig) {
    webConfigFile = join(dir, `${name}-web.yml`);
    writeFileSync(webConfigFile, webConfig);
  }
  return serve({
    config,
    loadAgain: () => config,
    host: '127.0.0.1',
    port: 0,
    log: pino({ level: 'silent' }),
    webConfigFile,
  });
}

/** One round: CONCURRENCY scrapes at once; the latency of each, in milliseconds. */
async function round(url: string, headers: Record<string, string>): Promise<number[]> {
  return Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      const t0 = performance.now();
      const res = await fetch(url, { headers });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
      return performance.now() - t0;
    }),
  );
}

async function main(): Promise<void> {
  const password = 'bench-scrape-password';
  const servers = {
    open: { r: await start('open', 'open'), headers: {} },
    basic: {
      r: await start(
        'basic',
        'authenticated',
        `basic_auth_users:\n  prometheus: '${bcrypt.hashSync(password, 10)}'\n`,
      ),
      headers: { authorization: `Basic ${Buffer.from(`prometheus:${password}`).toString('base64')}` },
    },
    bearer: { r: await start('bearer', 'authenticated'), headers: { authorization: `Bearer ${SCRAPER}` } },
  };
  const names = Object.keys(servers) as (keyof typeof servers)[];
  const samples: Record<string, number[]> = { open: [], basic: [], bearer: [] };
  const bodyBytes = (await (await fetch(`http://127.0.0.1:${servers.open.r.port}/metrics`)).text()).length;
  try {
    for (let i = 0; i < WARMUP + ROUNDS; i++) {
      // Rotate the order each round.
      for (let k = 0; k < names.length; k++) {
        const name = names[(i + k) % names.length] as keyof typeof servers;
        const s = servers[name];
        const got = await round(`http://127.0.0.1:${s.r.port}/metrics`, s.headers);
        if (i >= WARMUP) samples[name]?.push(...got);
      }
    }
  } finally {
    for (const s of Object.values(servers)) await s.r.shutdown();
  }
  const p99 = (v: number[]) =>
    quantile(
      [...v].sort((a, b) => a - b),
      0.99,
    );
  const base = p99(samples.open as number[]);
  console.log(
    `mlwatch bench: auth on /metrics, ${ROUNDS} rounds of ${CONCURRENCY} concurrent scrapes, body ${bodyBytes} bytes`,
  );
  for (const name of names) {
    const v = samples[name] as number[];
    const p = p99(v);
    const verdict =
      name === 'open'
        ? 'baseline'
        : p / base <= TARGET
          ? `ok (target <= ${TARGET}x)`
          : `OVER the ${TARGET}x target`;
    console.log(
      `  ${name.padEnd(6)} p99 ${p.toFixed(2)} ms = ${ratio(p, base)} open; ${line(stats(v))}; ${verdict}`,
    );
  }
}

await main();
