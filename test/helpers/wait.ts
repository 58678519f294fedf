import { type Parsed, parseExposition } from './exposition.js';

/**
 * Polls until `probe` returns a truthy value (returned) or the timeout passes (throws with the last value and,
 * when given, what `explain` says about the state at that moment).
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
  what = 'condition',
  explain?: () => Promise<string> | string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      last = await probe();
      if (last) return last as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const why = explain ? `\n${await explain()}` : '';
      throw new Error(`timed out waiting for ${what}; last: ${String(last)}${why}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function scrape(baseUrl: string): Promise<Parsed> {
  const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return parseExposition(await res.text());
}
