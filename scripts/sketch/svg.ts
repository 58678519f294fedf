/**
 * SVG sketches of the Grafana dashboards, drawn from their JSON (grafana/dashboards/mlwatch/*.json), for
 * docs/dashboard_sketch*.png. Unlike tools/dashboard-sketch.ts (the layout-review SVG, one line per query cut
 * to fit), every query is shown in full, wrapped over as many lines as it needs: a panel's box grows to hold
 * its text, and the grid's rows grow with it, so panels that share a row in Grafana still share one here.
 *
 * Text is set in DejaVu Sans and DejaVu Sans Mono, the fonts the renderer is given (scripts/sketch/png.ts):
 * the wrap widths below are DejaVu Sans Mono's advance width (0.602 em), so a wrapped query never runs past
 * its box. Pure string functions: no renderer and no file access here.
 */

/** The parts of Grafana's dashboard JSON the sketch reads. */
export interface SketchDashboard {
  uid?: string;
  title?: string;
  panels?: SketchPanel[];
  templating?: { list?: { name: string }[] };
}

export interface SketchPanel {
  type: string;
  title?: string;
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: { expr?: string; refId?: string }[];
  fieldConfig?: {
    defaults?: {
      unit?: string;
      thresholds?: { mode?: string; steps?: { value: number | null; color: string }[] };
    };
  };
  panels?: SketchPanel[];
}

export interface SketchOptions {
  /** Pixels per grid column (Grafana's grid has 24). */
  col: number;
  /** Whether to draw the queries (per-dashboard sheets) or only titles, types and thresholds (the overview). */
  queries: boolean;
}

export const SHEET: SketchOptions = { col: 52, queries: true };
export const OVERVIEW: SketchOptions = { col: 29, queries: false };

const SANS = 'DejaVu Sans';
const MONO = 'DejaVu Sans Mono';
const MONO_EM = 0.602; // DejaVu Sans Mono's advance width, in em
const SANS_EM = 0.62; // a generous average for DejaVu Sans (bold), so wrapped titles fit
const TITLE_PX = 13;
const SMALL_PX = 11;
const QUERY_PX = 11;
const LINE = { title: 16, small: 14, query: 13 };
const INSET = 8; // text inset from a panel's edge
const MIN_ROW = 10; // px per grid row at least, so empty space in the grid still shows
const ROW_PANEL = 26; // height of a row header
const PAD = 16;

const FILL: Record<string, string> = {
  stat: '#e8f3e8',
  timeseries: '#e6eef9',
  table: '#fbf1df',
  'state-timeline': '#f1e8f7',
};

/** Grafana's named colours used by the dashboards' thresholds; anything else is drawn as written. */
const NAMED: Record<string, string> = {
  green: '#37872d',
  red: '#c4162a',
  orange: '#fa6400',
  yellow: '#e0b400',
  blue: '#1f60c4',
  purple: '#8f3bb8',
};

export function escapeXml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

export function unescapeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/**
 * Splits `text` into lines of at most `max` characters, keeping every character: joined with '' the lines
 * are `text` again. Breaks after a space, comma or opening bracket in the second half of a line when there is
 * one, else in the middle of a token. A newline in the text always ends a line (and stays at its end).
 */
export function wrapText(text: string, max: number): string[] {
  const width = Math.max(1, Math.floor(max));
  const lines: string[] = [];
  for (const part of text.split(/(?<=\n)/)) {
    let rest = part;
    while (rest.replace(/\n$/, '').length > width) {
      let cut = -1;
      for (let i = width; i >= Math.ceil(width / 2); i--) {
        if (' ,({'.includes(rest[i - 1] ?? '')) {
          cut = i;
          break;
        }
      }
      if (cut < 0) cut = width;
      lines.push(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
    if (rest !== '') lines.push(rest);
  }
  return lines.length > 0 ? lines : [''];
}

function allPanels(d: SketchDashboard): SketchPanel[] {
  return (d.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** The panels' queries as the sheets show them: every target with an expression, in panel order. */
export function dashboardQueries(d: SketchDashboard): { panel: string; refId: string; expr: string }[] {
  return allPanels(d).flatMap((p) =>
    (p.targets ?? [])
      .filter((t) => typeof t.expr === 'string' && t.expr !== '')
      .map((t) => ({ panel: p.title ?? '', refId: t.refId ?? '', expr: t.expr as string })),
  );
}

function colour(name: string): string {
  return NAMED[name] ?? (/^#[0-9a-f]{3,8}$/i.test(name) ? name : '#5f6b7a');
}

function thresholdParts(p: SketchPanel): { text: string; colour: string }[] {
  const steps = p.fieldConfig?.defaults?.thresholds?.steps ?? [];
  const pct = p.fieldConfig?.defaults?.thresholds?.mode === 'percentage' ? ' %' : '';
  return steps.map((s, i) => ({
    text: i === 0 || s.value === null ? `${s.color}` : `from ${s.value}${pct} ${s.color}`,
    colour: colour(s.color),
  }));
}

interface Block {
  /** Height of the panel's content in px. */
  height: number;
  /** Draws the panel into the box at (x, y), w x h. */
  draw(x: number, y: number, w: number, h: number): string;
}

function panelBlock(p: SketchPanel, w: number, opts: SketchOptions): Block {
  const inner = w - 2 * INSET;
  if (p.type === 'row') {
    const lines = wrapText(p.title ?? '', inner / (SMALL_PX + 1) / SANS_EM);
    const height = ROW_PANEL + (lines.length - 1) * LINE.small;
    return {
      height,
      draw: (x, y, bw) =>
        `<rect x="${x}" y="${y + 3}" width="${bw}" height="${height - 6}" fill="#3d4a5c"/>` +
        lines
          .map(
            (l, i) =>
              `<text x="${x + INSET}" y="${y + 17 + i * LINE.small}" class="row">${escapeXml(l)}</text>`,
          )
          .join(''),
    };
  }
  const titleLines = wrapText(p.title ?? '', inner / TITLE_PX / SANS_EM);
  const unit = p.fieldConfig?.defaults?.unit;
  const kindLines = wrapText(`${p.type}${unit ? ` · ${unit}` : ''}`, inner / SMALL_PX / SANS_EM);
  // "thresholds:" and the thresholds' parts ("■ red", "■ from 0.65 green"), as many on a line as fit.
  const stepLines: { text: string; colour?: string }[][] = [];
  const perLine = inner / SMALL_PX / SANS_EM;
  const steps: { text: string; colour?: string }[] = thresholdParts(p);
  let used = Number.POSITIVE_INFINITY;
  for (const part of steps.length > 0 ? [{ text: 'thresholds:' }, ...steps] : []) {
    const len = part.text.length + (part.colour ? 5 : 0);
    if (used + len > perLine) {
      stepLines.push([]);
      used = 0;
    }
    stepLines[stepLines.length - 1]?.push(part);
    used += len;
  }
  const queries = opts.queries
    ? (p.targets ?? [])
        .filter((t) => typeof t.expr === 'string' && t.expr !== '')
        .map((t) => ({
          refId: t.refId ?? '',
          expr: t.expr as string,
          // Two characters of the width go to the refId column.
          lines: wrapText(t.expr as string, inner / QUERY_PX / MONO_EM - 2),
        }))
    : [];
  let height = 6 + titleLines.length * LINE.title + (kindLines.length + stepLines.length) * LINE.small;
  for (const q of queries) height += q.lines.length * LINE.query + 4;
  height += 8;
  return {
    height,
    draw(x, y, bw, bh) {
      const out: string[] = [
        `<rect x="${x + 2}" y="${y + 2}" width="${bw - 4}" height="${bh - 4}" rx="3" fill="${FILL[p.type] ?? '#eeeeee'}" stroke="#8894a6"/>`,
      ];
      let cy = y + 6;
      for (const line of titleLines) {
        cy += LINE.title;
        out.push(`<text x="${x + INSET}" y="${cy - 3}" class="title">${escapeXml(line)}</text>`);
      }
      for (const line of kindLines) {
        cy += LINE.small;
        out.push(`<text x="${x + INSET}" y="${cy - 3}" class="kind">${escapeXml(line)}</text>`);
      }
      for (const parts of stepLines) {
        cy += LINE.small;
        const spans = parts
          .map((s, i) =>
            s.colour
              ? `${i > 0 && parts[i - 1]?.colour ? ' · ' : ' '}<tspan fill="${s.colour}">■</tspan> ${escapeXml(s.text)}`
              : escapeXml(s.text),
          )
          .join('');
        out.push(`<text x="${x + INSET}" y="${cy - 3}" class="kind">${spans.trimStart()}</text>`);
      }
      for (const q of queries) {
        cy += 4;
        const lines = q.lines.map((line, i) => {
          cy += LINE.query;
          const ref =
            i === 0 ? `<text x="${x + INSET}" y="${cy - 3}" class="ref">${escapeXml(q.refId)}</text>` : '';
          const at = x + INSET + 2 * QUERY_PX * MONO_EM;
          return `${ref}<text x="${at.toFixed(1)}" y="${cy - 3}" class="q">${escapeXml(line)}</text>`;
        });
        out.push(
          `<g class="query" data-ref="${escapeXml(q.refId)}"><title>${escapeXml(q.expr)}</title>${lines.join('')}</g>`,
        );
      }
      return out.join('');
    },
  };
}

/** A dashboard's grid as an SVG fragment at (0, 0), and its size. */
export function dashboardGrid(d: SketchDashboard, opts: SketchOptions): { svg: string; height: number } {
  const panels = allPanels(d).filter((p) => p.gridPos);
  const blocks = panels.map((p) => ({
    p,
    g: p.gridPos as { x: number; y: number; w: number; h: number },
    b: panelBlock(p, (p.gridPos?.w ?? 24) * opts.col, opts),
  }));
  // Grid row k starts at top[k] px: each row at least MIN_ROW below the previous one, and far enough below a
  // panel's first row for that panel's content. Rows only grow, so panels that share rows keep sharing them.
  const bottom = Math.max(0, ...blocks.map(({ g }) => g.y + g.h));
  const top: number[] = [0];
  for (let k = 1; k <= bottom; k++) {
    let t = (top[k - 1] ?? 0) + MIN_ROW;
    for (const { g, b } of blocks) {
      if (g.y + g.h === k) t = Math.max(t, (top[g.y] ?? 0) + b.height);
    }
    top.push(t);
  }
  const parts = blocks.map(({ g, b }) => {
    const y0 = top[g.y] ?? 0;
    const y1 = top[g.y + g.h] ?? y0;
    return b.draw(g.x * opts.col, y0, g.w * opts.col, y1 - y0);
  });
  const height = top[bottom] ?? 0;
  return {
    svg: `<rect width="${24 * opts.col}" height="${height}" fill="#fafbfc" stroke="#d5dae1"/>${parts.join('\n')}`,
    height,
  };
}

const STYLE =
  `<style>text{font-family:'${SANS}';font-size:${SMALL_PX}px;fill:#1f2933}` +
  `.h1{font-size:20px;font-weight:bold}.h2{font-size:15px;font-weight:bold}.note{fill:#5f6b7a}` +
  `.row{font-size:${SMALL_PX + 1}px;font-weight:bold;fill:#ffffff}` +
  `.title{font-size:${TITLE_PX}px;font-weight:bold}.kind{fill:#4b5563}` +
  `.q,.ref{font-family:'${MONO}';font-size:${QUERY_PX}px;fill:#26303c}.ref{fill:#8894a6;font-weight:bold}</style>`;

function document(width: number, height: number, comment: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<!-- ${comment} -->`,
    STYLE,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

const GENERATED =
  'Generated from grafana/dashboards/mlwatch by scripts/gen-dashboard-sketch.ts; do not edit by hand.';

/** One dashboard's sheet: its grid with every panel's title, type, thresholds and full queries. */
export function dashboardSvg(file: string, d: SketchDashboard, opts: SketchOptions = SHEET): string {
  const grid = dashboardGrid(d, opts);
  const width = 24 * opts.col + 2 * PAD;
  const vars = (d.templating?.list ?? []).map((v) => `$${v.name}`).join(', ');
  const head = 66;
  const height = head + grid.height + PAD;
  return document(width, height, GENERATED, [
    `<text x="${PAD}" y="${PAD + 20}" class="h1">${escapeXml(d.title ?? file)}</text>`,
    `<text x="${PAD}" y="${PAD + 40}" class="note">${escapeXml(
      `uid ${d.uid ?? '?'} · grafana/dashboards/mlwatch/${file} · variables ${vars || 'none'} · ` +
        'queries in full; refIds in grey',
    )}</text>`,
    `<g transform="translate(${PAD} ${head})">${grid.svg}</g>`,
  ]);
}

/**
 * Every dashboard on one page: each one's grid with panel titles, types and thresholds (no queries: those are
 * on the dashboard's own sheet), laid out in two columns, each dashboard in the column that is shorter so far.
 */
export function overviewSvg(
  dashboards: { file: string; sheet: string; dashboard: SketchDashboard }[],
): string {
  const colWidth = 24 * OVERVIEW.col;
  const gap = 24;
  const head = 74;
  const columns = [head, head];
  const body: string[] = [];
  for (const { file, sheet, dashboard } of dashboards) {
    const grid = dashboardGrid(dashboard, OVERVIEW);
    const c = (columns[0] ?? 0) <= (columns[1] ?? 0) ? 0 : 1;
    const x = PAD + c * (colWidth + gap);
    const y = columns[c] ?? 0;
    body.push(
      `<text x="${x}" y="${y + 18}" class="h2">${escapeXml(dashboard.title ?? file)}</text>`,
      `<text x="${x}" y="${y + 34}" class="note">${escapeXml(`uid ${dashboard.uid ?? '?'} · queries: ${sheet}`)}</text>`,
      `<g transform="translate(${x} ${y + 42})">${grid.svg}</g>`,
    );
    columns[c] = y + 42 + grid.height + gap;
  }
  const width = 2 * colWidth + gap + 2 * PAD;
  const height = Math.max(...columns) - gap + PAD;
  return document(width, height, GENERATED, [
    `<text x="${PAD}" y="${PAD + 22}" class="h1">mlwatch dashboards: layout sketch</text>`,
    `<text x="${PAD}" y="${PAD + 44}" class="note">${escapeXml(
      "Panels on Grafana's 24-column grid: title, type · unit, thresholds. Green stat, blue time series, " +
        "yellow table, purple state timeline. Each dashboard's queries, in full: the file named under its title.",
    )}</text>`,
    ...body,
  ]);
}
