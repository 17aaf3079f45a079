import {
  type ErrorBody,
  TaskerConnectionError,
  TaskerRequestError,
  TaskerServerError,
} from './tasker-client.error.js';

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: object;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface TransportOptions {
  baseUrl: string;
  apiKey: string | undefined;
  timeoutMs: number;
}

/**
 * One JSON request over global fetch. Every failure becomes a typed error: unreachable or no
 * answer in time (TaskerConnectionError), 4xx (TaskerRequestError), 5xx or a reply that is not
 * JSON (TaskerServerError); each message says what the API said.
 */
export class HttpTransport {
  constructor(private readonly options: TransportOptions) {}

  async request<T>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<{ body: T; headers: Headers }> {
    const url = new URL(`${this.options.baseUrl.replace(/\/+$/, '')}${path}`);
    for (const [key, value] of Object.entries((options.query ?? {}) as Query)) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (this.options.apiKey) headers['x-api-key'] = this.options.apiKey;
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      text = await response.text();
    } catch (err) {
      throw new TaskerConnectionError(
        `cannot reach the Tasker API at ${this.options.baseUrl}: ${this.reason(err)}`,
        { cause: err },
      );
    }
    const { status, statusText } = response;
    const parsed = parseJson(text);
    const retryAfter = response.headers.get('retry-after');
    if (status >= 200 && status < 300) {
      if (status === 204) return { body: undefined as T, headers: response.headers };
      if (parsed === undefined) {
        throw new TaskerServerError(
          `${method} ${url.pathname} answered ${status} with a body that is not JSON`,
          method,
          url.pathname,
          status,
          undefined,
          retryAfter,
        );
      }
      return { body: parsed as T, headers: response.headers };
    }
    const body = isErrorBody(parsed) ? parsed : undefined;
    const message =
      `${method} ${url.pathname} answered ${status} ${statusText}${describeError(body, text)}` +
      (retryAfter ? ` (retry after ${retryAfter} s)` : '');
    const ErrorClass = status >= 500 ? TaskerServerError : TaskerRequestError;
    throw new ErrorClass(message, method, url.pathname, status, body, retryAfter);
  }

  /** Why fetch failed. Duck-typed: the error may come from another realm (a VM context). */
  private reason(err: unknown): string {
    const error = err as { name?: unknown; message?: unknown; cause?: unknown } | null;
    // AbortSignal.timeout rejects with a DOMException named TimeoutError.
    if (error?.name === 'TimeoutError') {
      return `no answer within ${this.options.timeoutMs / 1000} s`;
    }
    const cause = error?.cause as { code?: unknown; message?: unknown } | undefined;
    switch (cause?.code) {
      case 'ECONNREFUSED':
        return 'connection refused';
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return 'host not found';
      case 'ECONNRESET':
      case 'UND_ERR_SOCKET':
        return 'the connection was closed';
      case 'ETIMEDOUT':
      case 'UND_ERR_CONNECT_TIMEOUT':
        return 'connection timed out';
      default:
        if (typeof cause?.message === 'string') return cause.message;
        return typeof error?.message === 'string' ? error.message : 'failed';
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isErrorBody(value: unknown): value is ErrorBody {
  return typeof value === 'object' && value !== null && 'message' in value;
}

/** `: message` from an error reply, with its domain code and each validation message on a line. */
function describeError(body: ErrorBody | undefined, text: string): string {
  // Domain errors carry a snake_case code; Nest's own bodies repeat the status text.
  const code = typeof body?.error === 'string' && /^[a-z_]+$/.test(body.error) ? body.error : '';
  const prefix = code ? ` (${code})` : '';
  if (Array.isArray(body?.message)) {
    return `${prefix}:\n${body.message.map((m) => `  - ${String(m)}`).join('\n')}`;
  }
  if (typeof body?.message === 'string') return `${prefix}: ${body.message}`;
  const raw = text.trim();
  return raw ? `${prefix}: ${raw.length > 500 ? `${raw.slice(0, 500)}…` : raw}` : prefix;
}
