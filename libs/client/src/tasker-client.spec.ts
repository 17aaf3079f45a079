import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TaskerClient } from './tasker-client.js';
import {
  TaskerApiError,
  TaskerConnectionError,
  TaskerRequestError,
  TaskerServerError,
} from './tasker-client.error.js';

/**
 * The client against a real HTTP server on loopback that answers what each test sets, for the
 * replies a running orchestration rarely gives (5xx, bodies that are not JSON, silence). The
 * replies it does give are checked against a real one in test/client.e2e-spec.ts.
 */
describe('TaskerClient over HTTP', () => {
  let server: Server;
  let baseUrl: string;
  let answer: (request: IncomingMessage, response: ServerResponse) => void;
  let seen: IncomingMessage | undefined;

  beforeAll(async () => {
    server = createServer((request, response) => {
      seen = request;
      answer(request, response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const reply =
    (status: number, body: string, headers: Record<string, string> = {}) =>
    (_request: IncomingMessage, response: ServerResponse) => {
      response.writeHead(status, { 'content-type': 'application/json', ...headers });
      response.end(body);
    };

  async function failure(client: TaskerClient): Promise<Error> {
    const error = await client.tasks.list().then(
      () => undefined,
      (err: unknown) => err,
    );
    if (!(error instanceof Error)) throw new Error(`expected an error, got ${String(error)}`);
    return error;
  }

  const client = (options: { apiKey?: string; timeoutMs?: number; prefix?: string } = {}) =>
    new TaskerClient({
      baseUrl: `${baseUrl}${options.prefix ?? ''}`,
      apiKey: options.apiKey,
      timeoutMs: options.timeoutMs ?? 5000,
    });

  it('sends the key and the query under the base path, and returns the JSON body', async () => {
    answer = reply(200, '{"items":[]}');
    const body = await client({ apiKey: 'k'.repeat(20), prefix: '/tasker/' }).tasks.list({
      namespace: 'a b',
      cursor: undefined,
      limit: 5,
    });
    expect(body).toEqual({ items: [] });
    expect(seen?.url).toBe('/tasker/v1/tasks?namespace=a+b&limit=5');
    expect(seen?.headers['x-api-key']).toBe('k'.repeat(20));
  });

  it('sends a PATCH body as JSON, and a 204 resolves with nothing', async () => {
    let received = '';
    answer = (request, response) => {
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (received += chunk));
      request.on('end', () => reply(200, '{"enabled":false}')(request, response));
    };
    const patched = await client().schedules.update('s', { enabled: false });
    expect(patched).toEqual({ enabled: false });
    expect(seen?.method).toBe('PATCH');
    expect(seen?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(received)).toEqual({ enabled: false });

    answer = (_request, response) => {
      response.writeHead(204);
      response.end();
    };
    await expect(client().schedules.delete('s')).resolves.toBeUndefined();
    expect(seen?.method).toBe('DELETE');
  });

  it('a 5xx is a TaskerServerError with the message and when to retry', async () => {
    answer = reply(
      503,
      JSON.stringify({ statusCode: 503, message: 'namespace examples has 90 steps waiting' }),
      { 'retry-after': '5' },
    );
    const error = await failure(client());
    expect(error).toBeInstanceOf(TaskerServerError);
    expect(error).toMatchObject({ status: 503, retryAfter: '5', code: undefined });
    expect(error.message).toBe(
      'GET /v1/tasks answered 503 Service Unavailable: namespace examples has 90 steps waiting (retry after 5 s)',
    );
  });

  it("a 4xx is a TaskerRequestError listing each of Nest's validation messages", async () => {
    answer = reply(
      400,
      JSON.stringify({
        statusCode: 400,
        error: 'Bad Request',
        message: ['limit must not be greater than 200', 'property x should not exist'],
      }),
    );
    const error = await failure(client());
    expect(error).toBeInstanceOf(TaskerRequestError);
    expect(error.message).toBe(
      'GET /v1/tasks answered 400 Bad Request:\n' +
        '  - limit must not be greater than 200\n' +
        '  - property x should not exist',
    );
  });

  it('a domain error carries its code and details', async () => {
    const body = {
      statusCode: 409,
      error: 'duplicate_task',
      message: 'a task with the same identity already exists: t',
      details: { existingTaskUuid: 't' },
    };
    answer = reply(409, JSON.stringify(body));
    const error = await failure(client());
    expect(error).toBeInstanceOf(TaskerRequestError);
    expect(error).toMatchObject({ status: 409, code: 'duplicate_task', body });
    expect(error.message).toBe(
      'GET /v1/tasks answered 409 Conflict (duplicate_task): a task with the same identity already exists: t',
    );
  });

  it('a reply that is not JSON is a TaskerServerError, and an error body that is not JSON is shown as text', async () => {
    answer = reply(200, '<html>proxy</html>');
    const error = await failure(client());
    expect(error).toBeInstanceOf(TaskerServerError);
    expect(error.message).toBe('GET /v1/tasks answered 200 with a body that is not JSON');
    answer = reply(502, 'upstream down');
    expect((await failure(client())).message).toBe(
      'GET /v1/tasks answered 502 Bad Gateway: upstream down',
    );
  });

  it('no answer within the request timeout is a TaskerConnectionError', async () => {
    answer = () => undefined; // holds the request open
    const error = await failure(client({ timeoutMs: 200 }));
    expect(error).toBeInstanceOf(TaskerConnectionError);
    expect(error).not.toBeInstanceOf(TaskerApiError);
    expect(error.message).toContain(
      `cannot reach the Tasker API at ${baseUrl}: no answer within 0.2 s`,
    );
  });
});
