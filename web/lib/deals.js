// What the deals board and the deal card both show: a deal's title and total, and a
// refused stage move in words.
import { html } from './html.js';
import { STAGES, fieldName } from './format.js';

export function dealTotal(deal) {
  return (deal.items || []).reduce((sum, i) => sum + i.quantity * i.unit_price_kopecks, 0);
}

export function dealTitle(deal) {
  return deal.legal_entity?.name || deal.contact?.name || 'Сделка ' + deal.id.slice(-6);
}

/** A refused stage move in words. */
export function Refusal({ refusal, deal, onClose }) {
  const to = STAGES[refusal.to] || refusal.to;
  return html`<div class="error refusal" role="alert">
    <b>Нельзя перевести «${dealTitle(deal)}» в «${to}».</b>
    ${refusal.code === 'not_allowed'
      ? html`<div>Из «${STAGES[refusal.from]}» можно перейти только в: ${refusal.allowed.map((s) => STAGES[s] || s).join(', ')}.</div>`
      : html`<div>Сначала заполните: ${refusal.missing.map(fieldName).join(', ')}.</div>`}
    <div class="row"><a href=${'#/deals/' + deal.id}>Открыть сделку</a>${onClose && html`<button class="link" onClick=${onClose}>Скрыть</button>`}</div>
  </div>`;
}
