-- The login prometheus-sql-exporter connects as (prometheus/sql-exporter.yml):
-- a member of depwatch_reader and nothing more, never a superuser.  Run it
-- as a superuser in each database where depwatch is installed (roles are
-- per cluster: CREATE ROLE once), then set the password:
--     psql -d bank -f prometheus/exporter-role.sql
--     psql -d bank -c "\password depwatch_exporter"
-- and allow the login in pg_hba.conf, for example
--     host  bank  depwatch_exporter  127.0.0.1/32  scram-sha-256
DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'depwatch_exporter') THEN
		CREATE ROLE depwatch_exporter LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
			CONNECTION LIMIT 3;
	END IF;
END
$$;
GRANT depwatch_reader TO depwatch_exporter;
-- its sessions only read, and never for long
ALTER ROLE depwatch_exporter SET default_transaction_read_only = on;
ALTER ROLE depwatch_exporter SET statement_timeout = '10s';
