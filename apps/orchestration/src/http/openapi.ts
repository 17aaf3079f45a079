import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  DocumentBuilder,
  getSchemaPath,
  type OpenAPIObject,
  type OperationObject,
  type ResponseObject,
  SwaggerModule,
} from '@nestjs/swagger';
import { OrchestrationModule } from '../orchestration.module.js';
import { MAX_JSON_DEPTH } from './json-depth.js';
import { ErrorBodyView } from './views/error-body.view.js';

export const API_KEY_SCHEME = 'api_key';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const READ_METHODS = new Set<string>(['get', 'head', 'options']);

/**
 * The OpenAPI document orchestration serves at /docs-json (and docs/openapi.json holds): every
 * route's own schemas and errors come from its decorators; the replies every route shares come
 * from the edges that give them, added here in one place: the API key guard (401, and 403 for a
 * write with a read key), the body parser and input pipes (400, 413) and anything unexpected
 * (500). A route marked `@PublicRoute()` needs no key, and its operation says so.
 */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Tasker orchestration')
      .setDescription(
        'Submit and follow DAG workflow tasks, act on their steps, schedule them, and handle the tasks found stuck (DLQ).',
      )
      .setVersion('1')
      .setLicense('MIT', 'https://opensource.org/licenses/MIT')
      .addServer('/', 'The orchestration app serving this document')
      .addTag('tasks', 'Submit, follow and cancel tasks; act on their steps')
      .addTag('templates', 'The registered task templates')
      .addTag('schedules', 'Tasks created on a calendar')
      .addTag('dlq', 'Tasks found stuck, and what operators decided about them')
      .addTag('stats', 'Aggregates for an overview')
      .addTag('health', 'Probes; they need no key')
      .addApiKey(
        {
          type: 'apiKey',
          in: 'header',
          name: 'X-API-Key',
          description:
            'Required on every route but the public ones (health) when orchestration runs with TASKER_API_KEYS; a read key may only GET.',
        },
        API_KEY_SCHEME,
      )
      .addSecurityRequirements(API_KEY_SCHEME)
      .build(),
    {
      extraModels: [ErrorBodyView],
      operationIdFactory: (controller, method) =>
        `${controller.replace(/Controller$/, '')}_${method}`,
    },
  );
  for (const path of Object.values(document.paths)) {
    for (const method of METHODS) {
      const operation = path[method];
      if (operation) addSharedResponses(method, operation);
    }
  }
  return document;
}

function addSharedResponses(method: string, operation: OperationObject): void {
  const responses = operation.responses;
  const add = (status: number, description: string) => {
    responses[status] ??= errorResponse(description);
  };
  // @PublicRoute() marks its operations with an empty requirement: no key at all.
  const requirements = operation.security;
  const isPublic =
    requirements !== undefined && requirements.every((r) => Object.keys(r).length === 0);
  if (isPublic) {
    operation.security = [];
  } else {
    add(401, 'X-API-Key is missing or unknown (only when the server has TASKER_API_KEYS)');
    if (!READ_METHODS.has(method)) add(403, 'A read-only API key cannot change anything');
  }
  if (operation.requestBody) {
    add(
      400,
      `Invalid input: malformed JSON, nesting deeper than ${MAX_JSON_DEPTH} levels, text PostgreSQL cannot store, or fields that fail validation (each listed in message)`,
    );
    add(413, 'The body is over 1 MB');
  } else if ((operation.parameters ?? []).length > 0) {
    add(400, 'Invalid parameters: each problem is listed in message');
  }
  add(500, 'An unexpected failure');
}

function errorResponse(description: string): ResponseObject {
  return {
    description,
    content: { 'application/json': { schema: { $ref: getSchemaPath(ErrorBodyView) } } },
  };
}

/** Where the repository keeps the document (relative to the repository root). */
export const OPENAPI_FILE = 'docs/openapi.json';

/**
 * The same document without a running app: Nest's preview mode builds the module graph but
 * instantiates no provider, so nothing connects to PostgreSQL or a broker.
 */
export async function openApiDocumentOffline(): Promise<OpenAPIObject> {
  const app = await NestFactory.create(OrchestrationModule, {
    preview: true,
    logger: false,
    abortOnError: false,
  });
  try {
    return createOpenApiDocument(app);
  } finally {
    await app.close();
  }
}
