// Производство: открытые заказы на производство (запланирован / в работе) с готовностью,
// плановой и обещанной клиенту датами; просроченные выделены. Производство меняет статус,
// готовность и даты (с версией, которую прочитало); руководители смотрят.
import { html, useState } from '../lib/html.js';
import { patch } from '../lib/api.js';
import { useLoad, useAction, may, ErrorBox, Loading, Badge } from '../lib/ui.js';
import { dateTime, date, plural, TIME_ZONE, PRODUCTION_STATUS as STATUS } from '../lib/format.js';

const CODES = {
  missing_data: 'Проверьте данные', conflict: 'Заказ уже изменили — обновите список и повторите', not_found: 'Не найдено',
  forbidden: 'Нет прав', unavailable: 'Сервис недоступен, повторите позже', bad_request: 'Неверный запрос',
};
const FIELDS = { status: 'Статус', readiness: 'Готовность, % (0–100)', planned_date: 'Плановая дата', promised_date: 'Обещано клиенту' };
const REASONS = {
  'the production order is done; it takes no more changes': 'Заказ уже готов — его больше не меняют.',
  'a started production order cannot go back to planned': 'Начатый заказ нельзя вернуть в «запланирован».',
  'nothing to change': 'Нечего менять.',
  'readiness is a percentage from 0 to 100': 'Готовность — от 0 до 100 %.',
};

function explain(e) {
  if (!e) return null;
  const lead = CODES[e.code];
  const message = REASONS[e.message] || (lead && !/[а-яё]/i.test(e.message) ? `${lead} (${e.message})` : e.message);
  const fields = Array.isArray(e.fields) ? Object.fromEntries(e.fields.map((f) => [FIELDS[f] || f, 'исправьте'])) : e.fields;
  return { message, fields };
}
const Err = ({ error }) => html`<${ErrorBox} error=${explain(error)} />`;
const today = () => new Intl.DateTimeFormat('en-CA', { timeZone: TIME_ZONE }).format(new Date());
const daysBetween = (a, b) => Math.round((Date.parse(b) - Date.parse(a)) / 86400000);

/** The promised date, with how late (or how close) it is. */
function Promised({ p }) {
  if (!p.promised_date) return '—';
  const left = daysBetween(today(), p.promised_date);
  const badge = left < 0
    ? html`<${Badge} kind="danger">просрочен на ${-left} ${plural(-left, 'день', 'дня', 'дней')}</${Badge}>`
    : left <= 3 ? html`<${Badge} kind="warn">${left === 0 ? 'сегодня' : `через ${left} ${plural(left, 'день', 'дня', 'дней')}`}</${Badge}>` : null;
  return html`${date(p.promised_date)} ${badge}`;
}

function Readiness({ value }) {
  return html`<span class="row" style="flex-wrap:nowrap">
    <progress max="100" value=${value} style="width:80px" aria-label=${`Готовность ${value}%`}></progress> ${value}%</span>`;
}

/** The change form of one production order: `PATCH /api/orders/{deal}/production/{line}`. */
function Edit({ p, onSaved, onCancel }) {
  const [f, setF] = useState({ status: p.status, readiness: String(p.readiness), planned_date: p.planned_date || '', promised_date: p.promised_date || '' });
  const [confirmDone, setConfirmDone] = useState(false);
  const save = useAction();
  const set = (k) => (e) => setF({ ...f, [k]: e.target.value });
  const send = async (edit) => {
    const body = { version: p.version };
    if (edit.status !== p.status) body.status = edit.status;
    if (edit.readiness !== '' && Number(edit.readiness) !== p.readiness) body.readiness = Number(edit.readiness);
    if (edit.planned_date && edit.planned_date !== p.planned_date) body.planned_date = edit.planned_date;
    if (edit.promised_date && edit.promised_date !== p.promised_date) body.promised_date = edit.promised_date;
    if (Object.keys(body).length === 1) return save.setError({ message: 'Нечего сохранять: ничего не изменилось.' });
    const answer = await save.run(() => patch(`/api/orders/${encodeURIComponent(p.deal_id)}/production/${p.line}`, body));
    if (answer) onSaved(answer.production.find((x) => x.line === p.line) || { ...p, status: body.status || p.status });
  };
  const submit = (e) => {
    e.preventDefault();
    if (f.status === 'done' && !confirmDone) return setConfirmDone(true);
    send(f);
  };
  return html`<form onSubmit=${submit} aria-label=${'Изменить заказ на производство ' + p.id}>
    <div class="row">
      <label>Статус<select value=${f.status} onChange=${(e) => { setConfirmDone(false); set('status')(e); }}>
        ${p.status === 'planned' && html`<option value="planned">запланирован</option>`}
        <option value="in_progress">в работе</option><option value="done">готов</option></select></label>
      <label>Готовность, %<input type="number" min="0" max="100" step="1" style="width:90px" value=${f.readiness} onInput=${set('readiness')} /></label>
      <label>Плановая дата<input type="date" value=${f.planned_date} onInput=${set('planned_date')} /></label>
      <label>Обещано клиенту<input type="date" value=${f.promised_date} onInput=${set('promised_date')} /></label>
    </div>
    ${confirmDone && html`<div class="notice" role="status">«Готов» — окончательно: изделие поступит на склад партией ${p.id},
      зарезервированной под заказ. Нажмите «Подтвердить: готов».</div>`}
    <${Err} error=${save.error} />
    <div class="row">
      <button class="primary" type="submit" disabled=${save.busy}>${confirmDone ? 'Подтвердить: готов' : 'Сохранить'}</button>
      <button type="button" onClick=${onCancel}>Отмена</button>
    </div>
  </form>`;
}

export default function Production() {
  const { data, error, loading, reload } = useLoad('/api/production-orders');
  const [status, setStatus] = useState('');
  const [lateOnly, setLateOnly] = useState(false);
  const [editing, setEditing] = useState(null);
  const [saved, setSaved] = useState(null);
  const canEdit = may('update_production');
  const now = today();
  const late = (p) => p.status !== 'done' && p.promised_date && p.promised_date < now;
  const all = data?.items || [];
  const items = all.filter((p) => (!status || p.status === status) && (!lateOnly || late(p)));
  const onSaved = (p) => {
    setEditing(null);
    setSaved(p.status === 'done'
      ? `Заказ ${p.id} готов: изделие принято на склад партией ${p.id} и убрано из списка.`
      : `Заказ ${p.id} сохранён.`);
    reload();
  };
  const lateCount = all.filter(late).length;
  return html`<div>
    <div class="spread"><h1>Производство</h1>
      <button onClick=${reload} disabled=${loading}>Обновить</button></div>
    <div class="toolbar">
      <label>Статус<select value=${status} onChange=${(e) => setStatus(e.target.value)}>
        <option value="">все открытые</option><option value="planned">запланированы</option><option value="in_progress">в работе</option>
      </select></label>
      <label class="check"><input type="checkbox" checked=${lateOnly} onChange=${(e) => setLateOnly(e.target.checked)} /> только просроченные</label>
      ${data && html`<span class="muted">Открытых: ${all.length}${lateCount ? html`, <b style="color:var(--danger)">просрочено: ${lateCount}</b>` : ''}</span>`}
    </div>
    ${saved && html`<div class="notice" role="status">${saved}</div>`}
    <${Err} error=${error} />
    ${!data && !error && html`<${Loading} />`}
    ${data && items.length === 0 && html`<p class="muted">${all.length ? 'Под фильтр ничего не подходит.' : 'Открытых заказов на производство нет.'}</p>`}
    ${items.length > 0 && html`<table class="responsive">
      <thead><tr><th>Заказ</th><th>Изделие</th><th class="num">Кол-во</th><th>Статус</th><th>Готовность</th>
        <th>План</th><th>Обещано клиенту</th><th>Изменён</th>${canEdit && html`<th></th>`}</tr></thead>
      <tbody>${items.map((p) => {
        const [label, kind] = STATUS[p.status] || [p.status, ''];
        return html`<tr key=${p.id} class=${late(p) ? 'missed' : ''}>
          <td data-label="Заказ">${may('read_deals') ? html`<a href=${'#/deals/' + encodeURIComponent(p.deal_id)}>${p.id}</a>` : p.id}</td>
          <td data-label="Изделие">${p.product}<div><small>${p.article}</small></div></td>
          <td data-label="Кол-во" class="num">${p.quantity} ${p.unit}</td>
          <td data-label="Статус"><${Badge} kind=${kind}>${label}</${Badge}></td>
          <td data-label="Готовность"><${Readiness} value=${p.readiness} /></td>
          <td data-label="План">${p.planned_date ? date(p.planned_date) : '—'}</td>
          <td data-label="Обещано клиенту"><${Promised} p=${p} /></td>
          <td data-label="Изменён">${dateTime(p.updated_at)}</td>
          ${canEdit && html`<td data-label="">${editing !== p.id && html`<button onClick=${() => { setSaved(null); setEditing(p.id); }}
            aria-label=${'Изменить ' + p.id}>Изменить</button>`}</td>`}
        </tr>
        ${editing === p.id && html`<tr key=${p.id + '-edit'}><td colspan="9" data-label="">
          <${Edit} p=${p} onSaved=${onSaved} onCancel=${() => setEditing(null)} /></td></tr>`}`;
      })}</tbody></table>`}
  </div>`;
}
