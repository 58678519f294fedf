-- A warehouse role for mlwatch that can read what the config watches and nothing else (docs/warehouse-role.md).
--
-- Run it as a role that may create roles and grant on the watched schemas (the schemas' owner, or a superuser),
-- in the database mlwatch watches; `mlwatch doctor --config mlwatch.yaml` then checks the result:
--
--   psql "postgresql://admin@db.example:5432/warehouse" -v ON_ERROR_STOP=1 \
--     -v role=mlwatch_reader -v schemas=public,ops \
--     [-v state_role=mlwatch_state] [-v table_owners=etl,dbt] [-v statement_timeout=60s] \
--     [-v keep_public_functions=on] \
--     -f docs/warehouse-role.sql
--   psql ... -c '\password mlwatch_reader'      -- the operator sets the password; this file never holds one
--
--   role                   the login role to create (or bring back in line: re-running is safe)
--   schemas                comma-separated: the schemas of every `table:` in mlwatch.yaml, and of the tables
--                          your custom queries read (doctor lists the first kind)
--   state_role             optional: the state store's own role (state.url), given back the advisory locks
--   table_owners           optional: the roles that create tables in those schemas later (default: you)
--   statement_timeout      optional: the role's default, a backstop to mlwatch's per-check timeout (default 60s)
--   keep_public_functions  optional: skip the database-wide REVOKEs of step 5 (read its comment first)

\set QUIET on
-- A missing variable stops here (exit 3 with ON_ERROR_STOP) instead of running half the file.
\if :{?role}
\else
  DO $$ BEGIN RAISE EXCEPTION 'set the role to create: psql -v role=mlwatch_reader ...'; END $$;
  \quit
\endif
\if :{?schemas}
\else
  DO $$ BEGIN RAISE EXCEPTION 'list the watched schemas: psql -v schemas=public,ops ...'; END $$;
  \quit
\endif
\if :{?table_owners}
\else
  \set table_owners :USER
\endif
\if :{?statement_timeout}
\else
  \set statement_timeout 60s
\endif

BEGIN;

-- 1. The role: it logs in and nothing else. NOINHERIT: a role granted to it later does not silently widen
--    what it can do (doctor still reports such a membership: SET ROLE would reach it).
SELECT format('CREATE ROLE %I LOGIN', :'role')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT LOGIN;

-- 2. Every session of the role is read-only and time-limited by default, whatever client holds the password.
--    mlwatch sets READ ONLY and statement_timeout per check as well; these cover every other client.
ALTER ROLE :"role" SET default_transaction_read_only = on;
ALTER ROLE :"role" SET statement_timeout = :'statement_timeout';

-- 3. Read, and only read, the watched schemas: USAGE on each, SELECT on every table there now (after taking
--    away any other privilege a past grant left) and on tables the owners create later; no CREATE.
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'role') \gexec
SELECT format('REVOKE CREATE, TEMPORARY ON DATABASE %I FROM %I', current_database(), :'role') \gexec
SELECT format('GRANT USAGE ON SCHEMA %I TO %I', s, :'role'),
       format('REVOKE CREATE ON SCHEMA %I FROM %I', s, :'role'),
       format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM %I', s, :'role'),
       format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %I', s, :'role')
FROM unnest(string_to_array(:'schemas', ',')) AS t(raw), trim(raw) AS s \gexec
-- Default privileges belong to the role that creates the tables: one line per owner and schema.
SELECT format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I GRANT SELECT ON TABLES TO %I', o, s, :'role')
FROM unnest(string_to_array(:'table_owners', ',')) AS a(raw_o), trim(raw_o) AS o,
     unnest(string_to_array(:'schemas', ',')) AS b(raw_s), trim(raw_s) AS s \gexec

-- 4. Nobody else's CREATE reaches the watched schemas through PUBLIC (PostgreSQL 14 and older grant CREATE on
--    schema public to PUBLIC; 15 no longer does).
SELECT format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC', s)
FROM unnest(string_to_array(:'schemas', ',')) AS t(raw), trim(raw) AS s \gexec

-- 5. The functions READ ONLY does not stop: the large-object writers (PostgreSQL before 18 runs them in a
--    read-only transaction), pg_notify and the advisory locks. Every role may EXECUTE them through PUBLIC, so
--    this is DATABASE-WIDE: every non-superuser role of this database loses them unless granted back. Check
--    what else uses them first: migration tools (Flyway, Liquibase, Rails, golang-migrate) take advisory locks,
--    LISTEN/NOTIFY applications call pg_notify; grant those roles back what they use, as below for the state
--    store. The alternative is to keep them (-v keep_public_functions=on): mlwatch ends every check with
--    ROLLBACK and DISCARD ALL, which undoes large objects and notifications and releases session locks, so a
--    check cannot keep them; what remains is anyone else holding this role's password. doctor then reports
--    them, as warnings.
\if :{?keep_public_functions}
\else
REVOKE EXECUTE ON FUNCTION
  lo_create(oid), lo_creat(integer), lo_from_bytea(oid, bytea), lo_put(oid, bigint, bytea),
  lowrite(integer, bytea), lo_truncate(integer, integer), lo_truncate64(integer, bigint), lo_unlink(oid),
  lo_import(text), lo_import(text, oid), lo_export(oid, text),
  pg_notify(text, text),
  pg_advisory_lock(bigint), pg_advisory_lock(integer, integer),
  pg_advisory_lock_shared(bigint), pg_advisory_lock_shared(integer, integer),
  pg_try_advisory_lock(bigint), pg_try_advisory_lock(integer, integer),
  pg_try_advisory_lock_shared(bigint), pg_try_advisory_lock_shared(integer, integer),
  pg_advisory_xact_lock(bigint), pg_advisory_xact_lock(integer, integer),
  pg_advisory_xact_lock_shared(bigint), pg_advisory_xact_lock_shared(integer, integer),
  pg_try_advisory_xact_lock(bigint), pg_try_advisory_xact_lock(integer, integer),
  pg_try_advisory_xact_lock_shared(bigint), pg_try_advisory_xact_lock_shared(integer, integer)
FROM PUBLIC;
-- The same for the reader itself, in case someone granted them to it directly.
REVOKE EXECUTE ON FUNCTION
  lo_create(oid), lo_creat(integer), lo_from_bytea(oid, bytea), lo_put(oid, bigint, bytea),
  lowrite(integer, bytea), lo_truncate(integer, integer), lo_truncate64(integer, bigint), lo_unlink(oid),
  pg_notify(text, text)
FROM :"role";
\if :{?state_role}
-- mlwatch's state store serializes its migrations and retraining requests with transaction-scoped locks, and
-- replicas share their checks with a session-level lock per check (pg_advisory_unlock stays PUBLIC's).
GRANT EXECUTE ON FUNCTION pg_advisory_xact_lock(bigint), pg_advisory_xact_lock(integer, integer),
  pg_try_advisory_lock(bigint)
TO :"state_role";
\endif
\endif

COMMIT;
\echo 'done. Next: set the role''s password (psql: \\password ROLE), then run mlwatch doctor'
