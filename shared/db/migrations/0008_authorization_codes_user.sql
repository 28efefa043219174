-- Ending a user's sessions, revoking a consent, disabling or deleting a user puts the access
-- tokens their authorization codes were exchanged for on the deny list (revokeFamilies), found
-- by user; deleting a user also cascades to their codes. Both read codes by user_id.
CREATE INDEX authorization_codes_user ON authorization_codes (user_id, client_id);
