-- Sessions, authorization codes, refresh-token families and refresh tokens are written on every
-- sign-in, code exchange and refresh. Each referenced its organization and its owner (the user,
-- or for a refresh token its family) with two foreign keys, so every insert ran two checks, and
-- the check on organizations locked that tenant's one row (FOR KEY SHARE) from every concurrent
-- insert: a lock record in the WAL and a new MultiXact each time, on the hottest row there is.
-- One composite key to the owner, which carries the organization, does both jobs in one check:
-- the row cannot name an owner of another organization (the two keys together never said
-- that), and deleting the organization still reaches these rows through the owner's cascade.
ALTER TABLE users ADD CONSTRAINT users_id_organization UNIQUE (id, organization_id);
ALTER TABLE refresh_token_families ADD CONSTRAINT refresh_token_families_id_organization UNIQUE (id, organization_id);

ALTER TABLE sessions
  DROP CONSTRAINT sessions_organization_id_fkey,
  DROP CONSTRAINT sessions_user_id_fkey,
  ADD CONSTRAINT sessions_user FOREIGN KEY (user_id, organization_id)
    REFERENCES users (id, organization_id) ON DELETE CASCADE;

ALTER TABLE authorization_codes
  DROP CONSTRAINT authorization_codes_organization_id_fkey,
  DROP CONSTRAINT authorization_codes_user_id_fkey,
  ADD CONSTRAINT authorization_codes_user FOREIGN KEY (user_id, organization_id)
    REFERENCES users (id, organization_id) ON DELETE CASCADE;

ALTER TABLE refresh_token_families
  DROP CONSTRAINT refresh_token_families_organization_id_fkey,
  DROP CONSTRAINT refresh_token_families_user_id_fkey,
  ADD CONSTRAINT refresh_token_families_user FOREIGN KEY (user_id, organization_id)
    REFERENCES users (id, organization_id) ON DELETE CASCADE;

ALTER TABLE refresh_tokens
  DROP CONSTRAINT refresh_tokens_organization_id_fkey,
  DROP CONSTRAINT refresh_tokens_family_id_fkey,
  ADD CONSTRAINT refresh_tokens_family FOREIGN KEY (family_id, organization_id)
    REFERENCES refresh_token_families (id, organization_id) ON DELETE CASCADE;
