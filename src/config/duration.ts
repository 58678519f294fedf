/** Prometheus-style durations: 500ms, 30s, 5m, 1h30m, 7d, 2w. */

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

// Prometheus' grammar: each unit at most once, largest first. `30m1h` and `1m1m` are not durations there, so
// they are not here either: a window written in mlwatch.yaml must read the same in a rule.
const ORDER = ['y', 'w', 'd', 'h', 'm', 's', 'ms'] as const;
const WHOLE = new RegExp(`^${ORDER.map((u) => `(?:(\\d+)${u})?`).join('')}$`);

/** Milliseconds, or undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = text === '' ? null : WHOLE.exec(text);
  if (!m) return undefined;
  let ms = 0;
  ORDER.forEach((unit, i) => {
    const n = m[i + 1];
    if (n !== undefined) ms += Number(n) * (UNIT_MS[unit] as number);
  });
  return ms;
}

/** The shortest Prometheus-style text for a number of milliseconds (60000 -> "1m"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const unit of ['w', 'd', 'h', 'm', 's', 'ms']) {
    const size = UNIT_MS[unit] as number;
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
