// A small fetch-based client for the registry's REST API (docs/api.md): base path /api/v1, bearer
// token, problem+json errors raised as a typed ApiError, keyset pagination followed to the end.
import { AcceptedAnswer, ApiError, CliError, type FieldProblem } from './errors.js';
import type { Page } from './types.js';

/** The HTTP methods the API uses. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Query parameters; undefined values are left out. */
export type Query = Record<string, string | number | boolean | undefined>;

/** What the client needs from its surroundings. */
export interface ClientOptions {
  /** Base URL of the registry, e.g. `http://127.0.0.1:8080`. */
  server: string;
  /** Bearer token; requests go unauthenticated (and get 401) without one. */
  token: string | undefined;
  /**
   * Sent as `Idempotency-Key` on POSTs: a fixed key, or a source giving each POST its own (a
   * retry of one request keeps its key).
   */
  idempotencyKey: string | (() => string);
  /** The fetch implementation (injected in tests). */
  fetch: typeof fetch;
  /** Per-request timeout in milliseconds. */
  timeoutMs?: number;
  /** `User-Agent` header. */
  userAgent?: string;
  /** Waits before a retry (injected in tests). */
  sleep?: (ms: number) => Promise<void>;
}

/** How often a GET or POST answered 503 is sent again (a POST with the same Idempotency-Key). */
const UNAVAILABLE_RETRIES = 3;
/** The longest `Retry-After` honoured; a longer one is reported instead of waited for. */
const MAX_RETRY_AFTER_SECONDS = 10;

/** Largest page the API serves. */
const PAGE_LIMIT = 200;

/** Joins path segments, percent-encoding each. */
export function apiPath(...segments: string[]): string {
  return '/' + segments.map((segment) => encodeURIComponent(segment)).join('/');
}

/** Builds the absolute URL of an API path with its query string. */
export function apiUrl(server: string, path: string, query: Query = {}): string {
  const url = new URL(`${server.replace(/\/+$/, '')}/api/v1${path}`);
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) url.searchParams.append(key, String(value));
  }
  return url.toString();
}

/** Turns a non-2xx response body into an ApiError (problem+json when it is one). */
export function problemToError(status: number, statusText: string, body: string, retryAfter?: string): ApiError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
    const problem = parsed as Record<string, unknown>;
    const code = typeof problem['code'] === 'string' ? problem['code'] : `HTTP_${status}`;
    const detail =
      typeof problem['detail'] === 'string' && problem['detail'] !== ''
        ? problem['detail']
        : typeof problem['title'] === 'string' && problem['title'] !== ''
          ? problem['title']
          : statusText || `HTTP ${status}`;
    return new ApiError(status, code, detail, fieldProblems(problem['errors']), problem, retryAfter);
  }
  const text = body.trim().split('\n')[0]?.slice(0, 200) ?? '';
  return new ApiError(status, `HTTP_${status}`, text || statusText || `HTTP ${status}`, [], null, retryAfter);
}

function fieldProblems(value: unknown): FieldProblem[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item: unknown) => {
    if (item === null || typeof item !== 'object') return [];
    const record = item as Record<string, unknown>;
    return [
      {
        field: typeof record['field'] === 'string' ? record['field'] : '?',
        code: typeof record['code'] === 'string' ? record['code'] : '?',
        message: typeof record['message'] === 'string' ? record['message'] : '',
      },
    ];
  });
}

/** The REST client. Methods resolve to the parsed JSON body (undefined on 204). */
export class ApiClient {
  constructor(private readonly options: ClientOptions) {}

  /**
   * Sends a request and returns the parsed JSON body; throws ApiError or CliError. A GET or POST
   * answered 503 with a short `Retry-After` is sent again: a POST carries the same
   * Idempotency-Key, so the retry never creates a second resource.
   */
  async request<T>(method: HttpMethod, path: string, options: { query?: Query; body?: unknown } = {}): Promise<T> {
    const source = this.options.idempotencyKey;
    const key = method === 'POST' ? (typeof source === 'string' ? source : source()) : undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.requestOnce<T>(method, path, options, key);
      } catch (error) {
        const retryAfter = error instanceof ApiError && error.status === 503 ? Number(error.retryAfter ?? NaN) : NaN;
        const retryable = (method === 'GET' || method === 'POST') && attempt < UNAVAILABLE_RETRIES;
        if (!retryable || !(retryAfter >= 0 && retryAfter <= MAX_RETRY_AFTER_SECONDS)) throw error;
        await (this.options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))))(retryAfter * 1000);
      }
    }
  }

  private async requestOnce<T>(
    method: HttpMethod,
    path: string,
    options: { query?: Query; body?: unknown } = {},
    idempotencyKey?: string,
  ): Promise<T> {
    const url = apiUrl(this.options.server, path, options.query);
    const headers: Record<string, string> = {
      accept: 'application/json, application/problem+json',
      'user-agent': this.options.userAgent ?? 'tpctl',
    };
    if (this.options.token !== undefined && this.options.token !== '')
      headers['authorization'] = `Bearer ${this.options.token}`;
    if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
    let payload: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(options.body);
    }
    let response: Response;
    try {
      response = await this.options.fetch(url, {
        method,
        headers,
        body: payload,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      throw new CliError(
        'SERVER_UNREACHABLE',
        `cannot reach ${this.options.server}: ${describeFetchError(error)}`,
        { cause: error },
      );
    }
    const text = await response.text();
    if (!response.ok) throw problemToError(response.status, response.statusText, text, response.headers.get('retry-after') ?? undefined);
    if (response.status === 204 || text.trim() === '') return undefined as T;
    let parsed: T;
    try {
      parsed = JSON.parse(text) as T;
    } catch (error) {
      throw new CliError(
        'BAD_RESPONSE',
        `${method} ${path} answered ${response.status} with a body that is not JSON`,
        { cause: error },
      );
    }
    // Committed, not yet visible: the command cannot render the resource; tpctl shows the answer.
    if (response.status === 202) throw new AcceptedAnswer(parsed as Record<string, unknown>);
    return parsed;
  }

  /** GET one resource. */
  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, { query });
  }

  /** POST a command; carries the invocation's Idempotency-Key. */
  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, { body });
  }

  /** PUT a whole document (e.g. a config section). */
  put<T>(path: string, body: unknown, query?: Query): Promise<T> {
    return this.request<T>('PUT', path, { body, query });
  }

  /** PATCH a resource. */
  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { body });
  }

  /** DELETE a resource. */
  async delete(path: string, query?: Query): Promise<void> {
    await this.request<unknown>('DELETE', path, { query });
  }

  /** GET every page of a list, following `nextCursor`, and return all items in order. */
  async list<T>(path: string, query: Query = {}): Promise<T[]> {
    const items: T[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.get<Page<T>>(path, { ...query, limit: PAGE_LIMIT, after });
      if (page === undefined || page === null || !Array.isArray(page.items)) {
        throw new CliError(
          'BAD_RESPONSE',
          `GET ${path} did not answer a list ({items, nextCursor})`,
        );
      }
      items.push(...page.items);
      if (page.nextCursor === null || page.nextCursor === undefined || page.nextCursor === '')
        return items;
      after = page.nextCursor;
    }
  }
}

function describeFetchError(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError') return 'request timed out';
    const cause = (error as Error & { cause?: unknown }).cause;
    if (cause instanceof Error && cause.message !== '') return cause.message;
    return error.message;
  }
  return String(error);
}
