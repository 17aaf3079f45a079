-- Flow control, faster: a slot given up while steps wait for its key is handed straight to the
-- next of them (README "Concurrency and rate limits", docs/architecture.md "Flow control").
-- A hand-over keeps the key's count of slots, so it needs none of the key's lock that
-- admitting into free room takes: units of work finishing tasks of one key no longer wait for
-- each other's commits. Also one definition of "the holder still holds its slot".

-- A key's row is only its lock and its rate's next start: the rows of its waiters, slots and
-- starts no longer refer to it, so the sweep can delete the row of a key nothing uses any more
-- (tasker.prune_concurrency_keys) without racing a waiter being inserted; admission creates the
-- row again when it needs the lock (tasker.lock_concurrency_key).
ALTER TABLE tasker.concurrency_slots DROP CONSTRAINT concurrency_slots_limit_name_key_fkey;
ALTER TABLE tasker.concurrency_waiters DROP CONSTRAINT concurrency_waiters_limit_name_key_fkey;
ALTER TABLE tasker.concurrency_starts DROP CONSTRAINT concurrency_starts_limit_name_key_fkey;

-- Takes a key's row lock, creating its row if the sweep deleted it. NO KEY UPDATE: inserting
-- waiters, slots and starts of the key never waits for it; deleting the row does.
CREATE FUNCTION tasker.lock_concurrency_key(p_limit text, p_key text)
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  LOOP
    PERFORM 1 FROM tasker.concurrency_keys k
      WHERE k.limit_name = p_limit AND k.key = p_key FOR NO KEY UPDATE;
    EXIT WHEN FOUND;
    INSERT INTO tasker.concurrency_keys (limit_name, key) VALUES (p_limit, p_key)
    ON CONFLICT DO NOTHING;
  END LOOP;
END
$$;

-- Fair limits (`fair_by`): the waiters of a key take turns by their task's group (a tenant),
-- round robin, instead of one queue in order of waiting. The turn is fixed when a step begins
-- to wait, as order_at already is (start-time fair queueing): a group's next waiter comes one
-- turn (1 ms of order_at) after its group's last, and a group with none waiting starts at the
-- key's head; ties go to the earlier waiter (waiting_since). So admission still reads one
-- index in order, and a group with 10,000 waiting alternates with one that has 5.
ALTER TABLE tasker.concurrency_waiters ADD COLUMN fair_group text;
DROP INDEX tasker.concurrency_waiters_order;
CREATE INDEX concurrency_waiters_order
  ON tasker.concurrency_waiters (limit_name, key, order_at, waiting_since);
-- A task's waiters of a key: a hand-over starts a task's other waiting steps with the first.
DROP INDEX tasker.concurrency_waiters_task;
CREATE INDEX concurrency_waiters_task ON tasker.concurrency_waiters (task_uuid, limit_name, key);
CREATE INDEX concurrency_waiters_group
  ON tasker.concurrency_waiters (limit_name, key, fair_group, order_at)
  WHERE fair_group IS NOT NULL;

-- When a step that begins to wait for a key is due (order_at): now, or for a fair limit
-- (p_group set) its group's turn, p_turn turns after the first of its group this statement
-- queues; made earlier by its task's priority × p_point_ms either way.
CREATE FUNCTION tasker.waiter_order(p_limit text, p_key text, p_group text, p_turn integer,
                                    p_priority integer, p_point_ms float8)
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
                clock_timestamp())
              + make_interval(secs => p_turn / 1000.0)
         END
         - make_interval(secs => p_priority * p_point_ms / 1000)
$$;

-- Whether a slot's holder still holds it: a task (task-level limit) until it ends; a step
-- (step-level) while its run is enqueued, in progress or awaiting its decision. A slot whose
-- holder moved on is free, whether or not its row is gone yet.
CREATE FUNCTION tasker.slot_held(p_level text, p_holder uuid)
RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN p_level = 'task' THEN
           EXISTS (SELECT 1 FROM tasker.task_transitions tt
                    WHERE tt.task_uuid = p_holder AND tt.most_recent
                      AND tt.to_state NOT IN ('complete', 'error', 'cancelled',
                                              'resolved_manually'))
         ELSE
           EXISTS (SELECT 1 FROM tasker.workflow_step_transitions st
                    WHERE st.workflow_step_uuid = p_holder AND st.most_recent
                      AND st.to_state IN ('enqueued', 'in_progress',
                                          'enqueued_for_orchestration',
                                          'enqueued_as_error_for_orchestration'))
         END
$$;

-- Hands the slots freed at these keys (p_counts each) to their next waiters, in one statement
-- and without the keys' locks: in order_at order, one unit (a task for a task-level limit, a
-- step for a step-level one) per slot; a task-level unit starts all its waiting steps of the
-- key. A waiter whose step is locked is skipped (SKIP LOCKED: its task's unit of work holds it,
-- and admits again before it commits); so is the rest of a task whose other steps another
-- hand-over took. Only for limits a hand-over cannot break: no rate (every start would count)
-- and not cancel_in_progress (newest first, evicting). Answers the started steps (their limit
-- in limit_name) and, as kind 'short', each key with fewer units started than slots freed.
CREATE FUNCTION tasker.hand_over_slots(p_limits text[], p_keys text[], p_counts integer[],
                                       p_processor uuid)
RETURNS TABLE (kind text, step_uuid uuid, limit_name text, key text)
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
    SELECT f.limit_name, f.key, f.level, p.workflow_step_uuid, p.task_uuid
      FROM freed f
     CROSS JOIN LATERAL (
       SELECT cw.workflow_step_uuid, cw.task_uuid
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
  -- The picked steps, and a picked task's other waiting steps of the key (by task: an index).
  members AS (
    SELECT p.limit_name, p.key, p.level, p.task_uuid, p.workflow_step_uuid
      FROM picked p
    UNION
    SELECT p.limit_name, p.key, p.level, cw.task_uuid, cw.workflow_step_uuid
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
  live AS (
    SELECT c.* FROM claimed c
      JOIN dropped d ON d.workflow_step_uuid = c.workflow_step_uuid
     WHERE NOT EXISTS (SELECT 1 FROM tasker.task_transitions tt
                        WHERE tt.task_uuid = c.task_uuid AND tt.most_recent
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
  SELECT 'started', s.workflow_step_uuid, s.limit_name, s.key FROM started s
  UNION ALL
  SELECT 'short', NULL, f.limit_name, f.key
    FROM unnest(p_limits, p_keys, p_counts) f(limit_name, key, n)
   WHERE f.n > (SELECT count(*) FROM held h WHERE h.limit_name = f.limit_name AND h.key = f.key);
END
$$;

-- Admits waiting steps, given the tasks a unit of work moved (NULL: the sweep, every key with
-- waiters):
--   1. the given tasks' slots their holders gave up are deleted, and handed over
--      (tasker.hand_over_slots) where steps wait for them;
--   2. then, under each key's row lock in (limit, key) order, the keys where room may have
--      opened: those the given tasks' own steps wait for, those whose freed slots were not all
--      handed over (a rate limit, cancel_in_progress, fewer waiters than slots): there,
--      waiters start in order_at order while a slot is free and the rate allows (a step of a
--      task that holds the key's task-level slot needs no new one). When the key is full,
--      `queue` leaves them waiting; `cancel_newest` answers their tasks to cancel;
--      `cancel_in_progress` takes, newest waiter first, the oldest holders' slots (their tasks
--      answered to cancel) and cancels the waiters older than every holder left. The sweep
--      also deletes every slot whose holder gave it up.
-- Answers the started steps (kind 'admitted', with what announcing them needs: read here, as
-- the statement that calls this may have begun before their tasks were committed), tasks to
-- cancel ('cancel') and, per key its rate holds back, when to admit again ('wake').
CREATE OR REPLACE FUNCTION tasker.admit_waiting(p_task_uuids uuid[], p_processor uuid)
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
  short_limits text[] := '{}';
  short_keys text[] := '{}';
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
             coalesce(array_agg(h.limit_name) FILTER (WHERE h.kind = 'short'), '{}'),
             coalesce(array_agg(h.key) FILTER (WHERE h.kind = 'short'), '{}')
        INTO handed, handed_limits, short_limits, short_keys
        FROM tasker.hand_over_slots(freed_limits, freed_keys, freed_counts, p_processor) h;
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
            UNION ALL
            SELECT DISTINCT cw.limit_name, cw.key FROM tasker.concurrency_waiters cw
             WHERE p_task_uuids IS NULL) p
     WHERE EXISTS (SELECT 1 FROM tasker.concurrency_waiters x
                    WHERE x.limit_name = p.limit_name AND x.key = p.key)
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
                    ORDER BY cw.order_at, cw.waiting_since;
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

-- Deletes up to p_max keys nothing uses: no waiter, no slot held, no start inside the rate's
-- window, no rate wait pending; with their starts past the window and slots given up. A key
-- locked by an admission is skipped.
CREATE FUNCTION tasker.prune_concurrency_keys(p_max integer)
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
    DELETE FROM tasker.concurrency_slots s USING idle i
     WHERE s.limit_name = i.limit_name AND s.key = i.key
  ),
  pruned AS (
    DELETE FROM tasker.concurrency_keys k USING idle i
     WHERE k.limit_name = i.limit_name AND k.key = i.key
    RETURNING 1
  )
  SELECT count(*)::int FROM pruned
$$;
