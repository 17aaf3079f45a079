-- Whether a limit is fair (`fair_by`: its waiting steps take turns by group) is the limit's, as
-- its level is: a registration that declares a limit fair where it was not (or the reverse) is
-- refused, whoever declared it, so one key never mixes waiters that take turns with waiters
-- that do not. NULL: registered before this migration, unknown until a template declaring it
-- registers again; it agrees with either until then.
ALTER TABLE tasker.concurrency_limits ADD COLUMN fair boolean;
