-- Flow control, continued (README "Concurrency and rate limits", docs/architecture.md "Flow
-- control"): a fair limit's turns hold when one tenant's burst is queued by transactions that
-- cannot see each other's waiters; the sweep admits only at keys where room may have opened;
-- the check of a slot's holder keeps its plan.

-- 1. Turns that transactions took at once. Waiters of one group queued by concurrent
-- transactions each see none of the others, so they take the same turn (a key with waiters:
-- its head) or turns a few µs apart (a key without: the clock). The clock now counts in whole
-- turns (ms), so the second case becomes the first, and each start of a fair waiter passes
-- its turn on: the others of its group at that turn move one turn later (tasker.pass_turns).
-- So a group takes one start per turn however its waiters arrived.
CREATE OR REPLACE FUNCTION tasker.waiter_order(p_limit text, p_key text, p_group text,
                                               p_turn integer, p_priority integer,
                                               p_point_ms float8)
RETURNS timestamptz LANGUAGE sql VOLATILE AS $$
  SELECT CASE WHEN p_group IS NULL THEN clock_timestamp()
         ELSE coalesce(
                greatest(
                  (SELECT cw.order_at FROM tasker.concurrency_waiters cw
                    WHERE cw.limit_name = p_limit AND cw.key = p_key
                    ORDER BY cw.order_at LIMIT 1),
                  (SELECT cw.order_at + interval '1 millisecond'
                     FROM tasker.concurrency_waiters cw
                    WHERE cw.limit_name = p_limit AND cw.key = p_key
                      AND cw.fair_group = p_group
                    ORDER BY cw.order_at DESC LIMIT 1)),
                date_trunc('milliseconds', clock_timestamp()))
              + make_interval(secs => p_turn / 1000.0)
         END
         - make_interval(secs => p_priority * p_point_ms / 1000)
$$;

-- Moves the waiters that share a turn just taken (a start of this group at this order_at, by
-- another task) one turn later. Their steps are locked first, in the lock order (step, then
-- its waiter); one being started or moved by another transaction is skipped.
CREATE FUNCTION tasker.pass_turns(p_limits text[], p_keys text[], p_groups text[],
                                  p_turns timestamptz[], p_tasks uuid[])
RETURNS void
-- PL/pgSQL for its plan cache, as tasker.hand_over_slots.
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  WITH taken AS (
    SELECT DISTINCT t.limit_name, t.key, t.fair_group, t.order_at, t.task_uuid
      FROM unnest(p_limits, p_keys, p_groups, p_turns, p_tasks)
             AS t(limit_name, key, fair_group, order_at, task_uuid)
     WHERE t.fair_group IS NOT NULL
  ),
  sharing AS (
    SELECT cw.workflow_step_uuid
      FROM taken t
      JOIN tasker.concurrency_waiters cw
        ON cw.limit_name = t.limit_name AND cw.key = t.key AND cw.fair_group = t.fair_group
       AND cw.order_at = t.order_at AND cw.task_uuid <> t.task_uuid
      JOIN tasker.workflow_steps s ON s.workflow_step_uuid = cw.workflow_step_uuid
       FOR UPDATE OF s SKIP LOCKED
  )
  UPDATE tasker.concurrency_waiters cw SET order_at = cw.order_at + interval '1 millisecond'
   WHERE cw.workflow_step_uuid IN (SELECT sh.workflow_step_uuid FROM sharing sh);
END
$$;

-- 2. The sweep (and a rate limit's timer) admitted at every key with waiters, checking each
-- key's slots, every second while anything waited: with 20 full keys of 50 slots, a thousand
-- slot checks a second beside the work. It now admits where room may have opened unseen, and
-- checks the slots of the rest in a bounded rotation.
ALTER TABLE tasker.concurrency_keys ADD COLUMN checked_at timestamptz;

-- The keys the sweep admits at, among those with steps waiting: where a rate's wait ends
-- before the next sweep (p_due_within_ms: admission answers when to wake, so a replica keeps a
-- timer for it, whatever became of the one that set the wait); where fewer slots are taken
-- than the limit allows; and, of the rest not checked for 30 s, the 64 checked longest ago.
-- Every path that ends a hold names its task to admission, so finding a slot whose holder
-- moved on is a safety net's work: with N keys waiting, within 30 s or N / 64 sweeps,
-- whichever is longer.
-- The keys with waiters are read one index descent each (a loose index scan), not by reading
-- every waiter: 2.6 ms against 20 ms for 200 keys of 100,000 waiters.
CREATE FUNCTION tasker.keys_to_sweep(p_due_within_ms integer)
RETURNS TABLE (limit_name text, key text) LANGUAGE sql VOLATILE AS $$
  WITH RECURSIVE keyed AS (
    (SELECT cw.limit_name, cw.key FROM tasker.concurrency_waiters cw
      ORDER BY cw.limit_name, cw.key LIMIT 1)
    UNION ALL
    SELECT n.limit_name, n.key
      FROM keyed k
     CROSS JOIN LATERAL (
       SELECT cw.limit_name, cw.key FROM tasker.concurrency_waiters cw
        WHERE (cw.limit_name, cw.key) > (k.limit_name, k.key)
        ORDER BY cw.limit_name, cw.key LIMIT 1) n
  ),
  waiting AS (
    SELECT w.limit_name, w.key, k.checked_at,
           CASE WHEN k.next_start_at IS NOT NULL
                THEN k.next_start_at <= clock_timestamp()
                                        + make_interval(secs => p_due_within_ms / 1000.0)
                ELSE l.max_running IS NULL
                     OR l.max_running > (SELECT count(*) FROM tasker.concurrency_slots s
                                          WHERE s.limit_name = w.limit_name AND s.key = w.key)
           END AS room
      FROM keyed w
      JOIN tasker.concurrency_limits l ON l.name = w.limit_name
      LEFT JOIN tasker.concurrency_keys k ON k.limit_name = w.limit_name AND k.key = w.key
  )
  SELECT w.limit_name, w.key FROM waiting w WHERE w.room
  UNION
  (SELECT w.limit_name, w.key FROM waiting w
    WHERE w.checked_at IS NULL OR w.checked_at < clock_timestamp() - interval '30 seconds'
    ORDER BY w.checked_at NULLS FIRST LIMIT 64)
$$;

-- 3. Whether a slot's holder still holds it, as in migration 0022, in PL/pgSQL: a SQL function
-- with subqueries is not inlined, so its statement was planned at every statement calling it.
CREATE OR REPLACE FUNCTION tasker.slot_held(p_level text, p_holder uuid)
RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF p_level = 'task' THEN
    RETURN EXISTS (SELECT 1 FROM tasker.task_transitions tt
                    WHERE tt.task_uuid = p_holder AND tt.most_recent
                      AND tt.to_state NOT IN ('complete', 'error', 'cancelled',
                                              'resolved_manually'));
  END IF;
  RETURN EXISTS (SELECT 1 FROM tasker.workflow_step_transitions st
                  WHERE st.workflow_step_uuid = p_holder AND st.most_recent
                    AND st.to_state IN ('enqueued', 'in_progress', 'enqueued_for_orchestration',
                                        'enqueued_as_error_for_orchestration'));
END
$$;

-- 4. The hand-over and admission of migration 0022 again. The hand-over answers each started
-- step's task and, for a fair limit, the group and turn it took; reads its tasks' states by
-- task; takes each level's members without a sort. Admission passes the turns on, reads its
-- next waiter after each start, takes the sweep's keys from tasker.keys_to_sweep (so it has
-- the sweep's period) and probes for waiters only at short keys.

-- Hands the slots freed at these keys (p_counts each) to their next waiters, in one statement
-- and without the keys' locks (see migration 0022). Answers the started steps and, as kind
-- 'short', each key with fewer units started than slots freed.
DROP FUNCTION tasker.hand_over_slots(text[], text[], integer[], uuid);
CREATE FUNCTION tasker.hand_over_slots(p_limits text[], p_keys text[], p_counts integer[],
                                       p_processor uuid)
RETURNS TABLE (kind text, step_uuid uuid, limit_name text, key text, task_uuid uuid,
               fair_group text, order_at timestamptz)
-- PL/pgSQL for its plan cache: a SQL function's statement is planned at every call.
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  WITH freed AS (
    SELECT f.limit_name, f.key, f.n, l.level
      FROM unnest(p_limits, p_keys, p_counts) f(limit_name, key, n)
      JOIN tasker.concurrency_limits l ON l.name = f.limit_name
     WHERE l.rate_limit IS NULL AND l.strategy <> 'cancel_in_progress'
  ),
  picked AS (
    SELECT f.limit_name, f.key, f.level, p.workflow_step_uuid, p.task_uuid, p.fair_group,
           p.order_at
      FROM freed f
     CROSS JOIN LATERAL (
       SELECT cw.workflow_step_uuid, cw.task_uuid, cw.fair_group, cw.order_at
         FROM tasker.concurrency_waiters cw
         JOIN tasker.workflow_steps s ON s.workflow_step_uuid = cw.workflow_step_uuid
        WHERE cw.limit_name = f.limit_name AND cw.key = f.key
          -- A task-level limit admits tasks: a task's first waiting step stands for it.
          AND (f.level = 'step' OR NOT EXISTS (
                SELECT 1 FROM tasker.concurrency_waiters e
                 WHERE e.task_uuid = cw.task_uuid
                   AND e.limit_name = cw.limit_name AND e.key = cw.key
                   AND (e.order_at, e.workflow_step_uuid) < (cw.order_at, cw.workflow_step_uuid)))
        ORDER BY cw.order_at, cw.waiting_since
        LIMIT f.n
          FOR UPDATE OF s SKIP LOCKED) p
  ),
  -- The picked steps; for a picked task, all its waiting steps of the key (by task: an index).
  members AS (
    SELECT p.limit_name, p.key, p.level, p.task_uuid, p.workflow_step_uuid, p.fair_group,
           p.order_at
      FROM picked p
     WHERE p.level = 'step'
    UNION ALL
    SELECT p.limit_name, p.key, p.level, cw.task_uuid, cw.workflow_step_uuid, p.fair_group,
           p.order_at
      FROM picked p
      JOIN tasker.concurrency_waiters cw ON cw.task_uuid = p.task_uuid
     WHERE p.level = 'task' AND cw.limit_name = p.limit_name AND cw.key = p.key
  ),
  claimed AS (
    SELECT m.* FROM members m
      JOIN tasker.workflow_steps s ON s.workflow_step_uuid = m.workflow_step_uuid
       FOR UPDATE OF s SKIP LOCKED
  ),
  -- A waiter another transaction started after this statement's snapshot is gone by now.
  dropped AS (
    DELETE FROM tasker.concurrency_waiters cw USING claimed c
     WHERE cw.workflow_step_uuid = c.workflow_step_uuid
    RETURNING cw.workflow_step_uuid
  ),
  -- Their tasks' current states, read by task (0023: as NOT EXISTS of a terminal state, its
  -- generic plan scanned every ended task's current transition at each hand-over).
  live AS (
    SELECT c.* FROM claimed c
      JOIN dropped d ON d.workflow_step_uuid = c.workflow_step_uuid
      JOIN tasker.task_transitions tt ON tt.task_uuid = c.task_uuid AND tt.most_recent
     WHERE tt.to_state NOT IN ('complete', 'error', 'cancelled', 'resolved_manually')
  ),
  retired AS (
    UPDATE tasker.workflow_step_transitions st SET most_recent = false
      FROM live l
     WHERE st.workflow_step_uuid = l.workflow_step_uuid AND st.most_recent
       AND st.to_state = 'pending'
    RETURNING st.workflow_step_uuid, st.sort_key
  ),
  started AS (
    SELECT l.*, r.sort_key FROM live l JOIN retired r USING (workflow_step_uuid)
  ),
  moved AS (
    INSERT INTO tasker.workflow_step_transitions
      (workflow_step_uuid, from_state, to_state, metadata, sort_key, most_recent, processor_uuid)
    SELECT s.workflow_step_uuid, 'pending', 'enqueued',
           jsonb_build_object('limit', s.limit_name, 'key', s.key), s.sort_key + 1, true,
           p_processor
      FROM started s
  ),
  stamped AS (
    UPDATE tasker.workflow_steps ws SET announced_at = clock_timestamp(), updated_at = now()
      FROM started s
     WHERE ws.workflow_step_uuid = s.workflow_step_uuid
  ),
  -- One slot per unit; a unit that holds one already (a race of two hand-overs for one task)
  -- takes none, and its key comes out short.
  held AS (
    INSERT INTO tasker.concurrency_slots (limit_name, key, holder_uuid, task_uuid)
    SELECT DISTINCT s.limit_name, s.key,
           CASE WHEN s.level = 'task' THEN s.task_uuid ELSE s.workflow_step_uuid END,
           s.task_uuid
      FROM started s
    ON CONFLICT ON CONSTRAINT concurrency_slots_pkey DO NOTHING
    RETURNING limit_name, key
  )
  SELECT 'started', s.workflow_step_uuid, s.limit_name, s.key, s.task_uuid, s.fair_group,
         s.order_at
    FROM started s
  UNION ALL
  SELECT 'short', NULL, f.limit_name, f.key, NULL, NULL, NULL
    FROM unnest(p_limits, p_keys, p_counts) f(limit_name, key, n)
    LEFT JOIN (SELECT h.limit_name, h.key, count(*) AS n FROM held h GROUP BY 1, 2) h
      ON h.limit_name = f.limit_name AND h.key = f.key
   WHERE f.n > coalesce(h.n, 0);
END
$$;

-- Admits waiting steps, given the tasks a unit of work moved (NULL: the sweep, which runs every
-- p_due_within_ms):
--   1. the given tasks' slots their holders gave up are deleted, and handed over
--      (tasker.hand_over_slots) where steps wait for them; a fair limit's turns taken are
--      passed on (tasker.pass_turns);
--   2. then, under each key's row lock in (limit, key) order, the keys where room may have
--      opened: those the given tasks' own steps wait for, those whose freed slots were not all
--      handed over (a rate limit, cancel_in_progress, fewer waiters than slots), or for the
--      sweep tasker.keys_to_sweep: there, waiters start in order_at order while a slot is free
--      and the rate allows (a step of a task that holds the key's task-level slot needs no new
--      one). When the key is full, `queue` leaves them waiting; `cancel_newest` answers their
--      tasks to cancel; `cancel_in_progress` takes, newest waiter first, the oldest holders'
--      slots (their tasks answered to cancel) and cancels the waiters older than every holder
--      left. The sweep also deletes the slots at its keys whose holders gave them up.
-- Answers the started steps (kind 'admitted', with what announcing them needs: read here, as
-- the statement that calls this may have begun before their tasks were committed), tasks to
-- cancel ('cancel') and, per key its rate holds back, when to admit again ('wake').
DROP FUNCTION tasker.admit_waiting(uuid[], uuid);
CREATE FUNCTION tasker.admit_waiting(p_task_uuids uuid[], p_processor uuid,
                                     p_due_within_ms integer)
RETURNS TABLE (kind text, task_uuid uuid, step_uuid uuid, limit_name text, wake_at timestamptz,
               step_name text, namespace text, task_name text, correlation_id text,
               traceparent text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  freed_limits text[] := '{}';
  freed_keys text[] := '{}';
  freed_counts integer[] := '{}';
  handed uuid[] := '{}';
  handed_limits text[] := '{}';
  handed_keys text[] := '{}';
  handed_tasks uuid[] := '{}';
  handed_groups text[] := '{}';
  handed_turns timestamptz[] := '{}';
  short_limits text[] := '{}';
  short_keys text[] := '{}';
  pool record;
  lim tasker.concurrency_limits;
  w record;
  seen uuid[];
  running integer;
  room integer;
  wait_until timestamptz;
  held boolean;
  started integer;
  sibling record;
  evicted record;
BEGIN
  IF p_task_uuids IS NOT NULL THEN
    WITH freed AS (
      DELETE FROM tasker.concurrency_slots s
       USING tasker.concurrency_limits l
       WHERE s.task_uuid = ANY (p_task_uuids) AND l.name = s.limit_name
         AND NOT tasker.slot_held(l.level, s.holder_uuid)
      RETURNING s.limit_name, s.key
    )
    SELECT coalesce(array_agg(f.limit_name), '{}'), coalesce(array_agg(f.key), '{}'),
           coalesce(array_agg(f.n), '{}')
      INTO freed_limits, freed_keys, freed_counts
      FROM (SELECT fr.limit_name, fr.key, count(*)::int AS n FROM freed fr GROUP BY 1, 2) f;
    IF cardinality(freed_limits) > 0 THEN
      SELECT coalesce(array_agg(h.step_uuid) FILTER (WHERE h.kind = 'started'), '{}'),
             coalesce(array_agg(h.limit_name) FILTER (WHERE h.kind = 'started'), '{}'),
             coalesce(array_agg(h.key) FILTER (WHERE h.kind = 'started'), '{}'),
             coalesce(array_agg(h.task_uuid) FILTER (WHERE h.kind = 'started'), '{}'),
             coalesce(array_agg(h.fair_group) FILTER (WHERE h.kind = 'started'), '{}'),
             coalesce(array_agg(h.order_at) FILTER (WHERE h.kind = 'started'), '{}'),
             coalesce(array_agg(h.limit_name) FILTER (WHERE h.kind = 'short'), '{}'),
             coalesce(array_agg(h.key) FILTER (WHERE h.kind = 'short'), '{}')
        INTO handed, handed_limits, handed_keys, handed_tasks, handed_groups, handed_turns,
             short_limits, short_keys
        FROM tasker.hand_over_slots(freed_limits, freed_keys, freed_counts, p_processor) h;
      IF cardinality(array_remove(handed_groups, NULL)) > 0 THEN
        PERFORM tasker.pass_turns(handed_limits, handed_keys, handed_groups, handed_turns,
                                  handed_tasks);
      END IF;
      RETURN QUERY
        SELECT 'admitted'::text, t.task_uuid, ws.workflow_step_uuid, h.limit_name,
               NULL::timestamptz, ws.name, ns.name, nt.name, t.correlation_id, t.traceparent
          FROM unnest(handed, handed_limits) h(step_uuid, limit_name)
          JOIN tasker.workflow_steps ws ON ws.workflow_step_uuid = h.step_uuid
          JOIN tasker.tasks t ON t.task_uuid = ws.task_uuid
          JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid
          JOIN tasker.task_namespaces ns ON ns.task_namespace_uuid = nt.task_namespace_uuid;
    END IF;
  END IF;

  FOR pool IN
    SELECT DISTINCT p.limit_name, p.key
      FROM (SELECT cw.limit_name, cw.key FROM tasker.concurrency_waiters cw
             WHERE cw.task_uuid = ANY (p_task_uuids)
            UNION ALL
            SELECT s.limit_name, s.key FROM unnest(short_limits, short_keys) s(limit_name, key)
             WHERE EXISTS (SELECT 1 FROM tasker.concurrency_waiters x
                            WHERE x.limit_name = s.limit_name AND x.key = s.key)
            UNION ALL
            SELECT r.limit_name, r.key FROM tasker.keys_to_sweep(p_due_within_ms) r
             WHERE p_task_uuids IS NULL) p
     ORDER BY p.limit_name, p.key
  LOOP
    PERFORM tasker.lock_concurrency_key(pool.limit_name, pool.key);
    SELECT * INTO lim FROM tasker.concurrency_limits l WHERE l.name = pool.limit_name;
    IF NOT FOUND THEN
      CONTINUE;
    END IF;

    -- The given tasks' slots were freed above (every path that ends a hold names its task);
    -- the sweep checks every slot of the key.
    IF p_task_uuids IS NULL THEN
      DELETE FROM tasker.concurrency_slots s
       WHERE s.limit_name = pool.limit_name AND s.key = pool.key
         AND NOT tasker.slot_held(lim.level, s.holder_uuid);
    END IF;
    SELECT count(*) INTO running FROM tasker.concurrency_slots s
     WHERE s.limit_name = pool.limit_name AND s.key = pool.key;
    room := coalesce(lim.max_running - running, 2147483647);
    wait_until := NULL;

    -- New holders: in order, or newest first for cancel_in_progress; read one at a time, as
    -- a start may pass its group's turn to waiters after it (tasker.pass_turns). A waiter left
    -- in place (its step locked) is not read again.
    seen := '{}';
    LOOP
      EXIT WHEN wait_until IS NOT NULL;
      IF lim.strategy = 'cancel_in_progress' THEN
        SELECT cw.workflow_step_uuid, cw.task_uuid, cw.waiting_since, cw.fair_group, cw.order_at
          INTO w
          FROM tasker.concurrency_waiters cw
         WHERE cw.limit_name = pool.limit_name AND cw.key = pool.key
           AND cw.workflow_step_uuid <> ALL (seen)
         ORDER BY cw.waiting_since DESC
         LIMIT 1;
      ELSE
        SELECT cw.workflow_step_uuid, cw.task_uuid, cw.waiting_since, cw.fair_group, cw.order_at
          INTO w
          FROM tasker.concurrency_waiters cw
         WHERE cw.limit_name = pool.limit_name AND cw.key = pool.key
           AND cw.workflow_step_uuid <> ALL (seen)
         ORDER BY cw.order_at, cw.waiting_since
         LIMIT 1;
      END IF;
      EXIT WHEN NOT FOUND;
      seen := seen || w.workflow_step_uuid;
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
        IF w.fair_group IS NOT NULL THEN
          PERFORM tasker.pass_turns(ARRAY[pool.limit_name], ARRAY[pool.key],
                                    ARRAY[w.fair_group], ARRAY[w.order_at],
                                    ARRAY[w.task_uuid]);
        END IF;
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
    UPDATE tasker.concurrency_keys k
       SET next_start_at = wait_until,
           checked_at = CASE WHEN p_task_uuids IS NULL THEN clock_timestamp() ELSE k.checked_at END
     WHERE k.limit_name = pool.limit_name AND k.key = pool.key
       AND (k.next_start_at IS DISTINCT FROM wait_until OR p_task_uuids IS NULL);
    IF wait_until IS NOT NULL THEN
      RETURN QUERY SELECT 'wake'::text, NULL::uuid, NULL::uuid, pool.limit_name, wait_until,
                          NULL, NULL, NULL, NULL, NULL;
    END IF;
  END LOOP;
END
$$;
