import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '../src/config/load.js';
import { baseDirectory, credentialScrubber, redactPath } from '../src/warehouse/duckdb-paths.js';
import { runCli } from './helpers/cli.js';

// Remote file sources (s3://, gs://, r2://, https://) read through DuckDB's httpfs extension. This machine, like
// CI's, reaches no extension repository and has no copy of httpfs, so what is tested is everything up to the
// read: the config takes the paths and refuses credentials in them, the exporter installs and loads httpfs
// before it locks DuckDB, and when that fails every check says which sources need which extension and how to
// install it, with no secret of a URL in any output. A real read from a bucket is not tested (docs/engines.md).

let dir: string;
const SIGNATURE = 'c0ffee5ignature0123456789abcdef';
const S3_SECRET = 'wJalrXUtnFEMIsecretKEY42';
const SIGNED = `https://data.example.com/exports/labels.csv?X-Amz-Credential=AKIAEXAMPLE%2F20261206&X-Amz-Signature=${SIGNATURE}`;
const S3_WITH_KEY = `s3://ml-logs/predictions/*/*.parquet?s3_region=eu-west-1&s3_secret_access_key=${S3_SECRET}`;

const configText = (files: string, url = 'duckdb:memory') => `warehouse:
  url: ${url}
  files:
${files}
state: { url: pglite:memory }
datasets:
  - name: local
    table: files.local
    timestamp: ts
    checks: { volume: { window: 1h } }
`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mlwatch-duckdb-remote-'));
  mkdirSync(join(dir, 'data'));
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  await c.run(
    `COPY (SELECT i AS k, now() - INTERVAL (i) MINUTE AS ts FROM range(30) t(i)) TO '${join(dir, 'data', 'p.parquet')}' (FORMAT parquet)`,
  );
  c.closeSync();
  db.closeSync();
}, 60_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const load = (files: string) => () => loadConfigText(configText(files), join(dir, 'm.yaml'), {}, dir);

describe('DuckDB remote files: the config', () => {
  it('takes s3://, s3a://, gs://, gcs://, r2:// and https:// paths as written, local ones against the config folder', () => {
    const cfg = load(`    local: { parquet: data/p.parquet }
    a: { parquet: 's3://ml-logs/predictions/*/*.parquet', hive_partitioning: true }
    b: { csv: 's3a://ml-logs/labels/2026-12-*.csv' }
    c: { json: 'gs://ml-logs/requests/*.json', types: { at: timestamptz } }
    d: { parquet: 'gcs://ml-logs/x.parquet' }
    e: { parquet: 'r2://ml-logs/y/*.parquet' }
    f: { csv: 'https://data.example.com/exports/labels.csv' }`)();
    expect(cfg.warehouse.files?.map((f) => f.path)).toEqual([
      join(dir, 'data/p.parquet'),
      's3://ml-logs/predictions/*/*.parquet',
      's3a://ml-logs/labels/2026-12-*.csv',
      'gs://ml-logs/requests/*.json',
      'gcs://ml-logs/x.parquet',
      'r2://ml-logs/y/*.parquet',
      'https://data.example.com/exports/labels.csv',
    ]);
  });

  it('mlwatch check-config passes a config with s3:// and https:// sources', () => {
    const file = join(dir, 'check.yaml');
    writeFileSync(
      file,
      configText(`    local: { parquet: data/p.parquet }
    remote: { parquet: '${S3_WITH_KEY}' }
    signed: { csv: '${SIGNED}' }`),
    );
    const r = runCli(['check-config', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${file}: valid, 1 check(s) (1 dataset_scan)\n`);
  });

  it.each([
    ['plain http', "{ csv: 'http://data.example.com/l.csv' }", /is plain http: .* use https:\/\//],
    ['another store', "{ parquet: 'az://container/p.parquet' }", /reads s3:\/\/, s3a:\/\/, .*https:\/\//],
    ['file://', "{ parquet: 'file:///data/p.parquet' }", /write a local path without file:\/\//],
    ['a glob over https', "{ csv: 'https://data.example.com/*.csv' }", /a web server cannot be listed/],
    [
      'no bucket',
      "{ parquet: 's3:///p.parquet' }",
      /names no bucket: write s3:\/\/bucket\/path\/\*\.parquet/,
    ],
    ['a wildcard bucket', "{ parquet: 's3://ml-*/p.parquet' }", /names no bucket/],
    ['no key', "{ parquet: 's3://ml-logs/' }", /names no file: add its path or a glob after the bucket/],
  ])('refuses %s, naming the source', (_what, source, message) => {
    expect(load(`    local: { parquet: data/p.parquet }\n    r: ${source}`)).toThrow(message);
    expect(load(`    local: { parquet: data/p.parquet }\n    r: ${source}`)).toThrow(/warehouse\.files\.r\./);
  });

  it('refuses a user and password in a URL, pointing at DuckDB secrets, and never shows the password', () => {
    let message = '';
    try {
      load(`    local: { parquet: data/p.parquet }
    r: { csv: 'https://reader:Hunter2Password@data.example.com/l.csv?token=t0ken5ecret&X-Amz-Signature=${SIGNATURE}' }`)();
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(
      /carries credentials in the URL.*give DuckDB a secret instead \(docs\/engines.md/,
    );
    expect(message).toContain(
      'https://<redacted>@data.example.com/l.csv?token=<redacted>&X-Amz-Signature=<redacted>',
    );
    for (const secret of ['Hunter2Password', 't0ken5ecret', SIGNATURE]) expect(message).not.toContain(secret);
  });

  it('sees a password written with a ? unencoded as userinfo, refuses it and never shows it', () => {
    let message = '';
    try {
      load(`    r: { csv: 'https://reader:Pass?w0rd@data.example.com/l.csv' }`)();
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/carries credentials in the URL/);
    expect(message).toContain("'https://<redacted>@data.example.com/l.csv'");
    expect(message).not.toContain('w0rd');
  });

  it('allows DuckDB the directory of each remote source, never a whole store, without the query string', () => {
    expect(baseDirectory('s3://ml-logs/predictions/*/*.parquet')).toBe('s3://ml-logs/predictions/');
    expect(baseDirectory('s3://ml-logs/p.parquet?s3_region=eu-west-1')).toBe('s3://ml-logs/');
    expect(baseDirectory(SIGNED)).toBe('https://data.example.com/exports/');
    expect(baseDirectory('gs://ml-logs/*.json')).toBe('gs://ml-logs/');
    expect(baseDirectory('s3://ml-logs')).toBe('s3://ml-logs/');
    expect(baseDirectory('/data/logs/day=*/p.parquet')).toBe('/data/logs/');
  });
});

describe('DuckDB remote files: without httpfs, every check says what to install, and nothing else', () => {
  const config = (files: string) => {
    const file = join(dir, `once-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, configText(files));
    return file;
  };
  const remoteFiles = `    local: { parquet: data/p.parquet }
    remote: { parquet: '${S3_WITH_KEY}', hive_partitioning: true }
    signed: { csv: '${SIGNED}' }`;
  // DuckDB looks for extensions under $HOME/.duckdb/extensions: an empty home has no httpfs whatever this
  // machine's own home holds, and nothing is written to the real one.
  const emptyHome = () => mkdtempSync(join(dir, 'home-'));

  /** Whether DuckDB can download httpfs here (it cannot on this machine nor CI's, which reach no repository). */
  async function canDownload(): Promise<boolean> {
    const db = await DuckDBInstance.create(':memory:', { extension_directory: emptyHome() });
    const c = await db.connect();
    try {
      await c.run('INSTALL httpfs');
      return true;
    } catch {
      return false;
    } finally {
      c.closeSync();
      db.closeSync();
    }
  }

  const expectClean = (r: { code: number | null; stdout: string; stderr: string }) => {
    const all = r.stdout + r.stderr;
    for (const secret of [SIGNATURE, S3_SECRET, 'AKIAEXAMPLE']) expect(all).not.toContain(secret);
    expect(all).not.toMatch(/^\s+at /m);
    expect(r.code).toBe(1);
    // The exporter kept going and said so: the check failed, the warehouse is reported down.
    expect(r.stdout).toMatch(/^mlwatch_check_success\{check="dataset:local:scan"\} 0$/m);
    expect(r.stdout).toMatch(/^mlwatch_warehouse_up 0$/m);
  };

  it('install fails: the check over a local file fails too, with the sources, the extension and the fix', async (ctx) => {
    if (await canDownload())
      ctx.skip('this machine can download DuckDB extensions: the failure cannot happen here');
    const home = emptyHome();
    const r = runCli(['once', '--config', config(remoteFiles)], { HOME: home });
    expectClean(r);
    // The whole open fails (src/warehouse/duckdb.ts says why), so the local source's check carries the reason.
    expect(r.stderr).toContain(
      'check dataset:local:scan failed: the httpfs extension is needed for s3:// paths (warehouse.files.remote) and https:// paths (warehouse.files.signed); DuckDB could not install it: IO Error: Failed to download extension "httpfs"',
    );
    expect(r.stderr).toMatch(
      new RegExp(
        `Install it where the exporter runs, as the exporter's user: duckdb -c "INSTALL httpfs" with the DuckDB v1\\.\\d+\\.\\d+ CLI, or copy httpfs\\.duckdb_extension for v1\\.\\d+\\.\\d+ \\S+ into ${home}/\\.duckdb/extensions/v1\\.\\d+\\.\\d+/\\S+/\\n`,
      ),
    );
  }, 60_000);

  it('load fails (a copy that is not an extension): says so, with DuckDB’s reason', async () => {
    const home = emptyHome();
    // Where DuckDB 1.5 looks for it on this platform: found installed, so mlwatch loads it without INSTALL.
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    const info = (
      await c.runAndReadAll(
        'SELECT library_version AS v, (SELECT platform FROM pragma_platform()) AS p FROM pragma_version()',
      )
    ).getRowObjectsJS()[0] as { v: string; p: string };
    c.closeSync();
    db.closeSync();
    const extDir = join(home, '.duckdb', 'extensions', info.v, info.p);
    mkdirSync(extDir, { recursive: true });
    writeFileSync(join(extDir, 'httpfs.duckdb_extension'), 'not an extension\n');
    const r = runCli(['once', '--config', config(remoteFiles)], { HOME: home });
    expectClean(r);
    expect(r.stderr).toContain(
      `the httpfs extension is needed for s3:// paths (warehouse.files.remote) and https:// paths (warehouse.files.signed); DuckDB could not load it: Invalid Input Error: File '${join(extDir, 'httpfs.duckdb_extension')}' is not a DuckDB extension.`,
    );
  }, 60_000);

  it('takes the credentials of a remote path out of a DuckDB error that quotes it', async () => {
    // A real DuckDB error quoting the URL whole (no httpfs here: DuckDB names the extension a path needs).
    const db = await DuckDBInstance.create(':memory:', { autoload_known_extensions: 'false' });
    const c = await db.connect();
    let err: unknown;
    await c.run(`SELECT * FROM read_csv('${SIGNED}')`).catch((e: unknown) => {
      err = e;
    });
    c.closeSync();
    db.closeSync();
    expect((err as Error).message).toContain(SIGNATURE);
    const cleaned = credentialScrubber([SIGNED, S3_WITH_KEY])(err) as Error;
    expect(cleaned.message).toContain(redactPath(SIGNED));
    expect(cleaned.message).not.toContain(SIGNATURE);
    expect(cleaned.message).not.toContain('AKIAEXAMPLE');
    // An error that quotes none is passed on as it is.
    const other = new Error('Binder Error: column x not found');
    expect(credentialScrubber([SIGNED])(other)).toBe(other);
  });
});
