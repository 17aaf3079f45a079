-- Schedules (cron, RRULE, one-off) as a resource of orchestration: any replica may fire a due
-- schedule; the row lock (SKIP LOCKED) and the unique fire identity make each fire happen once.
CREATE TABLE tasker.schedules (
  schedule_uuid uuid PRIMARY KEY DEFAULT tasker.uuid_generate_v7(),
  namespace text NOT NULL,
  name text NOT NULL,
  -- NULL: the highest registered version at each fire.
  version text,
  context jsonb NOT NULL,
  kind text NOT NULL CHECK (kind IN ('cron', 'rrule', 'once')),
  expression text NOT NULL,
  timezone text NOT NULL,
  misfire_grace_seconds integer NOT NULL CHECK (misfire_grace_seconds >= 0),
  overlap text NOT NULL CHECK (overlap IN ('allow', 'skip')),
  enabled boolean NOT NULL,
  -- The next fire to handle; NULL once a schedule has no more fires.
  next_fire_at timestamptz,
  -- Fires up to this instant are skipped (snooze).
  snoozed_until timestamptz,
  last_fire_at timestamptz,
  last_task_uuid uuid,
  description text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX schedules_due_idx ON tasker.schedules (next_fire_at)
  WHERE enabled AND next_fire_at IS NOT NULL;

-- One row per fire handled, whatever became of it.
CREATE TABLE tasker.schedule_runs (
  schedule_run_uuid uuid PRIMARY KEY DEFAULT tasker.uuid_generate_v7(),
  schedule_uuid uuid NOT NULL REFERENCES tasker.schedules ON DELETE CASCADE,
  fire_at timestamptz NOT NULL,
  trigger text NOT NULL CHECK (trigger IN ('schedule', 'manual')),
  outcome text NOT NULL CHECK (outcome IN (
    'created', 'misfired', 'coalesced', 'skipped_overlap', 'failed')),
  task_uuid uuid REFERENCES tasker.tasks ON DELETE SET NULL,
  detail text,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE UNIQUE INDEX schedule_runs_fire_idx ON tasker.schedule_runs (schedule_uuid, fire_at)
  WHERE trigger = 'schedule';
CREATE INDEX schedule_runs_list_idx ON tasker.schedule_runs (schedule_uuid, schedule_run_uuid);

ALTER TABLE tasker.tasks
  ADD COLUMN schedule_uuid uuid REFERENCES tasker.schedules ON DELETE SET NULL,
  ADD COLUMN scheduled_fire_at timestamptz;
