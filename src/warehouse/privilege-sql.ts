/**
 * The catalog queries of `mlwatch doctor` (src/warehouse/privileges.ts turns their rows into findings). Any
 * role may run them: they read pg_catalog and call the has_*_privilege functions, nothing else.
 */

// The roles whose privileges this role can use: itself and every role it is a member of, directly or not. A
// superuser counts as a member of every role; it is reported as a superuser instead, and counts only itself.
const MINE = `mine AS (SELECT oid FROM pg_roles WHERE rolname = current_user
  OR (pg_has_role(current_user, oid, 'MEMBER') AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)))`;

// Grantees of `privs` in an ACL (NULL means the object's default ACL) that this role can act as, PUBLIC
// included, the owner left out (ownership is reported on its own: an owner can always grant itself back).
const grantees = (acl: string, kind: string, owner: string, privs: string) => `array(
  SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END
  FROM aclexplode(coalesce(${acl}, acldefault('${kind}', ${owner}))) a
  WHERE a.privilege_type IN (${privs}) AND a.grantee <> ${owner}
    AND (a.grantee = 0 OR a.grantee IN (SELECT oid FROM mine)) ORDER BY 1)`;

export const ROLE_SQL = `SELECT current_user AS role, current_database() AS database, rolsuper, rolcreaterole,
  rolcreatedb, rolreplication FROM pg_roles WHERE rolname = current_user`;

// Every other role this one can become, with the members through which it holds each (for REVOKE ... FROM).
export const MEMBERSHIPS_SQL = `WITH ${MINE}
SELECT r.rolname, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication,
  array(SELECT quote_ident(pg_get_userbyid(a.member)) FROM pg_auth_members a
        WHERE a.roleid = r.oid AND a.member IN (SELECT oid FROM mine) ORDER BY 1) AS via
FROM pg_roles r WHERE r.rolname <> current_user AND r.oid IN (SELECT oid FROM mine) ORDER BY 1`;

// A bare table name resolves through the role's search_path, first schema that holds it.
export const RESOLVE_SQL = `SELECT s.nspname FROM unnest(current_schemas(false)) WITH ORDINALITY AS s(nspname, i)
  JOIN pg_namespace n ON n.nspname = s.nspname JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = $1
  ORDER BY s.i LIMIT 1`;

export const TABLES_SQL = `WITH ${MINE}
SELECT n.nspname AS schema, c.relname AS name,
  array(SELECT p FROM unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS p
        WHERE EXISTS (SELECT 1 FROM mine WHERE has_table_privilege(mine.oid, c.oid, p))) AS privileges,
  has_table_privilege(c.oid, 'SELECT') AS readable,
  c.relowner IN (SELECT oid FROM mine) AS owned,
  ${grantees('c.relacl', 'r', 'c.relowner', "'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'")} AS grantees
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY 1, 2`;

export const SCHEMAS_SQL = `WITH ${MINE}
SELECT n.nspname AS name, has_schema_privilege(n.oid, 'USAGE') AS usable,
  EXISTS (SELECT 1 FROM mine WHERE has_schema_privilege(mine.oid, n.oid, 'CREATE')) AS creatable,
  n.nspowner IN (SELECT oid FROM mine) AS owned,
  ${grantees('n.nspacl', 'n', 'n.nspowner', "'CREATE'")} AS grantees
FROM pg_namespace n WHERE n.nspname = ANY($1) ORDER BY 1`;

export const DATABASE_SQL = `WITH ${MINE}
SELECT d.datname AS name,
  EXISTS (SELECT 1 FROM mine WHERE has_database_privilege(mine.oid, d.oid, 'CREATE')) AS creatable,
  d.datdba IN (SELECT oid FROM mine) AS owned,
  ${grantees('d.datacl', 'd', 'd.datdba', "'CREATE'")} AS grantees
FROM pg_database d WHERE d.datname = current_database()`;

// Signatures that do not exist in this server's version are skipped (to_regprocedure gives NULL).
export const FUNCTIONS_SQL = `WITH ${MINE}
SELECT p.oid::regprocedure::text AS signature,
  ${grantees('p.proacl', 'f', 'p.proowner', "'EXECUTE'")} AS grantees
FROM unnest($1::text[]) AS f(sig) JOIN pg_proc p ON p.oid = to_regprocedure(f.sig)
WHERE EXISTS (SELECT 1 FROM mine WHERE has_function_privilege(mine.oid, p.oid, 'EXECUTE'))
ORDER BY 1`;

// The state store's tables this role owns, when the two share it: they change hands with the schema.
export const STATE_TABLES_SQL = `WITH ${MINE}
SELECT quote_ident(c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relowner IN (SELECT oid FROM mine) ORDER BY 1`;
