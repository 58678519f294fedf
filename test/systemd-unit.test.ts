import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '../src/config/load.js';
import { CLI, ROOT, runCli } from './helpers/cli.js';
import { toolOnPath } from './helpers/tools.js';

// deploy/systemd/mlwatch.service, the unit the npm package ships (docs/install.md): its keys read as an INI
// file and say what the hardening promises, its command line is one the CLI accepts, and systemd's own
// `systemd-analyze verify` and `security --offline` judge the file (CI installs systemd for it,
// scripts/install-stack-deps.sh). Nothing here starts it under systemd.

const UNIT = join(ROOT, 'deploy', 'systemd', 'mlwatch.service');
const text = readFileSync(UNIT, 'utf8');
const analyze = toolOnPath('systemd-analyze');

/** Section -> key -> every value the key is given, in order (systemd keys may repeat). */
function parseUnit(unit: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  unit.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const section = /^\[([A-Za-z]+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1] as string, current);
      return;
    }
    const kv = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line);
    if (!kv || !current) throw new Error(`line ${i + 1} is neither a [Section] nor Key=value: ${raw}`);
    const key = kv[1] as string;
    current.set(key, [...(current.get(key) ?? []), kv[2] as string]);
  });
  return sections;
}

const unit = parseUnit(text);
const service = unit.get('Service') as Map<string, string[]>;
const one = (key: string) => service.get(key)?.at(-1);

const dir = mkdtempSync(join(tmpdir(), 'mlwatch-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the systemd unit', () => {
  it('has the sections a service needs, and every line is a key or a section', () => {
    expect([...unit.keys()]).toEqual(['Unit', 'Service', 'Install']);
    expect(unit.get('Install')?.get('WantedBy')).toEqual(['multi-user.target']);
  });

  it('runs serve on the packaged config, reloads on SIGHUP and restarts after a failure', () => {
    expect(one('ExecStart')).toBe(
      '/usr/local/bin/mlwatch serve --config /etc/mlwatch/mlwatch.yaml --host 0.0.0.0',
    );
    expect(one('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(one('Restart')).toBe('on-failure');
    // The docs it names are in the package, under the same npm prefix as the command.
    expect(unit.get('Unit')?.get('Documentation')).toEqual([
      'file:///usr/local/lib/node_modules/mlwatch/docs/install.md',
    ]);
  });

  it('is hardened: its own user, a read-only system, no privileges, and no writable path but its state', () => {
    const expected: Record<string, string> = {
      DynamicUser: 'yes',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      PrivateDevices: 'yes',
      NoNewPrivileges: 'yes',
      CapabilityBoundingSet: '',
      RestrictSUIDSGID: 'yes',
      StateDirectory: 'mlwatch',
      UMask: '0077',
    };
    for (const [key, value] of Object.entries(expected)) expect(one(key), key).toBe(value);
    // The only writable place is the StateDirectory; no ReadWritePaths widens it.
    expect(service.has('ReadWritePaths')).toBe(false);
    // V8's JIT writes and then executes code pages: this would kill node at start.
    expect(one('MemoryDenyWriteExecute')).not.toBe('yes');
  });

  it('passes a command line the CLI accepts', () => {
    const [, ...args] = (one('ExecStart') as string).split(' ');
    // The packaged config path, swapped for one that does not exist: the flags parse, and the CLI gets as
    // far as reading the config.
    const r = runCli(args.map((a) => (a === '/etc/mlwatch/mlwatch.yaml' ? join(dir, 'none.yaml') : a)));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot read the config file: no such file');
  });

  it('reads a password handed over with LoadCredential=, as the unit and docs/install.md say', () => {
    writeFileSync(join(dir, 'warehouse-password'), 's3cret-pw\n');
    const c = loadConfigText(
      "warehouse: { url: 'postgresql://mlwatch@db:5432/dw', password_file: '${CREDENTIALS_DIRECTORY}/warehouse-password' }\n",
      'm.yaml',
      { CREDENTIALS_DIRECTORY: dir },
      '/',
    );
    expect(c.warehouse.password).toBe('s3cret-pw');
  });

  it.runIf(analyze)('passes systemd-analyze verify without a warning, and rates as OK', () => {
    // verify checks that ExecStart's program exists: the copy runs the repository's bin/mlwatch.js instead of
    // /usr/local/bin/mlwatch, which is only there after `npm install -g`.
    const copy = join(dir, 'mlwatch.service');
    writeFileSync(copy, text.replace('/usr/local/bin/mlwatch ', `${CLI} `));
    const verify = spawnSync(analyze as string, ['verify', copy], { encoding: 'utf8' });
    expect(verify.stderr).toBe('');
    expect(verify.status).toBe(0);

    const security = spawnSync(analyze as string, ['security', '--offline=yes', copy], { encoding: 'utf8' });
    const level = /Overall exposure level for mlwatch\.service: ([\d.]+) (\w+)/.exec(security.stdout);
    expect(level, security.stdout + security.stderr).not.toBeNull();
    // 0 is fully locked down, 10 unprotected; systemd calls up to 2.0 "OK".
    expect(Number(level?.[1])).toBeLessThanOrEqual(2);
  });
});
