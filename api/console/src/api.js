// The REST client: bearer token from sessionStorage, problem+json errors as thrown Errors.
const TOKEN_KEY = 'patrolfleet.token';

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (t) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  constructor(status, problem) {
    // RFC 9457: `detail` says what went wrong for this request; `title` is the generic kind.
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

export async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${token.get()}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new ApiError(0, { detail: `the service is unreachable (${err.message})` });
  }
  if (res.status === 204) return null;
  const type = res.headers.get('content-type') || '';
  const data = type.includes('json') ? await res.json() : await res.text();
  if (!res.ok) {
    const problem = typeof data === 'object' ? data : { detail: String(data).slice(0, 200) };
    // Validation problems list every bad field; the first one is what a person needs.
    if (problem.errors && problem.errors.length && !problem.detail) {
      problem.detail = problem.errors.map((e) => e.msg || e.message).join('; ');
    }
    if (res.status === 401) onUnauthorized(problem);
    throw new ApiError(res.status, problem);
  }
  return data;
}

export const get = (p) => api('GET', p);
export const post = (p, b) => api('POST', p, b ?? {});
