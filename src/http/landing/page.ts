import type { Exporter } from '../../runtime/exporter.js';
import { VERSION } from '../../version.js';
import { esc } from './html.js';
import { actionsSection } from './sections/actions.js';
import { alertsSection } from './sections/alerts.js';
import { checksSection, checkViews, isFlagged } from './sections/checks.js';
import { summarySection } from './sections/summary.js';
import type { LandingExtras } from './sources.js';
import { STYLE, STYLE_HASH } from './style.js';

/**
 * The page at /, the one an on-call opens first: the state of the checks, warehouse and config; the alerts
 * Prometheus fires; the tickets and requests waiting on people; every check with its key values. Plain HTML and
 * CSS that reloads itself every REFRESH_SECONDS (meta refresh): no script, nothing to build.
 */

export const REFRESH_SECONDS = 30;

/** The page's policy: its own stylesheet, nothing else (no script, image, frame, form target). */
export const LANDING_CSP = `default-src 'none'; style-src '${STYLE_HASH}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

export interface Clock {
  /** Wall clock, ms since the epoch. */
  nowMs: number;
  /** performance.now(): the clock aging samples are measured on. */
  monotonicMs: number;
}

/** `extras`: what serve gathers besides the checks (src/http/landing/sources.ts); without it, the checks only. */
export function landingPage(
  exporter: Exporter,
  extras?: LandingExtras,
  clock: Clock = { nowMs: Date.now(), monotonicMs: performance.now() },
): string {
  const cached = exporter.cachedChecks();
  const views = checkViews(cached, clock);
  const updated = new Date(clock.nowMs).toISOString().replace('T', ' ').slice(0, 19);
  const sections = [
    summarySection({
      cached,
      warehouseUp: exporter.warehouseUp(),
      reload: exporter.reloadStatus(),
      configFile: exporter.config.file,
      flagged: new Set(views.filter(isFlagged).map((v) => v.s.check.id)),
      nowMs: clock.nowMs,
    }),
    extras ? alertsSection(extras.alerts, clock.nowMs) : '',
    extras ? actionsSection(extras.actions, clock.nowMs) : '',
    checksSection(views, clock),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${REFRESH_SECONDS}">
<title>mlwatch</title>
<style>${STYLE}</style></head>
<body><header class="top"><h1>mlwatch</h1><span class="version">${esc(VERSION)}</span>
<nav><a href="/metrics">Metrics</a> · <a href="/healthz">Health</a> · <a href="/readyz">Readiness</a></nav></header>
<main>
${sections.filter(Boolean).join('\n')}
</main>
<footer>Updated ${esc(updated)} UTC · reloads every ${REFRESH_SECONDS} s</footer>
</body></html>`;
}
