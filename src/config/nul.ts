import { formatPath, type Problem } from './errors.js';

/**
 * A NUL character ("\0" in a double-quoted YAML string) has no use anywhere in a config: PostgreSQL cannot hold
 * one in an identifier or in text, HTTP forbids it in a header, and a label value with one breaks the
 * exposition. Refusing it here, with the line, keeps it away from every check kind's SQL builder, whose last
 * line of defence (quoteIdent) can only throw.
 */
export function nulProblems(tree: unknown, lineOf: (path: PropertyKey[]) => number | undefined): Problem[] {
  const problems: Problem[] = [];
  const problem = (path: PropertyKey[], message: string): Problem => ({
    line: lineOf(path),
    // The path names the key as written, with the NUL shown as \0 rather than printed.
    path: formatPath(path).replaceAll('\u0000', '\\0'),
    message,
  });
  const visit = (value: unknown, path: PropertyKey[]): void => {
    if (typeof value === 'string') {
      if (value.includes('\u0000')) problems.push(problem(path, 'contains a NUL character (\\0); remove it'));
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => {
        visit(v, [...path, i]);
      });
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        const at = [...path, k];
        if (k.includes('\u0000'))
          problems.push(problem(at, 'this key contains a NUL character (\\0); remove it'));
        else visit(v, at);
      }
    }
  };
  visit(tree, []);
  return problems;
}
