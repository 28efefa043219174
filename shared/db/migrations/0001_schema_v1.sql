-- Schema v1: tenants, users, applications, audit events (DESIGN.md §4).
--
-- Every tenant table carries organization_id and has row-level security ENABLED and FORCED.
-- The runtime connects as a member of zenoauth_runtime, which owns nothing, and every
-- transaction sets app.org_id (SET LOCAL), so a query that forgets its WHERE clause still
-- sees only its own organization.

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'zenoauth_runtime') THEN
    CREATE ROLE zenoauth_runtime NOLOGIN;
  END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO zenoauth_runtime;

-- The organization of the current transaction; NULL when none is set, so policies deny.
CREATE FUNCTION zenoauth_current_org() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT NULLIF(current_setting('app.org_id', true), '')::uuid $$;

CREATE TABLE organizations (
  id uuid PRIMARY KEY,
  slug text NOT NULL UNIQUE
    CONSTRAINT organizations_slug_format CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  is_default boolean NOT NULL DEFAULT false,
  settings jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(settings) = 'object'),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- At most one default organization: it answers on PUBLIC_URL and on every unclaimed host.
CREATE UNIQUE INDEX organizations_one_default ON organizations (is_default) WHERE is_default;

CREATE TABLE organization_domains (
  domain text PRIMARY KEY
    CONSTRAINT organization_domains_domain_format CHECK (domain ~ '^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$'),
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  is_primary boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX organization_domains_organization ON organization_domains (organization_id);
CREATE UNIQUE INDEX organization_domains_one_primary ON organization_domains (organization_id) WHERE is_primary;

CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  email text NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
  email_verified boolean NOT NULL DEFAULT false,
  password_hash text,
  name text,
  given_name text,
  family_name text,
  -- The remaining OIDC standard claims (OpenID Connect Core §5.1) as one object.
  profile jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(profile) = 'object'),
  is_active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- Email is unique per organization, case-insensitively.
CREATE UNIQUE INDEX users_email_per_organization ON users (organization_id, lower(email));

CREATE TABLE applications (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  client_id text NOT NULL UNIQUE CHECK (length(client_id) BETWEEN 8 AND 200),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  type text NOT NULL CHECK (type IN ('confidential', 'public', 'service')),
  redirect_uris text[] NOT NULL DEFAULT '{}',
  post_logout_redirect_uris text[] NOT NULL DEFAULT '{}',
  grant_types text[] NOT NULL DEFAULT '{}',
  allowed_scopes text[] NOT NULL DEFAULT '{}',
  -- NULL: a request without `scope` gets every allowed scope.
  default_scopes text[],
  allowed_audiences text[] NOT NULL DEFAULT '{}',
  token_endpoint_auth_method text NOT NULL
    CHECK (token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none')),
  jwks jsonb,
  jwks_uri text,
  id_token_signed_response_alg text CHECK (id_token_signed_response_alg IN ('RS256', 'ES256', 'EdDSA')),
  access_token_ttl integer NOT NULL DEFAULT 600 CHECK (access_token_ttl BETWEEN 30 AND 86400),
  first_party boolean NOT NULL DEFAULT false,
  is_active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX applications_organization ON applications (organization_id, created_at, id);

-- Client secrets: SHA-256 digests of 256-bit random values (DESIGN.md §5). A rotated secret
-- keeps working until expires_at; the current one has none.
CREATE TABLE application_secrets (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  application_id uuid NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
  digest bytea NOT NULL CHECK (length(digest) = 32),
  expires_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX application_secrets_application ON application_secrets (application_id);

-- Append-only: the runtime may insert and read, never change or delete.
CREATE TABLE audit_events (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  actor_type text NOT NULL CHECK (actor_type IN ('user', 'client', 'system', 'anonymous')),
  actor_id text,
  action text NOT NULL,
  target_type text,
  target_id text,
  result text NOT NULL CHECK (result IN ('success', 'failure')),
  ip inet,
  user_agent text,
  request_id text,
  details jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_events_organization_time ON audit_events (organization_id, occurred_at DESC, id);

GRANT SELECT, INSERT, UPDATE, DELETE
  ON organizations, organization_domains, users, applications, application_secrets
  TO zenoauth_runtime;
GRANT SELECT, INSERT ON audit_events TO zenoauth_runtime;

ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE organizations FORCE ROW LEVEL SECURITY;
ALTER TABLE organization_domains ENABLE ROW LEVEL SECURITY;
ALTER TABLE organization_domains FORCE ROW LEVEL SECURITY;
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
ALTER TABLE applications ENABLE ROW LEVEL SECURITY;
ALTER TABLE applications FORCE ROW LEVEL SECURITY;
ALTER TABLE application_secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE application_secrets FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON organizations
  USING (id = zenoauth_current_org()) WITH CHECK (id = zenoauth_current_org());
CREATE POLICY tenant_isolation ON organization_domains
  USING (organization_id = zenoauth_current_org()) WITH CHECK (organization_id = zenoauth_current_org());
CREATE POLICY tenant_isolation ON users
  USING (organization_id = zenoauth_current_org()) WITH CHECK (organization_id = zenoauth_current_org());
CREATE POLICY tenant_isolation ON applications
  USING (organization_id = zenoauth_current_org()) WITH CHECK (organization_id = zenoauth_current_org());
CREATE POLICY tenant_isolation ON application_secrets
  USING (organization_id = zenoauth_current_org()) WITH CHECK (organization_id = zenoauth_current_org());
CREATE POLICY tenant_isolation ON audit_events
  USING (organization_id = zenoauth_current_org()) WITH CHECK (organization_id = zenoauth_current_org());

-- The tenant directory. Resolving a Host to its organization must look across tenants, so it
-- happens only through the SECURITY DEFINER functions below, which run as the schema owner.
-- This policy lets the owner (never a member of zenoauth_runtime) read the directory.
CREATE POLICY directory_lookup ON organizations FOR SELECT
  USING (NOT pg_has_role('zenoauth_runtime', 'MEMBER'));
CREATE POLICY directory_lookup ON organization_domains FOR SELECT
  USING (NOT pg_has_role('zenoauth_runtime', 'MEMBER'));

-- The organization that answers on a host: the one claiming the domain, else the default.
CREATE FUNCTION zenoauth_resolve_organization(p_host text)
  RETURNS TABLE (id uuid, slug text, name text, is_default boolean, settings jsonb, primary_domain text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$
    SELECT o.id, o.slug, o.name, o.is_default, o.settings,
           (SELECT p.domain FROM organization_domains p WHERE p.organization_id = o.id AND p.is_primary)
      FROM organizations o
      LEFT JOIN organization_domains d ON d.organization_id = o.id AND d.domain = lower(p_host)
     WHERE d.domain IS NOT NULL OR o.is_default
     ORDER BY (d.domain IS NOT NULL) DESC
     LIMIT 1
  $$;

-- Every organization, for scheduled jobs that then work inside each one's own transaction.
CREATE FUNCTION zenoauth_list_organizations()
  RETURNS TABLE (id uuid, slug text, is_default boolean)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$ SELECT id, slug, is_default FROM organizations ORDER BY created_at, id $$;

REVOKE ALL ON FUNCTION zenoauth_resolve_organization(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION zenoauth_list_organizations() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION zenoauth_resolve_organization(text) TO zenoauth_runtime;
GRANT EXECUTE ON FUNCTION zenoauth_list_organizations() TO zenoauth_runtime;
