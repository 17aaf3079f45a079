import { CliError } from './cli.error.js';
import { ExitCode } from './exit-codes.js';

export interface ApiClientOptions {
  /** The orchestration app, e.g. http://127.0.0.1:8080 (a path prefix is kept). */
  baseUrl: string;
  /** Sent as X-API-Key; never printed. */
  apiKey?: string | undefined;
  /** Per request, connect to last byte. */
  timeoutMs: number;
}

export type Query = Record<string, string | number | undefined>;

/** Error bodies: domain errors `{ error: code, message, details }`, Nest's `{ message: string[] }`. */
interface ErrorBody {
  error?: unknown;
  message?: unknown;
}

/**
 * The orchestration HTTP API for tasker-ctl. Every failure becomes a {@link CliError} whose exit
 * code names its class: unreachable (3), refused with 4xx (4), failed with 5xx or an unreadable
 * reply (5); its message says what the API said.
 */
export class ApiClient {
  constructor(private readonly options: ApiClientOptions) {}

  get<T>(path: string, query: Query = {}): Promise<T> {
    return this.request<T>('GET', path, { query });
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, { body });
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { body });
  }

  /** `T` is `undefined` for routes that answer 204 No Content. */
  delete<T>(path: string, query: Query = {}): Promise<T> {
    return this.request<T>('DELETE', path, { query });
  }

  async request<T>(
    method: string,
    path: string,
    { query = {}, body }: { query?: Query; body?: unknown } = {},
  ): Promise<T> {
    const url = new URL(`${this.options.baseUrl.replace(/\/+$/, '')}${path}`);
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.options.apiKey) headers['x-api-key'] = this.options.apiKey;
    let status: number;
    let statusText: string;
    let text: string;
    let retryAfter: string | null;
    try {
      const response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      ({ status, statusText } = response);
      retryAfter = response.headers.get('retry-after');
      text = await response.text();
    } catch (err) {
      throw new CliError(
        ExitCode.Connection,
        `cannot reach the Tasker API at ${this.options.baseUrl}: ${this.reason(err)} ` +
          '(is orchestration running there? set --url or TASKER_URL)',
      );
    }
    const parsed = parseJson(text);
    if (status >= 200 && status < 300) {
      if (status === 204) return undefined as T;
      if (parsed === undefined) {
        throw new CliError(
          ExitCode.ServerError,
          `${method} ${url.pathname} answered ${status} with a body that is not JSON`,
        );
      }
      return parsed as T;
    }
    const what = describeError(parsed, text);
    const hint =
      status === 401
        ? ' (set --api-key or TASKER_API_KEY)'
        : retryAfter
          ? ` (retry after ${retryAfter} s)`
          : '';
    throw new CliError(
      status >= 500 ? ExitCode.ServerError : ExitCode.ClientError,
      `${method} ${url.pathname} answered ${status} ${statusText}${what}${hint}`,
    );
  }

  private reason(err: unknown): string {
    // AbortSignal.timeout rejects with a DOMException named TimeoutError.
    if ((err as { name?: unknown } | null)?.name === 'TimeoutError') {
      return `no answer within ${this.options.timeoutMs / 1000} s`;
    }
    const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
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
        return cause instanceof Error
          ? cause.message
          : err instanceof Error
            ? err.message
            : 'failed';
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

/** `: message` from an error body, listing Nest's validation messages one per line. */
function describeError(parsed: unknown, text: string): string {
  const body = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as ErrorBody;
  // Domain errors carry a snake_case code; Nest's own bodies repeat the status text.
  const code = typeof body.error === 'string' && /^[a-z_]+$/.test(body.error) ? body.error : '';
  const prefix = code ? ` (${code})` : '';
  if (Array.isArray(body.message)) {
    return `${prefix}:\n${body.message.map((m) => `  - ${String(m)}`).join('\n')}`;
  }
  if (typeof body.message === 'string') return `${prefix}: ${body.message}`;
  const raw = text.trim();
  return raw ? `${prefix}: ${raw.length > 500 ? `${raw.slice(0, 500)}…` : raw}` : prefix;
}
