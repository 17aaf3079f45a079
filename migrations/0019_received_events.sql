-- Events in: every event Tasker received (POST /v1/events, or a durable domain event a step
-- published), with the tasks it started in the templates whose `triggers` list it. An event
-- and its tasks are written in one transaction. `idempotency_key` makes a repeated POST
-- create nothing new. `depth` counts how many events led to it (a task started by an event of
-- depth d publishes events of depth d + 1): past TASKER_EVENT_MAX_DEPTH an event starts
-- nothing, which stops trigger cycles; `outcome` says what became of it.
CREATE TABLE tasker.received_events (
  event_uuid uuid PRIMARY KEY,
  name text NOT NULL,
  payload jsonb NOT NULL,
  idempotency_key text UNIQUE,
  correlation_id text,
  source text NOT NULL CHECK (source IN ('api', 'domain_event')),
  depth integer NOT NULL DEFAULT 0 CHECK (depth >= 0),
  -- refused: a domain event whose payload a triggered template's input_schema refuses.
  outcome text NOT NULL CHECK (outcome IN ('matched', 'unmatched', 'depth_exceeded', 'refused')),
  -- The step whose domain event it was, for source 'domain_event'.
  source_task_uuid uuid,
  received_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX received_events_received_at_idx ON tasker.received_events (received_at DESC);

ALTER TABLE tasker.tasks ADD COLUMN trigger_event_uuid uuid REFERENCES tasker.received_events;
CREATE INDEX tasks_trigger_event_idx ON tasker.tasks (trigger_event_uuid)
  WHERE trigger_event_uuid IS NOT NULL;
