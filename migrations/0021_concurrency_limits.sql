-- Flow control: concurrency limits, rate limits and priorities (README "Concurrency and rate
-- limits", docs/architecture.md "Flow control"). A ready step of a task under a limit is not
-- enqueued: it waits (concurrency_waiters, still `pending`) until tasker.admit_waiting gives it a
-- slot of its limit's key (concurrency_slots), one key at a time under that key's row lock, so
-- replicas admitting at once never exceed a limit.

-- The task's limits with its keys, fixed at submission: {"task": [limit, key]} or
-- {"steps": {"<template step>": [limit, key]}}; NULL for a task under no limit (the hot path
-- then reads nothing of what follows).
ALTER TABLE tasker.tasks ADD COLUMN slots jsonb;

-- A limit as the templates declare it; a name is shared by every template that declares it.
CREATE TABLE tasker.concurrency_limits (
  name text PRIMARY KEY,
  level text NOT NULL CHECK (level IN ('task', 'step')),
  max_running integer CHECK (max_running > 0),
  rate_limit integer CHECK (rate_limit > 0),
  rate_period_ms integer CHECK (rate_period_ms > 0),
  strategy text NOT NULL CHECK (strategy IN ('queue', 'cancel_newest', 'cancel_in_progress')),
  -- namespace/name of the template whose registration wrote it.
  declared_by text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per key in use: its lock serializes admissions to the key.
CREATE TABLE tasker.concurrency_keys (
  limit_name text NOT NULL REFERENCES tasker.concurrency_limits (name) ON DELETE CASCADE,
  key text NOT NULL,
  -- The earliest time a rate-limited waiter of the key may start (NULL: none waits for it).
  next_start_at timestamptz,
  PRIMARY KEY (limit_name, key)
);

-- No foreign key to tasks here or in the waiters: its KEY SHARE lock would make admission,
-- which holds a key's lock, wait for a task's lock (the lock order is task → step → key).
-- Slots held: by a task (task-level limit) or a step (step-level). A slot whose holder no longer
-- holds it (the task ended, the step's run was decided) is free, whether or not its row is gone
-- yet: admission deletes such rows before counting, so no crash path can leak a slot.
CREATE TABLE tasker.concurrency_slots (
  limit_name text NOT NULL,
  key text NOT NULL,
  holder_uuid uuid NOT NULL,
  task_uuid uuid NOT NULL,
  acquired_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (limit_name, key, holder_uuid),
  FOREIGN KEY (limit_name, key) REFERENCES tasker.concurrency_keys (limit_name, key)
    ON DELETE CASCADE
);
CREATE INDEX concurrency_slots_task ON tasker.concurrency_slots (task_uuid);

-- Ready steps waiting for a slot. order_at is when the step began to wait, moved earlier by its
-- task's priority (priority × TASKER_PRIORITY_AGING_MS): fixed, so the index orders waiters, and
-- a low priority only delays, never starves.
CREATE TABLE tasker.concurrency_waiters (
  workflow_step_uuid uuid PRIMARY KEY
    REFERENCES tasker.workflow_steps (workflow_step_uuid) ON DELETE CASCADE,
  task_uuid uuid NOT NULL,
  limit_name text NOT NULL,
  key text NOT NULL,
  order_at timestamptz NOT NULL,
  waiting_since timestamptz NOT NULL DEFAULT clock_timestamp(),
  FOREIGN KEY (limit_name, key) REFERENCES tasker.concurrency_keys (limit_name, key)
    ON DELETE CASCADE
);
CREATE INDEX concurrency_waiters_order ON tasker.concurrency_waiters (limit_name, key, order_at);
CREATE INDEX concurrency_waiters_task ON tasker.concurrency_waiters (task_uuid);

-- Step starts of rate-limited keys, for the sliding window (pruned as admission runs).
CREATE TABLE tasker.concurrency_starts (
  limit_name text NOT NULL,
  key text NOT NULL,
  started_at timestamptz NOT NULL,
  FOREIGN KEY (limit_name, key) REFERENCES tasker.concurrency_keys (limit_name, key)
    ON DELETE CASCADE
);
CREATE INDEX concurrency_starts_window ON tasker.concurrency_starts (limit_name, key, started_at);

-- lock_task also says whether the task is under a limit.
DROP FUNCTION tasker.lock_task(uuid, boolean);
CREATE FUNCTION tasker.lock_task(p_task_uuid uuid, p_skip_locked boolean)
RETURNS TABLE (task_uuid uuid, state text, namespace text, name text, correlation_id text,
               traceparent text, limited boolean)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF p_skip_locked THEN
    PERFORM 1 FROM tasker.tasks t WHERE t.task_uuid = p_task_uuid FOR UPDATE SKIP LOCKED;
  ELSE
    PERFORM 1 FROM tasker.tasks t WHERE t.task_uuid = p_task_uuid FOR UPDATE;
  END IF;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  RETURN QUERY
    SELECT t.task_uuid, tr.to_state, ns.name, nt.name, t.correlation_id, t.traceparent,
           t.slots IS NOT NULL
      FROM tasker.tasks t
      JOIN tasker.task_transitions tr ON tr.task_uuid = t.task_uuid AND tr.most_recent
      JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid
      JOIN tasker.task_namespaces ns ON ns.task_namespace_uuid = nt.task_namespace_uuid
     WHERE t.task_uuid = p_task_uuid;
END
$$;

-- The limit and key a step of a task waits on: the task's own limit if it has one, else its
-- template step's (batch workers: their template's).
CREATE FUNCTION tasker.step_limit_key(p_slots jsonb, p_template_step text)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(p_slots -> 'task', p_slots -> 'steps' -> p_template_step)
$$;

-- When a start of the key may happen under its rate limit: NULL now, else the moment the
-- oldest start of a full window leaves it (starts older than the window are pruned).
CREATE FUNCTION tasker.rate_wait(p_limit tasker.concurrency_limits, p_key text)
RETURNS timestamptz LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  now_at timestamptz := clock_timestamp();
  period interval := make_interval(secs => p_limit.rate_period_ms / 1000.0);
  nth timestamptz;
BEGIN
  IF p_limit.rate_limit IS NULL THEN
    RETURN NULL;
  END IF;
  DELETE FROM tasker.concurrency_starts cs
   WHERE cs.limit_name = p_limit.name AND cs.key = p_key AND cs.started_at <= now_at - period;
  SELECT cs.started_at INTO nth FROM tasker.concurrency_starts cs
   WHERE cs.limit_name = p_limit.name AND cs.key = p_key
   ORDER BY cs.started_at DESC OFFSET p_limit.rate_limit - 1 LIMIT 1;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  RETURN nth + period;
END
$$;

-- Starts one waiting step, in one statement: takes its row (SKIP LOCKED: its task's unit of
-- work holds it and admits again before it commits), drops the wait, and unless its task ended
-- moves it pending → enqueued (compare-and-swap), records its slot (p_holder NULL: the task
-- holds one already) and its start for the rate. Answers the started step as admit_waiting
-- does, with what announcing it needs, read here: the statement that calls admit_waiting may
-- have begun before the step's task was committed, and would not see it. No row: not started.
CREATE FUNCTION tasker.start_waiter(p_step uuid, p_task uuid, p_limit tasker.concurrency_limits,
                                    p_key text, p_holder uuid, p_processor uuid)
RETURNS TABLE (kind text, task_uuid uuid, step_uuid uuid, limit_name text, wake_at timestamptz,
               step_name text, namespace text, task_name text, correlation_id text,
               traceparent text)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  RETURN QUERY
  WITH step AS (
    SELECT s.workflow_step_uuid FROM tasker.workflow_steps s
     WHERE s.workflow_step_uuid = p_step
       FOR UPDATE SKIP LOCKED
  ),
  dropped AS (
    DELETE FROM tasker.concurrency_waiters cw USING step
     WHERE cw.workflow_step_uuid = step.workflow_step_uuid
    RETURNING cw.workflow_step_uuid
  ),
  live AS (
    SELECT d.workflow_step_uuid FROM dropped d
     WHERE NOT EXISTS (SELECT 1 FROM tasker.task_transitions tt
                        WHERE tt.task_uuid = p_task AND tt.most_recent
                          AND tt.to_state IN ('complete', 'error', 'cancelled',
                                              'resolved_manually'))
  ),
  retired AS (
    UPDATE tasker.workflow_step_transitions st SET most_recent = false
      FROM live l
     WHERE st.workflow_step_uuid = l.workflow_step_uuid AND st.most_recent
       AND st.to_state = 'pending'
    RETURNING st.workflow_step_uuid, st.sort_key
  ),
  moved AS (
    INSERT INTO tasker.workflow_step_transitions
      (workflow_step_uuid, from_state, to_state, metadata, sort_key, most_recent, processor_uuid)
    SELECT r.workflow_step_uuid, 'pending', 'enqueued',
           jsonb_build_object('limit', p_limit.name, 'key', p_key), r.sort_key + 1, true,
           p_processor
      FROM retired r
  ),
  stamped AS (
    UPDATE tasker.workflow_steps s SET announced_at = clock_timestamp(), updated_at = now()
      FROM retired r
     WHERE s.workflow_step_uuid = r.workflow_step_uuid
    RETURNING s.workflow_step_uuid, s.task_uuid, s.name
  ),
  held AS (
    INSERT INTO tasker.concurrency_slots (limit_name, key, holder_uuid, task_uuid)
    SELECT p_limit.name, p_key, p_holder, p_task FROM retired WHERE p_holder IS NOT NULL
    ON CONFLICT ON CONSTRAINT concurrency_slots_pkey
      DO UPDATE SET acquired_at = clock_timestamp()
  ),
  logged AS (
    INSERT INTO tasker.concurrency_starts (limit_name, key, started_at)
    SELECT p_limit.name, p_key, clock_timestamp() FROM retired
     WHERE p_limit.rate_limit IS NOT NULL
  )
  SELECT 'admitted'::text, t.task_uuid, st.workflow_step_uuid, p_limit.name,
         NULL::timestamptz, st.name, ns.name, nt.name, t.correlation_id, t.traceparent
    FROM stamped st
    JOIN tasker.tasks t ON t.task_uuid = st.task_uuid
    JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid
    JOIN tasker.task_namespaces ns ON ns.task_namespace_uuid = nt.task_namespace_uuid;
END
$$;

-- Admits waiting steps: for every key of the given tasks' limits (every key with waiters when
-- p_task_uuids is NULL), in (limit, key) order, under the key's row lock:
--   1. slots whose holder no longer holds them are deleted (a step no longer enqueued, running
--      or awaiting its decision; a task that ended), so no crash path leaks a slot;
--   2. waiters start in order_at order while a slot is free and the rate allows (a step of a
--      task that holds the key's task-level slot needs no new one). When the
--      key is full, `queue` leaves them waiting; `cancel_newest` answers their tasks to cancel;
--      `cancel_in_progress` takes, newest waiter first, the oldest holders' slots (their tasks
--      answered to cancel) and cancels the waiters older than every holder left.
-- Answers the started steps (kind 'admitted', with what announcing them needs: start_waiter),
-- tasks to cancel
-- ('cancel') and, per key its rate holds back, when to admit again ('wake').
CREATE FUNCTION tasker.admit_waiting(p_task_uuids uuid[], p_processor uuid)
RETURNS TABLE (kind text, task_uuid uuid, step_uuid uuid, limit_name text, wake_at timestamptz,
               step_name text, namespace text, task_name text, correlation_id text,
               traceparent text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  pool record;
  lim tasker.concurrency_limits;
  w record;
  cur refcursor;
  running integer;
  room integer;
  wait_until timestamptz;
  held boolean;
  started integer;
  sibling record;
  evicted record;
BEGIN
  FOR pool IN
    SELECT DISTINCT p.limit_name, p.key
      FROM (SELECT l.value ->> 0 AS limit_name, l.value ->> 1 AS key
              FROM tasker.tasks t
             CROSS JOIN LATERAL (
                     SELECT t.slots -> 'task' AS value WHERE t.slots ? 'task'
                     UNION ALL
                     SELECT e.value FROM jsonb_each(coalesce(t.slots -> 'steps', '{}')) e) l
             WHERE p_task_uuids IS NOT NULL AND t.task_uuid = ANY (p_task_uuids)
               AND t.slots IS NOT NULL
            UNION ALL
            SELECT DISTINCT cw.limit_name, cw.key FROM tasker.concurrency_waiters cw
             WHERE p_task_uuids IS NULL) p
     WHERE EXISTS (SELECT 1 FROM tasker.concurrency_waiters x
                    WHERE x.limit_name = p.limit_name AND x.key = p.key)
     ORDER BY p.limit_name, p.key
  LOOP
    -- NO KEY UPDATE: inserting waiters of the key (their foreign key's KEY SHARE) never waits.
    PERFORM 1 FROM tasker.concurrency_keys k
      WHERE k.limit_name = pool.limit_name AND k.key = pool.key FOR NO KEY UPDATE;
    SELECT * INTO lim FROM tasker.concurrency_limits l WHERE l.name = pool.limit_name;
    IF NOT FOUND THEN
      CONTINUE;
    END IF;

    -- Only the given tasks' slots can have been given up by the work that calls this (every
    -- path that ends a hold names its task); the sweep (NULL) checks every slot.
    DELETE FROM tasker.concurrency_slots s
     WHERE s.limit_name = pool.limit_name AND s.key = pool.key
       AND (p_task_uuids IS NULL OR s.task_uuid = ANY (p_task_uuids))
       AND NOT CASE WHEN lim.level = 'task' THEN
             EXISTS (SELECT 1 FROM tasker.task_transitions tt
                      WHERE tt.task_uuid = s.holder_uuid AND tt.most_recent
                        AND tt.to_state NOT IN ('complete', 'error', 'cancelled',
                                                'resolved_manually'))
           ELSE
             EXISTS (SELECT 1 FROM tasker.workflow_step_transitions st
                      WHERE st.workflow_step_uuid = s.holder_uuid AND st.most_recent
                        AND st.to_state IN ('enqueued', 'in_progress',
                                            'enqueued_for_orchestration',
                                            'enqueued_as_error_for_orchestration'))
           END;
    SELECT count(*) INTO running FROM tasker.concurrency_slots s
     WHERE s.limit_name = pool.limit_name AND s.key = pool.key;
    room := coalesce(lim.max_running - running, 2147483647);
    wait_until := NULL;

    -- New holders: in order, or newest first for cancel_in_progress.
    IF lim.strategy = 'cancel_in_progress' THEN
      OPEN cur FOR SELECT cw.workflow_step_uuid, cw.task_uuid, cw.waiting_since
                     FROM tasker.concurrency_waiters cw
                    WHERE cw.limit_name = pool.limit_name AND cw.key = pool.key
                    ORDER BY cw.waiting_since DESC;
    ELSE
      OPEN cur FOR SELECT cw.workflow_step_uuid, cw.task_uuid, cw.waiting_since
                     FROM tasker.concurrency_waiters cw
                    WHERE cw.limit_name = pool.limit_name AND cw.key = pool.key
                    ORDER BY cw.order_at;
    END IF;
    LOOP
      EXIT WHEN wait_until IS NOT NULL;
      FETCH cur INTO w;
      EXIT WHEN NOT FOUND;
      held := lim.level = 'task' AND EXISTS (
                SELECT 1 FROM tasker.concurrency_slots s
                 WHERE s.limit_name = pool.limit_name AND s.key = pool.key
                   AND s.holder_uuid = w.task_uuid);
      IF NOT held AND room <= 0 THEN
        EXIT WHEN lim.strategy = 'queue';
        IF lim.strategy = 'cancel_in_progress' THEN
          SELECT s.holder_uuid, s.task_uuid INTO evicted FROM tasker.concurrency_slots s
           WHERE s.limit_name = pool.limit_name AND s.key = pool.key
             AND s.acquired_at < w.waiting_since
           ORDER BY s.acquired_at LIMIT 1;
          IF FOUND THEN
            DELETE FROM tasker.concurrency_slots s
             WHERE s.limit_name = pool.limit_name AND s.key = pool.key
               AND s.holder_uuid = evicted.holder_uuid;
            room := room + 1;
            RETURN QUERY SELECT 'cancel'::text, evicted.task_uuid, NULL::uuid, pool.limit_name,
                                NULL::timestamptz, NULL, NULL, NULL, NULL, NULL;
          END IF;
        END IF;
        IF room <= 0 THEN
          -- Turned away: cancel_newest, or a cancel_in_progress waiter older than every holder.
          PERFORM 1 FROM tasker.workflow_steps s
            WHERE s.workflow_step_uuid = w.workflow_step_uuid FOR UPDATE SKIP LOCKED;
          IF FOUND THEN
            DELETE FROM tasker.concurrency_waiters cw
             WHERE cw.workflow_step_uuid = w.workflow_step_uuid;
            RETURN QUERY SELECT 'cancel'::text, w.task_uuid, NULL::uuid, pool.limit_name,
                                NULL::timestamptz, NULL, NULL, NULL, NULL, NULL;
          END IF;
          CONTINUE;
        END IF;
      END IF;
      IF lim.rate_limit IS NOT NULL THEN
        wait_until := tasker.rate_wait(lim, pool.key);
        EXIT WHEN wait_until IS NOT NULL;
      END IF;
      RETURN QUERY SELECT * FROM tasker.start_waiter(
                     w.workflow_step_uuid, w.task_uuid, lim, pool.key,
                     CASE WHEN held THEN NULL
                          WHEN lim.level = 'task' THEN w.task_uuid
                          ELSE w.workflow_step_uuid END,
                     p_processor);
      GET DIAGNOSTICS started = ROW_COUNT;
      IF started > 0 AND NOT held THEN
        room := room - 1;
        -- A task that just took its slot runs its other waiting steps of the key under it (a
        -- task's ready steps wait only until it holds its slot: queueReadySteps).
        IF lim.level = 'task' THEN
          FOR sibling IN
            SELECT cw.workflow_step_uuid FROM tasker.concurrency_waiters cw
             WHERE cw.task_uuid = w.task_uuid
               AND cw.limit_name = pool.limit_name AND cw.key = pool.key
             ORDER BY cw.order_at
          LOOP
            RETURN QUERY SELECT * FROM tasker.start_waiter(sibling.workflow_step_uuid,
                                                           w.task_uuid, lim, pool.key, NULL,
                                                           p_processor);
          END LOOP;
        END IF;
      END IF;
    END LOOP;
    CLOSE cur;
    UPDATE tasker.concurrency_keys k SET next_start_at = wait_until
     WHERE k.limit_name = pool.limit_name AND k.key = pool.key
       AND k.next_start_at IS DISTINCT FROM wait_until;
    IF wait_until IS NOT NULL THEN
      RETURN QUERY SELECT 'wake'::text, NULL::uuid, NULL::uuid, pool.limit_name, wait_until,
                          NULL, NULL, NULL, NULL, NULL;
    END IF;
  END LOOP;
END
$$;
