-- A step's handler configuration from its template (Tasker Core's `handler.initialization`,
-- after the environment's overrides). Kept once per template step, not copied into every
-- task's steps: a worker's claim reads it by the step's named_step_uuid.
ALTER TABLE tasker.named_steps ADD COLUMN config jsonb NOT NULL DEFAULT '{}';
