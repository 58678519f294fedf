import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from './helpers/cli.js';

// MlwatchModelVersionWorse carries, in its annotation rollback_command (and so in its ticket, which keeps the
// annotations), the rollback request to paste into a shell. promtool (prometheus/tests/model.test.yml) pins the
// exact text the rule renders for given labels; this test runs each of those texts through bash, with
// `mlwatch` replaced by a function that prints its arguments, and checks the shell hands mlwatch exactly the
// request the alert's labels ask for: a version with a quote, spaces or parentheses included.

interface ExpAlert {
  exp_labels: Record<string, string>;
  exp_annotations?: Record<string, string>;
}
interface TestFile {
  tests: { alert_rule_test?: { alertname: string; exp_alerts?: ExpAlert[] }[] }[];
}

const file = parse(readFileSync(`${ROOT}prometheus/tests/model.test.yml`, 'utf8')) as TestFile;
const commands = file.tests
  .flatMap((t) => t.alert_rule_test ?? [])
  .filter((a) => a.alertname === 'MlwatchModelVersionWorse')
  .flatMap((a) => a.exp_alerts ?? [])
  .map((a) => ({ labels: a.exp_labels, command: a.exp_annotations?.rollback_command as string }));

/** The arguments bash passes to `mlwatch` when it runs `command`. */
function argv(command: string): string[] {
  const r = spawnSync('bash', ['-c', `mlwatch() { printf '%s\\0' "$@"; }\n${command}`], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.split('\0').slice(0, -1);
}

describe('the rollback command of MlwatchModelVersionWorse', () => {
  it('is pinned by promtool for several alerts, one with a version a shell would misread', () => {
    expect(commands.length).toBeGreaterThanOrEqual(3);
    expect(commands.every((c) => typeof c.command === 'string')).toBe(true);
    expect(commands.some((c) => /['\s()]/.test(c.labels.previous_version as string))).toBe(true);
  });

  it.each(commands.map((c) => [`${c.labels.model} ${c.labels.version}`, c] as const))(
    '%s: the shell passes the request for the previous version, as is',
    (_name, { labels, command }) => {
      const args = argv(command);
      expect(args.slice(0, 7)).toEqual([
        'rollback',
        'request',
        '--model',
        labels.model,
        '--to-version',
        labels.previous_version,
        '--reason',
      ]);
      expect(args).toHaveLength(8);
      const reason = args[7] as string;
      expect(reason).toContain(`version ${labels.version} of ${labels.model}`);
      expect(reason).toContain(`worse than ${labels.previous_version} over the last ${labels.window}`);
    },
  );
});
