-- Readiness: a process that does not migrate (MIGRATE_ON_START=false, as on Knative, where a Job
-- migrates) reports ready only once every migration of its release is applied, so a new
-- revision takes no traffic before its schema exists. It reads the list as the runtime role.
GRANT SELECT ON zenoauth_migrations TO zenoauth_runtime;
