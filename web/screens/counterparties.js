// Клиенты: поиск (`#/counterparties?q=…` — имя, слова компании, email, телефон в любой
// записи) и список всех контрагентов, новые сверху, страницами по 50 («Показать ещё»).
// Строка ведёт в карточку `#/counterparties/ID`.
import { html, useState, useEffect, useCallback } from '../lib/html.js';
import { get, query as qs } from '../lib/api.js';
import { useLoad, useAction, employeeName, ErrorBox, Loading, Badge, navigate } from '../lib/ui.js';
import { date, DEPARTMENTS, plural, COUNTERPARTY_KINDS as KINDS } from '../lib/format.js';

const PAGE = 50;
const KINDS_MANY = { lead: 'Лиды', client: 'Клиенты', partner: 'Партнёры' };
const KIND_BADGE = { lead: 'warn', client: 'ok', partner: 'accent' };
const SOURCES = { email: 'письмо', phone: 'звонок', chat: 'чат', form: 'форма сайта' };

/** Понятные слова для двух отказов списка; остальное пишет ErrorBox. */
function ruError(e) {
  if (e?.code === 'bad_request' && /^q needs/.test(e.message)) {
    return { message: 'Для поиска нужен email, телефон или хотя бы две буквы имени или компании' };
  }
  if (e?.code === 'bad_request' && /cursor/.test(e.message)) {
    return { message: 'Список изменился — начните с первой страницы' };
  }
  return e;
}

function SearchBox({ q, kind, onKind }) {
  const [text, setText] = useState(q);
  useEffect(() => setText(q), [q]);
  const submit = (e) => {
    e.preventDefault();
    const t = text.trim();
    navigate('#/counterparties' + qs({ q: t }));
  };
  return html`<form class="toolbar" role="search" onSubmit=${submit}>
    <input class="grow" type="search" aria-label="Искать клиентов" value=${text}
      placeholder="Имя, компания, телефон или email" onInput=${(e) => setText(e.target.value)} />
    <button class="primary" type="submit">Найти</button>
    ${q && html`<button type="button" onClick=${() => navigate('#/counterparties')}>Сбросить</button>`}
    <select aria-label="Тип" value=${kind} onChange=${(e) => onKind(e.target.value)}>
      <option value="">Все типы</option>
      ${Object.entries(KINDS_MANY).map(([code, name]) => html`<option value=${code}>${name}</option>`)}
    </select>
  </form>`;
}

function Table({ items }) {
  const open = (id) => navigate(`#/counterparties/${encodeURIComponent(id)}`);
  return html`<table class="responsive">
    <thead><tr><th>Название</th><th>Компания</th><th>Тип</th><th>Менеджер</th><th>Отдел</th><th>Первое обращение</th></tr></thead>
    <tbody>${items.map((p) => html`<tr key=${p.id} class="link" onClick=${(e) => e.target.closest('a') || open(p.id)}>
      <td data-label="Название"><a href=${`#/counterparties/${encodeURIComponent(p.id)}`}>${p.name}</a></td>
      <td data-label="Компания">${p.company || '—'}</td>
      <td data-label="Тип"><${Badge} kind=${KIND_BADGE[p.kind]}>${KINDS[p.kind] || p.kind}<//></td>
      <td data-label="Менеджер">${p.responsible_manager_id ? employeeName(p.responsible_manager_id) : html`<span class="muted">не назначен</span>`}</td>
      <td data-label="Отдел">${p.department ? DEPARTMENTS[p.department] || p.department : '—'}</td>
      <td data-label="Первое обращение"><span>${date(p.created_at)}${p.source_channel && html` <small>${SOURCES[p.source_channel] || p.source_channel}</small>`}</span></td>
    </tr>`)}</tbody>
  </table>`;
}

/** Результаты поиска: одна страница (API отдаёт без курсора). */
function Found({ q, kind }) {
  const { data, error, loading } = useLoad('/api/counterparties' + qs({ q, kind, limit: PAGE }));
  const items = data?.items || [];
  return html`<div>
    <${ErrorBox} error=${ruError(error)} />
    ${loading && html`<${Loading} />`}
    ${!loading && data && html`<p class="muted">
      По запросу «${q}» ${items.length
        ? `${plural(items.length, 'найден', 'найдено', 'найдено')} ${items.length} ${plural(items.length, 'контрагент', 'контрагента', 'контрагентов')}${items.length >= PAGE ? ' (показаны первые ' + PAGE + ', уточните запрос)' : ''}`
        : 'никого не нашли'}
    </p>`}
    ${!loading && items.length > 0 && html`<${Table} items=${items} />`}
  </div>`;
}

/** Все контрагенты страницами: `next_cursor` предыдущей страницы → `cursor`. */
function All({ kind }) {
  const [pages, setPages] = useState({ items: [], next: null, loaded: false });
  const loader = useAction();
  const load = useCallback(async (cursor) => {
    const page = await loader.run(() => get('/api/counterparties' + qs({ kind, limit: PAGE, cursor })));
    if (page) setPages((old) => ({ items: cursor ? [...old.items, ...page.items] : page.items, next: page.next_cursor, loaded: true }));
  }, [kind]);
  useEffect(() => {
    setPages({ items: [], next: null, loaded: false });
    load(null);
  }, [load]);
  const { items, next, loaded } = pages;
  return html`<div>
    ${loaded && html`<p class="muted">${items.length
      ? `Показано ${items.length}${next ? '' : ' — это все'}`
      : 'Контрагентов пока нет.'}</p>`}
    ${items.length > 0 && html`<${Table} items=${items} />`}
    <${ErrorBox} error=${ruError(loader.error)} />
    ${loader.busy && html`<${Loading} />`}
    ${next && !loader.busy && html`<p><button onClick=${() => load(next)}>Показать ещё</button></p>`}
  </div>`;
}

export default function Counterparties({ query }) {
  const q = (query.get('q') || '').trim();
  const [kind, setKind] = useState(query.get('kind') || '');
  return html`<div>
    <h1>${q ? 'Поиск клиентов' : 'Клиенты'}</h1>
    <${SearchBox} q=${q} kind=${kind} onKind=${setKind} />
    ${q ? html`<${Found} key=${q + kind} q=${q} kind=${kind} />` : html`<${All} key=${kind} kind=${kind} />`}
  </div>`;
}
