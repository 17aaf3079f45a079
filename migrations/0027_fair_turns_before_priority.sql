-- A fair limit's turns (migration 0023) counted a waiter's priority twice: a new waiter's turn
-- came after its group's last waiter's order_at, which already held that waiter's priority
-- shift, and the new waiter's own shift came on top. So a tenant's waiters of priority 100
-- each went 100 s ahead of the one before (newest first), and of priority -100 each 100 s
-- behind (the tenth 1,000 s late, against "at most 200 s" in the README). A turn is now read
-- without its waiter's shift (order_at plus its task's priority × p_point_ms), from the key's
-- head and from its group's last waiter by order_at, and each waiter is shifted once, by its
-- own priority. A group whose tasks differ in priority may take a turn twice, since its last
-- waiter by order_at need not hold its latest turn; reading the latest exactly would mean
-- reading every waiter of the group.
CREATE OR REPLACE FUNCTION tasker.waiter_order(p_limit text, p_key text, p_group text,
                                               p_turn integer, p_priority integer,
                                               p_point_ms float8)
RETURNS timestamptz LANGUAGE sql VOLATILE AS $$
  SELECT CASE WHEN p_group IS NULL THEN clock_timestamp()
         ELSE coalesce(
                greatest(
                  (SELECT cw.order_at + make_interval(secs => t.priority * p_point_ms / 1000)
                     FROM tasker.concurrency_waiters cw
                     JOIN tasker.tasks t ON t.task_uuid = cw.task_uuid
                    WHERE cw.limit_name = p_limit AND cw.key = p_key
                    ORDER BY cw.order_at LIMIT 1),
                  (SELECT cw.order_at + make_interval(secs => t.priority * p_point_ms / 1000)
                          + interval '1 millisecond'
                     FROM tasker.concurrency_waiters cw
                     JOIN tasker.tasks t ON t.task_uuid = cw.task_uuid
                    WHERE cw.limit_name = p_limit AND cw.key = p_key
                      AND cw.fair_group = p_group
                    ORDER BY cw.order_at DESC LIMIT 1)),
                date_trunc('milliseconds', clock_timestamp()))
              + make_interval(secs => p_turn / 1000.0)
         END
         - make_interval(secs => p_priority * p_point_ms / 1000)
$$;
