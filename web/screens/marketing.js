// Маркетинг: сегменты контактной базы (фильтры, расписание выгрузки), предпросмотр,
// выгрузки со ссылками на файлы, задачи «Позвонить клиенту» на весь сегмент, отписки
// (адрес вручную или файл Mailchimp). Для маркетологов и руководителей.
import { html, useState, useEffect } from '../lib/html.js';
import { get, post, put, del } from '../lib/api.js';
import { useLoad, useAction, may, employeeName, navigate, ErrorBox, Loading, Badge } from '../lib/ui.js';
import { dateTime, date, phone, STAGES, DEPARTMENTS, EQUIPMENT, plural, COUNTERPARTY_KINDS as KINDS } from '../lib/format.js';

const WEEKDAYS = { Mon: 'понедельник', Tue: 'вторник', Wed: 'среда', Thu: 'четверг', Fri: 'пятница', Sat: 'суббота', Sun: 'воскресенье' };
const STATUS = { queued: ['в очереди', 'warn'], done: ['готово', 'ok'], failed: ['ошибка', 'danger'] };
const FIELDS = {
  name: 'Название', email: 'Email', csv: 'Файл', title: 'Тема', note: 'Комментарий', regions: 'Регионы', tags: 'Теги',
  active_within_days: 'Был контакт за N дней (1–3650)', inactive_for_days: 'Нет контакта N дней (1–3650)',
  created_to: 'Создан по', never_qualified: 'Лиды без сделок: не вместе со стадией и другими типами',
  'schedule.weekday': 'День недели',
};
const CODES = {
  missing_data: 'Проверьте данные', conflict: 'Данные изменились — обновите и повторите', not_found: 'Не найдено',
  forbidden: 'Нет прав', unavailable: 'Сервис недоступен, повторите позже', bad_request: 'Неверный запрос',
  too_many: 'В сегменте больше 5000 контактов — сузьте его',
};

/** The API's error with a Russian lead, its `fields` (a list of paths) named in words. */
function explain(e) {
  if (!e) return null;
  const lead = CODES[e.code];
  const fields = Array.isArray(e.fields)
    ? Object.fromEntries(e.fields.map((f) => {
      const m = /^(?:definition\.)?([\w.]+?)(?:\[(\d+)\])?$/.exec(f) || [];
      return [(FIELDS[m[1]] || f) + (m[2] ? ` № ${+m[2] + 1}` : ''), 'исправьте'];
    }))
    : e.fields;
  return { message: lead && !/[а-яё]/i.test(e.message) ? `${lead} (${e.message})` : e.message, fields };
}
const Err = ({ error }) => html`<${ErrorBox} error=${explain(error)} />`;
const uuid = () => crypto.randomUUID?.() || [...crypto.getRandomValues(new Uint8Array(16))].map((x) => x.toString(16).padStart(2, '0')).join('');
const count = (n, one, few, many) => `${n} ${plural(n, one, few, many)}`;
const options = (dict) => Object.entries(dict).map(([k, v]) => html`<option value=${k}>${v}</option>`);

/** Who the definition takes, in words. */
function describe(d = {}) {
  const p = [];
  const names = (list, dict) => list.map((x) => dict[x] || x).join(', ');
  if (d.departments?.length) p.push('отделы: ' + names(d.departments, DEPARTMENTS));
  if (d.kinds?.length) p.push(names(d.kinds, KINDS).toLowerCase());
  if (d.equipment_types?.length) p.push('оборудование: ' + names(d.equipment_types, EQUIPMENT).toLowerCase());
  if (d.stage_reached) p.push(`дошли до стадии «${STAGES[d.stage_reached] || d.stage_reached}»`);
  if (d.never_qualified) p.push('лиды без сделок');
  if (d.regions?.length) p.push('регионы: ' + d.regions.join(', '));
  if (d.tags?.length) p.push('теги: ' + d.tags.join(', '));
  if (d.active_within_days) p.push(`был контакт за ${d.active_within_days} дн.`);
  if (d.inactive_for_days) p.push(`нет контакта ${d.inactive_for_days}+ дн.`);
  if (d.has_email != null) p.push(d.has_email ? 'есть email' : 'нет email');
  if (d.has_phone != null) p.push(d.has_phone ? 'есть телефон' : 'нет телефона');
  if (d.created_from) p.push('созданы с ' + date(d.created_from));
  if (d.created_to) p.push('созданы по ' + date(d.created_to));
  return p.length ? p.join('; ') : 'вся контактная база';
}

function schedule(s) {
  if (!s) return 'вручную';
  const at = String(s.time).slice(0, 5) + ' МСК';
  return s.frequency === 'weekly' ? `еженедельно, ${WEEKDAYS[s.weekday] || s.weekday}, ${at}` : `ежедневно, ${at}`;
}

function toForm(s) {
  const d = s?.definition || {};
  const yn = (v) => (v == null ? '' : String(v));
  return {
    name: s?.name || '', departments: d.departments || [], kinds: d.kinds || [], equipment_types: d.equipment_types || [],
    stage_reached: d.stage_reached || '', never_qualified: !!d.never_qualified,
    regions: (d.regions || []).join(', '), tags: (d.tags || []).join(', '),
    active_within_days: d.active_within_days ?? '', inactive_for_days: d.inactive_for_days ?? '',
    has_email: yn(d.has_email), has_phone: yn(d.has_phone), created_from: d.created_from || '', created_to: d.created_to || '',
    frequency: s?.schedule?.frequency || '', weekday: s?.schedule?.weekday || 'Mon', time: String(s?.schedule?.time || '09:00').slice(0, 5),
  };
}

/** The body of `POST /api/segments` and `PUT /api/segments/{id}`. */
function toRequest(f, version) {
  const list = (t) => String(t).split(/[,;\n]/).map((x) => x.trim()).filter(Boolean);
  const num = (v) => (v === '' ? null : Number(v));
  const yn = (v) => (v === '' ? null : v === 'true');
  return {
    name: f.name,
    version,
    definition: {
      departments: f.departments, kinds: f.kinds, equipment_types: f.equipment_types,
      stage_reached: f.stage_reached || null, never_qualified: f.never_qualified, regions: list(f.regions), tags: list(f.tags),
      active_within_days: num(f.active_within_days), inactive_for_days: num(f.inactive_for_days),
      has_email: yn(f.has_email), has_phone: yn(f.has_phone), created_from: f.created_from || null, created_to: f.created_to || null,
    },
    schedule: f.frequency ? { frequency: f.frequency, weekday: f.frequency === 'weekly' ? f.weekday : undefined, time: f.time + ':00' } : null,
  };
}

function Checks({ legend, dict, value, onChange }) {
  const toggle = (k) => onChange(value.includes(k) ? value.filter((x) => x !== k) : [...value, k]);
  return html`<fieldset style="border:1px solid var(--line);border-radius:6px;margin:0 0 8px"><legend>${legend}</legend>
    <div class="row">${Object.entries(dict).map(([k, label]) => html`<label class="check">
      <input type="checkbox" checked=${value.includes(k)} onChange=${() => toggle(k)} /> ${label}</label>`)}</div></fieldset>`;
}

function SegmentForm({ segment, onSaved, onCancel }) {
  const [f, setF] = useState(() => toForm(segment));
  const save = useAction();
  const set = (k) => (e) => setF({ ...f, [k]: e.target.type === 'checkbox' ? e.target.checked : e.target.value });
  const checks = (k, legend, dict) => html`<${Checks} legend=${legend} dict=${dict} value=${f[k]} onChange=${(v) => setF({ ...f, [k]: v })} />`;
  const field = (k, label, attrs = {}) => html`<label>${label}<input ...${attrs} value=${f[k]} onInput=${set(k)} /></label>`;
  const days = { type: 'number', min: 1, max: 3650, step: 1 };
  const yn = (k, label) => html`<label>${label}<select value=${f[k]} onChange=${set(k)}>
    <option value="">не важно</option><option value="true">есть</option><option value="false">нет</option></select></label>`;
  const submit = async (e) => {
    e.preventDefault();
    const body = toRequest(f, segment?.version);
    const saved = await save.run(() => (segment ? put(`/api/segments/${segment.id}`, body) : post('/api/segments', body)));
    if (saved) onSaved(saved);
  };
  return html`<form class="card" onSubmit=${submit} aria-label="Сегмент">
    <h2>${segment ? `Изменить сегмент «${segment.name}»` : 'Новый сегмент'}</h2>
    ${field('name', 'Название', { required: true, maxlength: 200 })}
    ${checks('departments', 'Отдел', DEPARTMENTS)}
    ${checks('kinds', 'Тип', KINDS)}
    ${checks('equipment_types', 'Оборудование в сделках', EQUIPMENT)}
    <div class="grid-2">
      <label>Дошли до стадии<select value=${f.stage_reached} onChange=${set('stage_reached')}>
        <option value="">любая</option>${options(STAGES)}</select></label>
      <label class="check"><input type="checkbox" checked=${f.never_qualified} onChange=${set('never_qualified')} /> Лиды без сделок</label>
      ${field('regions', 'Регионы или коды городов (через запятую)', { placeholder: 'Екатеринбург, 343' })}
      ${field('tags', 'Теги (нужны все, через запятую)')}
      ${field('active_within_days', 'Был контакт за последние, дней', days)}
      ${field('inactive_for_days', 'Нет контакта не меньше, дней', days)}
      ${yn('has_email', 'Email')} ${yn('has_phone', 'Телефон')}
      ${field('created_from', 'Создан с', { type: 'date' })}
      ${field('created_to', 'Создан по', { type: 'date' })}
    </div>
    <div class="row">
      <label>Выгрузка по расписанию<select value=${f.frequency} onChange=${set('frequency')}>
        <option value="">нет, только вручную</option><option value="daily">ежедневно</option><option value="weekly">еженедельно</option>
      </select></label>
      ${f.frequency === 'weekly' && html`<label>День недели<select value=${f.weekday} onChange=${set('weekday')}>${options(WEEKDAYS)}</select></label>`}
      ${f.frequency && field('time', 'Время (МСК)', { type: 'time', required: true })}
    </div>
    <${Err} error=${save.error} />
    <div class="row">
      <button class="primary" type="submit" disabled=${save.busy}>Сохранить сегмент</button>
      <button type="button" onClick=${onCancel}>Отмена</button>
    </div>
  </form>`;
}

function Preview({ id }) {
  const [data, setData] = useState(null);
  const load = useAction();
  const show = async () => setData((await load.run(() => get(`/api/segments/${id}/preview`))) || data);
  return html`<section>
    <div class="spread"><h3>Предпросмотр</h3>
      <button onClick=${show} disabled=${load.busy}>${data ? 'Обновить предпросмотр' : 'Показать предпросмотр'}</button></div>
    <${Err} error=${load.error} />
    ${data && html`<p><b>В сегменте: ${data.capped ? 'более ' : ''}${count(data.count, 'контакт', 'контакта', 'контактов')}</b>
      ${data.rows.length > 0 && html` <small>(показаны первые ${data.rows.length})</small>`}</p>
    ${data.rows.length > 0 && html`<table class="responsive"><thead><tr>
      <th>Имя</th><th>Компания</th><th>Тип</th><th>Email</th><th>Телефон</th><th>Сделка</th><th>Последний контакт</th></tr></thead>
      <tbody>${data.rows.map((r) => html`<tr key=${r.party_id}>
        <td data-label="Имя">${[r.first_name, r.last_name].filter(Boolean).join(' ') || r.name}</td>
        <td data-label="Компания">${r.company || '—'}</td>
        <td data-label="Тип">${KINDS[r.kind] || r.kind}${r.department ? ', ' + (DEPARTMENTS[r.department] || r.department) : ''}</td>
        <td data-label="Email">${r.emails.join(', ') || '—'}</td>
        <td data-label="Телефон" style="white-space:nowrap">${r.phones.map(phone).join(', ') || '—'}</td>
        <td data-label="Сделка">${r.open_deal ? STAGES[r.open_deal.stage] || r.open_deal.stage : '—'}</td>
        <td data-label="Последний контакт">${r.last_activity ? dateTime(r.last_activity.at) : '—'}</td>
      </tr>`)}</tbody></table>`}`}
  </section>`;
}

function Exports({ id, exports, reload }) {
  const [links, setLinks] = useState({});
  const start = useAction();
  const fetching = useAction();
  const queued = exports.some((x) => x.status === 'queued');
  useEffect(() => {
    if (!queued) return undefined;
    const t = setTimeout(reload, 3000);
    return () => clearTimeout(t);
  }, [exports]);
  const run = async () => (await start.run(() => post(`/api/segments/${id}/exports`))) && reload();
  const open = async (x) => {
    const answer = await fetching.run(() => get(`/api/exports/${x}`));
    if (answer) setLinks({ ...links, [x]: { at: Date.now(), links: answer.links } });
  };
  const sorted = [...exports].sort((a, b) => String(b.requested_at).localeCompare(String(a.requested_at)));
  return html`<section>
    <div class="spread"><h3>Выгрузки</h3>
      ${may('export_segments') && html`<button class="primary" onClick=${run} disabled=${start.busy}>Выгрузить сегмент</button>`}</div>
    ${queued && html`<div class="notice" role="status">Выгрузка в очереди; файлы появятся через несколько секунд.</div>`}
    <${Err} error=${start.error || fetching.error} />
    ${sorted.length === 0 ? html`<p class="muted">Выгрузок ещё не было.</p>` : html`<table class="responsive">
      <thead><tr><th>Запрошена</th><th>Кем</th><th>Статус</th><th class="num">Контактов</th><th>Файлы</th></tr></thead>
      <tbody>${sorted.map((x) => {
        const [label, kind] = STATUS[x.status] || [x.status, ''];
        const got = links[x.id];
        return html`<tr key=${x.id}>
          <td data-label="Запрошена">${dateTime(x.requested_at)}</td>
          <td data-label="Кем">${x.requested_by === 'schedule' ? 'по расписанию' : employeeName(x.requested_by)}</td>
          <td data-label="Статус"><${Badge} kind=${kind}>${label}</${Badge}> ${x.error && html`<small>${x.error}</small>`}</td>
          <td data-label="Контактов" class="num">${x.status === 'done' ? x.contacts : '—'}</td>
          <td data-label="Файлы">${x.status !== 'done' ? '—' : got && Date.now() - got.at < 14 * 60000
            ? html`<div>${Object.entries(got.links).map(([name, url]) => html`<div><a href=${url} download=${name}>${name}</a></div>`)}
                <small>ссылки действуют 15 минут</small></div>`
            : may('export_segments') && html`<button onClick=${() => open(x.id)} disabled=${fetching.busy}
                aria-label=${'Ссылки на файлы выгрузки от ' + dateTime(x.requested_at)}>Ссылки на файлы</button>`}</td>
        </tr>`;
      })}</tbody></table>`}
  </section>`;
}

const assignee = (key) => (key.startsWith('heads:')
  ? (key === 'heads:all' ? 'Руководители (клиент без отдела)' : `Руководители отдела «${DEPARTMENTS[key.slice(6)] || key.slice(6)}»`)
  : employeeName(key));

function CallTasks({ id }) {
  const [f, setF] = useState({ title: '', note: '', due: '' });
  const [requestId, setRequestId] = useState(uuid);
  const [given, setGiven] = useState(null);
  const give = useAction();
  // One request id per task set: pressing again gives the same tasks once; a changed form is a new request.
  const set = (k) => (e) => {
    setF({ ...f, [k]: e.target.value });
    setRequestId(uuid());
  };
  const submit = async (e) => {
    e.preventDefault();
    // The due time is Moscow time (UTC+3 all year).
    const body = { request_id: requestId, title: f.title, note: f.note || null, due_at: new Date(f.due + ':00+03:00').toISOString() };
    const answer = await give.run(() => post(`/api/segments/${id}/call-tasks`, body));
    if (answer) setGiven(answer);
  };
  return html`<form onSubmit=${submit}>
    <h3>Задачи «Позвонить клиенту» на весь сегмент</h3>
    <div class="grid-2">
      <label>Тема задачи<input required maxlength="200" value=${f.title} onInput=${set('title')} /></label>
      <label>Срок (МСК)<input type="datetime-local" required value=${f.due} onInput=${set('due')} /></label>
    </div>
    <label>Комментарий<textarea maxlength="1000" value=${f.note} onInput=${set('note')} /></label>
    <${Err} error=${give.error} />
    ${given && html`<div class="notice" role="status">
      Создано задач: ${given.created}${given.existing ? `; уже были выданы раньше (повторное нажатие): ${given.existing}` : ''}.
      <ul>${Object.entries(given.by_assignee).map(([k, n]) => html`<li>${assignee(k)} — ${count(n, 'задача', 'задачи', 'задач')}</li>`)}</ul>
    </div>`}
    <button type="submit" disabled=${give.busy}>Выдать задачи на обзвон</button>
  </form>`;
}

function SegmentView({ id, onEdit, onDeleted }) {
  const { data, error, reload } = useLoad(`/api/segments/${id}`);
  const remove = useAction();
  const [confirming, setConfirming] = useState(false);
  if (error) return html`<div class="card"><${Err} error=${error} /></div>`;
  if (!data) return html`<div class="card"><${Loading} /></div>`;
  const s = data.segment;
  const doDelete = async () => (await remove.run(() => del(`/api/segments/${id}`))) && onDeleted();
  return html`<div class="card">
    <div class="spread"><h2>${s.name}</h2>
      <div class="row">
        <button onClick=${() => onEdit(s)}>Изменить</button>
        ${confirming
          ? html`<button class="danger" onClick=${doDelete} disabled=${remove.busy}>Да, удалить</button>
              <button onClick=${() => setConfirming(false)}>Не удалять</button>`
          : html`<button class="danger" onClick=${() => setConfirming(true)}>Удалить</button>`}
      </div></div>
    <${Err} error=${remove.error} />
    <dl class="fields">
      <dt>Кто входит</dt><dd>${describe(s.definition)}</dd>
      <dt>Выгрузка</dt><dd>${schedule(s.schedule)}${s.last_scheduled_at ? `; последняя по расписанию ${dateTime(s.last_scheduled_at)}` : ''}</dd>
      <dt>Создан</dt><dd>${dateTime(s.created_at)}, ${employeeName(s.created_by)}</dd>
      <dt>Изменён</dt><dd>${dateTime(s.updated_at)} (версия ${s.version})</dd>
    </dl>
    <${Preview} id=${id} />
    <${Exports} id=${id} exports=${data.exports || []} reload=${reload} />
    <${CallTasks} id=${id} />
  </div>`;
}

function OptOuts() {
  const [email, setEmail] = useState('');
  const [reason, setReason] = useState('');
  const [done, setDone] = useState(null);
  const mark = useAction();
  const upload = useAction();
  const submit = async (e) => {
    e.preventDefault();
    setDone(null);
    const out = await mark.run(() => post('/api/opt-outs', { email: email.trim(), reason: reason.trim() || null }));
    if (out) {
      setDone(`Адрес ${out.email} больше не попадёт в выгрузки.`);
      setEmail('');
      setReason('');
    }
  };
  const send = async (e) => {
    const file = e.target.files[0];
    e.target.value = '';
    if (!file) return;
    setDone(null);
    const answer = await upload.run(async () => {
      const body = { filename: file.name, csv: await file.text() };
      // The API takes bodies up to 256 KiB; bigger files go through the exports bucket.
      if (new Blob([JSON.stringify(body)]).size > 250 * 1024) {
        throw { message: 'Файл больше 250 КБ: положите его в папку imports/mailchimp/ бакета выгрузок — он будет прочитан сам.' };
      }
      return post('/api/opt-outs/mailchimp', body);
    });
    if (answer) setDone(`Файл ${file.name}: записано адресов — ${answer.recorded}, пропущено строк — ${answer.skipped}.`);
  };
  return html`<div class="card">
    <h2>Отписки от рассылок</h2>
    <form onSubmit=${submit}>
      <label>Email<input type="email" required value=${email} onInput=${(e) => setEmail(e.target.value)} /></label>
      <label>Причина<input maxlength="200" value=${reason} onInput=${(e) => setReason(e.target.value)} /></label>
      <button type="submit" disabled=${mark.busy}>Отметить отписку</button>
    </form>
    <${Err} error=${mark.error} />
    <label style="margin-top:12px">Файл отписок Mailchimp (CSV unsubscribed или cleaned)
      <input type="file" accept=".csv,text/csv" onChange=${send} disabled=${upload.busy} /></label>
    <${Err} error=${upload.error} />
    ${done && html`<div class="notice" role="status">${done}</div>`}
  </div>`;
}

export default function Marketing({ query }) {
  const list = useLoad('/api/segments');
  const selected = query?.get('segment') || null;
  const [editing, setEditing] = useState(null); // null | 'new' | the segment
  const select = (id) => {
    setEditing(null);
    navigate(id ? '#/marketing?segment=' + encodeURIComponent(id) : '#/marketing');
  };
  const items = [...(list.data?.items || [])].sort((a, b) => a.name.localeCompare(b.name, 'ru'));
  return html`<div>
    <h1>Маркетинг</h1>
    <div class="grid">
      <div>
        <div class="card">
          <div class="spread"><h2>Сегменты</h2>
            ${may('manage_segments') && html`<button class="primary" onClick=${() => setEditing('new')}>Новый сегмент</button>`}</div>
          <${Err} error=${list.error} />
          ${!list.data && !list.error && html`<${Loading} />`}
          ${list.data && items.length === 0 && html`<p class="muted">Сегментов пока нет.</p>`}
          <ul style="list-style:none;padding:0;margin:0">${items.map((s) => html`<li key=${s.id} style="padding:6px 0;border-bottom:1px solid var(--line)">
            <button class="link" aria-current=${s.id === selected ? 'true' : undefined} onClick=${() => select(s.id)}
              style=${s.id === selected ? 'font-weight:600' : ''}>${s.name}</button>
            <div><small>${describe(s.definition)}</small></div>
            <div><small>Выгрузка: ${schedule(s.schedule)}</small></div>
          </li>`)}</ul>
        </div>
      </div>
      <div>
        ${editing
          ? html`<${SegmentForm} key=${editing === 'new' ? 'new' : editing.id} segment=${editing === 'new' ? null : editing}
              onCancel=${() => setEditing(null)} onSaved=${(s) => { list.reload(); select(s.id); }} />`
          : selected
            ? html`<${SegmentView} key=${selected} id=${selected} onEdit=${setEditing} onDeleted=${() => { list.reload(); select(null); }} />`
            : html`<div class="card muted">Выберите сегмент или создайте новый.</div>`}
      </div>
    </div>
    ${may('manage_segments') && html`<${OptOuts} />`}
  </div>`;
}
