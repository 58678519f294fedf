import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An alert as Prometheus' GET /api/v1/alerts lists it. */
export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'firing' | 'pending';
  activeAt: string;
  value: string;
}

/** The critical AUC alert of model `credit` as Prometheus lists it, firing since `minutesAgo`. */
export function aucLowAlert(
  summary: string,
  runbookUrl: string,
  minutesAgo: number,
  value: string,
): PromAlert {
  return {
    labels: {
      alertname: 'MlwatchModelAucLow',
      severity: 'critical',
      layer: 'model',
      team: 'data-science',
      model: 'credit',
      window: '14d',
    },
    annotations: { summary, runbook_url: runbookUrl },
    state: 'firing',
    activeAt: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
    value,
  };
}

/**
 * A stand-in for Prometheus' alerts API on a free port: answers GET /api/v1/alerts with `alerts`, or, with
 * `hang`, never answers (a Prometheus that accepts connections and stalls). Counts the calls.
 */
export async function fakePrometheus(alerts: PromAlert[] = []) {
  let calls = 0;
  const state = { alerts, hang: false };
  const server: Server = createServer((req, res) => {
    calls++;
    if (state.hang) return;
    if (req.method !== 'GET' || req.url !== '/api/v1/alerts') {
      res.writeHead(404).end();
      return;
    }
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ status: 'success', data: { alerts: state.alerts } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    state,
    url: `http://127.0.0.1:${port}`,
    calls: () => calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (taken, then released). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
