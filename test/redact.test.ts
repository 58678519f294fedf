import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';
import { isSecretKey, Redactor, redactUrl } from '../src/redact.js';

describe('isSecretKey', () => {
  it.each([
    [['warehouse', 'password']],
    [['state', 'password']],
    [['state', 'ticket_forward', 'headers', 'authorization']],
    [['models', 0, 'retrain', 'headers', 'x-api-key']],
    [['report', 'headers']],
    [['approvers', 2, 'token_sha256']],
    [['x', 'API_KEY']],
    [['x', 'client_secret']],
  ])('%j holds a secret', (path) => {
    expect(isSecretKey(path)).toBe(true);
  });

  it.each([
    [['warehouse', 'url']],
    [['warehouse', 'password_file']],
    [['state', 'ticket_forward', 'url']],
    [['approvers', 0, 'name']],
    [['queries', 0, 'metrics', 1, 'name']],
    [[]],
  ])('%j does not', (path) => {
    expect(isSecretKey(path)).toBe(false);
  });
});

describe('redactUrl', () => {
  it.each([
    // The user stays (it names the role); the password goes; the rest is as written, not re-serialised.
    ['postgresql://mlwatch:s3cret@db:5432/wh', 'postgresql://mlwatch:<redacted>@db:5432/wh'],
    ['https://bot:tr4cker@tracker', 'https://bot:<redacted>@tracker'],
    // A raw @ in the password: the last @ of the authority ends the userinfo.
    ['postgresql://u:p@ss@db/wh', 'postgresql://u:<redacted>@db/wh'],
    ['postgresql://u:p%40ss@db/wh', 'postgresql://u:<redacted>@db/wh'],
    // libpq's password parameter.
    [
      'postgresql://u@db/wh?sslmode=require&password=s3cret',
      'postgresql://u@db/wh?sslmode=require&password=<redacted>',
    ],
    // Unparsable (a port out of range, a / in the password): everything between // and the last @.
    ['https://bot:tr4cker@tracker:99999/api', 'https://<redacted>@tracker:99999/api'],
    ['postgresql://u:pa/ss@db/wh', 'postgresql://<redacted>@db/wh'],
    ['https//bot:tr4cker@tracker/api', 'https//<redacted>@tracker/api'],
  ])('%s -> %s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });

  it.each([
    'postgresql://mlwatch@db:5432/wh',
    'https://tracker/api/issues?project=ML',
    'pglite:memory',
    'not a url at all',
  ])('leaves %s as it is', (url) => {
    expect(redactUrl(url)).toBe(url);
  });
});

describe('Redactor', () => {
  it('replaces every secret of a config tree, longest first, and nothing else', () => {
    const r = new Redactor().addTree({
      warehouse: { url: 'postgresql://mlwatch:p%40ssw0rd@db/wh', password: 'hunter22' },
      state: { ticket_forward: { url: 'https://t/x', headers: { authorization: 'Bearer t0ken-abc' } } },
      queries: [{ name: 'orders', help: 'mail ops@example.com' }],
    });
    expect(
      r.redact(
        'connect failed for p%40ssw0rd / p@ssw0rd; hunter22 hunter2; header Bearer t0ken-abc, token t0ken-abc; orders ops@example.com',
      ),
    ).toBe(
      'connect failed for <redacted> / <redacted>; <redacted> hunter2; header <redacted>, token <redacted>; orders ops@example.com',
    );
  });

  it('keeps a number under a secret key, and skips values too short to be passwords', () => {
    const r = new Redactor().addTree({ warehouse: { password: 88442211 }, state: { password: 'abc' } });
    expect(r.redact('got 88442211 and abc')).toBe('got <redacted> and abc');
  });

  it('hides a ${...} reference left unresolved under a secret key', () => {
    const r = new Redactor().addTree({ warehouse: { password: 'x${hunter2 pw}' } });
    expect(r.redact("'${hunter2 pw}' is not a valid variable reference")).toBe(
      "'<redacted>' is not a valid variable reference",
    );
  });

  it('takes the password of a URL given alone', () => {
    const r = new Redactor().addUrl('postgresql://postgres:s3cretpw@127.0.0.1:5432/test');
    expect(r.redact('postgresql://postgres:s3cretpw@127.0.0.1:5432/test refused')).toBe(
      'postgresql://postgres:<redacted>@127.0.0.1:5432/test refused',
    );
  });
});

describe('log lines', () => {
  it('redact passwords, tokens and every header value', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const log = createLogger('info', sink);
    log.info(
      {
        password: 'pw-top-level',
        config: { password: 'pw-nested', token: 'tok-nested' },
        headers: { authorization: 'Basic dTpwdw==', 'x-api-key': 'key-123' },
        req: { headers: { cookie: 'session=abc' } },
        model: 'credit_default',
      },
      'calling the webhook',
    );
    const line = JSON.parse(lines.join(''));
    expect(line).toMatchObject({
      password: '<redacted>',
      config: { password: '<redacted>', token: '<redacted>' },
      headers: { authorization: '<redacted>', 'x-api-key': '<redacted>' },
      req: { headers: { cookie: '<redacted>' } },
      model: 'credit_default',
      msg: 'calling the webhook',
    });
  });
});
