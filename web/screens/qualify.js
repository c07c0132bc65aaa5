// Qualification of an inquiry by its manager: open a deal (needs, requisites with the INN
// checked as it is typed, contact) or mark it "not a lead" with a reason.
import { html, useState } from '../lib/html.js';
import { post } from '../lib/api.js';
import { useLoad, useAction, session, Loading, ErrorBox, navigate } from '../lib/ui.js';
import { CHANNELS, EQUIPMENT, phone, dateTime, innValid, fieldName } from '../lib/format.js';

function Field({ label, name, value, onInput, ...rest }) {
  return html`<label>${label}<input name=${name} value=${value} onInput=${(e) => onInput(e.target.value)} ...${rest} /></label>`;
}

function InnField({ value, onInput }) {
  const digits = value.replace(/\s/g, '');
  const state = digits.length === 0 ? '' : innValid(digits) ? 'valid' : digits.length >= 10 ? 'invalid' : '';
  return html`<label>ИНН
    <input name="inn" inputmode="numeric" maxlength="12" value=${value} class=${state} aria-describedby="inn-state"
      onInput=${(e) => onInput(e.target.value.replace(/[^\d]/g, ''))} />
    <small id="inn-state">${state === 'valid' ? (digits.length === 10 ? '✓ ИНН организации верен' : '✓ ИНН ИП верен') : state === 'invalid' ? '✕ Неверная контрольная сумма ИНН' : '10 цифр — организация, 12 — ИП'}</small>
  </label>`;
}

function DealForm({ inquiry }) {
  const c = inquiry.contact || {};
  const [f, setF] = useState({
    needs: '', name: c.company || '', inn: '', kpp: '', address: '', bank_name: '', bik: '', account: '', correspondent_account: '',
    contact_name: c.name || '', contact_phone: c.phone?.e164 || '', contact_email: c.email || '', application_area: '', equipment_type: '',
  });
  const set = (k) => (v) => setF({ ...f, [k]: v });
  const action = useAction();
  const submit = (e) => {
    e.preventDefault();
    action.run(async () => {
      const deal = await post(`/api/inquiries/${inquiry.id}/qualify`, {
        outcome: 'deal',
        version: inquiry.version,
        deal: {
          needs: f.needs.split('\n').map((s) => s.trim()).filter(Boolean),
          legal_entity: {
            name: f.name.trim(), inn: f.inn, kpp: f.kpp || null, address: f.address.trim(),
            bank: { bank_name: f.bank_name.trim(), bik: f.bik.trim(), account: f.account.trim(), correspondent_account: f.correspondent_account.trim() },
          },
          contact: { name: f.contact_name.trim(), phone: f.contact_phone.trim() || null, email: f.contact_email.trim() || null },
          application_area: f.application_area.trim() || null,
          equipment_type: f.equipment_type || null,
        },
      });
      // A client handed on since routing: the deal is its new manager's.
      navigate(deal.manager_id === session.me.id || session.me.role !== 'manager'
        ? '#/deals/' + deal.id
        : '#/counterparties/' + deal.party_id);
    });
  };
  const fields = action.error?.fields;
  const missing = Array.isArray(fields) ? fields : fields ? Object.keys(fields) : [];
  return html`<form onSubmit=${submit} class="qualify">
    <div class="grid-2">
      <section class="card">
        <h2>Что нужно клиенту</h2>
        <label>Потребности (по одной в строке)<textarea name="needs" value=${f.needs} onInput=${(e) => set('needs')(e.target.value)} required></textarea></label>
        <label>Тип оборудования<select name="equipment_type" value=${f.equipment_type} onChange=${(e) => set('equipment_type')(e.target.value)}>
          <option value="">—</option>${Object.entries(EQUIPMENT).map(([k, n]) => html`<option value=${k}>${n}</option>`)}</select></label>
        <${Field} label="Область применения" name="application_area" value=${f.application_area} onInput=${set('application_area')} />
        <h2>Контактное лицо</h2>
        <${Field} label="Имя" name="contact_name" value=${f.contact_name} onInput=${set('contact_name')} required />
        <${Field} label="Телефон" name="contact_phone" value=${f.contact_phone} onInput=${set('contact_phone')} placeholder="+7 912 345-67-89" />
        <${Field} label="Email" name="contact_email" type="email" value=${f.contact_email} onInput=${set('contact_email')} />
      </section>
      <section class="card">
        <h2>Покупатель</h2>
        <${Field} label="Название юрлица" name="legal_name" value=${f.name} onInput=${set('name')} required />
        <div class="grid-2"><${InnField} value=${f.inn} onInput=${set('inn')} />
          ${f.inn.length !== 12 && html`<${Field} label="КПП" name="kpp" value=${f.kpp} onInput=${set('kpp')} inputmode="numeric" maxlength="9" />`}</div>
        <${Field} label="Юридический адрес" name="address" value=${f.address} onInput=${set('address')} required />
        <${Field} label="Банк" name="bank_name" value=${f.bank_name} onInput=${set('bank_name')} required />
        <div class="grid-2"><${Field} label="БИК" name="bik" value=${f.bik} onInput=${set('bik')} inputmode="numeric" maxlength="9" required />
          <${Field} label="Корр. счёт" name="correspondent_account" value=${f.correspondent_account} onInput=${set('correspondent_account')} inputmode="numeric" maxlength="20" required /></div>
        <${Field} label="Расчётный счёт" name="account" value=${f.account} onInput=${set('account')} inputmode="numeric" maxlength="20" required />
      </section>
    </div>
    ${missing.length > 0 && html`<div class="error">Проверьте: ${missing.map(fieldName).join(', ')}</div>`}
    <${ErrorBox} error=${missing.length ? null : action.error} />
    <button class="primary" disabled=${action.busy}>Создать сделку</button>
  </form>`;
}

function NotALeadForm({ inquiry }) {
  const [reason, setReason] = useState('spam');
  const [comment, setComment] = useState('');
  const action = useAction();
  const submit = (e) => {
    e.preventDefault();
    action.run(async () => {
      await post(`/api/inquiries/${inquiry.id}/qualify`, { outcome: 'not_a_lead', reason, comment: comment.trim() || undefined, version: inquiry.version });
      navigate('#/inbox');
    });
  };
  return html`<form onSubmit=${submit} class="card">
    <label>Причина<select value=${reason} onChange=${(e) => setReason(e.target.value)}>
      <option value="spam">Спам</option><option value="mistake">Ошиблись адресом / номером</option><option value="no_interest">Нет интереса</option>
    </select></label>
    <label>Комментарий<input value=${comment} onInput=${(e) => setComment(e.target.value)} /></label>
    <${ErrorBox} error=${action.error} />
    <button class="primary" disabled=${action.busy}>Не лид</button>
  </form>`;
}

export default function Qualify({ params }) {
  const { data: inquiry, error, loading } = useLoad(`/api/inquiries/${encodeURIComponent(params.id)}`);
  const [outcome, setOutcome] = useState('deal');
  if (error && error.status !== 404 && error.status !== 403) return html`<${ErrorBox} error=${error} />`;
  if (loading && !inquiry) return html`<${Loading} />`;
  if (!inquiry || inquiry.status !== 'routed') return html`<p>Обращение уже обработано или передано другому менеджеру. <a href="#/inbox">К входящим</a></p>`;
  const c = inquiry.contact || {};
  return html`<div>
    <h1>Квалификация обращения</h1>
    <section class="card">
      <div class="spread"><b>${CHANNELS[inquiry.kind] || inquiry.kind} · ${dateTime(inquiry.received_at)}</b>
        <a href=${'#/counterparties/' + inquiry.counterparty_id}>Карточка клиента</a></div>
      <div>${c.name || ''} ${c.company ? '· ' + c.company : ''} ${c.phone?.e164 ? '· ' + phone(c.phone.e164) : ''} ${c.email ? '· ' + c.email : ''}</div>
      ${inquiry.subject && html`<div><b>${inquiry.subject}</b></div>`}
      ${inquiry.text && html`<div class="body" style="white-space:pre-wrap">${inquiry.text}</div>`}
    </section>
    <div class="row" role="radiogroup" aria-label="Итог">
      <label class="check"><input type="radio" name="outcome" checked=${outcome === 'deal'} onChange=${() => setOutcome('deal')} /> Сделка</label>
      <label class="check"><input type="radio" name="outcome" checked=${outcome === 'not_a_lead'} onChange=${() => setOutcome('not_a_lead')} /> Не лид</label>
    </div>
    ${outcome === 'deal' ? html`<${DealForm} inquiry=${inquiry} />` : html`<${NotALeadForm} inquiry=${inquiry} />`}
  </div>`;
}
