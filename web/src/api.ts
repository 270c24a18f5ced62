/** Thin client of the public admin API: same-origin cookies, CSRF header on writes, typed errors. */

let csrfToken: string | null = null;

/** Remembers the CSRF token of the signed-in session. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** An API error with the server's stable code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

/** Called when any request answers 401 (the session expired). */
let onUnauthorized: (() => void) | null = null;
export function setUnauthorizedHandler(fn: (() => void) | null): void {
  onUnauthorized = fn;
}

/** Calls the API; JSON in, JSON out; throws ApiError on non-2xx. */
export async function api<T = unknown>(path: string, init: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  const method = init.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    ...(init.signal ? { signal: init.signal } : {}),
  });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  if (!res.ok) {
    const b = (body ?? {}) as { code?: string; message?: string };
    if (res.status === 401 && path !== '/api/session') onUnauthorized?.();
    throw new ApiError(res.status, b.code ?? `http_${res.status}`, b.message ?? res.statusText, body);
  }
  return body as T;
}

/** Query string from defined values. */
export function qs(params: Record<string, string | number | undefined | null | false>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== false && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

// ---- API shapes the pages use -------------------------------------------------------------------

export type Role = 'admin' | 'editor' | 'viewer';
export interface Me {
  user: { id: string; email: string; role: Role };
  csrfToken: string | null;
}
export interface LensType {
  name: string;
  label: string;
  description: string;
  prior: number;
  conditions: Array<{ indicator: string; op: string; threshold: number; upper?: number; equalsText?: string; weight: number; note?: string }>;
  policy?: { tone?: string; channels?: string[]; treatment?: string };
}
export interface Lens {
  name: string;
  title: string;
  description: string;
  intended: Record<string, number> | null;
  types: LensType[];
}
export interface Distribution {
  lens: string;
  total: number;
  types: Array<{ type: string; count: number; share: number }>;
}
export interface Transitions {
  types: string[];
  transitions: Array<{ from: string | null; to: string; count: number }>;
}
export interface CustomerSummary {
  id: string;
  userId: string | null;
  email: string | null;
  name: string | null;
  lastSeen: string;
  eventCount: number;
  types: Record<string, string>;
}
export interface Evidence {
  source: string;
  indicator: string;
  value: number | string | null;
  condition: string;
  weight: number;
  membership: number;
  contribution: number;
  note?: string;
}
export interface Task {
  id: string;
  playbookId: string;
  customerId: string;
  userId: string;
  assignee: string;
  queue: string | null;
  kind: 'personal' | 'dedicated';
  title: string;
  description: string;
  dueAt: number | null;
  createdAt: number;
  status: 'open' | 'done';
  completedAt: number | null;
  outcome: string | null;
}
