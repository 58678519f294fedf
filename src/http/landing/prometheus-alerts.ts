import { ALERT_LAYERS } from '../../actions/tickets/ticket-labels.js';

/**
 * The firing alerts for the landing page, from Prometheus' GET /api/v1/alerts at report.prometheus_url. The page
 * must never wait on Prometheus for long: one call at a time, a short timeout, and the answer reused for a few
 * seconds, so a page refreshing every 30 s in ten browsers costs Prometheus one call per CACHE_MS at most.
 */

export interface FiringAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** When it became active, ms since the epoch (Prometheus' activeAt), if it parsed. */
  activeAtMs?: number;
}

export type AlertsView =
  /** No report.prometheus_url in the config. */
  | { kind: 'off' }
  | { kind: 'ok'; url: string; firing: FiringAlert[]; pending: number }
  | { kind: 'unreachable'; url: string; reason: string };

export const ALERTS_TIMEOUT_MS = 2000;
const CACHE_MS = 10_000;

/**
 * mlwatch's own alerts: the bundle's (Mlwatch*) and an operator's rule that follows the alert contract (a layer
 * of ALERT_LAYERS). A Prometheus shared with other systems has alerts that are not this page's business.
 */
export function isMlwatchAlert(labels: Record<string, string>): boolean {
  return (
    (labels.alertname ?? '').startsWith('Mlwatch') ||
    (ALERT_LAYERS as readonly string[]).includes(labels.layer ?? '')
  );
}

export class PrometheusAlerts {
  private last?: { url: string; at: number; view: AlertsView };
  private inFlight?: { url: string; promise: Promise<AlertsView> };

  constructor(private readonly o: { timeoutMs?: number; cacheMs?: number; now?: () => number } = {}) {}

  /** The alerts at `url` (undefined: not configured). Never rejects: a failure is a view that says why. */
  read(url: string | undefined): Promise<AlertsView> {
    if (url === undefined) return Promise.resolve({ kind: 'off' });
    const now = (this.o.now ?? Date.now)();
    if (this.last && this.last.url === url && now - this.last.at < (this.o.cacheMs ?? CACHE_MS))
      return Promise.resolve(this.last.view);
    if (this.inFlight?.url === url) return this.inFlight.promise;
    const promise = this.fetch(url).then((view) => {
      this.last = { url, at: (this.o.now ?? Date.now)(), view };
      if (this.inFlight?.promise === promise) this.inFlight = undefined;
      return view;
    });
    this.inFlight = { url, promise };
    return promise;
  }

  private async fetch(url: string): Promise<AlertsView> {
    const base = url.replace(/\/+$/, '');
    const timeoutMs = this.o.timeoutMs ?? ALERTS_TIMEOUT_MS;
    let body: unknown;
    try {
      const res = await fetch(`${base}/api/v1/alerts`, {
        signal: AbortSignal.timeout(timeoutMs),
        headers: { accept: 'application/json' },
      });
      if (!res.ok) {
        await res.body?.cancel();
        return { kind: 'unreachable', url: base, reason: `it answered HTTP ${res.status}` };
      }
      body = await res.json();
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      const reason =
        e.name === 'TimeoutError'
          ? `no answer within ${timeoutMs / 1000} s`
          : e.name === 'SyntaxError'
            ? 'its answer is not JSON'
            : (e.cause?.code ?? e.message);
      return { kind: 'unreachable', url: base, reason };
    }
    const alerts = (body as { data?: { alerts?: unknown } })?.data?.alerts;
    if (!Array.isArray(alerts))
      return { kind: 'unreachable', url: base, reason: 'its answer has no alerts list' };
    const ours = alerts.filter(
      (
        a,
      ): a is {
        labels: Record<string, string>;
        annotations?: Record<string, string>;
        state?: string;
        activeAt?: string;
      } =>
        typeof a === 'object' && a !== null && typeof a.labels === 'object' && isMlwatchAlert(a.labels ?? {}),
    );
    const firing = ours
      .filter((a) => a.state === 'firing')
      .map((a) => {
        const at = Date.parse(a.activeAt ?? '');
        return {
          labels: a.labels,
          annotations: a.annotations ?? {},
          ...(Number.isFinite(at) ? { activeAtMs: at } : {}),
        };
      });
    return { kind: 'ok', url: base, firing, pending: ours.filter((a) => a.state === 'pending').length };
  }
}
