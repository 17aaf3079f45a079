-- 0002_pgmq: message queues in PostgreSQL with the PGMQ function API.
--
-- Uses the real pgmq extension when the server has it. Otherwise installs our own
-- implementation of the same API (schema pgmq, same function names, arguments, return
-- types and semantics as pgmq 1.x), so application code never needs to know which one
-- it is talking to.
--
-- The whole file is a single DO block because plain SQL cannot branch and the file must
-- run as one multi-statement simple query (no psql meta-commands). Every statement in the
-- fallback is idempotent (IF NOT EXISTS / CREATE OR REPLACE), so re-running it is safe.
--
-- Dollar-quote tags: $migration$ (this block), $fn$ (function bodies), $q$ (dynamic SQL
-- built inside function bodies).

DO $migration$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pgmq') THEN
    -- If our fallback was installed earlier (the extension appeared later), CREATE
    -- EXTENSION would collide with the existing pgmq schema and its queue tables; keep
    -- the fallback and let an explicit data migration switch over instead.
    IF to_regclass('pgmq.meta') IS NULL
       OR EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pgmq') THEN
      CREATE EXTENSION IF NOT EXISTS pgmq;
      RETURN;
    END IF;
    RAISE NOTICE 'pgmq extension is available but the SQL fallback is already installed; keeping the fallback';
  END IF;

  ---------------------------------------------------------------------------
  -- Schema, catalog table and record types
  ---------------------------------------------------------------------------
  CREATE SCHEMA IF NOT EXISTS pgmq;

  CREATE TABLE IF NOT EXISTS pgmq.meta (
    queue_name     text PRIMARY KEY,
    is_partitioned boolean NOT NULL DEFAULT false,
    is_unlogged    boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now()
  );

  -- CREATE TYPE has no IF NOT EXISTS.
  IF to_regtype('pgmq.message_record') IS NULL THEN
    CREATE TYPE pgmq.message_record AS (
      msg_id      bigint,
      read_ct     integer,
      enqueued_at timestamptz,
      vt          timestamptz,
      message     jsonb,
      headers     jsonb
    );
  END IF;

  IF to_regtype('pgmq.queue_record') IS NULL THEN
    -- varchar (not text) to match the real extension's type exactly.
    CREATE TYPE pgmq.queue_record AS (
      queue_name     varchar,
      is_partitioned boolean,
      is_unlogged    boolean,
      created_at     timestamptz
    );
  END IF;

  IF to_regtype('pgmq.metrics_result') IS NULL THEN
    CREATE TYPE pgmq.metrics_result AS (
      queue_name           text,
      queue_length         bigint,
      newest_msg_age_sec   integer,
      oldest_msg_age_sec   integer,
      total_messages       bigint,
      scrape_time          timestamptz,
      queue_visible_length bigint
    );
  END IF;

  ---------------------------------------------------------------------------
  -- Queue names and table names
  ---------------------------------------------------------------------------

  -- Queue names end up in table names, so restrict them to a set that is safe and
  -- unambiguous. 47 chars is pgmq's limit: the longest derived identifier
  -- (template_pgmq_q_<name> for partitioned queues) must fit in 63 bytes.
  CREATE OR REPLACE FUNCTION pgmq.validate_queue_name(queue_name text)
  RETURNS void
  LANGUAGE plpgsql IMMUTABLE
  AS $fn$
  BEGIN
    IF queue_name IS NULL OR queue_name = '' THEN
      RAISE EXCEPTION 'queue name must not be empty'
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF length(queue_name) > 47 THEN
      RAISE EXCEPTION 'queue name "%" is too long, maximum length is 47 characters', queue_name
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF queue_name !~ '^[A-Za-z0-9_]+$' THEN
      RAISE EXCEPTION 'queue name "%" is invalid: only letters, digits and underscores are allowed', queue_name
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
  END;
  $fn$;

  -- Like pgmq, table names are lower-cased, so 'Orders' and 'orders' share tables.
  CREATE OR REPLACE FUNCTION pgmq.format_table_name(queue_name text, prefix text)
  RETURNS text
  LANGUAGE plpgsql IMMUTABLE
  AS $fn$
  BEGIN
    PERFORM pgmq.validate_queue_name(queue_name);
    RETURN lower(prefix || '_' || queue_name);
  END;
  $fn$;

  -- Serialises create/drop of the same queue: concurrent CREATE TABLE IF NOT EXISTS can
  -- still fail on the catalog's unique indexes. Held until commit on purpose.
  CREATE OR REPLACE FUNCTION pgmq.acquire_queue_lock(queue_name text)
  RETURNS void
  LANGUAGE sql
  AS $fn$
    SELECT pg_advisory_xact_lock(hashtext('pgmq.queue_' || lower(queue_name)));
  $fn$;

  ---------------------------------------------------------------------------
  -- Queue lifecycle
  ---------------------------------------------------------------------------
  CREATE OR REPLACE FUNCTION pgmq._create_queue(queue_name text, unlogged boolean)
  RETURNS void
  LANGUAGE plpgsql
  AS $fn$
  DECLARE
    qtable text := pgmq.format_table_name(queue_name, 'q');
    atable text := pgmq.format_table_name(queue_name, 'a');
  BEGIN
    PERFORM pgmq.acquire_queue_lock(queue_name);

    -- Checked explicitly (rather than only IF NOT EXISTS) to keep re-creates free of
    -- "already exists, skipping" notices.
    IF to_regclass(format('pgmq.%I', qtable)) IS NULL THEN
      EXECUTE format(
        $q$
        CREATE %s TABLE pgmq.%I (
          msg_id      bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
          read_ct     integer NOT NULL DEFAULT 0,
          enqueued_at timestamptz NOT NULL DEFAULT now(),
          vt          timestamptz NOT NULL,
          message     jsonb,
          headers     jsonb
        )
        $q$,
        CASE WHEN unlogged THEN 'UNLOGGED' ELSE '' END, qtable);
      EXECUTE format('CREATE INDEX %I ON pgmq.%I (vt ASC)', qtable || '_vt_idx', qtable);
    END IF;

    IF to_regclass(format('pgmq.%I', atable)) IS NULL THEN
      -- msg_id is copied from the queue table, so no identity here.
      EXECUTE format(
        $q$
        CREATE TABLE pgmq.%I (
          msg_id      bigint PRIMARY KEY,
          read_ct     integer NOT NULL DEFAULT 0,
          enqueued_at timestamptz NOT NULL DEFAULT now(),
          archived_at timestamptz NOT NULL DEFAULT now(),
          vt          timestamptz NOT NULL,
          message     jsonb,
          headers     jsonb
        )
        $q$,
        atable);
      EXECUTE format('CREATE INDEX %I ON pgmq.%I (archived_at)', atable || '_archived_at_idx', atable);
    END IF;

    INSERT INTO pgmq.meta (queue_name, is_partitioned, is_unlogged)
    VALUES (queue_name, false, unlogged)
    ON CONFLICT DO NOTHING;
  END;
  $fn$;

  CREATE OR REPLACE FUNCTION pgmq.create(queue_name text)
  RETURNS void
  LANGUAGE sql
  AS $fn$ SELECT pgmq._create_queue(queue_name, false); $fn$;

  CREATE OR REPLACE FUNCTION pgmq.create_non_partitioned(queue_name text)
  RETURNS void
  LANGUAGE sql
  AS $fn$ SELECT pgmq._create_queue(queue_name, false); $fn$;

  CREATE OR REPLACE FUNCTION pgmq.create_unlogged(queue_name text)
  RETURNS void
  LANGUAGE sql
  AS $fn$ SELECT pgmq._create_queue(queue_name, true); $fn$;

  CREATE OR REPLACE FUNCTION pgmq.drop_queue(queue_name text)
  RETURNS boolean
  LANGUAGE plpgsql
  AS $fn$
  DECLARE
    qtable text := pgmq.format_table_name(queue_name, 'q');
    atable text := pgmq.format_table_name(queue_name, 'a');
  BEGIN
    PERFORM pgmq.acquire_queue_lock(queue_name);
    DELETE FROM pgmq.meta m WHERE m.queue_name = drop_queue.queue_name;

    IF to_regclass(format('pgmq.%I', qtable)) IS NULL THEN
      RAISE NOTICE 'pgmq queue "%" does not exist', queue_name;
      RETURN false;
    END IF;

    EXECUTE format('DROP TABLE IF EXISTS pgmq.%I', qtable);
    EXECUTE format('DROP TABLE IF EXISTS pgmq.%I', atable);
    RETURN true;
  END;
  $fn$;

  -- DELETE rather than pgmq's TRUNCATE: it does not need an ACCESS EXCLUSIVE lock (so it
  -- does not stall or break concurrent readers) and its count is exact.
  CREATE OR REPLACE FUNCTION pgmq.purge_queue(queue_name text)
  RETURNS bigint
  LANGUAGE plpgsql
  AS $fn$
  DECLARE
    deleted bigint;
  BEGIN
    EXECUTE format('DELETE FROM pgmq.%I', pgmq.format_table_name(queue_name, 'q'));
    GET DIAGNOSTICS deleted = ROW_COUNT;
    RETURN deleted;
  END;
  $fn$;

  CREATE OR REPLACE FUNCTION pgmq.list_queues()
  RETURNS SETOF pgmq.queue_record
  LANGUAGE sql STABLE
  AS $fn$
    SELECT queue_name::varchar, is_partitioned, is_unlogged, created_at
    FROM pgmq.meta
    ORDER BY queue_name;
  $fn$;

  ---------------------------------------------------------------------------
  -- Sending
  ---------------------------------------------------------------------------

  -- Overload set mirrors pgmq: delay as seconds (integer) or as an absolute time
  -- (timestamptz), optionally with headers. Callers passing untyped parameters for the
  -- third argument must cast them, exactly as with the real extension.
  CREATE OR REPLACE FUNCTION pgmq.send(queue_name text, msg jsonb, headers jsonb, delay timestamptz)
  RETURNS SETOF bigint
  LANGUAGE plpgsql
  AS $fn$
  BEGIN
    RETURN QUERY EXECUTE format(
      'INSERT INTO pgmq.%I (vt, message, headers) VALUES ($1, $2, $3) RETURNING msg_id',
      pgmq.format_table_name(queue_name, 'q'))
    USING coalesce(delay, clock_timestamp()), msg, headers;
  END;
  $fn$;

  CREATE OR REPLACE FUNCTION pgmq.send(queue_name text, msg jsonb, headers jsonb, delay integer DEFAULT 0)
  RETURNS SETOF bigint
  LANGUAGE sql
  AS $fn$
    SELECT pgmq.send(queue_name, msg, headers, clock_timestamp() + make_interval(secs => delay));
  $fn$;

  CREATE OR REPLACE FUNCTION pgmq.send(queue_name text, msg jsonb, delay timestamptz)
  RETURNS SETOF bigint
  LANGUAGE sql
  AS $fn$
    SELECT pgmq.send(queue_name, msg, NULL::jsonb, delay);
  $fn$;

  CREATE OR REPLACE FUNCTION pgmq.send(queue_name text, msg jsonb, delay integer DEFAULT 0)
  RETURNS SETOF bigint
  LANGUAGE sql
  AS $fn$
    SELECT pgmq.send(queue_name, msg, NULL::jsonb, clock_timestamp() + make_interval(secs => delay));
  $fn$;

  -- Ids come back in input order: rows are inserted in ordinality order, so identity
  -- values ascend with it, and the final ORDER BY makes that order explicit.
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
    USING coalesce(delay, clock_timestamp()), msgs, headers;
  END;
  $fn$;

  CREATE OR REPLACE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], headers jsonb[], delay integer DEFAULT 0)
  RETURNS SETOF bigint
  LANGUAGE sql
  AS $fn$
    SELECT pgmq.send_batch(queue_name, msgs, headers, clock_timestamp() + make_interval(secs => delay));
  $fn$;

  CREATE OR REPLACE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], delay timestamptz)
  RETURNS SETOF bigint
  LANGUAGE sql
  AS $fn$
    SELECT pgmq.send_batch(queue_name, msgs, NULL::jsonb[], delay);
  $fn$;

  CREATE OR REPLACE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], delay integer DEFAULT 0)
  RETURNS SETOF bigint
  LANGUAGE sql
  AS $fn$
    SELECT pgmq.send_batch(queue_name, msgs, NULL::jsonb[], clock_timestamp() + make_interval(secs => delay));
  $fn$;

  ---------------------------------------------------------------------------
  -- Reading (hot path)
  ---------------------------------------------------------------------------

  -- One statement claims the oldest visible messages: SKIP LOCKED makes concurrent
  -- readers pass over rows another reader is claiming instead of blocking on them or
  -- getting the same message. The condition is only added when non-empty, because
  -- message @> '{}' would drop non-object messages and costs a jsonb comparison per row.
  CREATE OR REPLACE FUNCTION pgmq._read_sql(qtable text, conditional jsonb)
  RETURNS text
  LANGUAGE sql IMMUTABLE
  AS $fn$
    SELECT format(
      $q$
      WITH claimed AS (
        UPDATE pgmq.%1$I AS m
        SET vt = clock_timestamp() + make_interval(secs => $2),
            read_ct = m.read_ct + 1
        FROM (
          SELECT msg_id
          FROM pgmq.%1$I
          WHERE vt <= clock_timestamp() %2$s
          ORDER BY msg_id
          LIMIT $1
          FOR UPDATE SKIP LOCKED
        ) AS next
        WHERE m.msg_id = next.msg_id
        RETURNING m.msg_id, m.read_ct, m.enqueued_at, m.vt, m.message, m.headers
      )
      SELECT * FROM claimed ORDER BY msg_id
      $q$,
      qtable,
      CASE WHEN coalesce(conditional, '{}'::jsonb) = '{}'::jsonb THEN '' ELSE 'AND message @> $3' END);
  $fn$;

  CREATE OR REPLACE FUNCTION pgmq.read(queue_name text, vt integer, qty integer, conditional jsonb DEFAULT '{}')
  RETURNS SETOF pgmq.message_record
  LANGUAGE plpgsql
  AS $fn$
  BEGIN
    RETURN QUERY EXECUTE pgmq._read_sql(pgmq.format_table_name(queue_name, 'q'), conditional)
    USING qty, vt, conditional;
  END;
  $fn$;

  -- Polls inside the call (sleeping between attempts) until something is read or
  -- max_poll_seconds elapse; returns an empty set on timeout.
  CREATE OR REPLACE FUNCTION pgmq.read_with_poll(
    queue_name text,
    vt integer,
    qty integer,
    max_poll_seconds integer DEFAULT 5,
    poll_interval_ms integer DEFAULT 100,
    conditional jsonb DEFAULT '{}'
  )
  RETURNS SETOF pgmq.message_record
  LANGUAGE plpgsql
  AS $fn$
  DECLARE
    sql text := pgmq._read_sql(pgmq.format_table_name(queue_name, 'q'), conditional);
    stop_at timestamptz := clock_timestamp() + make_interval(secs => max_poll_seconds);
  BEGIN
    LOOP
      RETURN QUERY EXECUTE sql USING qty, vt, conditional;
      IF FOUND OR clock_timestamp() >= stop_at THEN
        RETURN;
      END IF;
      PERFORM pg_sleep(least(poll_interval_ms::numeric / 1000,
                             extract(epoch FROM stop_at - clock_timestamp())));
    END LOOP;
  END;
  $fn$;

  -- Reads and deletes the oldest visible message in one statement (no retry possible).
  CREATE OR REPLACE FUNCTION pgmq.pop(queue_name text)
  RETURNS SETOF pgmq.message_record
  LANGUAGE plpgsql
  AS $fn$
  BEGIN
    RETURN QUERY EXECUTE format(
      $q$
      DELETE FROM pgmq.%1$I AS m
      USING (
        SELECT msg_id
        FROM pgmq.%1$I
        WHERE vt <= clock_timestamp()
        ORDER BY msg_id
        LIMIT 1
        FOR UPDATE SKIP LOCKED
      ) AS next
      WHERE m.msg_id = next.msg_id
      RETURNING m.msg_id, m.read_ct, m.enqueued_at, m.vt, m.message, m.headers
      $q$,
      pgmq.format_table_name(queue_name, 'q'));
  END;
  $fn$;

  -- vt is relative to now; 0 makes the message visible immediately.
  CREATE OR REPLACE FUNCTION pgmq.set_vt(queue_name text, msg_id bigint, vt integer)
  RETURNS SETOF pgmq.message_record
  LANGUAGE plpgsql
  AS $fn$
  BEGIN
    RETURN QUERY EXECUTE format(
      $q$
      UPDATE pgmq.%I
      SET vt = clock_timestamp() + make_interval(secs => $2)
      WHERE msg_id = $1
      RETURNING msg_id, read_ct, enqueued_at, vt, message, headers
      $q$,
      pgmq.format_table_name(queue_name, 'q'))
    USING msg_id, vt;
  END;
  $fn$;

  ---------------------------------------------------------------------------
  -- Acknowledging: delete or archive
  ---------------------------------------------------------------------------
  CREATE OR REPLACE FUNCTION pgmq.delete(queue_name text, msg_id bigint)
  RETURNS boolean
  LANGUAGE plpgsql
  AS $fn$
  DECLARE
    deleted bigint;
  BEGIN
    EXECUTE format('DELETE FROM pgmq.%I WHERE msg_id = $1 RETURNING msg_id',
                   pgmq.format_table_name(queue_name, 'q'))
    INTO deleted
    USING msg_id;
    RETURN deleted IS NOT NULL;
  END;
  $fn$;

  CREATE OR REPLACE FUNCTION pgmq.delete(queue_name text, msg_ids bigint[])
  RETURNS SETOF bigint
  LANGUAGE plpgsql
  AS $fn$
  BEGIN
    RETURN QUERY EXECUTE format('DELETE FROM pgmq.%I WHERE msg_id = ANY($1) RETURNING msg_id',
                                pgmq.format_table_name(queue_name, 'q'))
    USING msg_ids;
  END;
  $fn$;

  -- Move-to-archive in one statement so a message is never in both tables or neither.
  CREATE OR REPLACE FUNCTION pgmq._archive_sql(queue_name text)
  RETURNS text
  LANGUAGE sql IMMUTABLE
  AS $fn$
    SELECT format(
      $q$
      WITH moved AS (
        DELETE FROM pgmq.%I
        WHERE msg_id = ANY($1)
        RETURNING msg_id, read_ct, enqueued_at, vt, message, headers
      )
      INSERT INTO pgmq.%I (msg_id, read_ct, enqueued_at, vt, message, headers)
      SELECT msg_id, read_ct, enqueued_at, vt, message, headers FROM moved
      RETURNING msg_id
      $q$,
      pgmq.format_table_name(queue_name, 'q'),
      pgmq.format_table_name(queue_name, 'a'));
  $fn$;

  CREATE OR REPLACE FUNCTION pgmq.archive(queue_name text, msg_id bigint)
  RETURNS boolean
  LANGUAGE plpgsql
  AS $fn$
  DECLARE
    archived bigint;
  BEGIN
    EXECUTE pgmq._archive_sql(queue_name) INTO archived USING ARRAY[msg_id];
    RETURN archived IS NOT NULL;
  END;
  $fn$;

  CREATE OR REPLACE FUNCTION pgmq.archive(queue_name text, msg_ids bigint[])
  RETURNS SETOF bigint
  LANGUAGE plpgsql
  AS $fn$
  BEGIN
    RETURN QUERY EXECUTE pgmq._archive_sql(queue_name) USING msg_ids;
  END;
  $fn$;

  ---------------------------------------------------------------------------
  -- Metrics
  ---------------------------------------------------------------------------

  -- total_messages reads the identity sequence, so it counts every id ever handed out
  -- (including sends that rolled back), as pgmq does. All ages and the visible count use
  -- one scrape time so the row is internally consistent.
  CREATE OR REPLACE FUNCTION pgmq.metrics(queue_name text)
  RETURNS pgmq.metrics_result
  LANGUAGE plpgsql
  AS $fn$
  DECLARE
    qtable text := pgmq.format_table_name(queue_name, 'q');
    seq text := pg_get_serial_sequence(format('pgmq.%I', qtable), 'msg_id');
    result pgmq.metrics_result;
  BEGIN
    EXECUTE format(
      $q$
      SELECT
        $1,
        count(*),
        extract(epoch FROM $2 - max(enqueued_at))::integer,
        extract(epoch FROM $2 - min(enqueued_at))::integer,
        (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM %s),
        $2,
        count(*) FILTER (WHERE vt <= $2)
      FROM pgmq.%I
      $q$,
      seq, qtable)
    INTO result
    USING queue_name, clock_timestamp();
    RETURN result;
  END;
  $fn$;

  CREATE OR REPLACE FUNCTION pgmq.metrics_all()
  RETURNS SETOF pgmq.metrics_result
  LANGUAGE sql
  AS $fn$
    -- LATERAL, because (pgmq.metrics(...)).* would call the function once per column.
    SELECT r.*
    FROM pgmq.meta AS m, LATERAL pgmq.metrics(m.queue_name) AS r
    ORDER BY m.queue_name;
  $fn$;
END
$migration$;
