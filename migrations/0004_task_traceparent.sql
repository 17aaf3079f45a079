-- The W3C traceparent a task was submitted with (or was given): every message of the task
-- carries it, so one task's path can be followed across apps in logs and traces.
ALTER TABLE tasker.tasks ADD COLUMN traceparent text;
