import { parser } from '@prometheus-io/lezer-promql';

/**
 * Narrows a rule's PromQL to the dashboard's variables by adding label matchers to every selector, so a
 * panel can show exactly the expression an alert evaluates (same functions, same numbers), for the chosen
 * check and instance only.
 */
export function scope(expr: string, matchers: string): string {
  if (matchers === '') return expr;
  const edits: { at: number; text: string }[] = [];
  parser.parse(expr).iterate({
    enter(node) {
      if (node.name !== 'VectorSelector') return;
      const braces = node.node.getChild('LabelMatchers');
      if (!braces) {
        edits.push({ at: node.to, text: `{${matchers}}` });
        return false;
      }
      const inside = expr.slice(braces.from + 1, braces.to - 1).trim();
      const sep = inside === '' || inside.endsWith(',') ? '' : ',';
      edits.push({ at: braces.to - 1, text: `${sep}${matchers}` });
      return false;
    },
  });
  let out = expr;
  for (const e of edits.sort((a, b) => b.at - a.at)) out = out.slice(0, e.at) + e.text + out.slice(e.at);
  return out;
}
