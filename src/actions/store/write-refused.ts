/**
 * What to say when the state store refuses to be written: the commonest first-run mistake is a warehouse role
 * that may only read (as docs/warehouse-role.md recommends) meeting a state store that, without a state.url of
 * its own, lives in the warehouse's database under that same role.
 */

/** SQLSTATEs of a role that may not create or write: insufficient privilege, a read-only transaction. */
const REFUSED_CODES = new Set(['42501', '25006']);

export function isWriteRefused(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && REFUSED_CODES.has(code);
}

/** The hint after the server's message: why the store writes, and the two ways out. */
export function writeRefusedHint(schema: string, sharesWarehouse: boolean): string {
  const where = sharesWarehouse
    ? 'state.url is not set, so the state store is the warehouse database, reached with the warehouse role, which may only read'
    : 'its role may not';
  return (
    `the state store needs to create schema ${schema} and write its tables there (tickets, requests, check results); ${where}. ` +
    'Either set state.url to a database and role that may (docs/tickets.md: CREATE ROLE mlwatch_state ...; ' +
    `CREATE SCHEMA ${schema} AUTHORIZATION mlwatch_state), or, for a single instance, state.url: pglite:/var/lib/mlwatch/state`
  );
}
