-- The payloads a handler chose for the domain events its step publishes on success
-- (withEventPayloads), by event name; NULL when it chose none (each event carries the result).
-- Written with the run's result, read by orchestration only for templates that publish events.
ALTER TABLE tasker.workflow_steps ADD COLUMN event_payloads jsonb;
