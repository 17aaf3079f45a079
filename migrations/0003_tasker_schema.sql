-- The tasker data model (ARCHITECTURE §2). PostgreSQL is the single source of truth: messages
-- carry identifiers only and every consumer re-reads state here.

CREATE TABLE tasker.task_namespaces (
  task_namespace_uuid uuid PRIMARY KEY DEFAULT tasker.uuid_generate_v7(),
  name text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tasker.named_tasks (
  named_task_uuid uuid PRIMARY KEY DEFAULT tasker.uuid_generate_v7(),
  task_namespace_uuid uuid NOT NULL REFERENCES tasker.task_namespaces,
  name text NOT NULL,
  version text NOT NULL,
  description text,
  identity_strategy text NOT NULL
    CHECK (identity_strategy IN ('strict', 'caller_provided', 'always_unique')),
  -- The normalized template; steps are materialized from it at submission.
  configuration jsonb NOT NULL,
  source text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (task_namespace_uuid, name, version)
);

CREATE TABLE tasker.named_steps (
  named_step_uuid uuid PRIMARY KEY DEFAULT tasker.uuid_generate_v7(),
  named_task_uuid uuid NOT NULL REFERENCES tasker.named_tasks ON DELETE CASCADE,
  name text NOT NULL,
  handler text NOT NULL,
  UNIQUE (named_task_uuid, name)
);

CREATE TABLE tasker.tasks (
  task_uuid uuid PRIMARY KEY DEFAULT tasker.uuid_generate_v7(),
  named_task_uuid uuid NOT NULL REFERENCES tasker.named_tasks,
  context jsonb NOT NULL,
  identity_hash text NOT NULL UNIQUE,
  priority integer NOT NULL DEFAULT 0,
  correlation_id text NOT NULL,
  initiator text,
  source_system text,
  reason text,
  tags text[] NOT NULL DEFAULT '{}',
  requested_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_named_task_idx ON tasker.tasks (named_task_uuid, task_uuid);
CREATE INDEX tasks_correlation_idx ON tasker.tasks (correlation_id);

CREATE TABLE tasker.workflow_steps (
  workflow_step_uuid uuid PRIMARY KEY DEFAULT tasker.uuid_generate_v7(),
  task_uuid uuid NOT NULL REFERENCES tasker.tasks ON DELETE CASCADE,
  named_step_uuid uuid REFERENCES tasker.named_steps,
  name text NOT NULL,
  handler text NOT NULL,
  retryable boolean NOT NULL DEFAULT true,
  -- Counts the first run.
  max_attempts integer NOT NULL CHECK (max_attempts >= 1),
  -- Runs started: a claim counts, so a crashed worker consumes retry budget.
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_attempted_at timestamptz,
  -- The delay a handler asked for (e.g. Retry-After), if any.
  backoff_request_seconds numeric,
  -- Set while the step waits for a retry; NULL otherwise (keeps the sweep index tiny).
  next_retry_at timestamptz,
  -- When the step message was last sent (or is due to be sent): the sweep re-announces steps
  -- left in `enqueued` long after this, in case the process died between commit and send.
  announced_at timestamptz,
  timeout_seconds integer NOT NULL CHECK (timeout_seconds > 0),
  -- The retry policy (base, cap, jitter) for orchestration's backoff computation.
  retry_policy jsonb NOT NULL,
  inputs jsonb NOT NULL DEFAULT '{}',
  results jsonb,
  last_error jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (task_uuid, name)
);
CREATE INDEX workflow_steps_task_idx ON tasker.workflow_steps (task_uuid);
CREATE INDEX workflow_steps_retry_due_idx ON tasker.workflow_steps (next_retry_at)
  WHERE next_retry_at IS NOT NULL;

-- "to" depends on "from".
CREATE TABLE tasker.workflow_step_edges (
  from_step_uuid uuid NOT NULL REFERENCES tasker.workflow_steps ON DELETE CASCADE,
  to_step_uuid uuid NOT NULL REFERENCES tasker.workflow_steps ON DELETE CASCADE,
  PRIMARY KEY (to_step_uuid, from_step_uuid),
  CHECK (from_step_uuid <> to_step_uuid)
);
CREATE INDEX workflow_step_edges_from_idx ON tasker.workflow_step_edges (from_step_uuid);

-- Append-only transition logs. The partial unique index guarantees exactly one current state;
-- a transition is a compare-and-swap on the current row (see libs/persistence/src/sql).
CREATE TABLE tasker.task_transitions (
  task_transition_uuid uuid PRIMARY KEY DEFAULT tasker.uuid_generate_v7(),
  task_uuid uuid NOT NULL REFERENCES tasker.tasks ON DELETE CASCADE,
  from_state text,
  to_state text NOT NULL CHECK (to_state IN (
    'pending', 'initializing', 'enqueuing_steps', 'steps_in_process', 'evaluating_results',
    'waiting_for_dependencies', 'waiting_for_retry', 'blocked_by_failures',
    'complete', 'error', 'cancelled', 'resolved_manually')),
  metadata jsonb NOT NULL DEFAULT '{}',
  sort_key integer NOT NULL,
  most_recent boolean NOT NULL,
  processor_uuid uuid,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (task_uuid, sort_key)
);
CREATE UNIQUE INDEX task_transitions_current_idx ON tasker.task_transitions (task_uuid)
  WHERE most_recent;
CREATE INDEX task_transitions_current_state_idx ON tasker.task_transitions (to_state, task_uuid)
  WHERE most_recent;

CREATE TABLE tasker.workflow_step_transitions (
  workflow_step_transition_uuid uuid PRIMARY KEY DEFAULT tasker.uuid_generate_v7(),
  workflow_step_uuid uuid NOT NULL REFERENCES tasker.workflow_steps ON DELETE CASCADE,
  from_state text,
  to_state text NOT NULL CHECK (to_state IN (
    'pending', 'enqueued', 'in_progress', 'enqueued_for_orchestration',
    'enqueued_as_error_for_orchestration', 'waiting_for_retry',
    'complete', 'error', 'cancelled', 'resolved_manually')),
  metadata jsonb NOT NULL DEFAULT '{}',
  sort_key integer NOT NULL,
  most_recent boolean NOT NULL,
  processor_uuid uuid,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (workflow_step_uuid, sort_key)
);
CREATE UNIQUE INDEX workflow_step_transitions_current_idx
  ON tasker.workflow_step_transitions (workflow_step_uuid) WHERE most_recent;
CREATE INDEX workflow_step_transitions_current_state_idx
  ON tasker.workflow_step_transitions (to_state) WHERE most_recent;

-- History is append-only: the only change allowed to a transition row is retiring it
-- (most_recent true -> false) when the next one is written.
CREATE FUNCTION tasker.forbid_transition_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.most_recent AND NOT NEW.most_recent
     AND (to_jsonb(NEW) - 'most_recent') = (to_jsonb(OLD) - 'most_recent') THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'transition rows are append-only (%.%)', TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER task_transitions_append_only BEFORE UPDATE ON tasker.task_transitions
  FOR EACH ROW EXECUTE FUNCTION tasker.forbid_transition_rewrite();
CREATE TRIGGER workflow_step_transitions_append_only
  BEFORE UPDATE ON tasker.workflow_step_transitions
  FOR EACH ROW EXECUTE FUNCTION tasker.forbid_transition_rewrite();

-- Readiness (ARCHITECTURE §2), batched over tasks: pending or waiting_for_retry, every parent
-- complete/resolved_manually, retry-eligible, and its retry time (if any) has come.
CREATE FUNCTION tasker.ready_steps(p_task_uuids uuid[])
RETURNS TABLE (task_uuid uuid, workflow_step_uuid uuid, current_state text)
LANGUAGE sql STABLE AS $$
  SELECT s.task_uuid, s.workflow_step_uuid, st.to_state
  FROM tasker.workflow_steps s
  JOIN tasker.workflow_step_transitions st
    ON st.workflow_step_uuid = s.workflow_step_uuid AND st.most_recent
  WHERE s.task_uuid = ANY (p_task_uuids)
    AND st.to_state IN ('pending', 'waiting_for_retry')
    AND (s.attempts = 0 OR (s.retryable AND s.attempts < s.max_attempts))
    AND (s.next_retry_at IS NULL OR s.next_retry_at <= clock_timestamp())
    AND NOT EXISTS (
      SELECT 1
      FROM tasker.workflow_step_edges e
      JOIN tasker.workflow_step_transitions pt
        ON pt.workflow_step_uuid = e.from_step_uuid AND pt.most_recent
      WHERE e.to_step_uuid = s.workflow_step_uuid
        AND pt.to_state NOT IN ('complete', 'resolved_manually'))
$$;
