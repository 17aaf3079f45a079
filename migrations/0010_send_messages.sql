-- Sends messages on a PGMQ queue and tells its listeners, in the caller's transaction: the one
-- way Tasker sends on PGMQ. PgmqMessageBus.sendBatch calls it alone; the hot-path statements
-- call it inside the statement that changes the state the messages announce (a worker's
-- recorded runs, orchestration's enqueued steps), so state and queue commit together.
--
-- The notice is what the LISTEN side parses (MessageReadyNotice, pg-notify.listener.ts) on the
-- queue's channel (messageReadyChannel, libs/contracts/src/queues.ts): delivered at commit, so
-- never before the messages are visible. visibleInMs is relative (the delay), so no clock but
-- the database's counts. Nothing is sent, and nobody is woken, for an empty or NULL array.
CREATE FUNCTION tasker.send_messages(p_queue text, p_messages jsonb[], p_delay_ms float8 DEFAULT 0)
RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  sent integer;
BEGIN
  IF coalesce(cardinality(p_messages), 0) = 0 THEN
    RETURN 0;
  END IF;
  SELECT count(*) INTO sent
    FROM pgmq.send_batch(p_queue, p_messages,
                         clock_timestamp() + make_interval(secs => p_delay_ms / 1000));
  PERFORM pg_notify('tasker_message_ready.' || p_queue,
                    json_build_object('queue', p_queue, 'count', sent,
                                      'visibleInMs', CASE WHEN p_delay_ms > 0 THEN p_delay_ms END)::text);
  RETURN sent;
END
$$;
