-- Lock a task, then read its current state with a snapshot taken after the lock is held.
-- One statement doing both (SELECT … JOIN task_transitions … FOR UPDATE OF tasks) reads the
-- transition log as of before it waited: a second result of the same task, processed while
-- the first held the lock, saw the task's old state, its compare-and-swap matched nothing and
-- the task could stay waiting forever. In READ COMMITTED each statement of a plpgsql function
-- takes a new snapshot, so this keeps the fix to one round trip.
CREATE FUNCTION tasker.lock_task(p_task_uuid uuid, p_skip_locked boolean)
RETURNS TABLE (task_uuid uuid, state text, namespace text, name text, correlation_id text,
               traceparent text)
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
    SELECT t.task_uuid, tr.to_state, ns.name, nt.name, t.correlation_id, t.traceparent
      FROM tasker.tasks t
      JOIN tasker.task_transitions tr ON tr.task_uuid = t.task_uuid AND tr.most_recent
      JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid
      JOIN tasker.task_namespaces ns ON ns.task_namespace_uuid = nt.task_namespace_uuid
     WHERE t.task_uuid = p_task_uuid;
END
$$;
