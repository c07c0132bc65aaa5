// Задачи: мои, отдела (руководителям) и просроченные; отметка «Выполнено» в один клик и
// форма новой задачи. Задача всегда привязана к клиенту, сделке или обращению.
// `#/tasks?tab=mine|department|overdue`; `&party=ID` или `&deal=ID` открывают форму с привязкой.
import { html, useState, useEffect, useMemo, useRef } from '../lib/html.js';
import { get, post, query as qs } from '../lib/api.js';
import { useLoad, useAction, may, session, employeeName, ErrorBox, Loading, Badge, navigate } from '../lib/ui.js';
import { dateTime, TASK_KINDS, DEPARTMENTS, ROLES, plural } from '../lib/format.js';

const MSK = '+03:00'; // сроки вводятся по Москве (UTC+3 круглый год)

/** Ошибка API с названиями полей задачи по-русски (ErrorBox пишет заголовок и поля). */
const FIELDS = { title: 'текст задачи', assignee_id: 'исполнитель', due_at: 'срок', deal_id_or_inquiry_id_or_party_id: 'клиент или сделка' };
function ruError(e) {
  if (!e || !Array.isArray(e.fields)) return e;
  return { title: e.title, message: e.message, fields: e.fields.map((f) => FIELDS[f] || f) };
}

// Виды, которых ещё нет в format.js TASK_KINDS.
const kindName = (k) => TASK_KINDS[k] || 'Задача';
const isHead = () => ['head', 'admin'].includes(session.me?.role);

// Названия клиентов для ссылок: задачи несут только id; кэш на всё время работы.
const partyNames = new Map();
function usePartyNames(ids) {
  const [, setTick] = useState(0);
  const mounted = useRef(true);
  useEffect(() => () => { mounted.current = false; }, []);
  useEffect(() => {
    if (!may('read_counterparty')) return;
    const wanted = ids.filter((id) => !partyNames.has(id)).slice(0, 30);
    if (!wanted.length) return;
    wanted.forEach((id) => partyNames.set(id, null));
    Promise.all(wanted.map((id) => get(`/api/counterparties/${encodeURIComponent(id)}`).then(
      (p) => partyNames.set(id, p.name || null),
      () => partyNames.delete(id),
    ))).then(() => mounted.current && setTick((t) => t + 1));
  }, [ids.join(',')]);
  return (id) => partyNames.get(id) || 'Клиент';
}

function Links({ task, partyName }) {
  const links = [];
  if (task.party_id) links.push(html`<a href=${`#/counterparties/${encodeURIComponent(task.party_id)}`}>${partyName(task.party_id)}</a>`);
  if (task.deal_id) links.push(html`<a href=${`#/deals/${encodeURIComponent(task.deal_id)}`}>Сделка</a>`);
  if (task.inquiry_id && !task.party_id && !task.deal_id) links.push(html`<a href="#/inbox">Обращение</a>`);
  return links.length ? links.map((l, i) => html`${i > 0 && ' · '}${l}`) : '—';
}

function TaskRow({ task, partyName, onComplete, busy }) {
  const assignee = task.assignee_id ? employeeName(task.assignee_id) : task.assignee_role === 'head' ? 'Руководители' : '—';
  return html`<tr>
    <td data-label="Задача"><div>
      ${task.kind !== 'other' && task.title !== kindName(task.kind) && html`<${Badge} kind="accent">${kindName(task.kind)}<//> `}
      <span class="task-title">${task.title}</span>
      ${task.note && html`<br /><small>${task.note}</small>`}
    </div></td>
    <td data-label="Срок"><span>
      <span class=${task.overdue ? 'overdue' : ''}>${dateTime(task.due_at)}</span>${task.overdue && html` <${Badge} kind="danger">просрочена<//>`}
    </span></td>
    <td data-label="Связано с"><span><${Links} task=${task} partyName=${partyName} /></span></td>
    <td data-label="Исполнитель">${assignee}</td>
    <td data-label="">
      ${task.status === 'done'
        ? html`<${Badge} kind="ok">выполнена ${dateTime(task.completed_at)}<//>`
        : may('complete_tasks') && html`<button class="primary" disabled=${busy} onClick=${() => onComplete(task)}>Выполнено</button>`}
    </td>
  </tr>`;
}

/** Срок по умолчанию: завтра, 10:00 по Москве, в формате поля datetime-local. */
function tomorrowMorning() {
  const msk = new Date(Date.now() + 3 * 3600e3 + 86400e3);
  return msk.toISOString().slice(0, 10) + 'T10:00';
}

/** Выбор клиента поиском (имя, компания, телефон, email). */
function PartyPicker({ party, onPick }) {
  const [text, setText] = useState('');
  const [found, setFound] = useState(null);
  const search = useAction();
  const find = async () => {
    if (text.trim().length < 2) return;
    const answer = await search.run(() => get('/api/counterparties' + qs({ q: text.trim(), limit: 10 })));
    if (answer) setFound(answer.items);
  };
  if (party) {
    return html`<div class="picked">
      <span>Клиент: <a href=${`#/counterparties/${encodeURIComponent(party.id)}`}>${party.name}</a></span>
      <button type="button" class="link" onClick=${() => onPick(null)}>Изменить</button>
    </div>`;
  }
  return html`<div>
    <div class="row">
      <input type="search" aria-label="Найти клиента для задачи" placeholder="Клиент: имя, компания, телефон, email"
        value=${text} onInput=${(e) => setText(e.target.value)}
        onKeyDown=${(e) => { if (e.key === 'Enter') { e.preventDefault(); find(); } }} />
      <button type="button" onClick=${find} disabled=${search.busy || text.trim().length < 2}>Найти</button>
    </div>
    <${ErrorBox} error=${ruError(search.error)} />
    ${found && (found.length
      ? html`<ul class="choices">${found.map((p) => html`<li key=${p.id}>
          <button type="button" onClick=${() => { onPick(p); setFound(null); }}>${p.name}${p.company && p.company !== p.name ? ` (${p.company})` : ''}</button>
        </li>`)}</ul>`
      : html`<p class="muted">Никого не нашли.</p>`)}
  </div>`;
}

function NewTask({ query, onCreated, onClose }) {
  const me = session.me;
  const marketer = me.role === 'marketer';
  const manager = me.role === 'manager';
  const kinds = marketer ? ['call_client'] : ['other', 'call_back', 'call_client', 'offer_service', 'conclude_service_contract', 'check_sellers_work'];
  // Задачи — отделу продаж: менеджер ставит только себе, остальные — менеджерам и руководителям.
  const people = session.employees.filter((e) => e.id === me.id || (!manager && e.active !== false && ['manager', 'head'].includes(e.role)));
  const [form, setForm] = useState(() => ({
    kind: kinds[0], title: '', due: tomorrowMorning(), assignee_id: me.id, note: '', deal_id: query.get('deal') || '',
  }));
  const [party, setParty] = useState(null);
  const [problem, setProblem] = useState(null);
  const save = useAction();
  useEffect(() => {
    const id = query.get('party');
    if (id) get(`/api/counterparties/${encodeURIComponent(id)}`).then(
      (p) => setParty({ id, name: p.name || id }),
      () => setParty({ id, name: id }),
    );
  }, [query.get('party')]);
  const set = (field) => (e) => setForm({ ...form, [field]: e.target.value });

  const submit = async (e) => {
    e.preventDefault();
    const missing = [];
    if (form.kind === 'other' && !form.title.trim()) missing.push('текст задачи');
    if (!party && !form.deal_id.trim()) missing.push('клиент или сделка');
    if (!form.due) missing.push('срок');
    if (!form.assignee_id) missing.push('исполнитель');
    setProblem(missing.length ? { message: 'Заполните: ' + missing.join(', ') } : null);
    if (missing.length) return;
    const body = {
      kind: form.kind,
      due_at: new Date(form.due + ':00' + MSK).toISOString(),
      assignee_id: form.assignee_id,
    };
    if (form.title.trim()) body.title = form.title.trim();
    if (form.note.trim()) body.note = form.note.trim();
    if (party) body.party_id = party.id;
    if (form.deal_id.trim()) body.deal_id = form.deal_id.trim();
    const task = await save.run(() => post('/api/tasks', body));
    if (task) {
      setForm({ ...form, title: '', note: '' });
      onCreated(task);
    }
  };

  return html`<form class="card" onSubmit=${submit} aria-label="Новая задача">
    <div class="spread"><h2>Новая задача</h2><button type="button" class="link" onClick=${onClose}>Свернуть</button></div>
    <div class="grid-2">
      <label>Вид
        <select value=${form.kind} onChange=${set('kind')} disabled=${kinds.length === 1}>
          ${kinds.map((k) => html`<option value=${k}>${TASK_KINDS[k]}</option>`)}
        </select>
      </label>
      <label>Текст${form.kind === 'other' ? '' : ' (необязательно)'}
        <input value=${form.title} onInput=${set('title')} maxlength="1000"
          placeholder=${form.kind === 'other' ? 'Что сделать' : TASK_KINDS[form.kind]} />
      </label>
      <label>Срок (МСК)
        <input type="datetime-local" value=${form.due} onInput=${set('due')} required />
      </label>
      <label>Исполнитель
        <select value=${form.assignee_id} onChange=${set('assignee_id')} disabled=${manager}>
          ${people.map((p) => html`<option value=${p.id}>${p.name}${p.id === me.id ? ' (я)' : ''} — ${ROLES[p.role] || p.role}</option>`)}
        </select>
      </label>
    </div>
    <${PartyPicker} party=${party} onPick=${setParty} />
    ${form.deal_id && html`<p>Сделка: <a href=${`#/deals/${encodeURIComponent(form.deal_id)}`}>${form.deal_id}</a>
      <button type="button" class="link" onClick=${() => setForm({ ...form, deal_id: '' })}>убрать</button></p>`}
    <label>Заметка <textarea value=${form.note} onInput=${set('note')} maxlength="1000"></textarea></label>
    <${ErrorBox} error=${problem || ruError(save.error)} />
    <button class="primary" type="submit" disabled=${save.busy}>Создать задачу</button>
  </form>`;
}

export default function Tasks({ query }) {
  const head = isHead();
  const tabs = [['mine', 'Мои'], ...(head ? [['department', 'Отдел']] : []), ['overdue', 'Просроченные']];
  const tab = tabs.some(([t]) => t === query.get('tab')) ? query.get('tab') : 'mine';
  const [department, setDepartment] = useState('');
  const [notice, setNotice] = useState(null);
  const [formOpen, setFormOpen] = useState(!!(query.get('party') || query.get('deal')));
  const path = '/api/tasks' + qs({
    scope: tab,
    department: head && !session.me.department && tab !== 'mine' ? department : '',
  });
  const { data, error, loading, reload } = useLoad(path);
  const items = data?.items || [];
  const partyName = usePartyNames(useMemo(() => [...new Set(items.map((t) => t.party_id).filter(Boolean))], [data]));
  const complete = useAction();
  const [completing, setCompleting] = useState(null);

  const done = async (task) => {
    setCompleting(task.id);
    const answer = await complete.run(() => post(`/api/tasks/${encodeURIComponent(task.id)}/complete`));
    setCompleting(null);
    if (answer) {
      setNotice('Задача отмечена выполненной.');
      reload();
    }
  };
  const created = (task) => {
    setNotice(`Задача создана, срок — ${dateTime(task.due_at)} (МСК).`);
    reload();
  };
  const go = (t) => navigate('#/tasks' + qs({ tab: t === 'mine' ? '' : t, party: query.get('party'), deal: query.get('deal') }));

  return html`<div>
    <div class="spread">
      <h1>Задачи</h1>
      ${may('create_tasks') && !formOpen && html`<button class="primary" onClick=${() => setFormOpen(true)}>Новая задача</button>`}
    </div>
    ${may('create_tasks') && formOpen && html`<${NewTask} query=${query} onCreated=${created} onClose=${() => setFormOpen(false)} />`}
    <div class="toolbar tasks-bar">
      <div class="tabs" role="tablist" aria-label="Какие задачи">
        ${tabs.map(([t, label]) => html`<button role="tab" aria-selected=${t === tab} onClick=${() => go(t)}>${label}</button>`)}
      </div>
      <span class="grow"></span>
      ${head && !session.me.department && tab !== 'mine' && html`<select aria-label="Отдел" value=${department} onChange=${(e) => setDepartment(e.target.value)}>
        <option value="">Все отделы</option>
        ${Object.entries(DEPARTMENTS).map(([code, name]) => html`<option value=${code}>${name}</option>`)}
      </select>`}
      <button onClick=${reload} disabled=${loading}>Обновить</button>
    </div>
    ${notice && html`<p class="notice" role="status">${notice}</p>`}
    <${ErrorBox} error=${ruError(complete.error)} />
    <${ErrorBox} error=${ruError(error)} />
    ${loading && !data && html`<${Loading} />`}
    ${data && (items.length
      ? html`<p class="muted">${items.length} ${plural(items.length, 'задача', 'задачи', 'задач')}</p>
        <table class="responsive">
          <thead><tr><th>Задача</th><th>Срок</th><th>Связано с</th><th>Исполнитель</th><th></th></tr></thead>
          <tbody>${items.map((t) => html`<${TaskRow} key=${t.id} task=${t} partyName=${partyName}
            onComplete=${done} busy=${completing === t.id} />`)}</tbody>
        </table>`
      : html`<p class="muted">${tab === 'overdue' ? 'Просроченных задач нет.' : 'Задач нет.'}</p>`)}
  </div>`;
}
