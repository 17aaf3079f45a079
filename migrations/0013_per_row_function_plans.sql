-- Every Tasker connection plans each run of its prepared statements for the tables as they are
-- (plan_cache_mode=force_custom_plan, set in libs/persistence/src/database.ts): a generic plan
-- made while the tables were small kept scanning them whole once they had grown, until an
-- ANALYZE that autovacuum may never run. The plpgsql functions the hot path calls once per row
-- (a task lock and a step read per result, 50 of each in a full batch) would inherit that
-- setting and plan their statements again on every call: 0.4 ms per lock_task and 0.26 ms per
-- step_row instead of a few microseconds, which halved the orchestration's drain rate. Their
-- statements look up one row by its primary key, a plan the table's size cannot turn bad, so
-- they keep the server's default: planned on the first calls, then reused for the session.
ALTER FUNCTION tasker.lock_task(uuid, boolean) SET plan_cache_mode = auto;
ALTER FUNCTION tasker.step_row(uuid, uuid) SET plan_cache_mode = auto;
