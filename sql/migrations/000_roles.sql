-- 000_roles.sql: the three roles of docs/security.md.  Roles belong to the
-- cluster, not the database, so each is created only when missing.
DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tripline_owner') THEN
		CREATE ROLE tripline_owner NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tripline_web') THEN
		CREATE ROLE tripline_web LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE CONNECTION LIMIT 64;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tripline_runner') THEN
		CREATE ROLE tripline_runner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE CONNECTION LIMIT 64;
	END IF;
END
$$;

-- PostgreSQL 15 no longer lets PUBLIC create in schema public; also keep
-- the login roles out of the database unless granted.
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT CREATE ON SCHEMA public TO tripline_owner;
ALTER ROLE tripline_web SET search_path = tripline;
ALTER ROLE tripline_runner SET search_path = tripline;
ALTER ROLE tripline_web SET statement_timeout = '30s';
