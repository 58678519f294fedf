/**
 * Reading the landing page back in tests: its text as a person sees it, and a check's card (state, key values,
 * skipped lines) from the markup src/http/landing/sections/checks.ts writes.
 */

const ENTITIES: Record<string, string> = {
  '&amp;': '&',
  '&lt;': '<',
  '&gt;': '>',
  '&quot;': '"',
  '&#39;': "'",
};

export const unescapeHtml = (s: string) =>
  s.replace(/&(?:amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e] as string);

/** The visible text: no style, no tags, entities read, whitespace collapsed. */
export function pageText(html: string): string {
  return unescapeHtml(
    html
      .replace(/<style>[\s\S]*?<\/style>/g, '')
      // Inline elements run on with their neighbours ("a link."); every other tag separates words.
      .replace(/<\/?(?:a|b|span|code)\b[^>]*>/g, '')
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' '),
  ).trim();
}

export interface Card {
  state: string;
  meta: string;
  values: Map<string, { value: string; flag?: string }>;
  /** Each "not exported" line's text. */
  skipped: string[];
  text: string;
}

/** The card of one check, or undefined when the page has none. */
export function card(html: string, checkId: string): Card | undefined {
  const start = html.indexOf(`id="check-${checkId}"`);
  if (start < 0) return undefined;
  const body = html.slice(start, html.indexOf('</article>', start));
  const values = new Map<string, { value: string; flag?: string }>();
  for (const m of body.matchAll(
    /<div(?: class="flag")?><dt>(.*?)<\/dt><dd>(.*?)(?: <span class="mark">(.*?)<\/span>)?<\/dd><\/div>/g,
  )) {
    values.set(unescapeHtml(m[1] as string), {
      value: unescapeHtml(m[2] as string),
      ...(m[3] !== undefined ? { flag: unescapeHtml(m[3]) } : {}),
    });
  }
  return {
    state: /<span class="state [a-z]+">(.*?)<\/span>/.exec(body)?.[1] ?? '',
    meta: pageText(/<p class="meta">(.*?)<\/p>/.exec(body)?.[1] ?? ''),
    values,
    skipped: [...body.matchAll(/<li>(.*?)<\/li>/g)].map((m) => pageText(m[1] as string)),
    text: pageText(body),
  };
}
