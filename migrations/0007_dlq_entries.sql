-- Tasks staleness detection gave up on: what they were stuck in, a snapshot of the task and
-- its steps at that moment, and how an operator resolved it.
CREATE TABLE tasker.dlq_entries (
  dlq_entry_uuid uuid PRIMARY KEY DEFAULT tasker.uuid_generate_v7(),
  task_uuid uuid NOT NULL REFERENCES tasker.tasks ON DELETE CASCADE,
  reason text NOT NULL CHECK (reason IN (
    'stale_waiting_for_dependencies', 'stale_waiting_for_retry', 'stale_steps_in_process',
    'lifetime_exceeded')),
  original_state text NOT NULL,
  -- How long the task had been in original_state (or alive, for lifetime_exceeded).
  stuck_for_seconds integer NOT NULL,
  threshold_minutes integer NOT NULL,
  snapshot jsonb NOT NULL,
  resolution_status text NOT NULL DEFAULT 'pending' CHECK (resolution_status IN (
    'pending', 'manually_resolved', 'permanently_failed', 'cancelled')),
  resolution_notes text,
  resolved_by text,
  resolved_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- One open entry per task, however many replicas detect it.
CREATE UNIQUE INDEX dlq_entries_open_task_idx ON tasker.dlq_entries (task_uuid)
  WHERE resolution_status = 'pending';
CREATE INDEX dlq_entries_list_idx ON tasker.dlq_entries (resolution_status, dlq_entry_uuid);
