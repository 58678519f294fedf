import type { CachedCheck } from '../../../runtime/check-cache.js';
import { ago, count, runDuration, schedule } from '../format.js';
import { esc } from '../html.js';
import { type KeyContext, type KeyValue, keyValues } from '../key-values.js';
import { explainSkipped } from '../skipped-reasons.js';

/** One card per check: its state, schedule and last run, its key values, its last error, what it skipped. */

const STATE_TEXT = { ok: 'ok', failing: 'failing', pending: 'first run pending' } as const;

function values(list: readonly KeyValue[]): string {
  if (list.length === 0) return '';
  const rows = list.map(
    (k) =>
      `<div${k.flag ? ' class="flag"' : ''}><dt>${esc(k.label)}</dt><dd>${esc(k.value)}${
        k.flag ? ` <span class="mark">${esc(k.flag)}</span>` : ''
      }</dd></div>`,
  );
  return `<dl class="values">${rows.join('')}</dl>`;
}

function skipped(s: CachedCheck): string {
  const entries = Object.entries(s.skipped).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return '';
  const items = entries.map(
    ([reason, n]) =>
      `<li><b>${esc(count(n))}</b> not exported: ${esc(explainSkipped(reason))} <code>${esc(reason)}</code></li>`,
  );
  return `<ul class="skipped">${items.join('')}</ul>`;
}

export function checkCard(s: CachedCheck, kv: readonly KeyValue[], ctx: KeyContext): string {
  const meta = [
    schedule(s.check.schedule, s.intervalSeconds),
    `last run ${ago(s.lastRunEndedAt, ctx.nowMs)}`,
    ...(s.lastDurationSeconds !== undefined ? [`took ${runDuration(s.lastDurationSeconds)}`] : []),
    `${count(s.seriesCount)} series`,
  ];
  // A failing check still serves its last good samples; say how old the values shown are.
  const stale =
    s.status === 'failing' && s.lastSuccessAt !== undefined && kv.length > 0
      ? `<p class="note">Values of the last successful run, ${esc(ago(s.lastSuccessAt, ctx.nowMs))}.</p>`
      : '';
  const error = s.lastError ? `<p class="error">${esc(s.lastError)}</p>` : '';
  const flagged = kv.some((k) => k.flag) ? ' flagged' : '';
  return `<article class="check ${s.status}${flagged}" id="${esc(`check-${s.check.id}`)}">
<h3><span class="id">${esc(s.check.id)}</span> <span class="state ${s.status}">${STATE_TEXT[s.status]}</span></h3>
<p class="meta">${meta.map(esc).join(' · ')}</p>
${error}${stale}${values(kv)}${skipped(s)}
</article>`;
}

/** A check with its key values, computed once per page. */
export interface CheckView {
  s: CachedCheck;
  kv: KeyValue[];
}

export function checkViews(cached: readonly CachedCheck[], ctx: KeyContext): CheckView[] {
  return cached.map((s) => ({ s, kv: keyValues(s.samples, ctx) }));
}

/** Whether a check has a value past its line (an on-call looks at these right after the failing ones). */
export const isFlagged = (v: CheckView) => v.kv.some((k) => k.flag);

/** Failing first, then the ones with a marked value, then pending, then the rest: each group in config order. */
function rank(v: CheckView): number {
  if (v.s.status === 'failing') return 0;
  if (isFlagged(v)) return 1;
  return v.s.status === 'pending' ? 2 : 3;
}

export function checksSection(views: readonly CheckView[], ctx: KeyContext): string {
  const ranked = views
    .map((v, i) => ({ v, i, r: rank(v) }))
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .map(({ v }) => checkCard(v.s, v.kv, ctx));
  return `<section id="checks"><h2>Checks</h2>
<p class="hint">A few key values per check, marked against the bundle's default alert lines; every series is on <a href="/metrics">/metrics</a>.</p>
<div class="cards">
${ranked.join('\n')}
</div></section>`;
}
