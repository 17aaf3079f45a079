import { readFileSync } from 'node:fs';
import type {
  OpenAPIObject,
  OperationObject,
  ReferenceObject,
  ResponseObject,
} from '@nestjs/swagger';
import { OPENAPI_FILE, openApiDocumentOffline } from './openapi.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

function operations(document: OpenAPIObject): [string, OperationObject][] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.flatMap((method) => {
      const operation = item[method];
      return operation
        ? [[`${method.toUpperCase()} ${path}`, operation] as [string, OperationObject]]
        : [];
    }),
  );
}

const jsonSchemaOf = (response: ResponseObject | ReferenceObject | undefined) =>
  (response as ResponseObject | undefined)?.content?.['application/json']?.schema;

/**
 * The OpenAPI document as a contract: built without a database, it is the file the repository
 * keeps (redocly lints that file in `npm run lint`), and every operation describes what it
 * takes, what it answers and how it fails. test/openapi-contract.e2e-spec.ts checks the served
 * one against a running app and the client.
 */
describe('the OpenAPI document', () => {
  let document: OpenAPIObject;

  beforeAll(async () => {
    document = await openApiDocumentOffline();
  });

  it(`is the one in ${OPENAPI_FILE} (after a change, run npm run openapi)`, () => {
    const kept = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as OpenAPIObject;
    expect(JSON.parse(JSON.stringify(document))).toEqual(kept);
  });

  it('gives every operation a summary, a success reply with its schema, and its failures', () => {
    const problems: string[] = [];
    for (const [name, operation] of operations(document)) {
      const statuses = Object.keys(operation.responses);
      const success = statuses.filter((s) => s.startsWith('2'));
      if (!operation.summary) problems.push(`${name}: no summary`);
      if (success.length !== 1) problems.push(`${name}: success replies ${success.join(',')}`);
      else if (success[0] !== '204' && !jsonSchemaOf(operation.responses[success[0]!])) {
        problems.push(`${name}: ${success[0]} has no JSON schema`);
      }
      // A probe answers 200 or 503 whatever it is sent.
      const probe = name.startsWith('GET /health');
      if (!probe && !statuses.some((s) => s.startsWith('4'))) problems.push(`${name}: no 4xx`);
      if (!statuses.includes('500')) problems.push(`${name}: no 500 reply`);
      for (const status of statuses.filter((s) => /^[45]/.test(s))) {
        const schema = jsonSchemaOf(operation.responses[status]) as ReferenceObject | undefined;
        // Probes answer 503 with terminus's own body.
        if (schema?.$ref !== '#/components/schemas/ErrorBodyView' && !probe) {
          problems.push(`${name}: ${status} is not the error body`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('asks for X-API-Key on every route but the probes, as the guard does', () => {
    expect(document.components?.securitySchemes?.api_key).toMatchObject({
      type: 'apiKey',
      in: 'header',
      name: 'X-API-Key',
    });
    expect(document.security).toEqual([{ api_key: [] }]);
    const open = operations(document)
      .filter(([, operation]) => operation.security?.length === 0)
      .map(([name]) => name);
    expect(open.sort()).toEqual([
      'GET /health',
      'GET /health/detailed',
      'GET /health/live',
      'GET /health/ready',
    ]);
    for (const [name, operation] of operations(document)) {
      const guarded = operation.security === undefined;
      expect([name, '401' in operation.responses]).toEqual([name, guarded]);
      const write = !name.startsWith('GET ');
      expect([name, '403' in operation.responses]).toEqual([name, guarded && write]);
    }
  });
});
