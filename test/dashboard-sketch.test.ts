import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildSketches, DASHBOARD_DIR, ROOT, readDashboards, sheetName } from '../scripts/sketch/index.js';
import { readPngInfo, renderPng, SVG_HASH_KEY, svgHash } from '../scripts/sketch/png.js';
import { dashboardQueries, dashboardSvg, unescapeXml, wrapText } from '../scripts/sketch/svg.js';

const REGENERATE = 'run `npx tsx scripts/gen-dashboard-sketch.ts` (npm run sketch) and commit the PNGs';
const sketches = buildSketches();
const committed = (png: string) => readFileSync(join(ROOT, png));

/** The queries a sheet shows: each `<g class="query">`'s lines joined, and its `<title>`. */
function shownQueries(svg: string): { lines: string; title: string }[] {
  return [...svg.matchAll(/<g class="query"[^>]*>(.*?)<\/g>/gs)].map((m) => {
    const body = m[1] ?? '';
    const title = unescapeXml(/<title>(.*?)<\/title>/s.exec(body)?.[1] ?? '');
    const lines = [...body.matchAll(/<text [^>]*class="q"[^>]*>(.*?)<\/text>/gs)]
      .map((t) => unescapeXml(t[1] ?? ''))
      .join('');
    return { lines, title };
  });
}

/** Queries of the dashboard that the sheet does not show in full, character for character. */
function missingQueries(svg: string, exprs: string[]): string[] {
  const shown = shownQueries(svg);
  const left = [...shown];
  const missing: string[] = [];
  for (const expr of exprs) {
    const at = left.findIndex((q) => q.lines === expr && q.title === expr);
    if (at < 0) missing.push(expr);
    else left.splice(at, 1);
  }
  return missing;
}

describe('docs/dashboard_sketch*.png', () => {
  it(`there is exactly one sheet per dashboard and the overview (else ${REGENERATE})`, () => {
    const onDisk = readdirSync(join(ROOT, 'docs'))
      .filter((f) => /^dashboard_sketch.*\.png$/.test(f))
      .sort();
    const files = readdirSync(DASHBOARD_DIR).filter((f) => f.endsWith('.json'));
    expect(onDisk, REGENERATE).toEqual(['dashboard_sketch.png', ...files.map(sheetName)].sort());
    expect(sketches.map((s) => s.png).sort()).toEqual(onDisk.map((f) => `docs/${f}`));
  });

  it(`each PNG was rendered from the SVG the current dashboard JSON gives (else ${REGENERATE})`, () => {
    for (const s of sketches) {
      const info = readPngInfo(committed(s.png));
      expect(info.text[SVG_HASH_KEY], `${s.png} is stale: ${REGENERATE}`).toBe(svgHash(s.svg));
      expect(info.text.Source).toBe(s.source);
    }
  });

  it('rendering is deterministic: the committed bytes are what the renderer makes now, twice', async () => {
    for (const s of sketches) {
      const png = await renderPng(s.svg, {
        Source: s.source,
        Software: 'mlwatch scripts/gen-dashboard-sketch.ts',
      });
      expect(png.equals(committed(s.png)), `${s.png} differs from a fresh render: ${REGENERATE}`).toBe(true);
    }
    const small = sketches.reduce((a, b) => (a.svg.length <= b.svg.length ? a : b));
    expect((await renderPng(small.svg)).equals(await renderPng(small.svg))).toBe(true);
  });

  it('every query of every panel is on its dashboard sheet in full, and nothing is cut with an ellipsis', () => {
    const dashboards = readDashboards();
    expect(dashboards.length).toBeGreaterThanOrEqual(4);
    let total = 0;
    for (const { file, dashboard } of dashboards) {
      const sheet = sketches.find((s) => s.png === `docs/${sheetName(file)}`);
      expect(sheet, file).toBeDefined();
      const svg = sheet?.svg ?? '';
      const exprs = dashboardQueries(dashboard).map((q) => q.expr);
      expect(exprs.length, `${file} has queries`).toBeGreaterThan(0);
      expect(missingQueries(svg, exprs), `${file}: queries not shown in full`).toEqual([]);
      expect(shownQueries(svg)).toHaveLength(exprs.length);
      total += exprs.length;
      const text = [...svg.matchAll(/<text[^>]*>(.*?)<\/text>/gs)].map((m) => m[1] ?? '').join('\n');
      expect(text, file).not.toMatch(/…|\.\.\./);
    }
    expect(total).toBeGreaterThan(100);
  });

  it('the check catches a query cut short or missing', () => {
    const { file, dashboard } = readDashboards().find((d) => d.file === 'model-performance.json') ?? {};
    expect(file).toBeDefined();
    const svg = dashboardSvg(file as string, dashboard ?? {});
    const exprs = dashboardQueries(dashboard ?? {}).map((q) => q.expr);
    expect(missingQueries(svg, exprs)).toEqual([]);
    // The last wrapped line of the first multi-line query, cut to 10 characters and an ellipsis.
    const cut = svg.replace(
      /(<g class="query"[^>]*>(?:(?!<\/g>).)*<text [^>]*class="q"[^>]*>(?:(?!<\/g>).)*<text [^>]*class="q"[^>]*>)([^<]{10})[^<]*(<\/text><\/g>)/s,
      '$1$2…$3',
    );
    expect(cut).not.toBe(svg);
    expect(missingQueries(cut, exprs)).toHaveLength(1);
    expect(missingQueries(svg, [...exprs, 'up{job="not drawn"}'])).toEqual(['up{job="not drawn"}']);
  });

  it('the images are readable and small: at most 1600 px wide, text at 1:1, 1.5 MB in all', () => {
    let bytes = 0;
    for (const s of sketches) {
      const png = committed(s.png);
      bytes += png.length;
      const { width, height } = readPngInfo(png);
      const size = /<svg [^>]*width="(\d+)" height="(\d+)"/.exec(s.svg);
      expect([width, height], `${s.png} is rendered at the SVG's own size`).toEqual([
        Number(size?.[1]),
        Number(size?.[2]),
      ]);
      expect(width, s.png).toBeGreaterThanOrEqual(1000);
      expect(width, s.png).toBeLessThanOrEqual(1600);
      expect(height, s.png).toBeGreaterThanOrEqual(300);
      // A page: the overview at most twice as tall as wide; a sheet at most 4 screens.
      expect(height / width, s.png).toBeLessThanOrEqual(s.png === 'docs/dashboard_sketch.png' ? 2 : 4);
    }
    expect(bytes).toBeLessThan(1.5 * 1024 * 1024);
  });

  it('wrapText keeps every character and respects the width', () => {
    const expr =
      'max without (previous_version) (model_version:mlwatch_model_auc:drop_from_previous{model=~"$model"}) ' +
      'or on (job, instance, model, window, version) (mlwatch_model_auc{model=~"$model"} * NaN)';
    for (const max of [5, 17, 40, 88, 500]) {
      const lines = wrapText(expr, max);
      expect(lines.join('')).toBe(expr);
      for (const l of lines) expect(l.length).toBeLessThanOrEqual(max);
    }
    expect(wrapText('a_very_long_metric_name_without_spaces', 10).join('')).toBe(
      'a_very_long_metric_name_without_spaces',
    );
    expect(wrapText('x\ny', 80)).toEqual(['x\n', 'y']);
  });
});
