import AjvModule from 'ajv';
import { v7 as uuidv7 } from 'uuid';
import type { JSONSchemaType, ValidateFunction } from 'ajv';

/** Payloads by message type. Producers and consumers import these same definitions. */
export interface StepExecutePayload {
  taskUuid: string;
  stepUuid: string;
  stepName: string;
  namespace: string;
}

export interface StepResultPayload {
  taskUuid: string;
  stepUuid: string;
  /** The run this result belongs to (workflow_steps.attempts at claim time). */
  attempt: number;
  outcome: 'success' | 'failure';
}

export interface MessagePayloads {
  'step.execute.v1': StepExecutePayload;
  'step.result.v1': StepResultPayload;
}
export type MessageType = keyof MessagePayloads;

export interface MessageEnvelope<T extends MessageType = MessageType> {
  id: string;
  type: T;
  version: 1;
  /** The task the message is about. */
  correlationId: string;
  /** The id of the message or request that caused this one. */
  causationId: string | null;
  occurredAt: string;
  attempt: number;
  traceparent: string | null;
  payload: MessagePayloads[T];
}

/** A UUID in its canonical form, as every producer writes it (PostgreSQL's uuid output). */
const uuid = {
  type: 'string',
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
} as const;

const payloadSchemas: { [K in MessageType]: JSONSchemaType<MessagePayloads[K]> } = {
  'step.execute.v1': {
    type: 'object',
    additionalProperties: false,
    required: ['taskUuid', 'stepUuid', 'stepName', 'namespace'],
    properties: {
      taskUuid: uuid,
      stepUuid: uuid,
      stepName: { type: 'string', minLength: 1 },
      namespace: { type: 'string', minLength: 1 },
    },
  },
  'step.result.v1': {
    type: 'object',
    additionalProperties: false,
    required: ['taskUuid', 'stepUuid', 'attempt', 'outcome'],
    properties: {
      taskUuid: uuid,
      stepUuid: uuid,
      attempt: { type: 'integer', minimum: 1 },
      outcome: { type: 'string', enum: ['success', 'failure'] },
    },
  },
};

const envelopeSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'type',
    'version',
    'correlationId',
    'causationId',
    'occurredAt',
    'attempt',
    'payload',
  ],
  properties: {
    id: { type: 'string', minLength: 1 },
    type: { type: 'string', enum: Object.keys(payloadSchemas) },
    version: { const: 1 },
    correlationId: { type: 'string', minLength: 1 },
    causationId: { type: ['string', 'null'] },
    occurredAt: { type: 'string', minLength: 1 },
    attempt: { type: 'integer', minimum: 0 },
    traceparent: { type: ['string', 'null'] },
    payload: { type: 'object' },
  },
} as const;

const Ajv = AjvModule.default;
const ajv = new Ajv({ allErrors: true });
const validateEnvelope = ajv.compile(envelopeSchema);
const payloadValidators = Object.fromEntries(
  Object.entries(payloadSchemas).map(([type, schema]) => [type, ajv.compile(schema)]),
) as { [K in MessageType]: ValidateFunction<MessagePayloads[K]> };

export type ParseResult = { ok: true; message: MessageEnvelope } | { ok: false; error: string };

/**
 * Validates a raw body as an envelope of any known type, payload included. A failure is
 * permanent for that message (dead-letter it), never a reason to crash or retry.
 */
export function parseEnvelope(body: unknown): ParseResult {
  if (!validateEnvelope(body)) {
    return { ok: false, error: `invalid envelope: ${ajv.errorsText(validateEnvelope.errors)}` };
  }
  const envelope = body as unknown as MessageEnvelope;
  const validatePayload: ValidateFunction = payloadValidators[envelope.type];
  if (!validatePayload(envelope.payload)) {
    return {
      ok: false,
      error: `invalid ${envelope.type} payload: ${ajv.errorsText(validatePayload.errors, { dataVar: 'payload' })}`,
    };
  }
  return { ok: true, message: envelope };
}

export function createEnvelope<T extends MessageType>(
  type: T,
  payload: MessagePayloads[T],
  meta: {
    correlationId: string;
    causationId?: string | null;
    attempt?: number;
    traceparent?: string | null;
  },
): MessageEnvelope<T> {
  return {
    id: uuidv7(),
    type,
    version: 1,
    correlationId: meta.correlationId,
    causationId: meta.causationId ?? null,
    occurredAt: new Date().toISOString(),
    attempt: meta.attempt ?? 0,
    traceparent: meta.traceparent ?? null,
    payload,
  };
}
