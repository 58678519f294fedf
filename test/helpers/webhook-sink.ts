import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SinkCall {
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  at: number;
}

/**
 * A local HTTP server standing in for a webhook (a retraining service): records every call and answers with
 * `status` (200 by default), after `holdMs` (0: at once; a long hold stands for a receiver that hangs).
 * `next` holds the statuses of the next calls, in order, taken before `status`: a test that must know which
 * calls were refused sets them before the first call arrives rather than racing the exporter to flip `status`.
 * `close()` and `open()` take it down and bring it back on the same port.
 */
export async function webhookSink() {
  const calls: SinkCall[] = [];
  let server: Server | undefined;
  let port = 0;
  const sink = {
    calls,
    status: 200,
    next: [] as number[],
    holdMs: 0,
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    async open(): Promise<void> {
      const s = createServer((req, res) => {
        let text = '';
        req.on('data', (d) => {
          text += d;
        });
        req.on('end', () => {
          calls.push({
            path: req.url ?? '',
            headers: req.headers,
            body: JSON.parse(text || '{}'),
            at: Date.now(),
          });
          const status = sink.next.shift() ?? sink.status;
          setTimeout(() => {
            res.statusCode = status;
            res.end(status < 300 ? 'ok' : 'retraining service unavailable');
          }, sink.holdMs);
        });
      });
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, '127.0.0.1', () => resolve());
      });
      port = (s.address() as AddressInfo).port;
      server = s;
    },
    async close(): Promise<void> {
      const s = server;
      server = undefined;
      if (!s) return;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
  await sink.open();
  return sink;
}

export type WebhookSink = Awaited<ReturnType<typeof webhookSink>>;
