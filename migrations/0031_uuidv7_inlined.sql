-- tasker.uuid_generate_v7 (migration 0001) as one SQL expression. A SQL function is inlined
-- into the statement that calls it, the key defaults of every insert included, where the
-- PL/pgSQL one cost a function call per row; the epoch is read as a double (date_part), not
-- as a numeric. On PostgreSQL 15 here: 3.2 → 1.7 µs per key made alone, 4.8 → 3.2 µs per row
-- inserted into a table keyed by it (a random v4 key: 3.1). The keys are the same: 48-bit
-- Unix milliseconds, version 7 (bits 52 and 53 turn gen_random_uuid's version 4 into 7), the
-- RFC variant gen_random_uuid set, random bits.
CREATE OR REPLACE FUNCTION tasker.uuid_generate_v7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
  SELECT encode(
           set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
                                   PLACING substring(int8send(floor(date_part('epoch', clock_timestamp())
                                                                    * 1000)::bigint) FROM 3)
                                   FROM 1 FOR 6),
                           52, 1),
                   53, 1),
           'hex')::uuid
$$;
