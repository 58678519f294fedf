import { type Document, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit } from 'yaml';
import type { z } from 'zod';
import type { Problem } from './errors.js';
import { formatPath } from './errors.js';

/**
 * The parsed YAML with its positions kept, so every later problem (schema, secrets, environment) can
 * point at the line the user has to edit.
 */
export class YamlSource {
  readonly doc: Document;
  private readonly lines = new LineCounter();

  constructor(text: string) {
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: true, uniqueKeys: true });
  }

  syntaxProblems(): Problem[] {
    return this.doc.errors.map((e) => ({
      line: e.linePos?.[0]?.line,
      path: '',
      // prettyErrors adds linePos and appends " at line N, column M:" plus a code frame; the frame is noise here.
      message: `YAML syntax error: ${(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
    }));
  }

  /** The line of the key at `path`, or of its nearest ancestor that exists in the file. */
  lineOf(path: readonly PropertyKey[]): number | undefined {
    for (let k = path.length; k > 0; k--) {
      const parent = this.doc.getIn(path.slice(0, k - 1) as unknown[], true);
      const last = path[k - 1];
      let offset: number | undefined;
      if (isMap(parent)) {
        const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === last);
        offset = pair && isScalar(pair.key) ? pair.key.range?.[0] : undefined;
      } else if (isSeq(parent) && typeof last === 'number') {
        const item = parent.items[last] as { range?: [number, number, number] } | undefined;
        offset = item?.range?.[0];
      }
      if (offset !== undefined) return this.lines.linePos(offset).line;
    }
    const root = this.doc.contents as { range?: [number, number, number] } | null;
    return root?.range ? this.lines.linePos(root.range[0]).line : undefined;
  }

  /**
   * A failed schema parse (run with configErrorMap) as problems at their lines, in file order. An unknown keys
   * issue holds one message line per key ("did you mean"), so each key gets a problem of its own at its line.
   */
  schemaProblems(issues: readonly z.core.$ZodIssue[]): Problem[] {
    return issues
      .flatMap((issue) => {
        if (issue.code !== 'unrecognized_keys') {
          return [{ line: this.lineOf(issue.path), path: formatPath(issue.path), message: issue.message }];
        }
        const lines = issue.message.split('\n');
        return issue.keys.map((key, i) => {
          const path = [...issue.path, key];
          return { line: this.lineOf(path), path: formatPath(path), message: lines[i] ?? issue.message };
        });
      })
      .sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  }

  /**
   * Replaces ${VAR} and ${VAR:-default} in every string value (not in keys) from `env`. `$${` writes a
   * literal `${`. Plain `$1` and `$$` stay as they are, so SQL parameters and dollar quoting survive.
   */
  substituteEnv(env: NodeJS.ProcessEnv): Problem[] {
    const problems: Problem[] = [];
    visit(this.doc, {
      Scalar: (key, node, ancestors) => {
        if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('${')) return;
        node.value = node.value.replace(/\$?\$\{([^}]*)\}/g, (whole: string, inner: string) => {
          if (whole.startsWith('$${')) return whole.slice(1);
          const m = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s.exec(inner);
          if (!m) {
            problems.push({
              line: this.lineAt(node.range),
              path: pathOf(ancestors, node),
              message: `'\${${inner}}' is not a valid variable reference; write \${NAME} or \${NAME:-default}`,
            });
            return whole;
          }
          const [, name, fallback] = m;
          const value = env[name as string];
          if (value !== undefined && value !== '') return value;
          if (fallback !== undefined) return fallback;
          problems.push({
            line: this.lineAt(node.range),
            path: pathOf(ancestors, node),
            message: `environment variable ${name} is not set; export it, or write \${${name}:-default}`,
          });
          return whole;
        });
      },
    });
    return problems;
  }

  private lineAt(range: [number, number, number] | null | undefined): number | undefined {
    return range ? this.lines.linePos(range[0]).line : undefined;
  }
}

function pathOf(ancestors: readonly unknown[], node: unknown): string {
  const parts: PropertyKey[] = [];
  const chain = [...ancestors, node];
  for (let i = 0; i < chain.length - 1; i++) {
    const here = chain[i];
    const next = chain[i + 1];
    if (isPair(here) && isScalar(here.key)) parts.push(String(here.key.value));
    else if (isSeq(here)) parts.push(here.items.indexOf(next as never));
  }
  return formatPath(parts);
}
