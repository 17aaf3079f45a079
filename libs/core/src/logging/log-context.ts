import { AsyncLocalStorage } from 'node:async_hooks';

/** Fields every log line written while handling one message or request carries. */
export interface LogFields {
  taskUuid?: string;
  stepUuid?: string;
  correlationId?: string;
  traceId?: string;
  messageType?: string;
  messageId?: string;
}

const storage = new AsyncLocalStorage<LogFields>();

/** Runs `work` with `fields` (on top of any outer ones) in the log context of everything it does. */
export function withLogContext<T>(fields: LogFields, work: () => T): T {
  return storage.run({ ...storage.getStore(), ...fields }, work);
}

/** The fields of the current log context, if any. */
export function currentLogContext(): LogFields | undefined {
  return storage.getStore();
}
