import type { CachedCheck } from '../../../runtime/check-cache.js';
import { ago, count } from '../format.js';
import { esc } from '../html.js';

/** The line an on-call reads first: are the checks, the warehouse and the config fine. */

export interface SummaryInput {
  cached: readonly CachedCheck[];
  /** mlwatch_warehouse_up: undefined before the first contact. */
  warehouseUp: number | undefined;
  reload: { successful: boolean; lastSuccessAt?: number; lastError?: string };
  configFile: string;
  /** Ids of the checks with a key value past its line (sections/checks.ts). */
  flagged: ReadonlySet<string>;
  nowMs: number;
}

function tile(text: string, cls: string): string {
  return `<span class="tile ${cls}">${text}</span>`;
}

export function summarySection(o: SummaryInput): string {
  const by = (status: CachedCheck['status']) => o.cached.filter((s) => s.status === status);
  const failing = by('failing').length;
  const pending = by('pending').length;
  // Each check counted once: a check that runs fine but shows a value past its line is not also "ok".
  const flagged = o.cached.filter((s) => s.status !== 'failing' && o.flagged.has(s.check.id)).length;
  const ok = by('ok').filter((s) => !o.flagged.has(s.check.id)).length;
  const warehouse =
    o.warehouseUp === undefined
      ? tile('warehouse not contacted yet', 'pending')
      : o.warehouseUp === 1
        ? tile('warehouse up', 'ok')
        : tile('<b>warehouse DOWN</b>', 'bad');
  const tiles = [
    tile(`<b>${esc(count(failing))}</b> failing`, failing > 0 ? 'bad' : 'ok'),
    ...(flagged > 0 ? [tile(`<b>${esc(count(flagged))}</b> with a value past its line`, 'warn')] : []),
    tile(`<b>${esc(count(ok))}</b> ok`, 'ok'),
    ...(pending > 0 ? [tile(`<b>${esc(count(pending))}</b> first run pending`, 'pending')] : []),
    warehouse,
    o.reload.successful
      ? tile(`config loaded ${esc(ago(o.reload.lastSuccessAt, o.nowMs))}`, 'ok')
      : tile('<b>config reload refused</b>', 'bad'),
  ];
  // The reason is the config loader's message: secrets are already redacted there (docs/security.md).
  const refused = o.reload.successful
    ? ''
    : `<p class="problem">Config reload refused: ${esc(o.reload.lastError ?? '')}</p>`;
  return `<section id="summary"><div class="tiles">${tiles.join('\n')}</div>${refused}
<p class="hint">Config ${esc(o.configFile)} · ${esc(count(o.cached.length))} checks</p></section>`;
}
