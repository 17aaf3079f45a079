import type {
  DlqReason,
  DlqResolutionStatus,
  ScheduleKind,
  ScheduleOverlap,
  StepAction,
  TaskState,
} from '#core';

/** What JSON can carry: a step result given by hand. */
export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Keyset paging of every list: newest first, `cursor` = the previous page's nextCursor. */
export interface PageQuery {
  /** 1 to 200; 50 when omitted. */
  limit?: number;
  cursor?: string;
}

/** Which template to run and with what context. */
export interface TemplateRef {
  namespace: string;
  name: string;
  /** Omitted: the highest registered version. */
  version?: string;
  /** Validated against the template's input_schema. */
  context: Record<string, unknown>;
}

export interface CreateTaskRequest extends TemplateRef {
  /** Same key, same task: a second submission is refused (409). */
  idempotencyKey?: string;
  /** -1000 to 1000; 0 when omitted. */
  priority?: number;
  correlationId?: string;
  initiator?: string;
  sourceSystem?: string;
  reason?: string;
  tags?: string[];
}

export interface ListTasksQuery extends PageQuery {
  namespace?: string;
  name?: string;
  status?: TaskState;
  correlationId?: string;
  /** ISO 8601: tasks submitted at or after this instant. */
  requestedFrom?: string;
  /** ISO 8601: tasks submitted before this instant. */
  requestedBefore?: string;
}

export interface StepActionRequest {
  action: StepAction;
  /** Who acts; recorded in the step's history. */
  operator: string;
  reason: string;
  /** complete_manually only: the result downstream steps receive. */
  result?: JsonValue;
}

export interface CreateScheduleRequest extends TemplateRef {
  kind: ScheduleKind;
  expression: string;
  /** IANA time zone of the expression. */
  timezone: string;
  misfireGraceSeconds?: number;
  overlap?: ScheduleOverlap;
  enabled?: boolean;
  description?: string;
}

/** Any subset of the fields; `enabled` false pauses, true resumes from now. */
export type UpdateScheduleRequest = Partial<CreateScheduleRequest>;

export interface ListSchedulesQuery extends PageQuery {
  namespace?: string;
  name?: string;
  enabled?: boolean;
}

export interface ListDlqQuery extends PageQuery {
  status?: DlqResolutionStatus;
  reason?: DlqReason;
  namespace?: string;
}

export interface ResolveDlqEntryRequest {
  resolutionStatus: DlqResolutionStatus;
  resolutionNotes?: string;
  resolvedBy?: string;
}

export interface PublishEventRequest {
  name: string;
  payload: Record<string, unknown>;
  idempotencyKey?: string;
  correlationId?: string;
}

export interface ListEventsQuery {
  /** 1 to 500; 50. */
  limit?: number;
  name?: string;
}
