import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config/errors.js';
import { loadConfigText } from '../src/config/load.js';
import { loadWebConfigFile } from '../src/http/auth/web-config.js';
import { type Running, serve } from '../src/runtime/serve.js';
import { runCli } from './helpers/cli.js';
import { ACCESS_YAML, VIEWER_HEADERS } from './helpers/credentials.js';
import { memoryLogger } from './helpers/exporter.js';
import { parseExposition, sampleValue } from './helpers/exposition.js';
import { httpsRequest, makePki, OPENSSL, type TestPki } from './helpers/tls.js';
import { waitFor } from './helpers/wait.js';

// The web config (--web.config.file) in exporter-toolkit's format: its mistakes named like mlwatch.yaml's, and a
// real TLS server with basic auth, client certificates, live reloads of users and certificates, and its headers.

const dir = mkdtempSync(join(tmpdir(), 'mlwatch-web-'));
const write = (name: string, text: string) => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};
// Cost 4: the lowest bcrypt allows, so the tests spend no time hashing; the server treats every cost alike.
const hash = (pw: string) => bcrypt.hashSync(pw, 4);

function problemsOf(text: string): string {
  const file = write('bad.yml', text);
  try {
    loadWebConfigFile(file);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the web config to be refused');
}

describe('web config mistakes name the file, line, key and fix', () => {
  const f = join(dir, 'bad.yml');
  it.each([
    ['basic_auth_user:\n  a: x\n', `${f}:1 basic_auth_user: unknown key; did you mean 'basic_auth_users'?`],
    [
      'basic_auth_users:\n  prometheus: hunter2-plain-password\n',
      `${f}:2 basic_auth_users.prometheus: not a bcrypt hash ($2y$10$ and 53 more characters); make one with htpasswd -nBC 10 "" | tr -d ':\\n'`,
    ],
    [
      'tls_server_config:\n  key_file: k.pem\n',
      `${f}:1 tls_server_config.cert_file: missing; TLS needs the server certificate (cert_file)`,
    ],
    [
      'tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: Required\n',
      `${f}:4 tls_server_config.client_auth_type: 'Required' is not a client auth type; use NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert`,
    ],
    [
      'tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: RequireAndVerifyClientCert\n',
      `${f}:1 tls_server_config.client_ca_file: missing; RequireAndVerifyClientCert verifies client certificates against this CA`,
    ],
    [
      'tls_server_config:\n  cert_file: c\n  key_file: k\n  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n',
      `${f}:4 tls_server_config.cipher_suites[0]: 'TLS_RSA_WITH_RC4_128_SHA' is not a supported cipher suite; use Go's names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (docs/security.md lists them)`,
    ],
    [
      'tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: TLS13\n  max_version: TLS12\n',
      `${f}:5 tls_server_config.max_version: lower than min_version TLS13`,
    ],
    [
      'http_server_config:\n  headers:\n    Server: mlwatch\n',
      `${f}:3 http_server_config.headers.Server: not a header the web config may set; use Content-Security-Policy, X-Frame-Options, X-Content-Type-Options, X-XSS-Protection, Strict-Transport-Security`,
    ],
    [
      'tls_server_config:\n  cert_file: no-such.crt\n  key_file: k\n',
      `${f}:2 tls_server_config.cert_file: cannot read no-such.crt: no such file (relative to the web config's folder, ${dir})`,
    ],
  ])('%j', (text, message) => {
    expect(problemsOf(text)).toBe(message);
  });

  it('never quotes a value of basic_auth_users, which may be a password pasted by mistake', () => {
    expect(problemsOf('basic_auth_users:\n  prometheus: hunter2-plain-password\n')).not.toContain('hunter2');
  });

  it('serve exits 1 with the problem and no stack trace', () => {
    const config = write('m.yaml', `warehouse: { url: 'postgresql://127.0.0.1:1/x' }\n${ACCESS_YAML}`);
    const web = write('web-typo.yml', 'tls_server_conf: {}\n');
    const r = runCli(['serve', '--config', config, '--port', '0', '--web.config.file', web]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`${web}:1 tls_server_conf: unknown key; did you mean 'tls_server_config'?`);
  });
});

describe.skipIf(!OPENSSL)(
  'a TLS server with basic auth (needs openssl on PATH: scripts/install-stack-deps.sh)',
  () => {
    let pki: TestPki;
    let running: Running;
    let base: string;
    let webFile: string;
    let certFile: string;
    let keyFile: string;
    const logs = memoryLogger();
    const webConfig = (users: Record<string, string>, extra = '') =>
      `tls_server_config:\n  cert_file: ${certFile}\n  key_file: ${keyFile}\n` +
      `http_server_config:\n  headers:\n    X-Frame-Options: deny\n    X-Content-Type-Options: nosniff\n` +
      `basic_auth_users:\n${Object.entries(users)
        .map(([u, pw]) => `  ${u}: '${hash(pw)}'`)
        .join('\n')}\n${extra}`;

    beforeAll(async () => {
      pki = makePki();
      ({ certFile, keyFile } = pki.issue('server', { ip: ['127.0.0.1'], dns: ['localhost'] }));
      webFile = write('web.yml', webConfig({ prometheus: 'scrape-pw', am: 'am-pw' }));
      // am is a basic-auth user with the webhook role: a client entry without a token.
      const text =
        `warehouse: { url: 'postgresql://postgres@127.0.0.1:1/x' }\nstate: { url: 'postgresql://postgres@127.0.0.1:1/x' }\n` +
        `${ACCESS_YAML}    - { name: am, roles: [webhook] }\n`;
      const config = loadConfigText(text, 'tls.yaml', {}, '/');
      running = await serve({
        config,
        loadAgain: () => config,
        host: '127.0.0.1',
        port: 0,
        log: logs.log,
        webConfigFile: webFile,
        webConfigCheckMs: 100,
      });
      base = `https://127.0.0.1:${running.port}`;
    });
    afterAll(async () => {
      await running?.shutdown();
    });

    const basic = (u: string, pw: string) => ({
      authorization: `Basic ${Buffer.from(`${u}:${pw}`).toString('base64')}`,
    });
    const get = (path: string, headers: Record<string, string> = {}) =>
      httpsRequest(`${base}${path}`, { ca: pki.ca, headers });

    it('speaks TLS only, with the configured headers', async () => {
      expect(running.scheme).toBe('https');
      await expect(fetch(`http://127.0.0.1:${running.port}/healthz`)).rejects.toThrow();
      const health = await get('/healthz');
      expect([health.status, health.text]).toEqual([200, 'ok\n']);
      expect([health.headers['x-frame-options'], health.headers['x-content-type-options']]).toEqual([
        'deny',
        'nosniff',
      ]);
    });

    it('with basic_auth_users, /metrics needs a credential (exporter-toolkit), and any configured one will do', async () => {
      const none = await get('/metrics');
      expect([none.status, none.headers['www-authenticate']]).toEqual([
        401,
        'Basic realm="mlwatch", charset="UTF-8"',
      ]);
      expect((await get('/metrics', basic('prometheus', 'wrong'))).status).toBe(401);
      expect((await get('/metrics', basic('nobody', 'scrape-pw'))).status).toBe(401);
      expect((await get('/metrics', basic('prometheus', 'scrape-pw'))).status).toBe(200);
      expect((await get('/metrics', VIEWER_HEADERS)).status).toBe(200);
      expect((await get('/', basic('prometheus', 'scrape-pw'))).status).toBe(200);
    });

    it('a basic-auth user gets the roles of its access entry, and only those', async () => {
      const post = (headers: Record<string, string>) =>
        httpsRequest(`${base}/api/v1/alerts`, {
          ca: pki.ca,
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ version: '4', alerts: [] }),
        });
      // Past authentication, the unreachable state store answers: the credential was accepted.
      expect((await post(basic('am', 'am-pw'))).status).toBe(503);
      expect((await post(basic('prometheus', 'scrape-pw'))).status).toBe(403);
    });

    it('picks up a changed password without a restart, and keeps serving through a broken file', async () => {
      writeFileSync(webFile, webConfig({ prometheus: 'rotated-pw', am: 'am-pw' }));
      await waitFor(
        async () => (await get('/metrics', basic('prometheus', 'rotated-pw'))).status === 200,
        10_000,
        'new password',
      );
      expect((await get('/metrics', basic('prometheus', 'scrape-pw'))).status).toBe(401);

      writeFileSync(webFile, `${webConfig({ prometheus: 'rotated-pw' })}bogus: 1\n`);
      // A request makes the server look at its files (at most every webConfigCheckMs).
      await waitFor(
        async () =>
          (await get('/healthz')) &&
          logs.lines().some((l) => l.msg === 'web config refused; the previous one keeps serving'),
        10_000,
        'refusal logged',
      );
      // The previous users still apply (am is gone from the broken file, but the file was refused).
      expect((await get('/metrics', basic('am', 'am-pw'))).status).toBe(200);
      const m = parseExposition((await get('/metrics', basic('prometheus', 'rotated-pw'))).text);
      expect(sampleValue(m, 'mlwatch_web_config_last_reload_successful')).toBe(0);

      writeFileSync(webFile, webConfig({ prometheus: 'rotated-pw', am: 'am-pw' }));
      await waitFor(
        async () =>
          sampleValue(
            parseExposition((await get('/metrics', basic('prometheus', 'rotated-pw'))).text),
            'mlwatch_web_config_last_reload_successful',
          ) === 1,
        10_000,
        'reload successful again',
      );
    });

    it('serves a renewed certificate on the next connection, without a restart', async () => {
      const before = (await get('/healthz')).peerFingerprint;
      const renewed = pki.issue('server-renewed', { ip: ['127.0.0.1'] });
      // Replace the files in place, as cert-manager or certbot does.
      copyFileSync(renewed.certFile, certFile);
      copyFileSync(renewed.keyFile, keyFile);
      const after = await waitFor(
        async () => {
          const fp = (await get('/healthz')).peerFingerprint;
          return fp !== before ? fp : undefined;
        },
        10_000,
        'the renewed certificate',
      );
      expect(after).toBeDefined();
      expect(after).not.toBe(before);
    });
  },
);

describe.skipIf(!OPENSSL)('client certificates and the rate limit (needs openssl on PATH)', () => {
  let pki: TestPki;
  let running: Running;
  let base: string;

  beforeAll(async () => {
    pki = makePki();
    const server = pki.issue('server', { ip: ['127.0.0.1'] });
    const web = write(
      'web-mtls.yml',
      `tls_server_config:\n  cert_file: ${server.certFile}\n  key_file: ${server.keyFile}\n` +
        `  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${pki.caFile}\n` +
        '  client_allowed_sans: [prometheus.example]\n' +
        'rate_limit: { interval: 10s, burst: 2 }\n',
    );
    const config = loadConfigText(
      `warehouse: { url: 'postgresql://127.0.0.1:1/x' }\n${ACCESS_YAML}`,
      'mtls.yaml',
      {},
      '/',
    );
    running = await serve({
      config,
      loadAgain: () => config,
      host: '127.0.0.1',
      port: 0,
      log: memoryLogger().log,
      webConfigFile: web,
    });
    base = `https://127.0.0.1:${running.port}`;
  });
  afterAll(async () => {
    await running?.shutdown();
  });

  it('RequireAndVerifyClientCert: no certificate, a stranger CA or a SAN not allowed never get an answer', async () => {
    const { readFileSync } = await import('node:fs');
    const load = (c: { certFile: string; keyFile: string }) => ({
      cert: readFileSync(c.certFile, 'utf8'),
      key: readFileSync(c.keyFile, 'utf8'),
    });
    await expect(httpsRequest(`${base}/healthz`, { ca: pki.ca })).rejects.toThrow();
    const stranger = makePki().issue('prometheus', { dns: ['prometheus.example'], client: true });
    await expect(httpsRequest(`${base}/healthz`, { ca: pki.ca, ...load(stranger) })).rejects.toThrow();
    const otherSan = pki.issue('grafana', { dns: ['grafana.example'], client: true });
    await expect(httpsRequest(`${base}/healthz`, { ca: pki.ca, ...load(otherSan) })).rejects.toThrow();
    const ok = pki.issue('prometheus', { dns: ['prometheus.example'], client: true });
    const r = await httpsRequest(`${base}/healthz`, { ca: pki.ca, ...load(ok) });
    expect([r.status, r.text]).toEqual([200, 'ok\n']);

    // rate_limit: 2 in a burst, then one every 10 s. The answered request above took one of the two (the refused
    // handshakes never reached HTTP); the next takes the other, and the rest are refused.
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await httpsRequest(`${base}/healthz`, { ca: pki.ca, ...load(ok) })).status);
    expect(statuses).toEqual([200, 429, 429, 429]);
  });
});
