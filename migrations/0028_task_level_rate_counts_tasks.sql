-- A task-level limit's rate counts task starts. A task's steps that started with it (siblings
-- waiting at its key when it took its slot) each logged a start, while its later steps, which
-- run under the slot it holds and never wait, logged none: a task of three parallel roots
-- counted three starts and a chain of three one. A start is now logged where a slot is taken
-- (p_holder set: a step of a step-level limit, or a task taking its task-level slot), as
-- tasker.take_task_slot already did (migration 0025). Otherwise tasker.start_waiter is as in
-- migration 0021.
CREATE OR REPLACE FUNCTION tasker.start_waiter(p_step uuid, p_task uuid, p_limit tasker.concurrency_limits,
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
     WHERE p_limit.rate_limit IS NOT NULL AND p_holder IS NOT NULL
  )
  SELECT 'admitted'::text, t.task_uuid, st.workflow_step_uuid, p_limit.name,
         NULL::timestamptz, st.name, ns.name, nt.name, t.correlation_id, t.traceparent
    FROM stamped st
    JOIN tasker.tasks t ON t.task_uuid = st.task_uuid
    JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid
    JOIN tasker.task_namespaces ns ON ns.task_namespace_uuid = nt.task_namespace_uuid;
END
$$;
