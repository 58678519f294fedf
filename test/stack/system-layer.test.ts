import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allPanelQueries } from '../../tools/dashboard-lint.js';
import { waitFor } from '../helpers/wait.js';
import { type Stack, settle, startStack } from './stack.js';

// The exporter's own health end to end, and the dashboards against the live Prometheus.
const timings: Record<string, number> = {};
let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  console.log('system layer: ms from fault to first webhook', JSON.stringify(timings));
  await s?.stop();
});

describe('the live stack: system layer', () => {
  it('every dashboard panel query returns data from the live Prometheus', async () => {
    // Rates need two scrapes in their window.
    await settle(3000);
    const empty: string[] = [];
    for (const q of allPanelQueries()) {
      if ((await s.prom.query(q.expr)).length === 0) empty.push(`${q.dashboard} / ${q.panel}: ${q.expr}`);
    }
    expect(empty).toEqual([]);
  });

  it("the exporter's exposition passes promtool check metrics", async () => {
    // Here, before the fault tests, on purpose: it once ran in a stack of its own because the fault tests after
    // it stopped seeing both critical notifications. The likely cause, since fixed (fcf53d4): the exporter
    // closed idle keep-alive connections after Node's 5 s, and a client reusing one just then (the recorder
    // forwarding Alertmanager's ticketing webhook to the exporter) got "other side closed".
    const res = await s.get('/metrics');
    expect(res.status, res.text).toBe(200);
    const r = spawnSync('promtool', ['check', 'metrics'], { input: res.text, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('a check whose table disappears: MlwatchCheckFailing reaches ticketing only, then resolves', async () => {
    const since = Date.now();
    await s.writer.exec(`ALTER TABLE ${s.schema}.decisions RENAME TO decisions_moved`);
    const labels = { alertname: 'MlwatchCheckFailing', check: 'query:approval_ratio' };
    expect(await s.delivered(labels, since)).toEqual(['ticketing']);
    timings.check_failing = (s.recorder.firstArrival(labels, 'firing', since) as number) - since;
    const alert = s.recorder.received.find((n) =>
      n.alerts.some((a) => a.labels.alertname === 'MlwatchCheckFailing'),
    )?.alerts[0];
    expect(alert?.labels).toMatchObject({
      severity: 'warning',
      layer: 'system',
      team: 'platform',
      depends_on: 'warehouse',
    });
    expect(alert?.annotations.runbook_url).toMatch(/docs\/runbooks\/MlwatchCheckFailing\.md$/);

    const fixed = Date.now();
    await s.writer.exec(`ALTER TABLE ${s.schema}.decisions_moved RENAME TO decisions`);
    expect(await s.receivers(labels, 'resolved', fixed)).toEqual(['ticketing']);
    timings.check_failing_resolved = (s.recorder.firstArrival(labels, 'resolved', fixed) as number) - fixed;

    // The ticketing webhook, as Alertmanager sent it, reached the exporter's ticket log: one ticket, resolved.
    const ticket = await waitFor(
      async () => {
        const res = await s.get('/api/v1/tickets?state=resolved');
        if (res.status !== 200) throw new Error(`tickets: ${res.status} ${res.text}`);
        const { tickets } = JSON.parse(res.text) as { tickets: { labels: Record<string, string> }[] };
        return tickets.find((t) => t.labels.check === 'query:approval_ratio');
      },
      20_000,
      'a resolved ticket for the failing check',
    );
    expect(ticket).toMatchObject({ alertname: 'MlwatchCheckFailing', severity: 'warning', team: 'platform' });
    expect(s.recorder.forwarded.ticketing?.every((status) => status === 200)).toBe(true);
  });

  it('the warehouse going away pages platform on-call and silences the check alerts that depend on it', async () => {
    const since = Date.now();
    await s.proxy.cut();
    const labels = { alertname: 'MlwatchWarehouseUnreachable' };
    await waitFor(
      () => s.recorder.receiversOf(labels, 'firing', since).length === 2,
      120_000,
      'page and ticket',
      s.explain('MlwatchWarehouseUnreachable'),
    );
    timings.warehouse_unreachable = (s.recorder.firstArrival(labels, 'firing', since) as number) - since;
    expect(s.recorder.receiversOf(labels, 'firing', since)).toEqual(['platform-oncall', 'ticketing']);

    // Every check now fails; once their alerts fire in Prometheus, Alertmanager must hold them back.
    const suppressed = await waitFor(
      async () => {
        const failing = (await s.am.alerts()).filter((a) => a.labels.alertname === 'MlwatchCheckFailing');
        return failing.length >= 8 && failing.every((a) => a.status.state === 'suppressed')
          ? failing
          : undefined;
      },
      120_000,
      'check alerts suppressed',
    );
    expect(suppressed.every((a) => a.status.inhibitedBy.length > 0)).toBe(true);
    expect(s.recorder.receiversOf({ alertname: 'MlwatchCheckFailing' }, 'firing', since)).toEqual([]);

    const back = Date.now();
    await s.proxy.restore();
    expect(await s.receivers(labels, 'resolved', back, 2)).toEqual(['platform-oncall', 'ticketing']);
    // The exporter lived through the cut (a connection dying mid-check once crashed it).
    expect(s.exporter.child.exitCode).toBeNull();
    timings.warehouse_unreachable_resolved =
      (s.recorder.firstArrival(labels, 'resolved', back) as number) - back;
  });

  it('the exporter going away pages platform on-call', async () => {
    const since = Date.now();
    await s.exporter.stop('SIGKILL');
    const labels = { alertname: 'MlwatchExporterDown' };
    await waitFor(
      () => s.recorder.receiversOf(labels, 'firing', since).length === 2,
      120_000,
      'exporter down',
      s.explain('MlwatchExporterDown'),
    );
    timings.exporter_down = (s.recorder.firstArrival(labels, 'firing', since) as number) - since;
    expect(s.recorder.receiversOf(labels, 'firing', since)).toEqual(['platform-oncall', 'ticketing']);
  });
});
