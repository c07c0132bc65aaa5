// The deals board: one column per stage. Drag a card to another column to move the deal
// (on a phone: the card's "Перевести в…" list); a refused move says what is missing, in
// words, with a link to the deal card to fill it.
import { html, useState, useMemo } from '../lib/html.js';
import { post } from '../lib/api.js';
import { useLoad, useAction, may, session, Loading, ErrorBox, employeeName } from '../lib/ui.js';
import { STAGES, DEPARTMENTS, money, date } from '../lib/format.js';
import { Refusal, dealTitle, dealTotal } from '../lib/deals.js';

const COLUMNS = ['equipment_selection', 'proposal', 'invoice', 'agreed', 'production', 'warehouse_sale', 'installation', 'attestation', 'service', 'closed', 'unfit'];

function Card({ deal, onMove, busy }) {
  return html`<div class="deal-card" draggable=${may('change_deals')} data-deal=${deal.id}
      onDragStart=${(e) => {
        e.dataTransfer.setData('text/plain', deal.id);
        e.dataTransfer.effectAllowed = 'move';
      }}>
    <a href=${'#/deals/' + deal.id}><b>${dealTitle(deal)}</b></a>
    <div class="sum">${money(dealTotal(deal))}</div>
    <small>${employeeName(deal.manager_id)} · ${date(deal.updated_at)}</small>
    ${may('change_deals') && html`<select aria-label="Перевести в…" disabled=${busy}
        onChange=${(e) => e.target.value && onMove(deal, e.target.value)}>
      <option value="">Перевести в…</option>
      ${COLUMNS.filter((s) => s !== deal.stage).map((s) => html`<option value=${s}>${STAGES[s]}</option>`)}
    </select>`}
  </div>`;
}

export default function Board() {
  const me = session.me;
  const [department, setDepartment] = useState(me.department || 'high');
  const path = me.role === 'manager' ? '/api/deals?limit=500' : `/api/deals?limit=500&department=${department}`;
  // Every deal of the scope, 500 a page, up to 20 pages: a deal nobody touched for long
  // stays on the board.
  const { data, error, loading, reload } = useLoad(path, { pages: 20 });
  const [over, setOver] = useState(null);
  const [refused, setRefused] = useState(null);
  const [showClosed, setShowClosed] = useState(false);
  const action = useAction();
  const byStage = useMemo(() => {
    const map = Object.fromEntries(COLUMNS.map((s) => [s, []]));
    for (const d of data?.items || []) map[d.stage]?.push(d);
    return map;
  }, [data]);

  const move = async (deal, to) => {
    setRefused(null);
    action.setError(null);
    try {
      await post(`/api/deals/${deal.id}/stage`, { version: deal.version, to });
      reload();
    } catch (error) {
      if (error.refusal) setRefused({ refusal: error.refusal, deal });
      else action.setError(error);
      reload();
    }
  };
  const drop = (stage) => (e) => {
    e.preventDefault();
    setOver(null);
    const deal = (data?.items || []).find((d) => d.id === e.dataTransfer.getData('text/plain'));
    if (deal && deal.stage !== stage) move(deal, stage);
  };
  const columns = showClosed ? COLUMNS : COLUMNS.filter((s) => s !== 'closed' && s !== 'unfit');
  const total = (data?.items || []).filter((d) => d.stage !== 'closed' && d.stage !== 'unfit').reduce((s, d) => s + dealTotal(d), 0);

  return html`<section>
    <div class="spread">
      <h1>Сделки <small>в работе на ${money(total)}</small></h1>
      <div class="row">
        ${me.role !== 'manager' && !me.department && html`<select aria-label="Отдел" value=${department} onChange=${(e) => setDepartment(e.target.value)}>
          ${Object.entries(DEPARTMENTS).map(([code, name]) => html`<option value=${code}>${name}</option>`)}
        </select>`}
        <label class="check"><input type="checkbox" checked=${showClosed} onChange=${() => setShowClosed(!showClosed)} /> закрытые</label>
        <button onClick=${reload}>Обновить</button>
      </div>
    </div>
    ${refused && html`<${Refusal} refusal=${refused.refusal} deal=${refused.deal} onClose=${() => setRefused(null)} />`}
    <${ErrorBox} error=${error || action.error} />
    ${data?.next_cursor && html`<p class="muted">Показаны ${data.items.length} последних изменённых сделок.</p>`}
    ${loading && !data ? html`<${Loading} />` : html`<div class="board">
      ${columns.map((stage) => html`<div class=${'column' + (over === stage ? ' over' : '')} data-stage=${stage}
          onDragOver=${(e) => {
            e.preventDefault();
            if (over !== stage) setOver(stage);
          }}
          onDragLeave=${() => setOver(null)}
          onDrop=${drop(stage)}>
        <h3><span>${STAGES[stage]}</span><span class="badge">${byStage[stage].length}</span></h3>
        ${byStage[stage].map((d) => html`<${Card} key=${d.id} deal=${d} onMove=${move} busy=${action.busy} />`)}
      </div>`)}
    </div>`}
  </section>`;
}
