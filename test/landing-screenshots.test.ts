import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '../src/config/load.js';
import type { Running } from '../src/runtime/serve.js';
import { firingAlert, STALE_LABELS } from './helpers/alerts.js';
import { ACCESS, WEBHOOK_HEADERS } from './helpers/credentials.js';
import { aucLowAlert, fakePrometheus } from './helpers/fake-prometheus.js';
import { pageText } from './helpers/landing.js';
import { decodePng } from './helpers/png.js';
import { modelEntry, serveOn, useServedFixture } from './helpers/served.js';
import { toolOnPath } from './helpers/tools.js';

// The landing page as a browser draws it: Debian's chromium, headless, at a desktop and a phone width, on a
// served exporter over HTTP, signed in as an on-call viewer with basic auth (the way a browser holds a role).
// Each width gets a screenshot (looked at as pixels: its size, the header bar, the critical alert's red) and the
// DOM Chromium built (its text checked), and the page's width is measured in that browser: nothing may need
// horizontal scrolling on a phone. Set MLWATCH_SCREENSHOTS=<dir> to keep the PNGs.

const chromium = toolOnPath('chromium');
const WIDTHS = [
  { name: 'desktop', width: 1280, height: 900 },
  { name: 'phone', width: 390, height: 844 },
] as const;
// The page's colours (src/http/landing/style.ts): the header bar and the critical red.
const HEADER = [36, 41, 47];
const RED = [207, 34, 46] as const;

const served = useServedFixture('shots', { modelTables: true });
const PASSWORD = 'on-call-landing-pw';
const dir = mkdtempSync(join(tmpdir(), 'mlwatch-landing-shots-'));
const keep = process.env.MLWATCH_SCREENSHOTS;
let r: Running;
let prom: Awaited<ReturnType<typeof fakePrometheus>>;
let viewerUrl: string;

/** Runs chromium headless with a fresh profile; resolves with its stdout. */
function browse(args: string[]): Promise<string> {
  const profile = mkdtempSync(join(dir, 'profile-'));
  return new Promise((resolve, reject) => {
    execFile(
      chromium as string,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--hide-scrollbars',
        `--user-data-dir=${profile}`,
        ...args,
      ],
      { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
}

beforeAll(async () => {
  if (!chromium) return;
  const { writer, schema } = served.db;
  await writer.exec(`CREATE TABLE ${schema}.apps (id int, at timestamptz, income numeric);
    INSERT INTO ${schema}.apps
      SELECT i, now() - make_interval(mins => i), CASE WHEN i % 4 = 0 THEN NULL ELSE i END FROM generate_series(1, 20) AS i;
    INSERT INTO ${schema}.preds VALUES
      (1, now() - interval '2 days', 0.9), (2, now() - interval '2 days', 0.8),
      (3, now() - interval '2 days', 0.3), (4, now() - interval '2 days', 0.1);
    INSERT INTO ${schema}.outcomes VALUES
      (1, now() - interval '1 day', 1), (2, now() - interval '1 day', 0),
      (3, now() - interval '1 day', 0), (4, now() - interval '1 day', 1);`);
  prom = await fakePrometheus([
    aucLowAlert('The AUC of a model fell below its line.', 'https://runbooks.example/auc', 25, '0.5'),
  ]);
  // The on-call's browser signs in with basic auth; the client of the same name gives that user the viewer role.
  const web = join(dir, 'web.yml');
  writeFileSync(web, `basic_auth_users:\n  pager: '${bcrypt.hashSync(PASSWORD, 4)}'\n`);
  const clients = [...ACCESS.clients, { name: 'pager', roles: ['viewer'] }]
    .map(
      (c) =>
        `    - { name: ${c.name}, roles: [${c.roles.join(', ')}]${'token_sha256' in c ? `, token_sha256: '${c.token_sha256}'` : ''} }`,
    )
    .join('\n');
  const config = loadConfigText(
    [
      `warehouse: { url: '${served.db.configUrl}', statement_timeout: 10s }`,
      `state: { url: '${served.stateUrl}', schema: ${schema}_shots }`,
      'defaults: { interval: 1h }',
      'datasets:',
      '  - name: apps',
      `    table: ${schema}.apps`,
      '    timestamp: at',
      '    checks: { freshness: {}, nulls: { columns: [income], window: 1h } }',
      'models:',
      served.qualify(modelEntry('credit', 'windows: [1d, 14d]')),
      // A check that fails: its card is the first, with its error.
      'queries:',
      '  - name: orders_backlog',
      `    sql: SELECT count(*) AS n FROM ${schema}.no_such_table`,
      '    metrics: [{ name: shop_orders_backlog, help: Orders waiting., value: n }]',
      `report: { prometheus_url: '${prom.url}' }`,
      `access:\n  clients:\n${clients}`,
    ].join('\n'),
    'shots.yaml',
    {},
    '/',
  );
  r = await serveOn(served.db, config, { webConfigFile: web });
  await r.exporter.firstRound();
  const base = `http://127.0.0.1:${r.port}`;
  const ticket = firingAlert({ labels: { ...STALE_LABELS, dataset: 'apps' }, fingerprint: 'shots-stale' })();
  const posted = await fetch(`${base}/api/v1/alerts`, {
    method: 'POST',
    headers: WEBHOOK_HEADERS,
    body: JSON.stringify({ version: '4', status: 'firing', receiver: 'ticketing', alerts: [ticket] }),
  });
  expect(posted.status).toBe(200);
  viewerUrl = `http://pager:${PASSWORD}@127.0.0.1:${r.port}/`;
});

afterAll(async () => {
  await r?.shutdown();
  await prom?.close();
  if (keep) mkdirSync(keep, { recursive: true });
  for (const w of WIDTHS) {
    const png = join(dir, `landing-${w.name}.png`);
    if (keep) {
      try {
        writeFileSync(join(keep, `landing-${w.name}.png`), readFileSync(png));
      } catch {}
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

const title = chromium
  ? 'the landing page in headless Chromium'
  : 'the landing page in headless Chromium (skipped: no chromium on PATH; scripts/install-stack-deps.sh installs it)';
describe.skipIf(!chromium)(title, () => {
  it.each(WIDTHS)('$name ($width x $height): the screenshot shows the page', async (w) => {
    const file = join(dir, `landing-${w.name}.png`);
    await browse([`--window-size=${w.width},${w.height}`, `--screenshot=${file}`, viewerUrl]);
    const png = decodePng(readFileSync(file));
    expect([png.width, png.height]).toEqual([w.width, w.height]);
    // The header bar across the top, edge to edge.
    for (const x of [2, Math.floor(w.width / 2), w.width - 3]) expect(png.rgb(x, 3)).toEqual(HEADER);
    // The critical alert's red left border within the first screen: the on-call sees that something pages
    // without scrolling. A border, not red text: a column of at least 60 red pixels in a row.
    const isRed = (x: number, y: number) => {
      const [cr, cg, cb] = png.rgb(x, y);
      return Math.abs(cr - RED[0]) + Math.abs(cg - RED[1]) + Math.abs(cb - RED[2]) < 12;
    };
    let longest = 0;
    for (let x = 0; x < png.width / 4; x++) {
      let run = 0;
      for (let y = 0; y < png.height; y++) {
        run = isRed(x, y) ? run + 1 : 0;
        longest = Math.max(longest, run);
      }
    }
    expect(longest).toBeGreaterThanOrEqual(60);
  });

  it.each(WIDTHS)(
    '$name: the DOM Chromium built says what the checks, Prometheus and the ticket log say',
    async (w) => {
      const text = pageText(await browse([`--window-size=${w.width},${w.height}`, '--dump-dom', viewerUrl]));
      expect(text).toContain('1 failing');
      expect(text).toContain(
        'critical MlwatchModelAucLow model=credit window=14d The AUC of a model fell below its line.',
      );
      expect(text).toContain('team data-science · since 25 min ago · runbook');
      expect(text).toContain('NULL income 25 % over 5 %');
      expect(text).toContain('AUC 14d 0.500 under 0.65');
      expect(text).toContain('query:orders_backlog failing');
      expect(text).toMatch(/relation "[^"]*no_such_table" does not exist/);
      // Signed in as a viewer: the ticket itself, not only its count.
      expect(text).toContain('1 open ticket');
      expect(text).toContain('critical #1 MlwatchDatasetStale dataset=apps');
      expect(text).toContain('Updated');
    },
  );

  it.each(WIDTHS)('$name: nothing is wider than the window', async (w) => {
    // The page as served, plus a script that paints a full-window overlay whose colour encodes the window's width
    // (red * 256 + green) and whether the page is wider than it (blue 255), repainted on resize: --screenshot
    // loads the page in a window at least 500 px wide and narrows it to the requested size before the capture,
    // so only a value measured at capture time counts. (The served page itself runs no script: its policy
    // forbids it.)
    const html = await (
      await fetch(`http://127.0.0.1:${r.port}/`, {
        headers: { authorization: `Basic ${Buffer.from(`pager:${PASSWORD}`).toString('base64')}` },
      })
    ).text();
    const measure = `<script>
      const o = document.createElement('div');
      o.style.cssText = 'position:fixed;inset:0;z-index:9';
      document.body.append(o);
      const paint = () => {
        const w = innerWidth, wide = document.documentElement.scrollWidth > w;
        o.style.background = 'rgb(' + (w >> 8) + ',' + (w & 255) + ',' + (wide ? 255 : 0) + ')';
      };
      paint();
      addEventListener('resize', paint);
    </script>`;
    const file = join(dir, `measure-${w.name}.html`);
    writeFileSync(file, html.replace('</body>', `${measure}</body>`));
    const shot = join(dir, `measure-${w.name}.png`);
    await browse([`--window-size=${w.width},${w.height}`, `--screenshot=${shot}`, `file://${file}`]);
    const [hi, lo, wide] = decodePng(readFileSync(shot)).rgb(10, 10);
    expect({ width: hi * 256 + lo, wider: wide === 255 }).toEqual({ width: w.width, wider: false });
  });
});
