-- RFC 7591 client metadata without a column of its own (client_uri, logo_uri, contacts, ...),
-- kept as given so a registered client reads back what it registered.
ALTER TABLE applications ADD COLUMN client_metadata jsonb NOT NULL DEFAULT '{}'::jsonb
  CHECK (jsonb_typeof(client_metadata) = 'object');
