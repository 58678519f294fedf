/**
 * Escaping for the landing page. Everything on it that is not the page's own markup comes from config, the
 * warehouse, Prometheus or the state store (label values, alert annotations, rollback reasons), so every such
 * text goes through esc(), and every link through href(), which lets only http(s) URLs and this exporter's own
 * paths through: an annotation saying `javascript:...` must not become a link.
 */

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function esc(text: string | number): string {
  return String(text).replace(/[&<>"']/g, (c) => ENTITIES[c] as string);
}

/** The URL when it is safe to link to (http, https, or a path of this exporter), else undefined. */
export function href(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  if (url.startsWith('/') && !url.startsWith('//')) return url;
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}

/** A link when the URL is safe, the escaped text alone otherwise. */
export function link(url: string | undefined, text: string): string {
  const safe = href(url);
  return safe === undefined ? esc(text) : `<a href="${esc(safe)}">${esc(text)}</a>`;
}
