// The gateway's REST API, same origin, with the session cookie. Every failure becomes an ApiError whose message
// is the gateway's own explanation (its errors say what to do), never a bare status code.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: unknown,
  ) {
    super(ApiError.describe(status, detail));
  }

  /** The gateway's `detail` as one sentence (validation errors list where and what). */
  static describe(status: number, detail: unknown): string {
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail.map((d) => (d && typeof d === "object" ? `${d.where}: ${d.problem}` : String(d))).join("; ");
    }
    return `the gateway answered ${status}`;
  }
}

export type Query = Record<string, string | number | boolean | undefined | null>;

/** A path with its query string (empty and undefined parameters left out). */
export function withQuery(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

let refreshing: Promise<boolean> | null = null;

/** Trade the refresh cookie for a new session once, shared by every request that found its token expired. */
function refreshSession(): Promise<boolean> {
  refreshing ??= fetch("/v1/auth/refresh", { method: "POST", credentials: "include" })
    .then((r) => r.ok)
    .catch(() => false)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

async function request<T>(method: string, path: string, body?: unknown, retry = true): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: "include",
      headers: body === undefined ? undefined : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "offline", "the gateway cannot be reached: check your connection and retry");
  }
  if (response.status === 401 && retry && !path.startsWith("/v1/auth/")) {
    // An access token lives 15 minutes; the refresh cookie renews it without a new signature.
    if (await refreshSession()) return request<T>(method, path, body, false);
  }
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const err = (json ?? {}) as { error?: string; detail?: unknown };
    throw new ApiError(response.status, err.error ?? "http_error", err.detail ?? text.slice(0, 200));
  }
  return json as T;
}

/** GET a gateway path (with an optional query) as JSON. */
export const get = <T>(path: string, query?: Query): Promise<T> => request<T>("GET", withQuery(path, query));

/** POST JSON to a gateway path. */
export const post = <T>(path: string, body?: unknown): Promise<T> => request<T>("POST", path, body ?? {});

/** DELETE a gateway path. */
export const del = <T>(path: string): Promise<T> => request<T>("DELETE", path);
