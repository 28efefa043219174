-- Token service: signing keys, the access-token deny list, private_key_jwt replay protection
-- (DESIGN.md §5).

-- Per organization and algorithm: one `next` key (published, not yet signing), one `current`
-- (signing), any number of `previous` (published until every token they signed has expired)
-- and `retired` ones (neither; their private key is erased).
CREATE TABLE signing_keys (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  -- The RFC 7638 thumbprint of the public key.
  kid text NOT NULL UNIQUE,
  alg text NOT NULL CHECK (alg IN ('EdDSA', 'ES256', 'RS256')),
  state text NOT NULL CHECK (state IN ('next', 'current', 'previous', 'retired')),
  public_jwk jsonb NOT NULL,
  -- AES-256-GCM (12-byte IV, ciphertext, 16-byte tag) of the PKCS #8 private key, under a key
  -- derived by HKDF-SHA256 from MASTER_KEY and bound to the organization and kid.
  private_key bytea,
  created_at timestamptz NOT NULL DEFAULT now(),
  activated_at timestamptz,
  deactivated_at timestamptz,
  publish_until timestamptz,
  retired_at timestamptz,
  CHECK ((state = 'retired') = (private_key IS NULL)),
  CHECK (state <> 'previous' OR publish_until IS NOT NULL)
);
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (organization_id, alg) WHERE state = 'current';
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys (organization_id, alg) WHERE state = 'next';
CREATE INDEX signing_keys_organization ON signing_keys (organization_id, state);

-- Revoked access tokens (RFC 7009): the jti deny list, kept until the token would expire.
CREATE TABLE revoked_access_tokens (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  jti text NOT NULL,
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, jti)
);
CREATE INDEX revoked_access_tokens_expiry ON revoked_access_tokens (expires_at);

-- Client assertions seen (RFC 7523 §3: jti), kept until the assertion expires, so none is
-- accepted twice.
CREATE TABLE client_assertion_jtis (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  client_id text NOT NULL,
  jti text NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (organization_id, client_id, jti)
);
CREATE INDEX client_assertion_jtis_expiry ON client_assertion_jtis (expires_at);

GRANT SELECT, INSERT, UPDATE ON signing_keys TO zenoauth_runtime;
GRANT SELECT, INSERT, DELETE ON revoked_access_tokens, client_assertion_jtis TO zenoauth_runtime;

ALTER TABLE signing_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE signing_keys FORCE ROW LEVEL SECURITY;
ALTER TABLE revoked_access_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE revoked_access_tokens FORCE ROW LEVEL SECURITY;
ALTER TABLE client_assertion_jtis ENABLE ROW LEVEL SECURITY;
ALTER TABLE client_assertion_jtis FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON signing_keys
  USING (organization_id = zenoauth_current_org()) WITH CHECK (organization_id = zenoauth_current_org());
CREATE POLICY tenant_isolation ON revoked_access_tokens
  USING (organization_id = zenoauth_current_org()) WITH CHECK (organization_id = zenoauth_current_org());
CREATE POLICY tenant_isolation ON client_assertion_jtis
  USING (organization_id = zenoauth_current_org()) WITH CHECK (organization_id = zenoauth_current_org());
