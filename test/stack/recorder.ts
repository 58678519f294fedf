import { createServer, type Server } from 'node:http';
import { httpsRequest } from '../helpers/tls.js';

/** One Alertmanager webhook notification (payload version 4), as a receiver got it. */
export interface Notification {
  receiver: string;
  at: number;
  status: 'firing' | 'resolved';
  alerts: {
    status: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    fingerprint: string;
  }[];
  groupLabels: Record<string, string>;
  /** The notification's group: a pager (PagerDuty, Opsgenie) keeps one incident per key. */
  groupKey: string;
  /** The Authorization header Alertmanager sent (its credentials_file's token), or undefined without one. */
  authorization: string | undefined;
}

/**
 * Stands in for every receiver: POST /<receiver> is recorded with its arrival time and Authorization header. A
 * receiver given a forwarding URL (ticketing: the exporter's own /api/v1/alerts; retraining: its
 * /api/v1/retrain) also gets the body passed on, as sent, with the Authorization header Alertmanager sent and
 * nothing of the recorder's own: the exporter accepts or refuses Alertmanager's credential, not a test's.
 */
export class WebhookRecorder {
  readonly received: Notification[] = [];
  /** Status codes the forwarding targets answered, by receiver. */
  readonly forwarded: Record<string, number[]> = {};
  /** The bodies the forwarding targets answered, by receiver (the retrain endpoint's summaries). */
  readonly answers: Record<string, string[]> = {};
  private readonly forward = new Map<string, { url: string; ca: string }>();
  private server?: Server;
  port = 0;

  /** `url` is https, its certificate signed by `ca` (PEM): global fetch cannot be given a CA. */
  forwardTo(receiver: string, url: string, ca: string): void {
    this.forward.set(receiver, { url, ca });
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => {
        const receiver = (req.url ?? '/').slice(1);
        const authorization = req.headers.authorization;
        try {
          const payload = JSON.parse(body);
          this.received.push({ ...payload, receiver, at: Date.now(), authorization });
        } catch {}
        const target = this.forward.get(receiver);
        if (!target) {
          res.writeHead(200).end('ok');
          return;
        }
        // Answer with the target's status, so Alertmanager retries when the exporter does not take it (5xx) and
        // logs a refusal (4xx) as it would from the exporter itself.
        httpsRequest(target.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(authorization !== undefined ? { authorization } : {}),
          },
          body,
          ca: target.ca,
        })
          .then((r) => ({ status: r.status, text: r.text }))
          .catch((err: unknown) => ({ status: 502, text: String(err) }))
          .then(({ status, text }) => {
            this.forwarded[receiver] = [...(this.forwarded[receiver] ?? []), status];
            this.answers[receiver] = [...(this.answers[receiver] ?? []), text];
            res.writeHead(status).end();
          });
      });
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  url(receiver: string): string {
    return `http://127.0.0.1:${this.port}/${receiver}`;
  }

  /** Receivers that got a notification with an alert matching the labels and status, since `since`. */
  receiversOf(labels: Record<string, string>, status: 'firing' | 'resolved', since = 0): string[] {
    const hits = this.received.filter(
      (n) =>
        n.at >= since &&
        n.alerts.some(
          (a) => a.status === status && Object.entries(labels).every(([k, v]) => a.labels[k] === v),
        ),
    );
    return [...new Set(hits.map((n) => n.receiver))].sort();
  }

  firstArrival(labels: Record<string, string>, status: 'firing' | 'resolved', since = 0): number | undefined {
    return this.received
      .filter(
        (n) =>
          n.at >= since &&
          n.alerts.some(
            (a) => a.status === status && Object.entries(labels).every(([k, v]) => a.labels[k] === v),
          ),
      )
      .map((n) => n.at)
      .sort((a, b) => a - b)[0];
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.server?.close(() => r()));
  }
}
