// Inbox. Heads see the unrouted inquiries (missed calls first, then the longest waiting)
// and route one or many to a department and manager. Managers see the inquiries routed to
// them and open the qualification form.
import { html, useState, useMemo, useEffect } from '../lib/html.js';
import { post } from '../lib/api.js';
import { useLoad, useAction, may, session, Loading, ErrorBox, employeeName } from '../lib/ui.js';
import { CHANNELS, DEPARTMENTS, age, workingMinutesSince, phone, dateTime, plural } from '../lib/format.js';

const CHANNEL_ICONS = { call: '☎', jivo_chat: '💬', site_form: '📝', manual: '✉' };

/** Why an inquiry was not routed (`NotRouted.reason`). */
const NOT_ROUTED = {
  not_found: 'не найдено',
  forbidden: 'уже в другом отделе',
  already_qualified: 'уже обработано',
  changed_meanwhile: 'изменилось в это время, повторите',
};

function sortForHeads(items) {
  // Missed calls first, then the longest waiting (the API gives the 500 longest waiting).
  return [...items].sort((a, b) => (b.missed === true) - (a.missed === true) || a.received_at.localeCompare(b.received_at));
}

/** "Route to": one select of managers grouped by department; choosing one routes. */
function ManagerPicker({ onPick, disabled, label }) {
  const managers = session.employees.filter((e) => e.role === 'manager' && e.active !== false && e.department);
  return html`<select aria-label=${label} disabled=${disabled}
    onChange=${(e) => {
      const id = e.target.value;
      e.target.value = '';
      const m = managers.find((x) => x.id === id);
      if (m) onPick(m);
    }}>
    <option value="">${label}</option>
    ${Object.entries(DEPARTMENTS).map(
      ([code, name]) => html`<optgroup label=${name}>
        ${managers.filter((m) => m.department === code).map((m) => html`<option value=${m.id}>${m.name}</option>`)}
      </optgroup>`,
    )}
  </select>`;
}

function From({ inquiry }) {
  const c = inquiry.contact || {};
  const number = c.phone?.e164 ? phone(c.phone.e164) : c.phone?.raw;
  return html`<div>
    <a href=${'#/counterparties/' + inquiry.counterparty_id}>${c.name || c.company || number || c.email || 'Без имени'}</a>
    ${c.company && c.name && html`<div><small>${c.company}</small></div>`}
    <div><small>${[number, c.email].filter(Boolean).join(' · ')}</small></div>
  </div>`;
}

function Summary({ inquiry }) {
  if (inquiry.kind === 'call') {
    const call = inquiry.call;
    return html`<span>${inquiry.missed ? html`<b class="badge danger">Пропущенный</b> ` : ''}${call?.talk_seconds ? `Разговор ${Math.round(call.talk_seconds / 60)} мин` : ''}</span>`;
  }
  const text = (inquiry.subject ? inquiry.subject + ' — ' : '') + (inquiry.text || '');
  return html`<span title=${text}>${text.length > 140 ? text.slice(0, 140) + '…' : text}</span>`;
}

function HeadInbox({ limitMinutes }) {
  const { data, error, loading, reload } = useLoad('/api/inquiries?status=unrouted&sort=received&limit=500');
  const [selected, setSelected] = useState(new Set());
  const [reason, setReason] = useState('');
  const [notice, setNotice] = useState(null);
  const action = useAction();
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 60000);
    return () => clearInterval(timer);
  }, []);
  const items = useMemo(() => sortForHeads(data?.items || []), [data]);

  const route = (ids, manager) =>
    action.run(async () => {
      const answer = await post('/api/inquiries/route', {
        inquiry_ids: ids,
        department: manager.department,
        manager_id: manager.id,
        reason: reason.trim() || undefined,
      });
      const n = answer.routed.length;
      setNotice(`${n} ${plural(n, 'обращение передано', 'обращения переданы', 'обращений передано')}: ${manager.name}` +
        (answer.failed.length ? `; не удалось: ${answer.failed.map((f) => NOT_ROUTED[f.reason] || f.reason).join(', ')}` : ''));
      setSelected(new Set());
      setReason('');
      reload();
    });

  const toggle = (id) => {
    const next = new Set(selected);
    next.has(id) ? next.delete(id) : next.add(id);
    setSelected(next);
  };
  const allSelected = items.length > 0 && selected.size === items.length;

  return html`<section>
    <div class="spread"><h1>Входящие: не распределены ${data ? html`<span class="badge">${items.length}</span>` : ''}</h1>
      <button onClick=${reload} disabled=${loading}>Обновить</button></div>
    ${data?.next_cursor && html`<p class="muted">Показаны ${items.length} обращений, ждущих дольше всех; остальные появятся по мере распределения.</p>`}
    ${notice && html`<div class="notice" role="status">${notice}</div>`}
    <${ErrorBox} error=${error || action.error} />
    ${may('route_inquiries') && selected.size > 0 && html`<div class="toolbar card">
      <b>Выбрано: ${selected.size}</b>
      <input class="grow" placeholder="Причина (необязательно)" value=${reason} onInput=${(e) => setReason(e.target.value)} aria-label="Причина" />
      <${ManagerPicker} label="Передать выбранные…" disabled=${action.busy} onPick=${(m) => route([...selected], m)} />
    </div>`}
    ${loading && !data ? html`<${Loading} />` : items.length === 0 ? html`<p class="muted">Всё распределено.</p>` : html`
    <table class="responsive inbox">
      <thead><tr>
        <th><input type="checkbox" aria-label="Выбрать все" checked=${allSelected}
          onChange=${() => setSelected(allSelected ? new Set() : new Set(items.map((i) => i.id)))} /></th>
        <th>Канал</th><th>От кого</th><th>Суть</th><th class="num">Ждёт</th><th>Передать</th>
      </tr></thead>
      <tbody>${items.map((i) => {
        const late = workingMinutesSince(i.received_at, now) > limitMinutes;
        return html`<tr key=${i.id} data-inquiry=${i.id} class=${(late ? 'late ' : '') + (i.missed ? 'missed' : '')}>
          <td data-label="Выбрать"><input type="checkbox" aria-label="Выбрать обращение" checked=${selected.has(i.id)} onChange=${() => toggle(i.id)} /></td>
          <td data-label="Канал">${CHANNEL_ICONS[i.kind] || ''} ${CHANNELS[i.kind] || i.kind}</td>
          <td data-label="От кого"><${From} inquiry=${i} /></td>
          <td data-label="Суть"><${Summary} inquiry=${i} /></td>
          <td data-label="Ждёт" class="num age" title=${dateTime(i.received_at)}>${age(i.received_at, now)}</td>
          <td data-label="Передать">${may('route_inquiries') &&
            html`<${ManagerPicker} label="Менеджер…" disabled=${action.busy} onPick=${(m) => route([i.id], m)} />`}</td>
        </tr>`;
      })}</tbody>
    </table>`}
  </section>`;
}

function ManagerInbox() {
  const { data, error, loading } = useLoad('/api/inquiries?status=routed&limit=500');
  const items = data?.items || [];
  return html`<section>
    <h1>Мои новые обращения ${data ? html`<span class="badge">${items.length}</span>` : ''}</h1>
    <${ErrorBox} error=${error} />
    ${loading && !data ? html`<${Loading} />` : items.length === 0 ? html`<p class="muted">Новых обращений нет.</p>` : html`
    <table class="responsive">
      <thead><tr><th>Канал</th><th>От кого</th><th>Суть</th><th>Получено</th><th>Менеджер</th><th></th></tr></thead>
      <tbody>${items.map((i) => html`<tr key=${i.id} data-inquiry=${i.id}>
        <td data-label="Канал">${CHANNEL_ICONS[i.kind] || ''} ${CHANNELS[i.kind] || i.kind}</td>
        <td data-label="От кого"><${From} inquiry=${i} /></td>
        <td data-label="Суть"><${Summary} inquiry=${i} /></td>
        <td data-label="Получено">${dateTime(i.received_at)}</td>
        <td data-label="Менеджер">${employeeName(i.manager_id)}</td>
        <td>${may('qualify_inquiries') && html`<a class="button primary" href=${`#/inquiries/${i.id}/qualify`}>Квалифицировать</a>`}</td>
      </tr>`)}</tbody>
    </table>`}
  </section>`;
}

export default function Inbox() {
  const limitMinutes = (session.me.first_response_hours || 4) * 60;
  return may('route_inquiries') ? html`<${HeadInbox} limitMinutes=${limitMinutes} />` : html`<${ManagerInbox} />`;
}
