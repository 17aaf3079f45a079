-- Tasker Core's `handler.method`: the method of a handler class a step calls instead of `call`
-- (method dispatch). Kept once per template step, like its config; NULL means `call`. The
-- worker's claim reads it by the step's named_step_uuid.
ALTER TABLE tasker.named_steps ADD COLUMN handler_method text;
