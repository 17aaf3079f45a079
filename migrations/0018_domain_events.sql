-- Durable domain events published by steps (their template's `publishes_events`): one row per
-- event per step outcome, written by the unit of work that settled the outcome. The unique key
-- (step, attempt, name) makes publishing exactly once per outcome: a result applied twice
-- writes nothing new. `published_at` is set when the broker has the event: in the same
-- transaction on PGMQ (the event is sent with it), after the broker's confirm on RabbitMQ
-- (the readiness sweep publishes rows left unpublished). Consumers read them from the broker;
-- this table is the record (and the outbox).
CREATE TABLE tasker.domain_events (
  event_uuid uuid PRIMARY KEY,
  name text NOT NULL,
  namespace text NOT NULL,
  task_uuid uuid NOT NULL,
  workflow_step_uuid uuid NOT NULL,
  attempt integer NOT NULL,
  outcome text NOT NULL
    CHECK (outcome IN ('success', 'retryable_failure', 'permanent_failure')),
  delivery text NOT NULL CHECK (delivery IN ('durable', 'broadcast')),
  envelope jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  published_at timestamptz,
  -- When the event was handed to the templates that trigger on it (tasker.received_events,
  -- migration 0019); the sweep hands over those left behind by a crash.
  triggered_at timestamptz,
  UNIQUE (workflow_step_uuid, attempt, name)
);

-- The sweep's scan for events the broker has not confirmed (RabbitMQ).
CREATE INDEX domain_events_unpublished_idx ON tasker.domain_events (created_at)
  WHERE published_at IS NULL;
CREATE INDEX domain_events_untriggered_idx ON tasker.domain_events (created_at)
  WHERE triggered_at IS NULL;
CREATE INDEX domain_events_task_idx ON tasker.domain_events (task_uuid);
