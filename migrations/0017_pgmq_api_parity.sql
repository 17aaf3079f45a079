-- 0017_pgmq_api_parity: our SQL implementation of the PGMQ API (0002) made to behave like the
-- extension where PGMQ's own client libraries noticed the difference, so that services outside
-- Tasker can consume its queues with them:
-- - queue names: pgmq refuses only `$`, `;`, `--` and `'` (in format_table_name), and names over
--   47 characters at create (validate_queue_name); `-`, `.` and spaces are allowed, the table
--   names being quoted. We refused everything but letters, digits and underscores.
-- - a NULL delay: pgmq writes it as the message's vt and the NOT NULL constraint refuses it; we
--   sent at once.
-- - drop_queue(text, boolean) (deprecated in pgmq, warns and drops) and detach_archive(text)
--   (detaches the archive table from the extension; ours is no extension, so there is nothing
--   to detach) were missing.
-- - pg_monitor may read the pgmq schema's tables and sequences, present and future.
-- Nothing changes when the real extension is installed.
DO $migration$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pgmq') OR to_regclass('pgmq.meta') IS NULL THEN
    RETURN;
  END IF;

  CREATE OR REPLACE FUNCTION pgmq.validate_queue_name(queue_name text)
  RETURNS void
  LANGUAGE plpgsql IMMUTABLE
  AS $fn$
  BEGIN
    IF length(queue_name) > 47 THEN
      RAISE EXCEPTION 'queue name is too long, maximum length is 47 characters'
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
  END;
  $fn$;

  CREATE OR REPLACE FUNCTION pgmq.format_table_name(queue_name text, prefix text)
  RETURNS text
  LANGUAGE plpgsql IMMUTABLE
  AS $fn$
  BEGIN
    IF queue_name ~ '\$|;|--|''' THEN
      RAISE EXCEPTION 'queue name contains invalid characters: $, ;, --, or \'''
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM pgmq.validate_queue_name(queue_name);
    RETURN lower(prefix || '_' || queue_name);
  END;
  $fn$;

  CREATE OR REPLACE FUNCTION pgmq.send(queue_name text, msg jsonb, headers jsonb, delay timestamptz)
  RETURNS SETOF bigint
  LANGUAGE plpgsql
  AS $fn$
  BEGIN
    RETURN QUERY EXECUTE format(
      'INSERT INTO pgmq.%I (vt, message, headers) VALUES ($1, $2, $3) RETURNING msg_id',
      pgmq.format_table_name(queue_name, 'q'))
    USING delay, msg, headers;
  END;
  $fn$;

  CREATE OR REPLACE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], headers jsonb[], delay timestamptz)
  RETURNS SETOF bigint
  LANGUAGE plpgsql
  AS $fn$
  BEGIN
    RETURN QUERY EXECUTE format(
      $q$
      WITH inserted AS (
        INSERT INTO pgmq.%I (vt, message, headers)
        SELECT $1, m.message, m.headers
        FROM unnest($2, coalesce($3, ARRAY[]::jsonb[])) WITH ORDINALITY AS m(message, headers, ord)
        WHERE m.ord <= cardinality($2)
        ORDER BY m.ord
        RETURNING msg_id
      )
      SELECT msg_id FROM inserted ORDER BY msg_id
      $q$,
      pgmq.format_table_name(queue_name, 'q'))
    USING delay, msgs, headers;
  END;
  $fn$;

  CREATE OR REPLACE FUNCTION pgmq.drop_queue(queue_name text, partitioned boolean)
  RETURNS boolean
  LANGUAGE plpgsql
  AS $fn$
  BEGIN
    RAISE WARNING 'drop_queue(queue_name, partitioned) is deprecated and will be removed in PGMQ v2.0. Use drop_queue(queue_name) instead.';
    PERFORM pgmq.drop_queue(queue_name);
    RETURN true;
  END;
  $fn$;

  CREATE OR REPLACE FUNCTION pgmq.detach_archive(queue_name text)
  RETURNS void
  LANGUAGE plpgsql
  AS $fn$
  BEGIN
    -- Checks the name as pgmq does; the archive table already belongs to no extension.
    PERFORM pgmq.format_table_name(queue_name, 'a');
  END;
  $fn$;

  GRANT USAGE ON SCHEMA pgmq TO pg_monitor;
  GRANT SELECT ON ALL TABLES IN SCHEMA pgmq TO pg_monitor;
  GRANT SELECT ON ALL SEQUENCES IN SCHEMA pgmq TO pg_monitor;
  ALTER DEFAULT PRIVILEGES IN SCHEMA pgmq GRANT SELECT ON TABLES TO pg_monitor;
  ALTER DEFAULT PRIVILEGES IN SCHEMA pgmq GRANT SELECT ON SEQUENCES TO pg_monitor;
END
$migration$;
