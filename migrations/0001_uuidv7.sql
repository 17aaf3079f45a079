-- UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits. PostgreSQL 15 has no uuidv7(),
-- so keys are generated here; time-ordered keys keep B-tree inserts local and let
-- "newest first" listings use the primary key.
CREATE OR REPLACE FUNCTION tasker.uuid_generate_v7() RETURNS uuid
LANGUAGE plpgsql VOLATILE PARALLEL SAFE AS $$
DECLARE
  unix_ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000);
  bytes bytea := uuid_send(gen_random_uuid());
BEGIN
  bytes := overlay(bytes PLACING substring(int8send(unix_ms) FROM 3) FROM 1 FOR 6);
  -- Version nibble 0111; gen_random_uuid() already set the RFC 4122 variant bits.
  bytes := set_byte(bytes, 6, (get_byte(bytes, 6) & 15) | 112);
  RETURN encode(bytes, 'hex')::uuid;
END
$$;
