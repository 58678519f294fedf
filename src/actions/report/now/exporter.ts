import { Redactor, redactUrl } from '../../../redact.js';
import { parseSamples } from './exposition.js';
import { type NowSource, NowUnavailable, readAt } from './values.js';

/**
 * The values now, from a running exporter's /metrics: its checks' latest results, as Prometheus would scrape
 * them. For a warehouse only that process can read, such as the demo's embedded one (`mlwatch demo`).
 * `url` is the exporter's address, with or without the /metrics path.
 */
export function exporterNow(url: string, timeoutMs: number, now: () => Date = () => new Date()): NowSource {
  const base = url.replace(/\/+$/, '').replace(/\/metrics$/, '');
  const shown = redactUrl(base);
  // A password typed in the URL must not reach the review or the terminal.
  const clean = (text: string) => new Redactor().addUrl(base).redact(text);
  return {
    async read() {
      const at = now();
      let res: Response;
      try {
        res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
      } catch (err) {
        const e = err as Error & { cause?: { code?: string; message?: string } };
        const why =
          e.name === 'TimeoutError'
            ? `no answer within ${timeoutMs / 1000}s`
            : (e.cause?.code ?? e.cause?.message ?? e.message);
        throw new NowUnavailable(clean(`cannot reach the exporter at ${shown} (${why})`));
      }
      const text = await res.text().catch(() => '');
      if (!res.ok) {
        throw new NowUnavailable(clean(`the exporter at ${shown} answered HTTP ${res.status} on /metrics`));
      }
      let samples: ReturnType<typeof parseSamples>;
      try {
        samples = parseSamples(text);
      } catch (err) {
        throw new NowUnavailable(clean(`${shown}/metrics is not an exposition: ${(err as Error).message}`));
      }
      if (!samples.some((s) => s.name === 'mlwatch_check_success')) {
        throw new NowUnavailable(`${shown}/metrics has no mlwatch_check_success: is it an mlwatch exporter?`);
      }
      // A failing check keeps serving its last good values: they are named, their values still shown.
      const failed = samples
        .filter((s) => s.name === 'mlwatch_check_success' && s.value === 0)
        .map((s) => ({ check: s.labels.check ?? '' }));
      return {
        from: `the exporter at ${shown}`,
        detail: `its checks' latest results, read at ${readAt(at)}`,
        samples,
        failed,
      };
    },
  };
}
