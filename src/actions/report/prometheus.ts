import { Redactor, redactUrl } from '../../redact.js';

/**
 * The few calls of Prometheus's HTTP API the review needs: instant queries at a given time. The report asks
 * Prometheus, not the exporter, because only Prometheus keeps last week's values.
 */

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** Prometheus could not answer: unreachable, timed out, or an error status. The report says so and goes on. */
export class PrometheusUnavailable extends Error {}

export interface PrometheusClient {
  readonly url: string;
  /** An instant vector at `at`; samples whose value is not a finite number (NaN, ±Inf) are left out. */
  query(expr: string, at: Date): Promise<Sample[]>;
}

export function prometheusClient(url: string, timeoutMs: number): PrometheusClient {
  const base = url.replace(/\/+$/, '');
  return {
    url: base,
    async query(expr, at) {
      const params = new URLSearchParams({ query: expr, time: (at.getTime() / 1000).toFixed(3) });
      let res: Response;
      try {
        res = await fetch(`${base}/api/v1/query?${params}`, { signal: AbortSignal.timeout(timeoutMs) });
      } catch (err) {
        const e = err as Error & { cause?: { code?: string; message?: string } };
        const why =
          e.name === 'TimeoutError'
            ? `no answer within ${timeoutMs / 1000}s`
            : (e.cause?.code ?? e.cause?.message ?? e.message);
        // A --prometheus URL typed with a password must not end up in the report or on the terminal.
        throw new PrometheusUnavailable(
          new Redactor().addUrl(base).redact(`cannot reach Prometheus at ${redactUrl(base)} (${why})`),
        );
      }
      const text = await res.text().catch(() => '');
      let body: { status?: string; error?: string; data?: { resultType?: string; result?: unknown } };
      try {
        body = JSON.parse(text);
      } catch {
        throw new PrometheusUnavailable(`Prometheus at ${base} answered HTTP ${res.status}, not JSON`);
      }
      if (body.status !== 'success' || body.data?.resultType !== 'vector') {
        throw new PrometheusUnavailable(
          `Prometheus at ${base} refused the query ${expr}: ${body.error ?? `HTTP ${res.status}`}`,
        );
      }
      const result = body.data.result as { metric: Record<string, string>; value: [number, string] }[];
      return result
        .map((r) => ({ labels: r.metric, value: Number(r.value[1]) }))
        .filter((s) => Number.isFinite(s.value));
    },
  };
}
