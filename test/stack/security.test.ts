import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ticket } from '../../src/actions/tickets/tickets.js';
import { httpsRequest } from '../helpers/tls.js';
import { waitFor } from '../helpers/wait.js';
import { type Stack, settle, startStack } from './stack.js';

// The stack's credentials doing their work end to end (docs/security.md): Prometheus scrapes over https as a
// basic-auth user, Alertmanager's webhooks carry its token to the exporter, and the exporter refuses what comes
// without the right credential. A stack of its own: the probes below post alerts and fail logins on purpose,
// which the layer tests' exact receiver lists should not see.
let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s?.stop();
});

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function tickets(): Promise<Ticket[]> {
  const r = await s.get('/api/v1/tickets?limit=1000');
  if (r.status !== 200) throw new Error(`tickets: ${r.status} ${r.text}`);
  return (JSON.parse(r.text) as { tickets: Ticket[] }).tickets;
}

/** An Alertmanager webhook body (version 4) with one firing alert, as the ticketing receiver posts it. */
function payload(labels: Record<string, string>) {
  return JSON.stringify({
    version: '4',
    status: 'firing',
    receiver: 'ticketing',
    groupLabels: {},
    alerts: [
      {
        status: 'firing',
        labels,
        annotations: { summary: 'posted by the stack test, not by Alertmanager' },
        startsAt: new Date().toISOString(),
        fingerprint: randomBytes(8).toString('hex'),
      },
    ],
  });
}

describe('the live stack: security', () => {
  it('Prometheus scrapes the exporter over https as its basic-auth user: up == 1', async () => {
    const targets = (
      (await (await fetch(`${s.prom.url}/api/v1/targets`)).json()) as {
        data: {
          activeTargets: { labels: { job: string }; scrapeUrl: string; health: string; lastError: string }[];
        };
      }
    ).data.activeTargets.filter((t) => t.labels.job === 'mlwatch');
    expect(targets).toHaveLength(1);
    expect(targets[0]?.scrapeUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(targets[0]).toMatchObject({ health: 'up', lastError: '' });
    const up = await s.prom.query('up{job="mlwatch"}');
    expect(up.map((r) => r.value[1])).toEqual(['1']);
  });

  it('GET /metrics answers 401 without credentials (or with a wrong password), 200 with the scrape user', async () => {
    const anonymous = await s.request('/metrics');
    expect(anonymous.status).toBe(401);
    // Basic first: a browser opening the page is asked for a password.
    expect(anonymous.headers['www-authenticate']).toMatch(/^Basic /);
    expect(anonymous.text).not.toContain('mlwatch_check_success');

    const wrong = await s.request('/metrics', {
      headers: { authorization: basic(s.scrape.username, 'not-the-password') },
    });
    expect(wrong.status).toBe(401);

    const password = readFileSync(s.scrape.passwordFile, 'utf8');
    const scraped = await s.request('/metrics', {
      headers: { authorization: basic(s.scrape.username, password) },
    });
    expect(scraped.status).toBe(200);
    expect(scraped.text).toContain('mlwatch_check_success');
  });

  it('plain http on the https port fails, and https needs the stack CA', async () => {
    const port = s.exporter.port;
    // /healthz needs no credential, so only the transport can make these fail.
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    // Global fetch trusts the system's CAs only, not the stack's.
    await expect(fetch(`https://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    const ok = await httpsRequest(`https://127.0.0.1:${port}/healthz`, { ca: s.ca });
    expect(ok.status).toBe(200);
  });

  it("a real Alertmanager notification reaches the ticket log with Alertmanager's token, and only mlwatch gets it", async () => {
    const token = readFileSync(s.am.tokenFile, 'utf8');
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    const probe = randomBytes(6).toString('hex');
    // critical, layer system, team platform: the ticketing and platform-oncall receivers (routes.tsv).
    const labels = {
      alertname: 'MlwatchStackSecurityProbe',
      severity: 'critical',
      layer: 'system',
      team: 'platform',
      probe,
    };
    const since = Date.now();
    const posted = await fetch(`${s.am.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ labels, annotations: { summary: 'stack security probe' } }]),
    });
    expect(posted.status, await posted.text()).toBe(200);

    const ticket = await waitFor(
      async () => (await tickets()).find((t) => t.labels.probe === probe),
      30_000,
      'a ticket for the probe alert',
      s.explain('MlwatchStackSecurityProbe'),
    );
    expect(ticket).toMatchObject({
      alertname: 'MlwatchStackSecurityProbe',
      severity: 'critical',
      state: 'open',
    });

    await settle(2000);
    const notified = s.recorder.received.filter(
      (n) => n.at >= since && n.alerts.some((a) => a.labels.probe === probe),
    );
    expect(notified.map((n) => n.receiver).sort()).toEqual(['platform-oncall', 'ticketing']);
    // Alertmanager sent its credentials file's content to mlwatch's receiver, and nothing to the paging bridge:
    // the token is for mlwatch only.
    for (const n of notified) {
      expect(n.authorization, n.receiver).toBe(n.receiver === 'ticketing' ? `Bearer ${token}` : undefined);
    }
    expect(s.recorder.forwarded.ticketing?.length).toBeGreaterThan(0);
    expect(s.recorder.forwarded.ticketing?.every((status) => status === 200)).toBe(true);
  });

  it('POST /api/v1/alerts without credentials is 401, with the viewer token 403, and makes no ticket', async () => {
    const forged = {
      alertname: 'MlwatchForgedAlert',
      severity: 'critical',
      layer: 'system',
      team: 'platform',
    };
    const post = (headers: Record<string, string>) =>
      s.request('/api/v1/alerts', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: payload(forged),
      });

    const anonymous = await post({});
    expect(anonymous.status, anonymous.text).toBe(401);
    const guessed = await post({ authorization: `Bearer ${randomBytes(32).toString('hex')}` });
    expect(guessed.status, guessed.text).toBe(401);
    // The viewer is a known client, so it is authenticated, but it lacks the webhook role.
    const asViewer = await post({ authorization: `Bearer ${s.viewerToken}` });
    expect(asViewer.status, asViewer.text).toBe(403);
    expect((await tickets()).filter((t) => t.alertname === 'MlwatchForgedAlert')).toEqual([]);

    // The same body with the webhook token is taken: the refusals above were about the credential, not the body.
    const token = readFileSync(s.am.tokenFile, 'utf8');
    const accepted = await post({ authorization: `Bearer ${token}` });
    expect(accepted.status, accepted.text).toBe(200);
    expect((await tickets()).filter((t) => t.alertname === 'MlwatchForgedAlert')).toHaveLength(1);
  });
});
