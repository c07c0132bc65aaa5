// The API client: bearer token, JSON in and out, and the API's one error shape
// `{"error": {"code", "message", "fields"?, "refusal"?}}` as an ApiError.

let token = null;
let base = '';
let onUnauthorized = () => {};

export function configure(options) {
  token = options.token;
  base = options.base || '';
  onUnauthorized = options.onUnauthorized || onUnauthorized;
}

/** The API's error codes in words; its own `message` (English, for developers) is kept. */
const TITLES = {
  bad_request: 'Запрос не принят',
  unauthorized: 'Нужно войти заново',
  forbidden: 'Нет прав на это действие',
  not_found: 'Не найдено',
  conflict: 'Данные изменились, пока вы их смотрели: обновите страницу и повторите',
  missing_data: 'Не хватает данных',
  transition_refused: 'Переход на этот этап не разрешён',
  wrong_scan: 'Не тот товар или партия',
  set_by_order: 'Это поле ставит заказ, а не человек',
  too_large: 'Слишком большой запрос',
  unavailable: 'Сервис временно недоступен, повторите чуть позже',
  internal: 'Внутренняя ошибка',
  network: 'Нет связи с сервером',
};

export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message || `Ошибка ${status}`);
    this.title = TITLES[error?.code] || (status >= 500 ? TITLES.unavailable : null);
    this.status = status;
    this.code = error?.code || 'http_' + status;
    this.fields = error?.fields || null;
    this.refusal = error?.refusal || null;
  }
}

export async function api(method, path, body) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, { code: 'network', message: 'Нет связи с сервером' });
  }
  if (response.status === 401) {
    onUnauthorized();
    throw new ApiError(401, { code: 'unauthorized', message: 'Нужно войти заново' });
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) throw new ApiError(response.status, json?.error);
  return json;
}

export const get = (path) => api('GET', path);
export const post = (path, body = {}) => api('POST', path, body);
export const patch = (path, body) => api('PATCH', path, body);
export const put = (path, body) => api('PUT', path, body);
export const del = (path) => api('DELETE', path);

/** `?a=1&b=2` from an object, skipping empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  const s = q.toString();
  return s ? '?' + s : '';
}
