-- Users, sessions and the authorization code flow (issue: OpenID Connect).

-- The OIDC standard claims that get their own columns; the rest stay in users.profile.
ALTER TABLE users
  ADD COLUMN phone_number text,
  ADD COLUMN phone_number_verified boolean NOT NULL DEFAULT false,
  ADD COLUMN locale text,
  ADD COLUMN password_changed_at timestamptz;
CREATE INDEX users_organization_created ON users (organization_id, created_at, id);

ALTER TABLE applications
  ADD COLUMN require_pushed_authorization_requests boolean NOT NULL DEFAULT false,
  -- RFC 9396: the authorization_details types this application may request.
  ADD COLUMN authorization_details_types text[] NOT NULL DEFAULT '{}',
  -- Refresh tokens: 'offline_access' (only when that scope is granted), 'always' or 'never'.
  ADD COLUMN refresh_token_policy text NOT NULL DEFAULT 'offline_access'
    CHECK (refresh_token_policy IN ('offline_access', 'always', 'never')),
  ADD COLUMN refresh_token_idle_ttl integer NOT NULL DEFAULT 1209600 CHECK (refresh_token_idle_ttl BETWEEN 60 AND 31536000),
  ADD COLUMN refresh_token_absolute_ttl integer NOT NULL DEFAULT 2592000 CHECK (refresh_token_absolute_ttl BETWEEN 60 AND 31536000),
  -- RFC 7592: the digest of the registration access token of a dynamically registered client.
  ADD COLUMN registration_access_token_digest bytea;

-- Browser sessions: the cookie carries a 256-bit random value; only its digest is stored.
CREATE TABLE sessions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_digest bytea NOT NULL UNIQUE CHECK (length(token_digest) = 32),
  auth_time timestamptz NOT NULL,
  amr text[] NOT NULL DEFAULT '{pwd}',
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  idle_expires_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  ended_at timestamptz,
  ip inet,
  user_agent text
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE ended_at IS NULL;
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Authorization requests waiting for a person (login, consent) and pushed ones (RFC 9126).
-- The handle in URLs is 256-bit random; only its digest is stored.
CREATE TABLE authorization_requests (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  handle_digest bytea NOT NULL UNIQUE CHECK (length(handle_digest) = 32),
  kind text NOT NULL CHECK (kind IN ('pushed', 'interaction')),
  client_id text NOT NULL,
  parameters jsonb NOT NULL,
  -- The session that completed the login step of this request, and when.
  session_id uuid REFERENCES sessions (id) ON DELETE CASCADE,
  authenticated_at timestamptz,
  consented_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  consumed_at timestamptz
);
CREATE INDEX authorization_requests_expiry ON authorization_requests (expires_at);

-- Authorization codes (RFC 6749 §4.1.2): single use, short-lived, bound to the client, the
-- redirect URI and the PKCE challenge. What the first use issued is recorded so a replay can
-- revoke it (RFC 6749 §4.1.2, RFC 9700 §4.2.3).
CREATE TABLE authorization_codes (
  code_digest bytea PRIMARY KEY CHECK (length(code_digest) = 32),
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  client_id text NOT NULL,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  session_id uuid REFERENCES sessions (id) ON DELETE SET NULL,
  redirect_uri text NOT NULL,
  scope text[] NOT NULL,
  nonce text,
  code_challenge text,
  resource text[],
  authorization_details jsonb,
  auth_time timestamptz NOT NULL,
  amr text[] NOT NULL,
  acr text,
  expires_at timestamptz NOT NULL,
  consumed_at timestamptz,
  issued_access_token_jti text,
  issued_access_token_expires_at timestamptz,
  issued_refresh_family_id uuid
);
CREATE INDEX authorization_codes_expiry ON authorization_codes (expires_at);

-- Refresh tokens rotate on every use; the family ties the chain together so the reuse of a
-- rotated token revokes all of it (RFC 9700 §4.14.2).
CREATE TABLE refresh_token_families (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  client_id text NOT NULL,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  session_id uuid REFERENCES sessions (id) ON DELETE SET NULL,
  scope text[] NOT NULL,
  resource text[],
  authorization_details jsonb,
  auth_time timestamptz NOT NULL,
  amr text[] NOT NULL,
  acr text,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  revoked_reason text
);
CREATE INDEX refresh_token_families_user ON refresh_token_families (user_id) WHERE revoked_at IS NULL;
CREATE INDEX refresh_token_families_expiry ON refresh_token_families (expires_at);

CREATE TABLE refresh_tokens (
  token_digest bytea PRIMARY KEY CHECK (length(token_digest) = 32),
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  family_id uuid NOT NULL REFERENCES refresh_token_families (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  idle_expires_at timestamptz NOT NULL,
  consumed_at timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

-- Consent, remembered per user and application.
CREATE TABLE consents (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  client_id text NOT NULL,
  scope text[] NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, user_id, client_id)
);

-- Fixed-window counters for rate limits (DESIGN.md §7) and failed-login lockout.
CREATE TABLE rate_limit_counters (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  key text NOT NULL,
  window_start timestamptz NOT NULL,
  count integer NOT NULL,
  PRIMARY KEY (organization_id, key)
);
CREATE INDEX rate_limit_counters_window ON rate_limit_counters (window_start);

-- Failed logins by email digest, for every email tried, so lockout says nothing about which
-- accounts exist.
CREATE TABLE login_failures (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  email_digest bytea NOT NULL CHECK (length(email_digest) = 32),
  failures integer NOT NULL DEFAULT 0,
  last_failure_at timestamptz NOT NULL DEFAULT now(),
  locked_until timestamptz,
  PRIMARY KEY (organization_id, email_digest)
);

-- Initial access tokens for dynamic client registration (RFC 7591 §3).
CREATE TABLE registration_tokens (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  token_digest bytea NOT NULL UNIQUE CHECK (length(token_digest) = 32),
  uses_left integer NOT NULL CHECK (uses_left >= 0),
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT, UPDATE, DELETE
  ON sessions, authorization_requests, authorization_codes, refresh_token_families, refresh_tokens, consents,
     rate_limit_counters, login_failures, registration_tokens
  TO zenoauth_runtime;

ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
ALTER TABLE authorization_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE authorization_requests FORCE ROW LEVEL SECURITY;
ALTER TABLE authorization_codes ENABLE ROW LEVEL SECURITY;
ALTER TABLE authorization_codes FORCE ROW LEVEL SECURITY;
ALTER TABLE refresh_token_families ENABLE ROW LEVEL SECURITY;
ALTER TABLE refresh_token_families FORCE ROW LEVEL SECURITY;
ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE refresh_tokens FORCE ROW LEVEL SECURITY;
ALTER TABLE consents ENABLE ROW LEVEL SECURITY;
ALTER TABLE consents FORCE ROW LEVEL SECURITY;
ALTER TABLE rate_limit_counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE rate_limit_counters FORCE ROW LEVEL SECURITY;
ALTER TABLE login_failures ENABLE ROW LEVEL SECURITY;
ALTER TABLE login_failures FORCE ROW LEVEL SECURITY;
ALTER TABLE registration_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE registration_tokens FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON sessions
  USING (organization_id = zenoauth_current_org()) WITH CHECK (organization_id = zenoauth_current_org());
CREATE POLICY tenant_isolation ON authorization_requests
  USING (organization_id = zenoauth_current_org()) WITH CHECK (organization_id = zenoauth_current_org());
CREATE POLICY tenant_isolation ON authorization_codes
  USING (organization_id = zenoauth_current_org()) WITH CHECK (organization_id = zenoauth_current_org());
CREATE POLICY tenant_isolation ON refresh_token_families
  USING (organization_id = zenoauth_current_org()) WITH CHECK (organization_id = zenoauth_current_org());
CREATE POLICY tenant_isolation ON refresh_tokens
  USING (organization_id = zenoauth_current_org()) WITH CHECK (organization_id = zenoauth_current_org());
CREATE POLICY tenant_isolation ON consents
  USING (organization_id = zenoauth_current_org()) WITH CHECK (organization_id = zenoauth_current_org());
CREATE POLICY tenant_isolation ON rate_limit_counters
  USING (organization_id = zenoauth_current_org()) WITH CHECK (organization_id = zenoauth_current_org());
CREATE POLICY tenant_isolation ON login_failures
  USING (organization_id = zenoauth_current_org()) WITH CHECK (organization_id = zenoauth_current_org());
CREATE POLICY tenant_isolation ON registration_tokens
  USING (organization_id = zenoauth_current_org()) WITH CHECK (organization_id = zenoauth_current_org());
