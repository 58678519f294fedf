import { createHash } from 'node:crypto';

/**
 * The page's only styling, inline so the page is one request. Phone first: one column of cards that grows to a
 * grid on wider screens, long ids and label values wrap instead of widening the page. The page's
 * Content-Security-Policy allows exactly this stylesheet (by its hash) and nothing else: no script, no image,
 * no other style, so even a value that slipped past escaping could not run.
 */
export const STYLE = `
:root{--ok:#1a7f37;--bad:#cf222e;--pending:#9a6700;--muted:#57606a;--line:#d0d7de;--bg:#f6f8fa;--ink:#1f2328}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);background:#fff}
header.top{display:flex;flex-wrap:wrap;align-items:baseline;gap:.25rem 1rem;padding:.75rem 1rem;background:#24292f;color:#fff}
header.top h1{margin:0;font-size:1.25rem}
header.top .version{color:#d0d7de;font-size:.85rem}
header.top nav{margin-left:auto;font-size:.9rem}
header.top a{color:#fff}
main{max-width:80rem;margin:0 auto;padding:0 1rem 2rem}
h2{font-size:1.1rem;margin:1.5rem 0 .5rem;padding-bottom:.25rem;border-bottom:1px solid var(--line)}
h3{font-size:1rem;margin:.25rem 0}
p{margin:.25rem 0}
a{color:#0969da}
code{font-size:.85em;background:var(--bg);padding:0 .2em;border-radius:3px;overflow-wrap:anywhere}
.hint,.meta,.note{color:var(--muted);font-size:.875rem}
.quiet{color:var(--ok)}
.problem,.error{color:var(--bad);overflow-wrap:anywhere;white-space:pre-wrap}
.tiles{display:flex;flex-wrap:wrap;gap:.5rem;margin:.75rem 0}
.tile{display:inline-block;padding:.35rem .7rem;border:1px solid var(--line);border-radius:999px;background:var(--bg);text-decoration:none;color:var(--ink)}
.tile.ok{border-color:#a6d8b4;background:#eef9f1}
.tile.bad{border-color:#f2b8bd;background:#fff0f1}
.tile.warn,.tile.pending{border-color:#eed49a;background:#fff8e6}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,24rem),1fr));gap:.75rem}
.check{border:1px solid var(--line);border-left:5px solid var(--ok);border-radius:6px;padding:.6rem .8rem;min-width:0}
.check.flagged{border-left-color:var(--pending)}
.check.pending{border-left-color:var(--muted)}
.check.failing{border-left-color:var(--bad);background:#fff8f8}
.check h3{display:flex;flex-wrap:wrap;justify-content:space-between;gap:.25rem}
.check .id{overflow-wrap:anywhere}
.state{font-size:.8rem;font-weight:600;text-transform:uppercase;letter-spacing:.03em}
.state.ok{color:var(--ok)}.state.failing{color:var(--bad)}.state.pending{color:var(--pending)}
.values{margin:.4rem 0 0;display:grid;grid-template-columns:minmax(0,max-content) minmax(6rem,1fr);gap:.1rem .75rem}
.values>div{display:contents}
.values dt{color:var(--muted);overflow-wrap:anywhere}
.values dd{margin:0;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.values .flag dd{color:var(--bad);font-weight:600}
.mark{font-size:.75rem;font-weight:600;color:#fff;background:var(--bad);border-radius:3px;padding:0 .3em;white-space:nowrap}
.skipped{margin:.4rem 0 0;padding-left:1.1rem;font-size:.85rem;color:var(--muted)}
ul.alerts,ul.items{list-style:none;margin:.5rem 0;padding:0;display:grid;gap:.5rem}
ul.alerts li,ul.items li{border:1px solid var(--line);border-left:5px solid var(--pending);border-radius:6px;padding:.5rem .75rem}
ul li.critical{border-left-color:var(--bad)}
ul li.info{border-left-color:var(--muted)}
.title{overflow-wrap:anywhere}
.sev{font-size:.75rem;font-weight:600;text-transform:uppercase;color:var(--muted)}
li.critical .sev{color:var(--bad)}
.about{color:var(--muted);font-size:.875rem}
.lists{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,22rem),1fr));gap:0 1.25rem}
.list{margin-top:1rem;min-width:0}
footer{color:var(--muted);font-size:.8rem;text-align:center;padding:1rem}
@media (max-width:40rem){body{font-size:14px}main{padding:0 .6rem 1.5rem}header.top nav{margin-left:0}}
`;

/** For the Content-Security-Policy's style-src: the hash of exactly the text between the style tags. */
export const STYLE_HASH = `sha256-${createHash('sha256').update(STYLE).digest('base64')}`;
