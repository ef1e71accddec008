/** The dashboard's only door to Puente: bearer token, silent refresh, one error type. */
import type { ErrorReply, StatusErrorReply } from '../../src/platform/http/contract.ts';
import type { RefreshReply } from '../../src/modules/users/users.contract.ts';
import type { JobSocketEvent, PingMessage } from '../../src/platform/realtime/job-socket.contract.ts';

/** An error reply in either of the seeds' shapes, with the values its message was built from beside `code`. */
export type ErrorBody = Partial<ErrorReply & StatusErrorReply> & Record<string, unknown>;

/** The error reply a body holds, if it is one (a proxy's HTML page is not). */
function errorBodyOf(body: unknown): ErrorBody | null {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as ErrorBody) : null;
}

export class ApiError extends Error {
  status: number;
  body: ErrorBody | null;
  constructor(status: number, body: unknown) {
    const error = errorBodyOf(body);
    super(typeof error?.message === 'string' ? error.message : `HTTP ${status}`);
    this.status = status;
    this.body = error;
  }
}

const KEY = 'puente.session';
export interface Session {
  access_token: string;
  refresh_token: string;
  role: string;
  name?: string;
}

export function getSession(): Session | null {
  try {
    return JSON.parse(localStorage.getItem(KEY) ?? 'null');
  } catch {
    return null;
  }
}
export function setSession(s: Session | null) {
  if (s) localStorage.setItem(KEY, JSON.stringify(s));
  else localStorage.removeItem(KEY);
  window.dispatchEvent(new Event('puente:session'));
}

let refreshing: Promise<boolean> | null = null;

/**
 * A refresh token works once (using it again ends the session), so requests that fail together share
 * one refresh, and one that failed with tokens another request or tab has since replaced just retries.
 */
async function refresh(used: Session): Promise<boolean> {
  const s = getSession();
  if (!s) return false;
  if (s.refresh_token !== used.refresh_token) return true;
  refreshing ??= (async () => {
    const res = await fetch('/auth/refresh', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: s.refresh_token }),
    });
    if (!res.ok) return false;
    const body = (await res.json()) as RefreshReply;
    setSession({ ...s, access_token: body.access_token, refresh_token: body.refresh_token });
    return true;
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** Ends the session on the server too, then forgets it here. */
export async function logout() {
  const s = getSession();
  if (s) await fetch('/auth/logout', { method: 'POST', headers: { authorization: `Bearer ${s.access_token}` } }).catch(() => {});
  setSession(null);
}

export async function api<T = unknown>(path: string, init: { method?: string; body?: unknown; form?: FormData } = {}, retried = false): Promise<T> {
  const s = getSession();
  const headers: Record<string, string> = {};
  if (s) headers.authorization = `Bearer ${s.access_token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method: init.method ?? (init.body !== undefined || init.form ? 'POST' : 'GET'),
    headers,
    body: init.form ?? (init.body !== undefined ? JSON.stringify(init.body) : undefined),
  });
  if (res.status === 401 && !retried && s && (await refresh(s))) return api<T>(path, init, true);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {}
  // Another tab may have refreshed meanwhile: only the session this request used is dropped.
  if (res.status === 401 && s && path !== '/auth/login' && getSession()?.refresh_token === s.refresh_token) setSession(null);
  if (!res.ok) throw new ApiError(res.status, body);
  return body as T;
}

/** A list endpoint's body with its X-Total-Count. */
export async function apiList<T>(path: string): Promise<{ items: T[]; total: number }> {
  const s = getSession();
  const res = await fetch(path, { headers: s ? { authorization: `Bearer ${s.access_token}` } : {} });
  if (res.status === 401 && s && (await refresh(s))) return apiList<T>(path);
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, body);
  return { items: body as T[], total: Number(res.headers.get('x-total-count') ?? (body as T[]).length) };
}

/** Opens `/ws/job/:id` with the session's token and calls back with each event. */
export function followJob(jobId: string, onEvent: (e: JobSocketEvent) => void): () => void {
  const s = getSession();
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${proto}://${location.host}/ws/job/${jobId}${s ? `?token=${encodeURIComponent(s.access_token)}` : ''}`);
  ws.onmessage = (m) => onEvent(JSON.parse(m.data) as JobSocketEvent);
  const ping: PingMessage = { type: 'ping' };
  const timer = setInterval(() => ws.readyState === ws.OPEN && ws.send(JSON.stringify({ ...ping, timestamp: new Date().toISOString() })), 25_000);
  return () => {
    clearInterval(timer);
    ws.close();
  };
}

/** Fetches with the bearer header (no token in a URL) and hands the browser the file. */
export async function download(path: string, name: string) {
  const s = getSession();
  const res = await fetch(path, { headers: s ? { authorization: `Bearer ${s.access_token}` } : {} });
  if (!res.ok) {
    let body: unknown = null;
    try {
      body = await res.json();
    } catch {}
    throw new ApiError(res.status, body);
  }
  const url = URL.createObjectURL(await res.blob());
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  // Revoked a moment later: the browser reads the blob after the click returns.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
