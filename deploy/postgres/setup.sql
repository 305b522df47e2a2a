-- duecall's PostgreSQL role and database. Run once, as a superuser, with psql:
--
--     sudo -u postgres psql -v ON_ERROR_STOP=1 -f deploy/postgres/setup.sql
--
-- The role has no password: the duecall system user logs in over the local Unix socket with
-- peer authentication (PostgreSQL's default for local connections), so
--     DUECALL_DATABASE_URL=postgresql+psycopg://duecall@/duecall?host=/run/postgresql
-- holds no secret. For TCP from another host, give it one (\password duecall in psql), allow it
-- in pg_hba.conf (scram-sha-256) and hand the URL to the units as a credential
-- (DUECALL_DATABASE_URL_FILE). Then `duecall db upgrade` creates the tables, as this role.

-- The application's role: logs in, owns its database, nothing more.
CREATE ROLE duecall LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;

-- UTF-8 whatever the cluster's default: names and messages are English and Chinese.
CREATE DATABASE duecall OWNER duecall ENCODING 'UTF8' TEMPLATE template0;

-- Only duecall (and superusers) may connect to it.
REVOKE ALL ON DATABASE duecall FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE duecall TO duecall;

\connect duecall

-- In the new database: nobody else creates objects in schema public (PostgreSQL 15 and later
-- already start that way; older servers let every role do it), and duecall does.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO duecall;
