import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli } from './helpers/cli.js';

// The npm package as `npm publish` would send it (issue 17: 116 source maps whose sources were not shipped, no
// example config, no LICENSE), then installed for real with `npm install -g` into a scratch prefix.
// --ignore-scripts on pack: without it npm runs prepack (which empties dist/) and prepare (which rebuilds it)
// while other test files run the CLI from dist/; `npm test` built it just before. A dist/ left over from an
// older build can hold files a fresh one has not: `npm pack` itself starts from an empty dist/ (prepack).

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  license: string;
  bin: Record<string, string>;
};

interface PackedFile {
  path: string;
  mode: number;
}

function npm(args: string[], cwd = ROOT) {
  const r = spawnSync('npm', args, { cwd, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

const packed = (
  JSON.parse(npm(['pack', '--dry-run', '--json', '--ignore-scripts'])) as { files: PackedFile[] }[]
)[0]?.files as PackedFile[];
const paths = new Set(packed.map((f) => f.path));

/** Every file under dir (relative to ROOT, with / separators). */
function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(ROOT, join(d.parentPath, d.name)).split('\\').join('/'));
}

describe('npm pack', () => {
  it('ships the CLI, the example config, LICENSE, README, CHANGELOG, the systemd unit and the role script', () => {
    for (const p of [
      'package.json',
      'README.md',
      'LICENSE',
      'CHANGELOG.md',
      'mlwatch.example.yaml',
      'bin/mlwatch.js',
      'dist/cli.js',
      'dist/version.js',
      'deploy/systemd/mlwatch.service',
      'docs/install.md',
      'docs/warehouse-role.sql',
    ]) {
      expect(paths, p).toContain(p);
    }
    expect(Object.values(pkg.bin)).toEqual(['bin/mlwatch.js']);
    expect(readFileSync(join(ROOT, 'bin/mlwatch.js'), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
  });

  it('ships nothing else: no sources, tests, secrets or build settings', () => {
    const allowed =
      /^(bin|dist|docs|deploy\/systemd)\/|^(package\.json|README\.md|LICENSE|CHANGELOG\.md|mlwatch\.example\.yaml)$/;
    expect([...paths].filter((p) => !allowed.test(p))).toEqual([]);
    // docs/ as text: no dashboard images (they are for the repository's README).
    expect([...paths].filter((p) => p.startsWith('docs/') && !/\.(md|sql)$/.test(p))).toEqual([]);
  });

  it('dist/ is exactly the build of src/: every module compiled, nothing left from an older build', () => {
    const expected = filesUnder('src')
      .filter((p) => p.endsWith('.ts'))
      .map((p) => p.replace(/^src\//, 'dist/').replace(/\.ts$/, '.js'));
    const shipped = [...paths].filter((p) => p.startsWith('dist/'));
    const hint = 'dist/ holds another build: rm -rf dist && npm run build';
    expect(
      shipped.filter((p) => !expected.includes(p)),
      hint,
    ).toEqual([]);
    expect(
      expected.filter((p) => !paths.has(p)),
      hint,
    ).toEqual([]);
  });

  it('has no source map that points at a file it does not ship', () => {
    const dangling: string[] = [];
    for (const p of paths) {
      if (p.endsWith('.js')) {
        const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(ROOT, p), 'utf8'))?.[1];
        if (url && !url.startsWith('data:') && !paths.has(posix.join(posix.dirname(p), url)))
          dangling.push(`${p} -> ${url}`);
      }
      if (p.endsWith('.map')) {
        const map = JSON.parse(readFileSync(join(ROOT, p), 'utf8')) as {
          sources: string[];
          sourcesContent?: unknown[];
        };
        // Sources carried inside the map need no file beside it.
        if (map.sourcesContent?.length === map.sources.length) continue;
        for (const s of map.sources) {
          const source = posix.join(posix.dirname(p), s);
          if (!paths.has(source)) dangling.push(`${p} -> ${source}`);
        }
      }
    }
    expect(dangling).toEqual([]);
  });

  it('LICENSE is the full Apache License 2.0 that package.json declares', () => {
    expect(pkg.license).toBe('Apache-2.0');
    const text = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
    expect(text).toContain('Apache License\n                           Version 2.0, January 2004');
    expect(text).toContain('END OF TERMS AND CONDITIONS');
    // The SHA-256 of apache.org's LICENSE-2.0.txt, as Debian ships it in /usr/share/common-licenses/Apache-2.0.
    expect(createHash('sha256').update(text).digest('hex')).toBe(
      'cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30',
    );
  });

  it('CHANGELOG.md starts with the version package.json has', () => {
    const first = readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8').match(/^## (\S+)/m)?.[1];
    expect(first).toBe(pkg.version);
  });
});

describe('npm install -g of the packed tarball', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlwatch-install-'));
  const prefix = join(dir, 'prefix');
  const installed = join(prefix, 'lib', 'node_modules', 'mlwatch');
  const mlwatch = join(prefix, 'bin', 'mlwatch');
  const run = (args: string[]) => spawnSync(mlwatch, args, { cwd: dir, encoding: 'utf8', timeout: 60_000 });

  beforeAll(() => {
    const [{ filename }] = JSON.parse(
      npm(['pack', '--json', '--ignore-scripts', '--pack-destination', dir]),
    ) as [{ filename: string }];
    // Dependencies from npm's cache when it has them (npm ci filled it); the package has no install script.
    npm(
      [
        'install',
        '-g',
        '--prefix',
        prefix,
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--ignore-scripts',
        join(dir, filename),
      ],
      dir,
    );
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('puts mlwatch on the path, and `mlwatch --version` prints the package version', () => {
    const r = run(['--version']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
    // The clone's CLI says the same.
    expect(runCli(['--version']).stdout.trim()).toBe(pkg.version);
  });

  it('the shipped example config passes check-config with the shipped build', () => {
    const r = run(['check-config', join(installed, 'mlwatch.example.yaml')]);
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });

  it('runs checks with its production dependencies alone', () => {
    // No devDependency in the tree: the install is what a user gets.
    expect(existsSync(join(installed, 'node_modules', 'vitest'))).toBe(false);
    const config = join(dir, 'mlwatch.yaml');
    writeFileSync(
      config,
      `warehouse: { url: 'pglite:memory' }
queries:
  - { name: answer, sql: SELECT 42 AS n, metrics: [{ name: t_answer, help: The answer., value: n }] }
`,
    );
    const r = run(['once', '--config', config]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('\nt_answer 42\n');
  });

  it('holds the role script where the start-up hint looks for it, and the systemd unit', () => {
    // Resolved as dist/commands/login-hint.js resolves it (roleScript()).
    const hint = pathToFileURL(join(installed, 'dist', 'commands', 'login-hint.js'));
    expect(existsSync(hint)).toBe(true);
    expect(existsSync(new URL('../../docs/warehouse-role.sql', hint))).toBe(true);
    expect(existsSync(join(installed, 'deploy', 'systemd', 'mlwatch.service'))).toBe(true);
  });
});
