import { WalrelayError, codeForStatus } from './errors.js';
import { queryString } from './query.js';
import type { AnyRow, Id, ListParams, ListResult, TokenSource } from './types.js';

/** Options of an HTTPTransport. */
export interface HTTPTransportOptions {
  /** Server base URL, e.g. `https://api.example.com` (REST is under /api). */
  url: string;
  /** The bearer token source; null/undefined results send no header. */
  getToken?: TokenSource;
  /** fetch implementation (default: globalThis.fetch). */
  fetch?: typeof fetch;
}

/** A REST read: result plus the Walrelay-Cursor header. */
export interface GetResult<R> {
  row: R | null;
  cursor: string;
}

/**
 * HTTPTransport speaks the REST API (CONTRACT §2) for any model path.
 * Stateless: safe to share; calls may run concurrently.
 */
export class HTTPTransport {
  private readonly base: string;
  private readonly getToken: TokenSource | undefined;
  private readonly fetchFn: typeof fetch;

  constructor(opts: HTTPTransportOptions) {
    this.base = opts.url.replace(/\/+$/, '');
    this.getToken = opts.getToken;
    const f = opts.fetch ?? globalThis.fetch;
    this.fetchFn = f.bind(globalThis);
  }

  /** GET /api/{path}?... */
  async list<R = AnyRow>(path: string, params?: ListParams): Promise<ListResult<R>> {
    const q = queryString(params);
    const res = await this.call('GET', `/api/${path}${q ? `?${q}` : ''}`);
    const body = (await res.json()) as { items: R[]; next_page?: string | null; total?: number; cursor?: string };
    const out: ListResult<R> = {
      items: body.items,
      next_page: body.next_page ?? null,
      cursor: body.cursor ?? res.headers.get('Walrelay-Cursor') ?? '',
    };
    if (body.total !== undefined) out.total = body.total;
    return out;
  }

  /** GET /api/{path}/{id}; a 404 is `row: null`. */
  async get<R = AnyRow>(path: string, id: Id): Promise<GetResult<R>> {
    try {
      const res = await this.call('GET', `/api/${path}/${encodeURIComponent(String(id))}`);
      return { row: (await res.json()) as R, cursor: res.headers.get('Walrelay-Cursor') ?? '' };
    } catch (e) {
      if (e instanceof WalrelayError && e.status === 404) return { row: null, cursor: '' };
      throw e;
    }
  }

  /** POST /api/{path}: the created row. */
  async create<R = AnyRow>(path: string, data: unknown): Promise<R> {
    const res = await this.call('POST', `/api/${path}`, data);
    return (await res.json()) as R;
  }

  /** PATCH /api/{path}/{id}: the updated row. */
  async update<R = AnyRow>(path: string, id: Id, data: unknown): Promise<R> {
    const res = await this.call('PATCH', `/api/${path}/${encodeURIComponent(String(id))}`, data);
    return (await res.json()) as R;
  }

  /** DELETE /api/{path}/{id}: true when deleted, false when it was absent (404). */
  async delete(path: string, id: Id): Promise<boolean> {
    try {
      await this.call('DELETE', `/api/${path}/${encodeURIComponent(String(id))}`);
      return true;
    } catch (e) {
      if (e instanceof WalrelayError && e.status === 404) return false;
      throw e;
    }
  }

  private async call(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    const token = this.getToken ? await this.getToken() : null;
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetchFn(this.base + path, {
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
      });
    } catch (e) {
      throw new WalrelayError('network', `${method} ${path}: ${(e as Error).message}`, { cause: e });
    }
    if (res.ok) return res;
    let code = codeForStatus(res.status);
    let message = `${method} ${path}: HTTP ${res.status}`;
    try {
      const j = (await res.json()) as { error?: { code?: string; message?: string } };
      if (j.error?.code) code = j.error.code;
      if (j.error?.message) message = j.error.message;
    } catch {
      // not JSON: keep the status-derived code
    }
    throw new WalrelayError(code, message, { status: res.status });
  }
}
