import { describe, expect, it } from 'vitest';
import { rejectsEachFixture } from './helpers/bad-config.js';
import { runCli } from './helpers/cli.js';

// Issue 11: a config mistake still names file, line, path and fix, but a value under a secret key (a password, a
// header) or the password of a URL is never shown; and a NUL in an identifier is a config error, not a crash.

const secretsDir = 'test/fixtures/bad-config-secrets';
const secretCases: [string, string][] = [
  [
    '01-password-number.yaml',
    "01-password-number.yaml:3 warehouse.password: expected a string, got a number (value hidden: warehouse.password is a secret); quote it (password: '...') so YAML reads it as text",
  ],
  [
    '02-state-password-boolean.yaml',
    "02-state-password-boolean.yaml:5 state.password: expected a string, got a boolean (value hidden: state.password is a secret); quote it (password: '...') so YAML reads it as text",
  ],
  [
    '03-header-not-string.yaml',
    '03-header-not-string.yaml:7 state.ticket_forward.headers.x-api-key: expected header values as strings',
  ],
  [
    '04-forward-url-bad-port.yaml',
    "04-forward-url-bad-port.yaml:5 state.ticket_forward.url: 'https://<redacted>@tracker:99999/api/issues' is not an http(s) URL; give the URL that receives the ticket events, e.g. https://tracker/api/issues",
  ],
  [
    '05-retrain-webhook-ftp.yaml',
    "05-retrain-webhook-ftp.yaml:10 models[0].retrain.webhook: 'ftp://deploy:<redacted>@ml-platform/retrain' is not an http(s) URL; give the URL that starts a retraining run, e.g. https://ml-platform/retrain",
  ],
  [
    '06-rollback-two-credentials.yaml',
    "06-rollback-two-credentials.yaml:10 models[0].rollback.webhook: 'https://ops:<redacted>@ml-platform/rollback' carries a user and password and headers set authorization too; keep one (the URL's user:password is sent as authorization: Basic)",
  ],
  [
    '07-report-prometheus-credentials.yaml',
    "07-report-prometheus-credentials.yaml:4 report.prometheus_url: 'http://admin:<redacted>@prometheus:9090' carries a user and password; mlwatch sends no credentials to Prometheus: give its address without them (a Prometheus on the internal network)",
  ],
  [
    '08-password-bad-reference.yaml',
    "08-password-bad-reference.yaml:3 warehouse.password: '<redacted>' is not a valid variable reference; write ${NAME} or ${NAME:-default}",
  ],
  [
    // The warehouse password, pasted where a cron expression belongs: hidden wherever it is quoted.
    '09-secret-quoted-elsewhere.yaml',
    "09-secret-quoted-elsewhere.yaml:5 queries[0].cron: '<redacted>' is not a valid cron expression (5 or 6 fields, e.g. '*/5 * * * *')",
  ],
];
// What the fixtures hold under secret keys and in URLs; none of it may reach the terminal.
const SECRETS = [
  '88442211',
  '5550123456789',
  'tr4ck3r-pw',
  'r3train-pw',
  'r0llback-pw',
  'r0llback-token',
  'pr0m3theus-pw',
  'hunter2',
  'w4rehouse-pw',
];

const nulDir = 'test/fixtures/bad-config-nul';
const nulCases: [string, string][] = [
  [
    '01-dataset-table.yaml',
    '01-dataset-table.yaml:5 datasets[0].table: contains a NUL character (\\0); remove it',
  ],
  [
    '02-dataset-name.yaml',
    '02-dataset-name.yaml:4 datasets[0].name: contains a NUL character (\\0); remove it',
  ],
  [
    '03-model-column.yaml',
    '03-model-column.yaml:7 models[0].predictions.key: contains a NUL character (\\0); remove it',
  ],
  [
    '04-metric-name.yaml',
    '04-metric-name.yaml:7 queries[0].metrics[0].name: contains a NUL character (\\0); remove it',
  ],
  [
    '05-column-key.yaml',
    '05-column-key.yaml:10 datasets[0].checks.validity.columns.ag\\0e: this key contains a NUL character (\\0); remove it',
  ],
];

const STACK = /\n\s+at /;

describe('secrets in bad configs', () => {
  rejectsEachFixture(secretsDir, secretCases);

  it('check-config prints every problem with file:line, path and fix, and no secret', () => {
    const r = runCli(['check-config', ...secretCases.map(([f]) => `${secretsDir}/${f}`)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(secretCases.map(([, line]) => `${secretsDir}/${line}\n`).join(''));
    for (const secret of SECRETS) expect(r.stderr).not.toContain(secret);
  });
});

describe('a NUL character in an identifier', () => {
  rejectsEachFixture(nulDir, nulCases);

  it('check-config names file:line and path, without a stack trace', () => {
    const r = runCli(['check-config', ...nulCases.map(([f]) => `${nulDir}/${f}`)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(nulCases.map(([, line]) => `${nulDir}/${line}\n`).join(''));
    expect(r.stderr).not.toContain('\u0000');
  });

  it.each([
    ['once', '--config'],
    ['serve', '--port', '0', '--config'],
  ])('%s refuses it the same way', (...args) => {
    const r = runCli([...args, `${nulDir}/01-dataset-table.yaml`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${nulDir}/${nulCases[0]?.[1]}\n`);
    expect(r.stderr).not.toMatch(STACK);
  });
});
