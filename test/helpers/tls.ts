import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toolOnPath } from './tools.js';

/**
 * Test certificates made with the openssl CLI (Debian's openssl; scripts/install-stack-deps.sh installs it when
 * missing): a CA, a server certificate for 127.0.0.1 and localhost signed by it, and client certificates. Files,
 * because the web config names files, as an operator's would.
 */
/** Whether the openssl CLI is on PATH: without it the TLS tests are skipped (npm test with Node alone), not under CI. */
export const OPENSSL = toolOnPath('openssl') !== undefined;

export interface TestPki {
  dir: string;
  caFile: string;
  ca: string;
  /** Issues a certificate signed by the CA; `ip` and `dns` become its subject alternative names. */
  issue(
    name: string,
    o?: { ip?: string[]; dns?: string[]; client?: boolean },
  ): { certFile: string; keyFile: string };
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

export function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'mlwatch-pki-'));
  openssl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2'].concat([
      '-subj',
      '/CN=mlwatch test CA',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
    ]),
    dir,
  );
  const issue = (name: string, o: { ip?: string[]; dns?: string[]; client?: boolean } = {}) => {
    const sans = [...(o.ip ?? []).map((ip) => `IP:${ip}`), ...(o.dns ?? []).map((d) => `DNS:${d}`)];
    const ext = [
      ...(sans.length ? [`subjectAltName=${sans.join(',')}`] : []),
      `extendedKeyUsage=${o.client ? 'clientAuth' : 'serverAuth'}`,
    ].join('\n');
    writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
    openssl(
      [
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-subj',
        `/CN=${name}`,
      ].concat(['-keyout', `${name}.key`, '-out', `${name}.csr`]),
      dir,
    );
    openssl(
      ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial'].concat([
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
        '-out',
        `${name}.crt`,
      ]),
      dir,
    );
    return { certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
  };
  const caFile = join(dir, 'ca.crt');
  return { dir, caFile, ca: readFileSync(caFile, 'utf8'), issue };
}

export interface HttpsAnswer {
  status: number;
  text: string;
  headers: Record<string, string | string[] | undefined>;
  /** SHA-256 fingerprint of the certificate the server presented. */
  peerFingerprint?: string | undefined;
}

/** One HTTPS request trusting `ca` (global fetch cannot take a CA), optionally with a client certificate. */
export function httpsRequest(
  url: string,
  o: {
    ca: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    cert?: string;
    key?: string;
  },
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: o.method ?? 'GET',
        headers: o.headers ?? {},
        ca: o.ca,
        ...(o.cert ? { cert: o.cert, key: o.key } : {}),
        // A new connection each time: a rotated certificate must be seen on the next request.
        agent: false,
      },
      (res) => {
        const peer = (res.socket as import('node:tls').TLSSocket).getPeerCertificate?.();
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            text,
            headers: res.headers,
            peerFingerprint: peer?.fingerprint256,
          });
        });
      },
    );
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    if (o.body !== undefined) req.write(o.body);
    req.end();
  });
}
