// Writes docs/dashboard_sketch.png (all dashboards on one page) and docs/dashboard_sketch-<dashboard>.png
// (each dashboard with its queries in full) from grafana/dashboards/mlwatch/*.json: `npm run sketch`, and the
// last step of `npm run bundle` (scripts/gen-bundle.ts). test/dashboard-sketch.test.ts fails while an image is
// stale. `--svg DIR` also writes the SVG each PNG is rendered from, for a look in a browser.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildSketches, ROOT } from './sketch/index.js';
import { renderPng } from './sketch/png.js';

export async function writeSketches(svgDir?: string): Promise<void> {
  const sketches = buildSketches();
  const wanted = new Set(sketches.map((s) => basename(s.png)));
  // A dashboard that was removed leaves no sheet behind.
  for (const f of readdirSync(join(ROOT, 'docs'))) {
    if (/^dashboard_sketch.*\.png$/.test(f) && !wanted.has(f)) {
      rmSync(join(ROOT, 'docs', f));
      console.log(`removed docs/${f}`);
    }
  }
  for (const s of sketches) {
    const png = await renderPng(s.svg, {
      Source: s.source,
      Software: 'mlwatch scripts/gen-dashboard-sketch.ts',
    });
    writeFileSync(join(ROOT, s.png), png);
    console.log(`wrote ${s.png} (${Math.round(png.length / 1024)} KiB)`);
    if (svgDir) {
      mkdirSync(svgDir, { recursive: true });
      writeFileSync(join(svgDir, basename(s.png).replace(/\.png$/, '.svg')), s.svg);
    }
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const svgDir = args[0] === '--svg' ? args[1] : undefined;
  if (args.length > 0 && !svgDir) throw new Error('usage: tsx scripts/gen-dashboard-sketch.ts [--svg DIR]');
  await writeSketches(svgDir);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(`gen-dashboard-sketch: ${(err as Error).message}`);
    process.exit(1);
  });
}
