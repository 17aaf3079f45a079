-- Five defects of admission found in review, each reproduced in concurrency.int-spec first.

-- 1. Deadlocks over a slot being freed. An admission for given tasks deletes their freed
-- slots' rows first and takes a key's lock later (the hand-over needs none; the key's lock
-- comes when the tasks' other steps still wait there). The sweep, admission at a key whose
-- strategy cancels, the prune of idle keys, and an eviction by cancel_in_progress take the
-- key's lock first, then delete rows of the key. When one of them met such an admission at a
-- key, each waited for what the other held, and PostgreSQL aborted one after
-- deadlock_timeout (a unit of work's step results retried alone, a second's stall). Such a
-- row is being freed by the admission that holds it, which hands its slot over itself or
-- admits at the key once it has the lock, so those deletes now skip it (SKIP LOCKED): until
-- that admission commits, the row counts as the slot it frees, and a cancel_in_progress
-- waiter whose only older holders are being freed waits for that admission instead.

-- Deletes the rows of a key's slots whose holders moved on, but for rows another transaction
-- is deleting. Run under the key's lock (tasker.lock_concurrency_key).
CREATE FUNCTION tasker.free_given_up_slots(p_limit text, p_key text, p_level text)
RETURNS void LANGUAGE sql VOLATILE AS $$
  DELETE FROM tasker.concurrency_slots s
   WHERE (s.limit_name, s.key, s.holder_uuid) IN (
           SELECT x.limit_name, x.key, x.holder_uuid FROM tasker.concurrency_slots x
            WHERE x.limit_name = p_limit AND x.key = p_key
              AND NOT tasker.slot_held(p_level, x.holder_uuid)
              FOR UPDATE SKIP LOCKED)
$$;

-- tasker.prune_concurrency_keys as in migration 0022, but its delete of slots skips rows
-- another transaction is deleting.
CREATE OR REPLACE FUNCTION tasker.prune_concurrency_keys(p_max integer)
RETURNS integer LANGUAGE sql VOLATILE AS $$
  WITH idle AS (
    SELECT k.limit_name, k.key, l.level
      FROM tasker.concurrency_keys k
      JOIN tasker.concurrency_limits l ON l.name = k.limit_name
     WHERE k.next_start_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM tasker.concurrency_waiters cw
                        WHERE cw.limit_name = k.limit_name AND cw.key = k.key)
       AND NOT EXISTS (SELECT 1 FROM tasker.concurrency_slots s
                        WHERE s.limit_name = k.limit_name AND s.key = k.key
                          AND tasker.slot_held(l.level, s.holder_uuid))
       AND NOT EXISTS (SELECT 1 FROM tasker.concurrency_starts cs
                        WHERE cs.limit_name = k.limit_name AND cs.key = k.key
                          AND cs.started_at > clock_timestamp()
                              - make_interval(secs => l.rate_period_ms / 1000.0))
     LIMIT p_max
       FOR UPDATE OF k SKIP LOCKED
  ),
  starts AS (
    DELETE FROM tasker.concurrency_starts cs USING idle i
     WHERE cs.limit_name = i.limit_name AND cs.key = i.key
  ),
  slots AS (
    DELETE FROM tasker.concurrency_slots s
     WHERE (s.limit_name, s.key, s.holder_uuid) IN (
             SELECT x.limit_name, x.key, x.holder_uuid
               FROM tasker.concurrency_slots x JOIN idle i USING (limit_name, key)
                FOR UPDATE OF x SKIP LOCKED)
  ),
  pruned AS (
    DELETE FROM tasker.concurrency_keys k USING idle i
     WHERE k.limit_name = i.limit_name AND k.key = i.key
    RETURNING 1
  )
  SELECT count(*)::int FROM pruned
$$;

-- 2. A cancellation by a cancel strategy was carried out only after admission's commit
-- (OrchestrationUnitOfWork.followUp; cancelling inside would lock a task after keys, against
-- the lock order). Until then the task ran on: an evicted task whose step finished waited
-- again as the newest and evicted the task that had taken its slot, and a replica that died
-- in between left a turned-away task waiting for nothing, its waiter gone. Admission now
-- records each cancellation in its own transaction; such a task is turned away again instead
-- of starting or evicting, and the sweep carries out what a dead replica left.
CREATE TABLE tasker.concurrency_cancellations (
  -- No foreign key: its lock on the task would make admission, which holds keys, wait for a
  -- task (the lock order is task → step → key).
  task_uuid uuid PRIMARY KEY,
  limit_name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- 3. A lowered max_running held only once no step waited: the hand-over gave every freed slot
-- to a waiter, so a key of 3 running lowered to 1 stayed at 3 while steps kept arriving. The
-- hand-over (as in migration 0025 otherwise) now gives a key at most the room its
-- max_running leaves; the rest goes to the locked path, which counts.
CREATE OR REPLACE FUNCTION tasker.hand_over_slots(p_limits text[], p_keys text[], p_counts integer[],
                                       p_processor uuid, p_point_ms float8)
RETURNS TABLE (kind text, step_uuid uuid, limit_name text, key text, task_uuid uuid,
               fair_group text, order_at timestamptz)
-- PL/pgSQL for its plan cache: a SQL function's statement is planned at every call.
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  -- No more slots than max_running leaves room for: the same count as freed, unless the
  -- limit was lowered (the rows of slots freed are gone in this transaction; other hand-overs'
  -- changes keep a key's count, so reading it without the key's lock hands over no more).
  WITH freed AS (
    SELECT f.limit_name, f.key, l.level, l.strategy,
           least(f.n, greatest(0, l.max_running - (SELECT count(*)::int
                                                    FROM tasker.concurrency_slots s
                                                   WHERE s.limit_name = f.limit_name
                                                     AND s.key = f.key))) AS n
      FROM unnest(p_limits, p_keys, p_counts) f(limit_name, key, n)
      JOIN tasker.concurrency_limits l ON l.name = f.limit_name
     WHERE l.rate_limit IS NULL AND l.strategy <> 'cancel_in_progress'
       AND l.max_running IS NOT NULL
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
          -- A task whose cancellation is pending (2.) is the locked path's to turn away.
          AND (f.strategy = 'queue' OR NOT EXISTS (
                SELECT 1 FROM tasker.concurrency_cancellations c WHERE c.task_uuid = cw.task_uuid))
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
  -- With whether the task is still live (its current transition, read by task) and, for a
  -- task-level unit, the step's own limit key (0025: a step may have one under its task's).
  claimed AS (
    SELECT m.*, tt.to_state NOT IN ('complete', 'error', 'cancelled', 'resolved_manually')
                AS live, own.lk AS own_lk, own.priority
      FROM members m
      JOIN tasker.workflow_steps s ON s.workflow_step_uuid = m.workflow_step_uuid
      JOIN tasker.task_transitions tt ON tt.task_uuid = m.task_uuid AND tt.most_recent
      LEFT JOIN LATERAL (
        SELECT CASE WHEN t.slots ? 'steps'
                    THEN t.slots -> 'steps' -> (SELECT n.name FROM tasker.named_steps n
                                                 WHERE n.named_step_uuid = s.named_step_uuid)
               END AS lk, t.priority
          FROM tasker.tasks t
         WHERE t.task_uuid = m.task_uuid AND m.level = 'task') own ON true
       FOR UPDATE OF s SKIP LOCKED
  ),
  -- A waiter another transaction started after this statement's snapshot is gone by now.
  dropped AS (
    DELETE FROM tasker.concurrency_waiters cw USING claimed c
     WHERE cw.workflow_step_uuid = c.workflow_step_uuid
       AND (c.own_lk IS NULL OR NOT c.live)
    RETURNING cw.workflow_step_uuid
  ),
  -- A live task's step with a limit of its own: its task now holds the task-level slot, and
  -- the step waits on at its own limit's key instead of starting (unless another transaction
  -- moved it after this statement's snapshot: it is at its own key already).
  moved AS (
    UPDATE tasker.concurrency_waiters cw
       SET limit_name = c.own_lk ->> 0, key = c.own_lk ->> 1, fair_group = c.own_lk ->> 2,
           order_at = tasker.waiter_order(c.own_lk ->> 0, c.own_lk ->> 1, c.own_lk ->> 2, 0,
                                          c.priority, p_point_ms)
      FROM claimed c
     WHERE cw.workflow_step_uuid = c.workflow_step_uuid AND c.own_lk IS NOT NULL AND c.live
       AND cw.limit_name = c.limit_name AND cw.key = c.key
    RETURNING c.*
  ),
  live AS (
    SELECT c.* FROM claimed c
      JOIN dropped d ON d.workflow_step_uuid = c.workflow_step_uuid
     WHERE c.live
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
  enqueued AS (
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
    SELECT DISTINCT u.limit_name, u.key,
           CASE WHEN u.level = 'task' THEN u.task_uuid ELSE u.workflow_step_uuid END,
           u.task_uuid
      FROM (SELECT s.limit_name, s.key, s.level, s.task_uuid, s.workflow_step_uuid
              FROM started s
            UNION ALL
            SELECT m.limit_name, m.key, m.level, m.task_uuid, m.workflow_step_uuid
              FROM moved m) u
    ON CONFLICT ON CONSTRAINT concurrency_slots_pkey DO NOTHING
    RETURNING limit_name, key
  )
  SELECT 'started', s.workflow_step_uuid, s.limit_name, s.key, s.task_uuid, s.fair_group,
         s.order_at
    FROM started s
  UNION ALL
  SELECT 'moved', m.workflow_step_uuid, m.limit_name, m.key, m.task_uuid, m.fair_group,
         m.order_at
    FROM moved m
  UNION ALL
  SELECT 'short', NULL, f.limit_name, f.key, NULL, NULL, NULL
    FROM unnest(p_limits, p_keys, p_counts) f(limit_name, key, n)
    LEFT JOIN (SELECT h.limit_name, h.key, count(*) AS n FROM held h GROUP BY 1, 2) h
      ON h.limit_name = f.limit_name AND h.key = f.key
   WHERE f.n > coalesce(h.n, 0);
END
$$;

-- 4. A step whose result awaits orchestration held its slot for good once its task ended: an
-- end other than cancellation leaves such a step as it is (for a reopening to settle), and the
-- result's message is dropped for an ended task, so nothing decided the step and the key
-- stayed full. Such a step holds its slot only while its task has not ended.
CREATE OR REPLACE FUNCTION tasker.slot_held(p_level text, p_holder uuid)
RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF p_level = 'task' THEN
    RETURN EXISTS (SELECT 1 FROM tasker.task_transitions tt
                    WHERE tt.task_uuid = p_holder AND tt.most_recent
                      AND tt.to_state NOT IN ('complete', 'error', 'cancelled',
                                              'resolved_manually'));
  END IF;
  RETURN EXISTS (
    SELECT 1 FROM tasker.workflow_step_transitions st
     WHERE st.workflow_step_uuid = p_holder AND st.most_recent
       AND (st.to_state IN ('enqueued', 'in_progress')
            OR st.to_state IN ('enqueued_for_orchestration', 'enqueued_as_error_for_orchestration')
               AND EXISTS (SELECT 1 FROM tasker.workflow_steps s
                             JOIN tasker.task_transitions tt
                               ON tt.task_uuid = s.task_uuid AND tt.most_recent
                            WHERE s.workflow_step_uuid = p_holder
                              AND tt.to_state NOT IN ('complete', 'error', 'cancelled',
                                                      'resolved_manually'))));
END
$$;

-- tasker.admit_waiting as in migration 0029, but for 1. (its check of a key's slots, at the
-- sweep and at a key whose strategy cancels, is tasker.free_given_up_slots, and
-- cancel_in_progress evicts only a slot no other transaction is freeing), 2. and 5. (below).
CREATE OR REPLACE FUNCTION tasker.admit_waiting(p_task_uuids uuid[], p_processor uuid,
                                     p_due_within_ms integer, p_point_ms float8)
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
  turn_limits text[] := '{}';
  turn_keys text[] := '{}';
  turn_tasks uuid[] := '{}';
  turn_groups text[] := '{}';
  turns timestamptz[] := '{}';
  short_limits text[] := '{}';
  short_keys text[] := '{}';
  moved uuid[] := '{}';
  pool_limits text[];
  pool_keys text[];
  pool_task_level boolean[];
  outcome text;
  pass integer;
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
  doomed boolean;
  cut_short boolean;
BEGIN
  -- The sweep answers the cancellations made over 10 s ago and not carried out (the replica
  -- that made one carries it out just after its commit, unless it died), and drops the rows
  -- of tasks that ended (tasker.slot_held: a task holds until it ends).
  IF p_task_uuids IS NULL THEN
    DELETE FROM tasker.concurrency_cancellations c
     WHERE NOT tasker.slot_held('task', c.task_uuid);
    RETURN QUERY
      SELECT 'cancel'::text, c.task_uuid, NULL::uuid, c.limit_name, NULL::timestamptz,
             NULL, NULL, NULL, NULL, NULL
        FROM tasker.concurrency_cancellations c
       WHERE c.created_at < clock_timestamp() - interval '10 seconds';
  END IF;

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
      -- A unit whose steps moved on to their own limits took its turn as one that started.
      SELECT coalesce(array_agg(h.step_uuid) FILTER (WHERE h.kind = 'started'), '{}'),
             coalesce(array_agg(h.limit_name) FILTER (WHERE h.kind = 'started'), '{}'),
             coalesce(array_agg(h.limit_name) FILTER (WHERE h.kind <> 'short'), '{}'),
             coalesce(array_agg(h.key) FILTER (WHERE h.kind <> 'short'), '{}'),
             coalesce(array_agg(h.task_uuid) FILTER (WHERE h.kind <> 'short'), '{}'),
             coalesce(array_agg(h.fair_group) FILTER (WHERE h.kind <> 'short'), '{}'),
             coalesce(array_agg(h.order_at) FILTER (WHERE h.kind <> 'short'), '{}'),
             coalesce(array_agg(h.step_uuid) FILTER (WHERE h.kind = 'moved'), '{}'),
             coalesce(array_agg(h.limit_name) FILTER (WHERE h.kind = 'short'), '{}'),
             coalesce(array_agg(h.key) FILTER (WHERE h.kind = 'short'), '{}')
        INTO handed, handed_limits, turn_limits, turn_keys, turn_tasks, turn_groups, turns,
             moved, short_limits, short_keys
        FROM tasker.hand_over_slots(freed_limits, freed_keys, freed_counts, p_processor,
                                    p_point_ms) h;
      IF cardinality(array_remove(turn_groups, NULL)) > 0 THEN
        PERFORM tasker.pass_turns(turn_limits, turn_keys, turn_groups, turns, turn_tasks);
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

  -- The keys where room may have opened, read once.
  SELECT coalesce(array_agg(c.limit_name), '{}'), coalesce(array_agg(c.key), '{}'),
         coalesce(array_agg(c.task_level), '{}')
    INTO pool_limits, pool_keys, pool_task_level
    FROM (SELECT DISTINCT p.limit_name, p.key, l.level = 'task' AS task_level
            FROM (SELECT cw.limit_name, cw.key FROM tasker.concurrency_waiters cw
                   WHERE cw.task_uuid = ANY (p_task_uuids)
                  UNION ALL
                  SELECT s.limit_name, s.key
                    FROM unnest(short_limits, short_keys) s(limit_name, key)
                   WHERE EXISTS (SELECT 1 FROM tasker.concurrency_waiters x
                                  WHERE x.limit_name = s.limit_name AND x.key = s.key)
                  UNION ALL
                  SELECT r.limit_name, r.key FROM tasker.keys_to_sweep(p_due_within_ms) r
                   WHERE p_task_uuids IS NULL) p
            JOIN tasker.concurrency_limits l ON l.name = p.limit_name) c;

  -- Task-level keys first, step-level ones after, each in (limit, key) order: every
  -- admission takes the keys' locks in that one order. The keys that steps moved on to (their
  -- own limits, by the hand-over or in the first pass) are all step-level, so the second pass
  -- takes them too.
  FOR pass IN 1..2 LOOP
  FOR pool IN
    SELECT DISTINCT p.limit_name, p.key
      FROM (SELECT c.limit_name, c.key
              FROM unnest(pool_limits, pool_keys, pool_task_level) c(limit_name, key, task_level)
             WHERE c.task_level = (pass = 1)
            UNION ALL
            SELECT cw.limit_name, cw.key FROM tasker.concurrency_waiters cw
             WHERE pass = 2 AND cw.workflow_step_uuid = ANY (moved)) p
     ORDER BY p.limit_name, p.key
  LOOP
    PERFORM tasker.lock_concurrency_key(pool.limit_name, pool.key);
    SELECT * INTO lim FROM tasker.concurrency_limits l WHERE l.name = pool.limit_name;
    IF NOT FOUND THEN
      CONTINUE;
    END IF;

    -- The given tasks' slots were freed above (every path that ends a hold names its task);
    -- the sweep, and admission at a key whose strategy cancels, check every slot of the key.
    IF p_task_uuids IS NULL OR lim.strategy <> 'queue' THEN
      PERFORM tasker.free_given_up_slots(pool.limit_name, pool.key, lim.level);
    END IF;
    SELECT count(*) INTO running FROM tasker.concurrency_slots s
     WHERE s.limit_name = pool.limit_name AND s.key = pool.key;
    room := coalesce(lim.max_running - running, 2147483647);
    wait_until := NULL;

    -- New holders: in order, or newest first for cancel_in_progress; read one at a time, as
    -- a start may pass its group's turn to waiters after it (tasker.pass_turns). A waiter left
    -- in place (its step locked) is not read again.
    seen := '{}';
    cut_short := false;
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
      -- A task a cancel strategy turned away or evicted, its cancellation still to be carried
      -- out, neither starts nor evicts: it is turned away again.
      doomed := lim.strategy <> 'queue' AND EXISTS (
                  SELECT 1 FROM tasker.concurrency_cancellations c
                   WHERE c.task_uuid = w.task_uuid);
      held := NOT doomed AND lim.level = 'task' AND EXISTS (
                SELECT 1 FROM tasker.concurrency_slots s
                 WHERE s.limit_name = pool.limit_name AND s.key = pool.key
                   AND s.holder_uuid = w.task_uuid);
      IF doomed OR (NOT held AND room <= 0) THEN
        IF lim.strategy = 'queue' THEN
          cut_short := true;
          EXIT;
        END IF;
        IF lim.strategy = 'cancel_in_progress' AND NOT doomed THEN
          SELECT s.holder_uuid, s.task_uuid INTO evicted FROM tasker.concurrency_slots s
           WHERE s.limit_name = pool.limit_name AND s.key = pool.key
             AND s.acquired_at < w.waiting_since
           ORDER BY s.acquired_at LIMIT 1
             FOR UPDATE SKIP LOCKED;
          IF FOUND THEN
            DELETE FROM tasker.concurrency_slots s
             WHERE s.limit_name = pool.limit_name AND s.key = pool.key
               AND s.holder_uuid = evicted.holder_uuid;
            INSERT INTO tasker.concurrency_cancellations (task_uuid, limit_name)
            VALUES (evicted.task_uuid, pool.limit_name) ON CONFLICT DO NOTHING;
            room := room + 1;
            RETURN QUERY SELECT 'cancel'::text, evicted.task_uuid, NULL::uuid, pool.limit_name,
                                NULL::timestamptz, NULL, NULL, NULL, NULL, NULL;
          ELSIF EXISTS (SELECT 1 FROM tasker.concurrency_slots s
                         WHERE s.limit_name = pool.limit_name AND s.key = pool.key
                           AND s.acquired_at < w.waiting_since) THEN
            -- Its older holders' slots are being freed by their units of work, which admit
            -- at the key once this commits: it waits for them, neither evicting nor turned away.
            cut_short := true;
            EXIT;
          END IF;
        END IF;
        IF doomed OR room <= 0 THEN
          -- Turned away: cancel_newest, a cancel_in_progress waiter older than every holder,
          -- or a task already turned away or evicted.
          PERFORM 1 FROM tasker.workflow_steps s
            WHERE s.workflow_step_uuid = w.workflow_step_uuid FOR UPDATE SKIP LOCKED;
          IF FOUND THEN
            DELETE FROM tasker.concurrency_waiters cw
             WHERE cw.workflow_step_uuid = w.workflow_step_uuid;
            INSERT INTO tasker.concurrency_cancellations (task_uuid, limit_name)
            VALUES (w.task_uuid, pool.limit_name) ON CONFLICT DO NOTHING;
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
      -- A step with a limit of its own under this task-level one moves on to wait for it,
      -- its task taking the task-level slot (tasker.move_to_own_limit).
      outcome := CASE WHEN lim.level = 'task'
                      THEN tasker.move_to_own_limit(w.workflow_step_uuid, lim.name, p_point_ms)
                      ELSE 'none' END;
      IF outcome = 'none' THEN
        RETURN QUERY SELECT * FROM tasker.start_waiter(
                       w.workflow_step_uuid, w.task_uuid, lim, pool.key,
                       CASE WHEN held THEN NULL
                            WHEN lim.level = 'task' THEN w.task_uuid
                            ELSE w.workflow_step_uuid END,
                       p_processor);
        GET DIAGNOSTICS started = ROW_COUNT;
      ELSIF outcome = 'moved' THEN
        moved := moved || w.workflow_step_uuid;
        IF NOT held THEN
          PERFORM tasker.take_task_slot(lim, pool.key, w.task_uuid);
        END IF;
        started := 1;
      ELSE
        started := 0;
      END IF;
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
            outcome := tasker.move_to_own_limit(sibling.workflow_step_uuid, lim.name,
                                                p_point_ms);
            IF outcome = 'moved' THEN
              moved := moved || sibling.workflow_step_uuid;
            ELSIF outcome = 'none' THEN
              RETURN QUERY SELECT * FROM tasker.start_waiter(sibling.workflow_step_uuid,
                                                             w.task_uuid, lim, pool.key, NULL,
                                                             p_processor);
            END IF;
          END LOOP;
        END IF;
      END IF;
    END LOOP;
    -- 5. A waiting step whose task holds its slot here runs under it wherever it is in the
    -- order: neither room nor a task-level rate applies to it, as it starts no task. One left
    -- waiting when its task took the slot (its row was locked then, by the readiness sweep for
    -- one) would otherwise wait behind tasks that need a slot while its task holds one, and at
    -- max_running 1 for good. Read through the key's slots, when the order was cut short.
    IF lim.level = 'task' AND (cut_short OR wait_until IS NOT NULL) THEN
      FOR sibling IN
        SELECT cw.workflow_step_uuid, cw.task_uuid
          FROM tasker.concurrency_slots s
          JOIN tasker.concurrency_waiters cw
            ON cw.task_uuid = s.holder_uuid AND cw.limit_name = s.limit_name AND cw.key = s.key
         WHERE s.limit_name = pool.limit_name AND s.key = pool.key
           AND cw.workflow_step_uuid <> ALL (seen)
      LOOP
        outcome := tasker.move_to_own_limit(sibling.workflow_step_uuid, lim.name, p_point_ms);
        IF outcome = 'moved' THEN
          moved := moved || sibling.workflow_step_uuid;
        ELSIF outcome = 'none' THEN
          RETURN QUERY SELECT * FROM tasker.start_waiter(sibling.workflow_step_uuid,
                                                         sibling.task_uuid, lim, pool.key, NULL,
                                                         p_processor);
        END IF;
      END LOOP;
    END IF;
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
  END LOOP;
END
$$;
