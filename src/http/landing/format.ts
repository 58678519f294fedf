import { formatDuration } from '../../config/duration.js';
import type { Schedule } from '../../config/types.js';

/**
 * How the landing page writes times and numbers for a person at a glance: "every 1h", "3 min ago", "21.3 %",
 * "12,345", rather than the exposition's raw seconds and ratios (those stay on /metrics).
 */

const UNITS: readonly (readonly [string, number])[] = [
  ['d', 86_400],
  ['h', 3_600],
  ['min', 60],
  ['s', 1],
];

/** A length of time in its two largest units: "45 s", "3 min 20 s", "2 h 5 min", "3 d 4 h". */
export function humanDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return String(seconds);
  if (seconds < 0) return `-${humanDuration(-seconds)}`;
  if (seconds < 1) return seconds === 0 ? '0 s' : `${Math.round(seconds * 1000)} ms`;
  // Whole seconds from here: "59.6 s" reads as "1 min" to nobody, "59 s" does.
  let rest = Math.floor(seconds);
  const parts: string[] = [];
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || parts.length > 0) parts.push(`${n} ${unit}`);
    if (parts.length === 2) break;
  }
  // "2 h 0 min" says no more than "2 h".
  return parts.filter((p, i) => i === 0 || !p.startsWith('0 ')).join(' ');
}

/** A check run's duration: "42 ms", "1.3 s", "2 min 5 s". */
export function runDuration(seconds: number | undefined): string {
  if (seconds === undefined) return '-';
  if (seconds < 1) return `${Math.max(0, Math.round(seconds * 1000))} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  return humanDuration(seconds);
}

/**
 * How long ago a moment was, in its largest unit only: "just now", "42 s ago", "3 min ago", "5 h ago", "2 d ago".
 * A moment ahead of `now` (another host's clock) reads "just now" rather than a negative age.
 */
export function ago(atMs: number | undefined, nowMs: number): string {
  if (atMs === undefined || !Number.isFinite(atMs)) return 'never';
  const s = Math.floor((nowMs - atMs) / 1000);
  if (s < 1) return 'just now';
  for (const [unit, size] of UNITS) if (s >= size) return `${Math.floor(s / size)} ${unit} ago`;
  return 'just now';
}

/** When a moment ahead is: "in 3 h", "in 20 min"; a moment already past reads as ago(). */
export function fromNow(atMs: number, nowMs: number): string {
  const s = Math.floor((atMs - nowMs) / 1000);
  if (s < 1) return ago(atMs, nowMs);
  for (const [unit, size] of UNITS) if (s >= size) return `in ${Math.floor(s / size)} ${unit}`;
  return 'in 1 s';
}

/**
 * A check's schedule: "every 1h" in the config's own notation (formatDuration: 3600 s is "1h"), or the cron
 * expression followed by the gap between its next two runs, "(every 5m)".
 */
export function schedule(s: Schedule, intervalSeconds: number): string {
  if ('everyMs' in s) return `every ${formatDuration(s.everyMs)}`;
  return `cron ${s.cron} (every ${formatDuration(Math.round(intervalSeconds) * 1000)})`;
}

/** A share 0..1 as a percentage with the precision it needs: "0 %", "0.04 %", "1.2 %", "21.3 %", "100 %". */
export function percent(ratio: number): string {
  if (!Number.isFinite(ratio)) return String(ratio);
  const p = ratio * 100;
  if (p === 0 || p === 100) return `${p} %`;
  const digits = Math.abs(p) < 0.1 ? 2 : 1;
  return `${Number(p.toFixed(digits))} %`;
}

/** A count with thousands separators: "12,345". */
export function count(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en-US') : number(n);
}

/** A score such as an AUC or a PSI: three decimals, "0.812". */
export function score(n: number): string {
  return Number.isFinite(n) ? n.toFixed(3) : String(n);
}

/** Any other value: at most four significant digits, without exponent for everyday sizes ("1234", "0.01235"). */
export function number(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return count(n);
  const abs = Math.abs(n);
  if (abs >= 1e-4 && abs < 1e9)
    return Number(n.toPrecision(4)).toLocaleString('en-US', { maximumFractionDigits: 8 });
  return n.toPrecision(4);
}

/** Text cut to `max` characters with an ellipsis: a rollback reason or an error on a card, not a page of it. */
export function clip(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}
