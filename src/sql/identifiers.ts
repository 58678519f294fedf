/**
 * Identifiers from config (tables, columns) go into SQL text quoted, never raw; values always go in as bound
 * parameters. These are the only two ways config reaches a statement built by a check kind.
 */

/** `orders` -> `"orders"`; an embedded quote is doubled, so the result is always one identifier. */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new Error('an identifier cannot be empty');
  if (name.includes('\u0000')) throw new Error('an identifier cannot contain a NUL character');
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * A table name as written in config: `schema.table` or `table`. Each part is quoted on its own; a part that is
 * already double-quoted in config (to hold a dot or capitals) is kept as one part.
 */
export function quoteQualified(name: string): string {
  const parts: string[] = [];
  // Sticky: a part must start exactly where the previous one ended.
  const re = /"((?:[^"]|"")+)"|([^."]+)/y;
  let rest = name;
  while (rest.length > 0) {
    re.lastIndex = 0;
    const m = re.exec(rest);
    if (!m) throw new Error(`'${name}' is not a table name like schema.table`);
    parts.push(m[1] !== undefined ? m[1].replace(/""/g, '"') : (m[2] as string));
    rest = rest.slice(m[0].length);
    if (rest.startsWith('.')) {
      rest = rest.slice(1);
      if (rest.length === 0) throw new Error(`'${name}' ends with a dot`);
    } else if (rest.length > 0) throw new Error(`'${name}' is not a table name like schema.table`);
  }
  if (parts.length < 1 || parts.length > 3)
    throw new Error(`'${name}' has ${parts.length} parts; write schema.table`);
  return parts.map(quoteIdent).join('.');
}
