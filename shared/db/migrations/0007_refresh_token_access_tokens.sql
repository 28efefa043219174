-- The access token issued with each refresh token (its jti and expiry), so revoking a family
-- (RFC 7009 §2.1, a replayed refresh token, a replayed authorization code) puts the access
-- tokens of the same grant on the deny list too. Tokens issued before this migration have none.
ALTER TABLE refresh_tokens
  ADD COLUMN access_token_jti text,
  ADD COLUMN access_token_expires_at timestamptz,
  ADD CONSTRAINT refresh_tokens_access_token CHECK ((access_token_jti IS NULL) = (access_token_expires_at IS NULL));
