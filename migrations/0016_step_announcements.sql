-- The announcements outbox, for brokers outside the database (RabbitMQ), where a step's message
-- is sent after the commit that made it `enqueued` and that send can fail or be lost. The
-- commit that enqueues a step writes its row here; the row is deleted once the broker confirmed
-- the message. So a step that is `enqueued` with a row here has no confirmed message.
--
-- `owner_uuid` is the processor (orchestration replica) that sends it: the one that enqueued
-- it, while it keeps renewing `leased_at` (it retries a failed send as soon as the broker is
-- back). A row whose lease ran out belongs to a replica that died or lost the database; any
-- replica's readiness sweep takes it over (SKIP LOCKED, one taker) and sends it. PGMQ never
-- writes here: its messages commit with the state.
CREATE TABLE tasker.step_announcements (
  workflow_step_uuid uuid PRIMARY KEY,
  task_uuid uuid NOT NULL,
  owner_uuid uuid NOT NULL,
  leased_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- The sweep's take-over scan: expired leases, oldest first.
CREATE INDEX step_announcements_leased_at_idx ON tasker.step_announcements (leased_at);
