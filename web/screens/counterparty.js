// The counterparty card: requisites and contacts, the responsible manager, its deals, and
// one timeline of calls, emails, chats, forms, tasks and audit entries, newest first.
import { html, useState, useMemo, useEffect } from '../lib/html.js';
import { get, post, patch, put } from '../lib/api.js';
import { useLoad, useAction, may, session, Loading, ErrorBox, Badge, employeeName } from '../lib/ui.js';
import { CHANNELS, DEPARTMENTS, STAGES, EQUIPMENT, TASK_KINDS, phone, dateTime, fieldName, money, COUNTERPARTY_KINDS as KINDS } from '../lib/format.js';

const RECORDS = { counterparty: 'карточка', inquiry: 'обращение', task: 'задача', deal: 'сделка' };

/** A contact's addresses and numbers as staff write them, one per line. */
function ContactForm({ party, contact, onDone, onCancel }) {
  const [name, setName] = useState(contact.name || '');
  const [emails, setEmails] = useState(contact.emails.join('\n'));
  const [phones, setPhones] = useState(contact.phones.map((p) => phone(p.e164)).join('\n'));
  const action = useAction();
  const lines = (text) => text.split('\n').map((l) => l.trim()).filter(Boolean);
  const save = (e) => {
    e.preventDefault();
    action.run(async () => {
      await put(`/api/counterparties/${party.id}/contacts/${contact.id}`, { name, emails: lines(emails), phones: lines(phones) });
      onDone();
    });
  };
  const taken = (action.error?.fields || []).find((f) => /^(email|phone)#/.test(f));
  return html`<form class="card contact-form" onSubmit=${save}>
    <label>Имя<input name="contact_name" value=${name} onInput=${(e) => setName(e.target.value)} maxlength="200" /></label>
    <label>Email (по одному в строке)<textarea name="emails" value=${emails} onInput=${(e) => setEmails(e.target.value)}></textarea></label>
    <label>Телефоны (по одному в строке, в любой записи)<textarea name="phones" value=${phones} onInput=${(e) => setPhones(e.target.value)}></textarea></label>
    ${taken
      ? html`<div class="error">${taken.startsWith('email#') ? 'Адрес' : 'Номер'} ${taken.split('#')[1]} уже принадлежит другому клиенту.</div>`
      : html`<${ErrorBox} error=${action.error} />`}
    <div class="row"><button class="primary" disabled=${action.busy}>Сохранить</button><button type="button" onClick=${onCancel}>Отмена</button></div>
  </form>`;
}

function ContactPoints({ party, onChanged }) {
  const action = useAction();
  const [editing, setEditing] = useState(null);
  // Proposed by a site form or unsigned mail: tied to the client, not shown on its calls
  // until someone confirms it.
  const unconfirmed = new Set((party.unconfirmed || []).map((p) => `${p.type}:${p.value}`));
  const confirm = (type, value) =>
    action.run(async () => {
      await post(`/api/counterparties/${party.id}/contact-points`, { point: { type, value }, decision: 'confirm' });
      onChanged();
    });
  /** Removes a point from the contact (and so from the client, its card and the PBX). */
  const remove = (contact, type, value) =>
    action.run(async () => {
      await put(`/api/counterparties/${party.id}/contacts/${contact.id}`, {
        name: contact.name || '',
        emails: contact.emails.filter((e) => !(type === 'email' && e === value)),
        phones: contact.phones.filter((p) => !(type === 'phone' && p.e164 === value)).map((p) => p.e164),
      });
      onChanged();
    });
  const buttons = (contact, type, value) => html`<span class="row" style="display:inline-flex">
      ${unconfirmed.has(`${type}:${value}`) && html`<${Badge} kind="warn" title="Пришёл из формы сайта или письма без подписи: не определяется при звонке, пока его не подтвердят">не подтверждён</${Badge}>`}
      ${may('decide_contact_points') && unconfirmed.has(`${type}:${value}`) && html`<button class="link" title="Подтвердить: этот адрес или номер точно клиента" onClick=${() => confirm(type, value)}>подтвердить</button>`}
      ${may('edit_counterparties') && html`<button class="link danger" title="Убрать у клиента" onClick=${() => remove(contact, type, value)}>убрать</button>`}
    </span>`;
  return html`<div>
    <${ErrorBox} error=${action.error} />
    ${(party.contacts || []).map((c) => editing === c.id
      ? html`<${ContactForm} key=${c.id} party=${party} contact=${c} onCancel=${() => setEditing(null)} onDone=${() => {
          setEditing(null);
          onChanged();
        }} />`
      : html`<div class="contact" key=${c.id}>
      <div class="spread"><b>${c.name || 'Контакт'}</b>
        ${may('edit_counterparties') && html`<button class="link" onClick=${() => setEditing(c.id)}>изменить</button>`}</div>
      <ul>
        ${c.phones.map((p) => html`<li><a href=${'tel:' + p.e164}>${phone(p.e164)}${p.extension ? ` доб. ${p.extension}` : ''}</a> ${buttons(c, 'phone', p.e164)}</li>`)}
        ${c.emails.map((e) => html`<li><a href=${'mailto:' + e}>${e}</a> ${buttons(c, 'email', e)}</li>`)}
        ${c.invalid_phones.map((p) => html`<li><span title="Номер не распознан, сохранён как написан">${p}</span> <${Badge} kind="warn">не распознан</${Badge}></li>`)}
      </ul>
    </div>`)}
  </div>`;
}

function Rename({ party, onDone }) {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState(party.name);
  const [company, setCompany] = useState(party.company || '');
  const action = useAction();
  if (!open) return html`<button onClick=${() => setOpen(true)}>Изменить</button>`;
  const save = (e) => {
    e.preventDefault();
    action.run(async () => {
      await patch(`/api/counterparties/${party.id}`, { name, company });
      setOpen(false);
      onDone();
    });
  };
  return html`<form onSubmit=${save} class="card">
    <label>Имя или название<input value=${name} onInput=${(e) => setName(e.target.value)} required maxlength="300" /></label>
    <label>Компания<input value=${company} onInput=${(e) => setCompany(e.target.value)} maxlength="300" /></label>
    <${ErrorBox} error=${action.error} />
    <div class="row"><button class="primary" disabled=${action.busy}>Сохранить</button><button type="button" onClick=${() => setOpen(false)}>Отмена</button></div>
  </form>`;
}

function Reassign({ party, onDone }) {
  const [open, setOpen] = useState(false);
  const [managerId, setManagerId] = useState('');
  const [reason, setReason] = useState('');
  const [withDeals, setWithDeals] = useState(true);
  const action = useAction();
  const openDeals = (party.deals || []).filter((d) => d.stage !== 'closed' && d.stage !== 'unfit');
  if (!open) return html`<button onClick=${() => setOpen(true)}>Сменить менеджера</button>`;
  // A head of one department hands clients within it.
  const managers = session.employees.filter((e) => e.role === 'manager' && e.department &&
    (!session.me.department || e.department === session.me.department));
  const save = (e) => {
    e.preventDefault();
    const manager = managers.find((m) => m.id === managerId);
    action.run(async () => {
      await post(`/api/counterparties/${party.id}/manager`, { manager_id: manager.id, department: manager.department, reason });
      // The client's open deals of the new manager's department go with it, each as its
      // own audited change (a deal stays in its department).
      if (withDeals) {
        for (const summary of openDeals) {
          try {
            const { deal } = await get(`/api/deals/${summary.id}`);
            if (deal.department !== manager.department || deal.manager_id === manager.id) continue;
            await post(`/api/deals/${deal.id}/manager`, { manager_id: manager.id, version: deal.version, reason });
          } catch (error) {
            // Another department's deal (a head of one department may not open it) stays.
            if (error.status !== 403 && error.status !== 404) throw error;
          }
        }
      }
      setOpen(false);
      onDone();
    });
  };
  return html`<form onSubmit=${save} class="card">
    <label>Новый ответственный<select value=${managerId} onChange=${(e) => setManagerId(e.target.value)} required>
      <option value="">—</option>
      ${managers.map((m) => html`<option value=${m.id}>${m.name} (${DEPARTMENTS[m.department]})</option>`)}
    </select></label>
    <label>Причина<input value=${reason} onInput=${(e) => setReason(e.target.value)} required /></label>
    ${openDeals.length > 0 && html`<label class="check"><input type="checkbox" checked=${withDeals} onChange=${(e) => setWithDeals(e.target.checked)} />
      и открытые сделки (${openDeals.length}) его отдела</label>`}
    <${ErrorBox} error=${action.error} />
    <div class="row"><button class="primary" disabled=${action.busy || !managerId}>Передать</button><button type="button" onClick=${() => setOpen(false)}>Отмена</button></div>
  </form>`;
}

/** Audit entries of one change (same time, actor and request) become one timeline entry. */
function groupAudit(entries) {
  const groups = new Map();
  for (const e of entries) {
    const key = `${e.at}|${e.actor}|${e.source}|${e.record}|${e.record_id}`;
    if (!groups.has(key)) groups.set(key, { type: 'audit', at: e.at, actor: e.actor, record: e.record, record_id: e.record_id, changes: [] });
    groups.get(key).changes.push(e);
  }
  return [...groups.values()];
}

const AUDIT_FIELDS = {
  stage: 'этап', kind: 'вид', name: 'имя', company: 'компания', responsible_manager_id: 'ответственный',
  manager_id: 'менеджер', department: 'отдел', documents: 'документы', items: 'позиции', tags: 'метки',
  contact_points: 'контакт', status: 'статус', phones: 'телефоны', emails: 'адреса', legal_entity: 'юрлицо', contact: 'контактное лицо',
};

/** An audited value in words: stages, departments and people by name, lists by count. */
function show(field, value) {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'boolean') return value ? 'да' : 'нет';
  if (field.endsWith('manager_id') || field === 'assignee_id') return employeeName(value);
  if (field === 'department') return DEPARTMENTS[value] || value;
  if (field === 'kind') return KINDS[value] || value;
  if (field.endsWith('_at') && typeof value === 'string') return dateTime(value);
  if (typeof value === 'string') return STAGES[value] || value;
  if (Array.isArray(value)) {
    if (field === 'documents') return value.map((d) => d.filename).join(', ') || '—';
    if (field === 'phones') return value.map((p) => phone(p.e164 || p)).join(', ') || '—';
    if (field === 'items') return `${value.length} поз. на ${money(value.reduce((s, i) => s + i.quantity * i.unit_price_kopecks, 0))}`;
    return value.map((v) => (typeof v === 'string' ? v : '…')).join(', ');
  }
  return value.name || '…';
}

function AuditEntry({ entry }) {
  const created = entry.changes.some((c) => (c.field === 'id' || c.field === 'created') && c.old === null);
  const what = entry.record === 'deal' ? html`сделка <a href=${'#/deals/' + entry.record_id}>${entry.record_id.slice(-6)}</a>` : RECORDS[entry.record] || entry.record;
  const who = entry.actor === 'system' ? 'Система' : employeeName(entry.actor);
  return html`<div>
    <b>${who}</b> · ${what}${created ? ': создано' : ''}
    ${!created && html`<ul class="changes">${entry.changes.map((c) => html`<li>${AUDIT_FIELDS[c.field] || fieldName(c.field)}: ${show(c.field, c.old)} → ${show(c.field, c.new)}</li>`)}</ul>`}
  </div>`;
}

/** MikoPBX serves a recording by its path through its CDR playback API. */
function recordingLink(path) {
  if (/^https?:\/\//.test(path)) return path;
  const base = session.config?.pbx_url;
  return base ? `${base}/pbxcore/api/cdr/v2/playback?view=${encodeURIComponent(path)}` : null;
}

function Interaction({ entry }) {
  const call = entry.call;
  const unverified = entry.unverified === true;
  return html`<div>
    <b>${CHANNELS[entry.kind] || entry.channel}</b>
    ${entry.missed && html` <${Badge} kind="danger">пропущенный</${Badge}>`}
    ${unverified && html` <${Badge} kind="warn">отправитель не подтверждён</${Badge}>`}
    ${entry.subject && html`<div>${entry.subject}</div>`}
    ${call && html`<div><small>${call.answered_by ? 'Ответил: ' + employeeName(call.answered_by) : ''}
      ${call.talk_seconds ? ` · ${Math.round(call.talk_seconds / 60)} мин` : ''}</small>
      ${call.recording && (recordingLink(call.recording)
        ? html` · <a href=${recordingLink(call.recording)} target="_blank" rel="noopener">запись разговора</a>`
        : html` · <small title="Запись на АТС">запись: ${call.recording}</small>`)}</div>`}
    ${entry.text && html`<div class="body">${entry.text}${entry.text_truncated ? '…' : ''}</div>`}
    ${(entry.attachments || []).length > 0 && html`<div class="attachments">📎 ${entry.attachments.map((a, n) => {
      const label = `${a.filename || 'вложение'}${a.size ? ` (${Math.ceil(a.size / 1024)} КБ)` : ''}`;
      const url = entry.attachment_urls?.[n];
      return url ? html`<a class="badge" href=${url} target="_blank" rel="noopener" download=${a.filename}>${label}</a> ` : html`<span class="badge">${label}</span> `;
    })}</div>`}
  </div>`;
}

function TaskEntry({ task }) {
  return html`<div><b>Задача: ${task.title || TASK_KINDS[task.kind]}</b> ${task.overdue && html`<${Badge} kind="danger">просрочена</${Badge}>`}
    <div><small>${employeeName(task.assignee_id) || 'руководители'} · срок ${dateTime(task.due_at)}</small></div></div>`;
}

function Timeline({ party }) {
  // Marketing sees contacts, never what was said: its history is tasks and the audit trail.
  const correspondence = useLoad(may('read_correspondence') ? `/api/counterparties/${party.id}/timeline?limit=100` : null, { pages: 10 });
  const [extra, setExtra] = useState(null);
  useEffect(() => {
    // Tasks and the audit of the counterparty and its deals, merged into the one timeline.
    const audits = [`/api/audit/counterparty/${party.id}`, ...(party.deals || []).slice(0, 10).map((d) => `/api/audit/deal/${d.id}`)];
    const reads = audits.map((p) => (may('read_audit') ? get(p).then((a) => a.items).catch(() => []) : Promise.resolve([])));
    const tasks = may('read_tasks')
      ? Promise.all(
          // Only heads see a department's tasks.
          (may('route_inquiries') ? ['mine', 'department'] : ['mine']).map((s) =>
            get('/api/tasks?scope=' + s).then((t) => t.items).catch(() => []),
          ),
        )
      : Promise.resolve([]);
    const dealIds = new Set((party.deals || []).map((d) => d.id));
    Promise.all([Promise.all(reads), tasks]).then(([auditLists, taskLists]) => {
      const seen = new Set();
      const mine = taskLists.flat().filter((t) => !seen.has(t.id) && seen.add(t.id) && (t.party_id === party.id || dealIds.has(t.deal_id)));
      setExtra([...groupAudit(auditLists.flat()), ...mine.map((t) => ({ type: 'task', at: t.created_at, task: t }))]);
    });
  }, [party.id]);
  const entries = useMemo(() => {
    const items = (correspondence.data?.items || []).map((e) => ({ type: 'interaction', at: e.at, entry: e }));
    return [...items, ...(extra || [])].sort((a, b) => b.at.localeCompare(a.at));
  }, [correspondence.data, extra]);
  return html`<section class="card">
    <h2>История</h2>
    <${ErrorBox} error=${correspondence.error} />
    ${correspondence.loading && !correspondence.data && html`<${Loading} />`}
    <ul class="timeline">
      ${entries.map((e) => html`<li class=${e.type === 'interaction' ? (e.entry.channel === 'phone' || e.entry.kind === 'call' ? 'call' : '') : e.type}>
        <small>${dateTime(e.at)}</small>
        ${e.type === 'interaction' ? html`<${Interaction} entry=${e.entry} />` : e.type === 'task' ? html`<${TaskEntry} task=${e.task} />` : html`<${AuditEntry} entry=${e} />`}
      </li>`)}
    </ul>
  </section>`;
}

/** The buyer's requisites as its latest deal has them. */
function Requisites({ dealId }) {
  const { data } = useLoad(may('read_deals') ? `/api/deals/${dealId}` : null);
  const entity = data?.deal?.legal_entity;
  if (!entity?.name) return null;
  return html`<section class="card requisites"><h2>Реквизиты</h2><dl class="fields">
    <dt>Юрлицо</dt><dd>${entity.name}</dd>
    <dt>ИНН / КПП</dt><dd>${entity.inn || '—'} / ${entity.kpp || '—'}</dd>
    <dt>Адрес</dt><dd>${entity.address || '—'}</dd>
    <dt>Банк</dt><dd>${entity.bank?.bank_name || '—'}, БИК ${entity.bank?.bik || '—'}</dd>
    <dt>Р/с</dt><dd>${entity.bank?.account || '—'}</dd>
  </dl></section>`;
}

export default function Counterparty({ params }) {
  const { data: party, error, loading, reload } = useLoad(`/api/counterparties/${params.id}`);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (loading && !party) return html`<${Loading} />`;
  const mayEdit = may('edit_counterparties') && !party.contacts_hidden;
  return html`<div>
    <div class="spread">
      <h1>${party.name} ${party.company && html`<small>· ${party.company}</small>`} <${Badge} kind="accent">${KINDS[party.kind] || party.kind}</${Badge}></h1>
      <div class="row">${mayEdit && html`<${Rename} party=${party} onDone=${reload} />`}
        ${may('route_inquiries') && !party.contacts_hidden && html`<${Reassign} party=${party} onDone=${reload} />`}</div>
    </div>
    <div class="grid">
      <div>
        <section class="card">
          <h2>Карточка</h2>
          <dl class="fields">
            <dt>Ответственный</dt><dd>${employeeName(party.responsible_manager_id)}</dd>
            <dt>Отдел</dt><dd>${DEPARTMENTS[party.department] || '—'}</dd>
            <dt>Источник</dt><dd>${CHANNELS[party.source_channel] || party.source_channel || '—'}</dd>
            <dt>Создан</dt><dd>${dateTime(party.created_at)}</dd>
            ${party.tags?.length > 0 && html`<dt>Метки</dt><dd>${party.tags.map((t) => html`<span class="badge">${t}</span> `)}</dd>`}
          </dl>
          ${party.contacts_hidden && html`<p class="muted">Клиент другого менеджера: контакты скрыты.</p>`}
        </section>
        ${!party.contacts_hidden && party.deals?.length > 0 && html`<${Requisites} dealId=${party.deals[0].id} />`}
        ${!party.contacts_hidden && html`<section class="card"><h2>Контакты</h2><${ContactPoints} party=${party} onChanged=${reload} /></section>`}
        <section class="card">
          <h2>Сделки</h2>
          ${(party.deals || []).length === 0 ? html`<p class="muted">Сделок нет.</p>` : html`<ul>
            ${party.deals.map((d) => html`<li><a href=${'#/deals/' + d.id}>${STAGES[d.stage] || d.stage}</a>
              <small> · ${d.equipment_types.map((e) => EQUIPMENT[e] || e).join(', ')} · ${dateTime(d.updated_at)}</small></li>`)}
          </ul>`}
        </section>
      </div>
      ${!party.contacts_hidden && html`<${Timeline} party=${party} />`}
    </div>
  </div>`;
}
