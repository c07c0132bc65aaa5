// The deal card: items and totals, what the next stage needs, documents (the proposal),
// the order with its production, supply and shipments once agreed, and the stage history.
import { html, useState, useEffect } from '../lib/html.js';
import { get, post, patch } from '../lib/api.js';
import { useLoad, useAction, may, session, Loading, ErrorBox, Badge, employeeName } from '../lib/ui.js';
import { STAGES, DEPARTMENTS, EQUIPMENT, SUPPLY_STATUS, money, dateTime, date, phone, fieldName } from '../lib/format.js';
import { Refusal, dealTitle, dealTotal } from '../lib/deals.js';

const VAT_PERCENT = 20;

async function openDocument(dealId, documentId) {
  const answer = await get(`/api/deals/${dealId}/documents/${documentId}/url`);
  location.assign(answer.url);
}

/** The lines, editable until the deal is agreed. */
function Items({ deal, editable, onSave, busy }) {
  const [lines, setLines] = useState(deal.items);
  useEffect(() => setLines(deal.items), [deal.version]);
  const set = (i, field, value) => setLines(lines.map((l, n) => (n === i ? { ...l, [field]: value } : l)));
  const total = dealTotal({ items: lines });
  const vat = Math.round((total * VAT_PERCENT) / (100 + VAT_PERCENT));
  const changed = JSON.stringify(lines) !== JSON.stringify(deal.items);
  const blank = { product: '', equipment_type: deal.equipment_type || 'other', quantity: 1, unit_price_kopecks: 0, made_to_order: false, purchase: false };
  return html`<section class="card">
    <h2>Позиции</h2>
    <table class="responsive items">
      <thead><tr><th>Товар</th><th>Артикул</th><th class="num">Кол-во</th><th class="num">Цена, ₽</th><th class="num">Сумма</th>${editable && html`<th></th>`}</tr></thead>
      <tbody>${lines.map((l, i) => html`<tr key=${i}>
        <td data-label="Товар">${editable
          ? html`<input aria-label=${`Товар ${i + 1}`} value=${l.product} onInput=${(e) => set(i, 'product', e.target.value)} />
              <select aria-label=${`Тип ${i + 1}`} value=${l.equipment_type} onChange=${(e) => set(i, 'equipment_type', e.target.value)}>
                ${Object.entries(EQUIPMENT).map(([c, n]) => html`<option value=${c}>${n}</option>`)}</select>
              <label class="check"><input type="checkbox" checked=${l.made_to_order} onChange=${() => set(i, 'made_to_order', !l.made_to_order)} /> под заказ</label>
              <label class="check"><input type="checkbox" checked=${l.purchase} onChange=${() => set(i, 'purchase', !l.purchase)} /> закупка</label>`
          : html`${l.product} <small>${EQUIPMENT[l.equipment_type] || ''}${l.made_to_order ? ' · под заказ' : ''}${l.purchase ? ' · закупка' : ''}</small>`}</td>
        <td data-label="Артикул">${editable ? html`<input aria-label=${`Артикул ${i + 1}`} value=${l.sku || ''} size="10" onInput=${(e) => set(i, 'sku', e.target.value || undefined)} />` : l.sku || '—'}</td>
        <td data-label="Кол-во" class="num">${editable ? html`<input type="number" min="1" aria-label=${`Количество ${i + 1}`} value=${l.quantity} style="width:70px" onInput=${(e) => set(i, 'quantity', Number(e.target.value))} />` : l.quantity}</td>
        <td data-label="Цена" class="num">${editable ? html`<input type="number" min="0" step="0.01" aria-label=${`Цена ${i + 1}`} value=${l.unit_price_kopecks / 100} style="width:110px" onInput=${(e) => set(i, 'unit_price_kopecks', Math.round(Number(e.target.value) * 100))} />` : money(l.unit_price_kopecks)}</td>
        <td data-label="Сумма" class="num">${money(l.quantity * l.unit_price_kopecks)}</td>
        ${editable && html`<td><button class="link danger" aria-label=${`Удалить позицию ${i + 1}`} onClick=${() => setLines(lines.filter((_, n) => n !== i))}>✕</button></td>`}
      </tr>`)}</tbody>
      <tfoot><tr><td colspan="4" class="num"><b>Итого</b><div><small>в т. ч. НДС ${VAT_PERCENT}%</small></div></td><td class="num"><b>${money(total)}</b><div><small>${money(vat)}</small></div></td>${editable && html`<td></td>`}</tr></tfoot>
    </table>
    ${editable && html`<div class="row" style="margin-top:8px">
      <button onClick=${() => setLines([...lines, blank])}>Добавить позицию</button>
      <button class="primary" disabled=${!changed || busy} onClick=${() => onSave({ items: lines })}>Сохранить позиции</button>
    </div>`}
  </section>`;
}

/** What the stages ahead need that people record: invoice number, acts, payment… */
function Progress({ deal, onSave, busy }) {
  const [invoice, setInvoice] = useState(deal.invoice_number || '');
  useEffect(() => setInvoice(deal.invoice_number || ''), [deal.version]);
  const flag = (field, label) => html`<label class="check"><input type="checkbox" checked=${deal[field]} disabled=${busy || !may('change_deals')}
    onChange=${() => onSave({ [field]: !deal[field] })} /> ${label}</label>`;
  return html`<section class="card">
    <h2>Ход сделки</h2>
    <form class="row" onSubmit=${(e) => {
      e.preventDefault();
      onSave({ invoice_number: invoice.trim() });
    }}>
      <label>Номер счёта<input name="invoice_number" value=${invoice} onInput=${(e) => setInvoice(e.target.value)} /></label>
      ${may('change_deals') && html`<button disabled=${busy || !invoice.trim() || invoice === deal.invoice_number}>Сохранить счёт</button>`}
    </form>
    <div>КП отправлено: ${deal.proposal_sent_at ? dateTime(deal.proposal_sent_at) : 'нет'}</div>
    ${deal.order_placed && html`<div>Производство: ${deal.production_required ? (deal.production_ready ? 'готово' : 'в работе') : 'не требуется'} · Отгрузка: ${deal.shipped ? 'отгружено' : 'нет'}</div>`}
    ${flag('acceptance_signed', 'Акт приёмки подписан')}
    ${flag('attestation_done', 'Аттестация пройдена')}
    ${flag('payment_received', 'Оплата получена')}
    ${flag('closing_documents', 'Закрывающие документы (УПД, акт)')}
    <label>Сервис<select value=${deal.service_decision || ''} disabled=${busy || !may('change_deals')} onChange=${(e) => e.target.value && onSave({ service_decision: e.target.value })}>
      <option value="">не решено</option><option value="contract">договор на сервис</option><option value="declined">отказ</option>
    </select></label>
  </section>`;
}

function StageMoves({ deal, next, onMoved }) {
  const [refusal, setRefusal] = useState(null);
  const [reason, setReason] = useState('');
  const action = useAction();
  const move = (to) =>
    action.run(async () => {
      setRefusal(null);
      try {
        await post(`/api/deals/${deal.id}/stage`, { version: deal.version, to, reason: reason.trim() || undefined });
        onMoved();
      } catch (error) {
        if (error.refusal) setRefusal(error.refusal);
        else throw error;
      }
    });
  if (!may('change_deals') || next.length === 0) return null;
  const lacking = next.filter((m) => m.stage !== 'unfit' && m.missing.length > 0);
  return html`<section class="card">
    <h2>Следующий этап</h2>
    <div class="row">${next.map(({ stage: s, missing }) => html`<button class=${s === 'unfit' ? 'danger' : missing.length ? '' : 'primary'} disabled=${action.busy}
      onClick=${() => move(s)}>${s === 'unfit' ? 'Нецелевая' : '→ ' + STAGES[s]}</button>`)}</div>
    ${lacking.length > 0 && html`<ul class="next-needs">${lacking.map((m) => html`<li data-stage=${m.stage}>Для «${STAGES[m.stage]}» нужно: ${m.missing.map(fieldName).join(', ')}</li>`)}</ul>`}
    ${next.some((m) => m.stage === 'unfit') && html`<label>Причина (для «Нецелевая»)<input value=${reason} onInput=${(e) => setReason(e.target.value)} /></label>`}
    ${refusal && html`<${Refusal} refusal=${refusal} deal=${deal} />`}
    <${ErrorBox} error=${action.error} />
  </section>`;
}

function Documents({ deal, onMade, saving }) {
  const action = useAction();
  const make = () =>
    action.run(async () => {
      await post(`/api/deals/${deal.id}/proposal`, { version: deal.version });
      await onMade();
    });
  return html`<section class="card">
    <div class="spread"><h2>Документы</h2>
      ${may('change_deals') && !['closed', 'unfit'].includes(deal.stage) && html`<button class="primary" disabled=${action.busy || saving} onClick=${make}>Сформировать КП</button>`}</div>
    <${ErrorBox} error=${action.error} />
    ${deal.documents.length === 0 ? html`<p class="muted">Документов пока нет.</p>` : html`<ul>
      ${deal.documents.map((d) => html`<li><button class="link" onClick=${() => action.run(() => openDocument(deal.id, d.id))}>${d.filename}</button>
        <small> · ${dateTime(d.created_at)} · ${employeeName(d.created_by)}</small></li>`)}
    </ul>`}
  </section>`;
}

function Order({ book, dealId }) {
  if (!book) return null;
  const order = book.order || book;
  return html`<section class="card">
    <h2>Заказ</h2>
    <table class="responsive">
      <thead><tr><th>Позиция</th><th class="num">Кол-во</th><th>Со склада</th><th>Производство</th><th>Закупка</th><th class="num">Отгружено</th></tr></thead>
      <tbody>${(order.lines || []).map((l) => html`<tr>
        <td data-label="Позиция">${l.product}</td><td data-label="Кол-во" class="num">${l.quantity} ${l.unit}</td>
        <td data-label="Со склада">${l.split.reserve}${(l.reserved || []).length > 0 && html` <small>(${l.reserved.map((r) => `${r.batch_id}: ${r.quantity}`).join(', ')})</small>`}</td>
        <td data-label="Производство">${l.split.produce}</td><td data-label="Закупка">${l.split.purchase}</td>
        <td data-label="Отгружено" class="num">${l.shipped || 0}</td>
      </tr>`)}</tbody>
    </table>
    ${(book.production || []).length > 0 && html`<h3>Производство</h3><ul>${book.production.map((p) => html`<li>${p.product}: ${p.status === 'done' ? 'готово' : p.status === 'in_progress' ? 'в работе' : 'запланировано'}
      <progress max="100" value=${p.readiness}></progress> ${p.readiness}% <small>· обещано ${date(p.promised_date)}</small></li>`)}</ul>`}
    ${(book.supply || []).length > 0 && html`<h3>Закупка</h3><ul>${book.supply.map((s) => html`<li>${s.product} × ${s.quantity}: ${s.supplier || 'поставщик не выбран'} · ${SUPPLY_STATUS[s.status] || s.status} · получено ${s.received}${s.expected_date ? ` · ожидается ${date(s.expected_date)}` : ''}</li>`)}</ul>`}
    ${(book.shipments || []).length > 0 && html`<h3>Отгрузки</h3><ul>${book.shipments.map((s) => html`<li>№ ${s.number} · ${dateTime(s.shipped_at)} · ${s.lines.map((l) => `${l.product} ${l.quantity} (партия ${l.batch_id})`).join('; ')}
      ${s.document && html` · <button class="link" onClick=${() => openDocument(dealId, s.document.id)}>${s.document.filename}</button>`}</li>`)}</ul>`}
  </section>`;
}

/** A head hands the deal to another manager of its department. */
function DealManager({ deal, onDone }) {
  const [open, setOpen] = useState(false);
  const [managerId, setManagerId] = useState('');
  const [reason, setReason] = useState('');
  const action = useAction();
  if (!open) return html`<button class="link" onClick=${() => setOpen(true)}>сменить</button>`;
  const managers = session.employees.filter((e) => e.role === 'manager' && e.active !== false &&
    e.department === deal.department && e.id !== deal.manager_id);
  const save = (e) => {
    e.preventDefault();
    action.run(async () => {
      await post(`/api/deals/${deal.id}/manager`, { manager_id: managerId, version: deal.version, reason: reason.trim() || undefined });
      setOpen(false);
      onDone();
    });
  };
  return html`<form onSubmit=${save} class="card">
    <label>Новый менеджер<select value=${managerId} onChange=${(e) => setManagerId(e.target.value)} required>
      <option value="">—</option>
      ${managers.map((m) => html`<option value=${m.id}>${m.name}</option>`)}
    </select></label>
    <label>Причина<input value=${reason} onInput=${(e) => setReason(e.target.value)} /></label>
    <${ErrorBox} error=${action.error} />
    <div class="row"><button class="primary" disabled=${action.busy || !managerId}>Передать</button><button type="button" onClick=${() => setOpen(false)}>Отмена</button></div>
  </form>`;
}

function History({ dealId }) {
  const { data } = useLoad(may('read_audit') ? `/api/audit/deal/${dealId}` : null);
  const stages = (data?.items || []).filter((e) => e.field === 'stage');
  return html`<section class="card">
    <h2>История этапов</h2>
    <ol>${stages.map((e) => html`<li>${dateTime(e.at)} · ${e.old ? STAGES[e.old] + ' → ' : ''}${STAGES[e.new] || e.new} <small>· ${employeeName(e.actor)}</small></li>`)}</ol>
  </section>`;
}

export default function Deal({ params }) {
  const { data, error, loading, reload } = useLoad(`/api/deals/${params.id}`);
  const action = useAction();
  const [saved, setSaved] = useState(false);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (loading && !data) return html`<${Loading} />`;
  const deal = data.deal;
  const save = (fields) =>
    action.run(async () => {
      setSaved(false);
      try {
        await patch(`/api/deals/${deal.id}`, { version: deal.version, ...fields });
        setSaved(true);
      } finally {
        // Read it again either way: after a conflict the card shows what is there now.
        await reload();
      }
    });
  const beforeAgreement = ['equipment_selection', 'proposal', 'invoice'].includes(deal.stage);
  return html`<div>
    <div class="spread">
      <h1>${dealTitle(deal)} <${Badge} kind="accent">${STAGES[deal.stage]}</${Badge}></h1>
      <div><b>${money(dealTotal(deal))}</b></div>
    </div>
    <p class="muted">
      <a href=${'#/counterparties/' + deal.party_id}>Карточка клиента</a>
      ${` · ${DEPARTMENTS[deal.department]} · менеджер ${employeeName(deal.manager_id)} `}
      ${may('route_inquiries') && !['closed', 'unfit'].includes(deal.stage) && html`<${DealManager} key=${deal.version} deal=${deal} onDone=${reload} />`}
      ${` · создана ${dateTime(deal.created_at)}`}
      ${deal.unfit_reason ? ' · причина: ' + deal.unfit_reason : ''}
    </p>
    <${ErrorBox} error=${action.error} />
    ${saved && !action.busy && html`<div class="notice" role="status">Сохранено</div>`}
    <div class="grid">
      <div>
        <${StageMoves} deal=${deal} next=${data.next || []} onMoved=${reload} />
        <${Progress} deal=${deal} onSave=${save} busy=${action.busy} />
        <section class="card"><h2>Клиент</h2><dl class="fields">
          <dt>Юрлицо</dt><dd>${deal.legal_entity.name || '—'}</dd>
          <dt>ИНН / КПП</dt><dd>${deal.legal_entity.inn || '—'} / ${deal.legal_entity.kpp || '—'}</dd>
          <dt>Адрес</dt><dd>${deal.legal_entity.address || '—'}</dd>
          <dt>Контакт</dt><dd>${deal.contact.name} ${deal.contact.phone ? phone(deal.contact.phone) : ''} ${deal.contact.email || ''}</dd>
          <dt>Потребности</dt><dd>${deal.needs.join('; ') || '—'}</dd>
        </dl></section>
        <${History} dealId=${deal.id} />
      </div>
      <div>
        <${Items} deal=${deal} editable=${beforeAgreement && may('change_deals')} onSave=${save} busy=${action.busy} />
        <${Documents} deal=${deal} onMade=${reload} saving=${action.busy} />
        <${Order} book=${data.order} dealId=${deal.id} />
      </div>
    </div>
  </div>`;
}
