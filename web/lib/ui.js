// Small pieces every screen uses: loading a resource, errors in words, the session's
// employee and capabilities, links.
import { html, useState, useEffect, useCallback, useRef } from './html.js';
import { get } from './api.js';
import { fieldName } from './format.js';

/** The signed-in employee: `{id, name, role, department, may: [capability…]}`. */
export const session = { me: null, employees: [] };

/** May the signed-in employee do this? (The API's capabilities, from `/api/me`.) */
export function may(capability) {
  return !!session.me?.may?.includes(capability);
}

export function employeeName(id) {
  if (!id) return '—';
  return session.employees.find((e) => e.id === id)?.name || id;
}

/** Loads `path` (GET) and reloads when it changes or when `reload()` is called. */
/** A list read page by page (`next_cursor` → `cursor`), up to `pages` pages, as one list. */
async function getPages(path, pages) {
  const first = await get(path);
  const items = [...(first?.items ?? [])];
  let answer = first;
  for (let n = 1; n < pages && answer?.next_cursor; n += 1) {
    answer = await get(`${path}${path.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(answer.next_cursor)}`);
    items.push(...(answer?.items ?? []));
  }
  return { ...first, items, next_cursor: answer?.next_cursor ?? null };
}

/** Reads `path` (nothing while it is null); a list of `pages` pages follows its cursors. */
export function useLoad(path, { pages = 1 } = {}) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  const waiting = useRef([]);
  useEffect(() => {
    if (!path) {
      // Nothing to read (the caller may not): nothing is loading either.
      setState({ data: null, error: null, loading: false });
      return;
    }
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    const settle = () => waiting.current.splice(0).forEach((resolve) => resolve());
    (pages > 1 ? getPages(path, pages) : get(path)).then(
      (data) => live && (setState({ data, error: null, loading: false }), settle()),
      (error) => live && (setState({ data: null, error, loading: false }), settle()),
    );
    return () => {
      live = false;
    };
  }, [path, pages, tick]);
  /** Loads again; the promise settles when the fresh answer is in. */
  const reload = useCallback(
    () =>
      new Promise((resolve) => {
        waiting.current.push(resolve);
        setTick((t) => t + 1);
      }),
    [],
  );
  return { ...state, reload };
}

export function Loading() {
  return html`<p class="muted">Загрузка…</p>`;
}

/** An API error in words, with the fields it names. */
export function ErrorBox({ error }) {
  if (!error) return null;
  // `fields` is a list of field paths to fill, or a map of field to what is wrong.
  const fields = Array.isArray(error.fields)
    ? error.fields.map((f) => fieldName(f))
    : Object.entries(error.fields || {}).map(([f, m]) => `${fieldName(f)}: ${m}`);
  return html`<div class="error" role="alert">
    <b>${error.title || error.message}</b>
    ${error.title && error.message && error.title !== error.message && html` <small>(${error.message})</small>`}
    ${fields.length > 0 && html`<ul>${fields.map((f) => html`<li>${f}</li>`)}</ul>`}
  </div>`;
}

export function navigate(hash) {
  location.hash = hash;
}

export function Badge({ kind, title, children }) {
  return html`<span class="badge ${kind || ''}" title=${title}>${children}</span>`;
}

/** Runs an async action, keeping `busy` and the last error for the view. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const run = useCallback(async (action) => {
    setBusy(true);
    setError(null);
    try {
      return await action();
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}
