// Склад: остатки товара по партиям, сроки годности, приёмка по скану, заказы покупателей
// (лист подбора, отгрузка по скану, закупка под заказ) и кому ушла партия.
// Вкладка и открытый товар или заказ — в адресе: #/warehouse?tab=orders&order=ID.
import { html, useState, useEffect, useRef } from '../lib/html.js';
import { get, post, patch, query } from '../lib/api.js';
import { useLoad, useAction, may, employeeName, navigate, ErrorBox, Loading, Badge } from '../lib/ui.js';
import { dateTime, date, money, STAGES, DEPARTMENTS, TIME_ZONE, PRODUCTION_STATUS as PRODUCTION } from '../lib/format.js';

const TABS = [
  ['stock', 'Остатки', 'read_stock'], ['expiring', 'Сроки годности', 'read_stock'], ['receive', 'Приёмка', 'receive_stock'],
  ['orders', 'Заказы и отгрузка', 'read_orders'], ['recipients', 'Получатели партии', 'read_orders'],
];
const SUPPLY = { draft: ['черновик', ''], ordered: ['заказан', 'accent'], received: ['получен', 'ok'] };
const CODES = {
  missing_data: 'Проверьте данные', conflict: 'Данные изменились или конфликтуют', not_found: 'Не найдено',
  forbidden: 'Нет прав', unavailable: 'Сервис недоступен, повторите позже', bad_request: 'Неверный запрос',
};
const FIELDS = { scan: 'Скан', quantity: 'Количество', scans: 'Сканы', supplier: 'Поставщик', status: 'Статус', shipment_id: 'Номер отгрузки' };

/** What the API says of a scan, in Russian. */
const SAID = [
  [/^no product has barcode (\S+)/, 'Нет товара со штрихкодом $1'],
  [/^the label has no batch/, 'На этикетке нет партии (10), а товар учитывается по партиям'],
  [/^the label has no expiry/, 'На этикетке нет срока годности (17), а товар учитывается со сроком'],
  [/^the goods expired on (\S+)/, 'Срок годности истёк $1'],
  [/^the label is of (\S+), the supplier order is for (\S+)/, 'Этикетка товара $1, а заказ поставщику — на $2'],
  [/^the check digit of (\S+) is wrong/, 'Неверная контрольная цифра штрихкода $1'],
  [/is not a GTIN|names no product|is not one this warehouse reads|missing or malformed|empty or longer/, 'Скан не читается как штрихкод или этикетка GS1'],
  [/^the quantity must be|more units are expected at most/, 'Количество вне допустимого'],
];

/** The API's error with a Russian lead, its `fields` (a list of paths) named in words. */
function explain(e) {
  if (!e) return null;
  const said = SAID.map(([re, ru]) => [re.exec(e.message), ru]).find(([m]) => m);
  const lead = said ? said[1].replace(/\$(\d)/g, (_, i) => said[0][i]) : CODES[e.code];
  const fields = Array.isArray(e.fields) ? Object.fromEntries(e.fields.map((f) => [FIELDS[f] || f, 'исправьте'])) : e.fields;
  return { message: lead && !/[а-яё]/i.test(e.message) ? `${lead} (${e.message})` : e.message, fields };
}
const Err = ({ error }) => html`<${ErrorBox} error=${explain(error)} />`;
const uuid = () => crypto.randomUUID?.() || [...crypto.getRandomValues(new Uint8Array(16))].map((x) => x.toString(16).padStart(2, '0')).join('');
const today = () => new Intl.DateTimeFormat('en-CA', { timeZone: TIME_ZONE }).format(new Date());
const daysLeft = (day) => Math.round((Date.parse(day) - Date.parse(today())) / 86400000);
const go = (params) => navigate('#/warehouse' + query(params));

/** The GTIN in a scanned GS1 string (`01…`, `(01)…`), for the product search; else the text. */
function gtinOf(text) {
  const t = text.trim().replace(/^\](C1|d2|Q3|e0)/, '');
  const m = /^\(?01\)?(\d{14})/.exec(t);
  return m && t.length >= 16 ? m[1] : t;
}

/** How fresh a batch is: a badge for expired or nearly expired goods. */
function Expiry({ day }) {
  if (!day) return html`<span class="muted">без срока</span>`;
  const left = daysLeft(day);
  const kind = left < 0 ? 'danger' : left <= 7 ? 'warn' : '';
  const words = left < 0 ? 'просрочено' : left === 0 ? 'истекает сегодня' : `осталось ${left} дн.`;
  return html`${date(day)} ${kind ? html`<${Badge} kind=${kind}>${words}</${Badge}>` : html`<small>${words}</small>`}`;
}

/** Stock rows: batches with what is on hand, reserved and free. */
function Batches({ items, withSku }) {
  return html`<table class="responsive"><thead><tr>${withSku && html`<th>Артикул</th>`}<th>Партия</th><th>Годен до</th>
    <th>Принята</th><th class="num">На складе</th><th class="num">В резерве</th><th class="num">Свободно</th><th></th></tr></thead>
    <tbody>${items.map((b) => html`<tr key=${b.sku + b.batch_id} class=${b.expiry && daysLeft(b.expiry) < 0 ? 'missed' : ''}>
      ${withSku && html`<td data-label="Артикул"><button class="link" onClick=${() => go({ tab: 'stock', sku: b.sku })}>${b.sku}</button></td>`}
      <td data-label="Партия">${b.batch_id}</td>
      <td data-label="Годен до"><${Expiry} day=${b.expiry} /></td>
      <td data-label="Принята">${dateTime(b.received_at)}</td>
      <td data-label="На складе" class="num">${b.on_hand}</td>
      <td data-label="В резерве" class="num">${b.reserved}</td>
      <td data-label="Свободно" class="num"><b>${b.free}</b></td>
      <td data-label="">${may('read_orders') && html`<button class="link" onClick=${() => go({ tab: 'recipients', sku: b.sku, batch: b.batch_id })}
        aria-label=${'Кому ушла партия ' + b.batch_id}>Получатели</button>`}</td>
    </tr>`)}</tbody></table>`;
}

function Stock({ sku }) {
  const [q, setQ] = useState('');
  const [found, setFound] = useState(null);
  const search = useAction();
  const product = useLoad(sku ? `/api/products/${encodeURIComponent(sku)}` : null);
  const stock = useLoad(sku ? `/api/warehouse/stock${query({ sku })}` : null);
  const submit = async (e) => {
    e.preventDefault();
    const answer = await search.run(() => get('/api/products' + query({ q: gtinOf(q), limit: 20 })));
    if (!answer) return;
    setFound(answer.items);
    if (answer.items.length === 1) go({ tab: 'stock', sku: answer.items[0].sku });
  };
  const p = product.data;
  const items = (stock.data?.items || []).filter((b) => b.on_hand > 0);
  const sum = (k) => items.reduce((s, b) => s + b[k], 0);
  return html`<div>
    <form class="toolbar" onSubmit=${submit} role="search">
      <input class="grow" value=${q} onInput=${(e) => setQ(e.target.value)} required aria-label="Товар: артикул, штрихкод или название"
        placeholder="Артикул, штрихкод (можно сканером) или начало названия" />
      <button type="submit" disabled=${search.busy}>Найти товар</button>
    </form>
    <${Err} error=${search.error} />
    ${found && found.length === 0 && html`<p class="muted">Ничего не найдено.</p>`}
    ${found && found.length > 1 && html`<ul>${found.map((x) => html`<li key=${x.sku}>
      <button class="link" onClick=${() => go({ tab: 'stock', sku: x.sku })}>${x.name}</button> <small>${x.sku}</small></li>`)}</ul>`}
    ${sku && html`<div class="card">
      <h2>${p ? p.name : sku} <small>${sku}${p ? ', ' + p.unit : ''}</small></h2>
      ${p && html`<p><small>${p.kind === 'own_production' ? 'собственное производство' : 'закупаемый'}${p.tracks_batches ? '; учёт по партиям' : ''}${p.tracks_expiry ? '; со сроком годности' : ''}</small></p>`}
      <${Err} error=${stock.error || product.error} />
      ${!stock.data && !stock.error && html`<${Loading} />`}
      ${stock.data && (items.length === 0 ? html`<p class="muted">На складе нет.</p>` : html`
        <p>Всего на складе: <b>${sum('on_hand')}</b>, в резерве: ${sum('reserved')}, свободно: <b>${sum('free')}</b></p>
        <${Batches} items=${items} />`)}
    </div>`}
  </div>`;
}

function Expiring({ days }) {
  const [value, setValue] = useState(days);
  const { data, error } = useLoad(`/api/warehouse/expiring${query({ days })}`);
  return html`<div>
    <form class="toolbar" onSubmit=${(e) => { e.preventDefault(); go({ tab: 'expiring', days: value }); }}>
      <label>Истекают в ближайшие, дней<input type="number" min="0" max="3650" value=${value} onInput=${(e) => setValue(e.target.value)} /></label>
      <button type="submit">Показать</button>
    </form>
    <${Err} error=${error} />
    ${!data && !error ? html`<${Loading} />` : data && (data.items.every((b) => !b.on_hand)
      ? html`<p class="muted">Партий с таким сроком нет.</p>` : html`<${Batches} items=${data.items.filter((b) => b.on_hand > 0)} withSku />`)}
  </div>`;
}

function Receive() {
  const [scan, setScan] = useState('');
  const [quantity, setQuantity] = useState('');
  const [log, setLog] = useState([]);
  const receive = useAction();
  const input = useRef(null);
  useEffect(() => input.current?.focus(), []);
  const submit = async (e) => {
    e.preventDefault();
    const text = scan;
    if (!text.trim()) return;
    const got = await receive.run(() => post('/api/warehouse/receipts', { scan: text, quantity: quantity ? Number(quantity) : undefined }));
    if (got) {
      setLog([{ ...got, at: new Date().toISOString() }, ...log]);
      setScan('');
      setQuantity('');
    }
    input.current?.select();
  };
  return html`<div class="card">
    <h2>Приёмка товара по скану</h2>
    <form onSubmit=${submit}>
      <label>Скан этикетки (штрихкод или GS1 с партией и сроком; Enter — принять)
        <input ref=${input} value=${scan} onInput=${(e) => setScan(e.target.value)} autocomplete="off" /></label>
      <label>Количество (если на этикетке нет)
        <input type="number" min="1" max="100000" value=${quantity} onInput=${(e) => setQuantity(e.target.value)} /></label>
      <button class="primary" type="submit" disabled=${receive.busy}>Принять</button>
    </form>
    <${Err} error=${receive.error} />
    ${log.length > 0 && html`<h3>Принято за сеанс</h3><table class="responsive">
      <thead><tr><th>Время</th><th>Артикул</th><th>Партия</th><th>Годен до</th><th class="num">Кол-во</th></tr></thead>
      <tbody>${log.map((r, i) => html`<tr key=${i}>
        <td data-label="Время">${dateTime(r.at)}</td><td data-label="Артикул">${r.sku}</td><td data-label="Партия">${r.batch_id}</td>
        <td data-label="Годен до">${r.expiry ? date(r.expiry) : '—'}</td><td data-label="Кол-во" class="num">${r.received}</td>
      </tr>`)}</tbody></table>`}
  </div>`;
}

/** A refused scan (`wrong_scan`) in words, with what the picking list still expects. */
function Refusal({ r }) {
  const what = {
    wrong_goods: `«${r.scan}» нет в листе подбора этого заказа.`,
    already_picked: `Партия «${r.scan}» уже подобрана полностью.`,
    no_batch: `На скане «${r.scan}» нет партии (10), а этот товар отгружается по партиям — сканируйте этикетку с партией.`,
    too_many: `По скану «${r.scan}» ${r.scanned} шт., а осталось отгрузить только ${r.left}.`,
    nothing: 'Нет ни одного скана.',
    too_large: 'В одной отгрузке не больше 25 партий — отгрузите частями.',
  }[r.code] || r.code;
  return html`<div class="error" role="alert"><b>Неверный скан.</b> ${what}
    ${r.expected?.length > 0 && html`<div>Ожидается:</div><ul>${r.expected.map((p) => html`
      <li>${p.product} (${p.article}), партия ${p.batch_id} — ${p.quantity} шт.</li>`)}</ul>`}</div>`;
}

function Ship({ id, picking, onShipped }) {
  const [scan, setScan] = useState('');
  const [quantity, setQuantity] = useState('');
  const [scans, setScans] = useState([]);
  const [lines, setLines] = useState([]);
  const [refusal, setRefusal] = useState(null);
  const [shipmentId, setShipmentId] = useState(uuid);
  const check = useAction();
  const ship = useAction();
  const input = useRef(null);
  const verify = async (next) => {
    setRefusal(null);
    if (next.length === 0) {
      setScans([]);
      setLines([]);
      return;
    }
    const answer = await check.run(() => post(`/api/orders/${id}/shipments/check`, { shipment_id: shipmentId, scans: next }).catch((e) => {
      if (e.code === 'wrong_scan') return { refusal: e.refusal };
      throw e;
    }));
    if (answer?.refusal) setRefusal(answer.refusal);
    else if (answer) {
      setScans(next);
      setLines(answer.lines);
      setScan('');
      setQuantity('');
    }
    input.current?.select();
  };
  const add = (e) => {
    e.preventDefault();
    if (scan.trim()) verify([...scans, { scan: scan.trim(), quantity: quantity ? Number(quantity) : undefined }]);
  };
  const send = async () => {
    const answer = await ship.run(() => post(`/api/orders/${id}/shipments`, { shipment_id: shipmentId, scans }));
    if (!answer) return;
    setScans([]);
    setLines([]);
    setShipmentId(uuid());
    onShipped(answer);
  };
  const planned = (p) => lines.filter((l) => l.line === p.line && l.batch_id === p.batch_id).reduce((s, l) => s + l.quantity, 0);
  return html`<div>
    <h3>Лист подбора</h3>
    ${picking.length === 0 ? html`<p class="muted">Сейчас отгружать нечего: зарезервированного товара нет.</p>` : html`
      <table class="responsive"><thead><tr><th>Поз.</th><th>Товар</th><th>Артикул</th><th>Партия</th><th class="num">Ждёт отгрузки</th>
        <th class="num">В этой отгрузке</th></tr></thead>
      <tbody>${picking.map((p) => html`<tr key=${p.line + p.batch_id}>
        <td data-label="Поз.">${p.line}</td><td data-label="Товар">${p.product}</td><td data-label="Артикул">${p.article}</td>
        <td data-label="Партия">${p.batch_id}</td><td data-label="Ждёт отгрузки" class="num">${p.quantity}</td>
        <td data-label="В этой отгрузке" class="num">${planned(p) || '—'}</td></tr>`)}</tbody></table>`}
    ${may('ship_orders') && picking.length > 0 && html`
      <form class="toolbar" onSubmit=${add} style="margin-top:8px">
        <input ref=${input} class="grow" value=${scan} onInput=${(e) => setScan(e.target.value)} autocomplete="off"
          aria-label="Скан товара или этикетки партии" placeholder="Скан товара или этикетки партии (Enter)" />
        <input type="number" min="1" max="100000" style="width:90px" value=${quantity} onInput=${(e) => setQuantity(e.target.value)}
          aria-label="Количество по скану" placeholder="Кол-во" />
        <button type="submit" disabled=${check.busy}>Добавить скан</button>
      </form>
      ${refusal && html`<${Refusal} r=${refusal} />`}
      <${Err} error=${check.error || ship.error} />
      ${scans.length > 0 && html`<ul>${scans.map((s, i) => html`<li key=${i}>${s.scan}${s.quantity ? ` × ${s.quantity}` : ''}${' '}
        <button class="link" onClick=${() => verify(scans.filter((_, j) => j !== i))} aria-label=${'Убрать скан ' + s.scan}>убрать</button></li>`)}</ul>
        <button class="primary" onClick=${send} disabled=${ship.busy || check.busy}>
          Отгрузить (${lines.reduce((s, l) => s + l.quantity, 0)} шт.)</button>`}`}
  </div>`;
}

function DocumentLink({ deal, doc }) {
  const [url, setUrl] = useState(null);
  const load = useAction();
  if (!may('read_documents')) return doc.filename;
  if (url) return html`<a href=${url} download=${doc.filename}>${doc.filename}</a>`;
  const open = async () => setUrl((await load.run(() => get(`/api/deals/${deal}/documents/${doc.id}/url`)))?.url || null);
  return html`<button class="link" onClick=${open} disabled=${load.busy}>Накладная ${doc.filename}</button>
    ${load.error && html`<small class="muted"> ${explain(load.error).message}</small>`}`;
}

function SupplyRow({ id, s, onChanged }) {
  const [mode, setMode] = useState(null); // 'edit' | 'receive'
  const [f, setF] = useState({ status: s.status, supplier: s.supplier || '', expected_date: s.expected_date || '', scan: '', quantity: '' });
  const act = useAction();
  const set = (k) => (e) => setF({ ...f, [k]: e.target.value });
  const save = async (e) => {
    e.preventDefault();
    const answer = await act.run(() => (mode === 'edit'
      ? patch(`/api/orders/${id}/supply/${s.line}`, { version: s.version, status: f.status, supplier: f.supplier.trim() || undefined, expected_date: f.expected_date || undefined })
      : post(`/api/orders/${id}/supply/${s.line}/receipts`, { version: s.version, scan: s.catalogued ? f.scan : undefined, quantity: f.quantity ? Number(f.quantity) : undefined })));
    if (answer) onChanged(answer);
  };
  const [label, kind] = SUPPLY[s.status] || [s.status, ''];
  const open = s.status !== 'received';
  return html`<tr>
    <td data-label="Поз.">${s.line}</td><td data-label="Товар">${s.product}<div><small>${s.article}</small></div></td>
    <td data-label="Поставщик">${s.supplier || '—'}</td><td data-label="Статус"><${Badge} kind=${kind}>${label}</${Badge}></td>
    <td data-label="Ожидается">${s.expected_date ? date(s.expected_date) : '—'}</td>
    <td data-label="Получено" class="num">${s.received} из ${s.quantity} ${s.unit}</td>
    <td data-label="">
      ${open && may('manage_supply') && html`<button class="link" onClick=${() => setMode(mode === 'edit' ? null : 'edit')}
        aria-label=${'Изменить заказ поставщику, позиция ' + s.line}>Изменить</button> `}
      ${open && may('receive_stock') && html`<button class="link" onClick=${() => setMode(mode === 'receive' ? null : 'receive')}
        aria-label=${'Принять товар по заказу поставщику, позиция ' + s.line}>Принять</button>`}
      ${mode && html`<form onSubmit=${save} style="margin-top:6px">
        ${mode === 'edit' ? html`
          <label>Статус<select value=${f.status} onChange=${set('status')}>
            ${s.received === 0 && html`<option value="draft">черновик</option>`}<option value="ordered">заказан</option></select></label>
          <label>Поставщик<input maxlength="200" value=${f.supplier} onInput=${set('supplier')} /></label>
          <label>Ожидается<input type="date" value=${f.expected_date} onInput=${set('expected_date')} /></label>` : html`
          ${s.catalogued && html`<label>Скан этикетки<input required autocomplete="off" value=${f.scan} onInput=${set('scan')} /></label>`}
          <label>Количество (пусто — всё оставшееся: ${s.quantity - s.received})
            <input type="number" min="1" max=${s.quantity - s.received} value=${f.quantity} onInput=${set('quantity')} /></label>`}
        <${Err} error=${act.error} />
        <button class="primary" type="submit" disabled=${act.busy}>${mode === 'edit' ? 'Сохранить заказ поставщику' : 'Принять товар'}</button>
      </form>`}
    </td></tr>`;
}

function PartyName({ id }) {
  const { data } = useLoad(may('read_counterparty') ? `/api/counterparties/${id}` : null);
  return data ? data.name + (data.company && data.company !== data.name ? `, ${data.company}` : '') : id;
}

function Order({ id }) {
  const { data, error, reload } = useLoad(`/api/orders/${encodeURIComponent(id)}`);
  const [shipped, setShipped] = useState(null);
  if (error) return html`<${Err} error=${error} />`;
  if (!data) return html`<${Loading} />`;
  const { deal, order } = data;
  return html`<div class="card">
    <h2>Заказ по сделке <small>${deal.id}</small></h2>
    <dl class="fields">
      <dt>Клиент</dt><dd><${PartyName} id=${order.party_id} /></dd>
      <dt>Стадия</dt><dd>${STAGES[deal.stage] || deal.stage}; ${DEPARTMENTS[order.department] || order.department}; менеджер ${employeeName(order.manager_id)}</dd>
      <dt>Состояние</dt><dd class="row">
        ${deal.production_required && (deal.production_ready ? html`<${Badge} kind="ok">производство готово</${Badge}>` : html`<${Badge} kind="warn">ждём производство</${Badge}>`)}
        ${deal.shipped ? html`<${Badge} kind="ok">отгружен полностью</${Badge}>` : html`<${Badge}>не отгружен</${Badge}>`}</dd>
    </dl>
    <h3>Позиции</h3>
    <table class="responsive"><thead><tr><th>Поз.</th><th>Товар</th><th class="num">Кол-во</th><th>Со склада / производство / закупка</th>
      <th class="num">В резерве</th><th class="num">Отгружено</th><th class="num">Цена</th></tr></thead>
    <tbody>${order.lines.map((l) => html`<tr key=${l.line}>
      <td data-label="Поз.">${l.line}</td><td data-label="Товар">${l.product}<div><small>${l.article}</small></div></td>
      <td data-label="Кол-во" class="num">${l.quantity} ${l.unit}</td>
      <td data-label="Откуда">${l.split.reserve} / ${l.split.produce} / ${l.split.purchase}</td>
      <td data-label="В резерве" class="num">${l.reserved.reduce((s, p) => s + p.quantity, 0)}</td>
      <td data-label="Отгружено" class="num">${l.shipped}</td><td data-label="Цена" class="num">${money(l.unit_price_kopecks)}</td>
    </tr>`)}</tbody></table>
    ${shipped && html`<div class="notice" role="status">Отгружено: ${shipped.shipment.lines.reduce((s, l) => s + l.quantity, 0)} шт.,
      документ № ${shipped.shipment.number}${shipped.repeated ? ' (эта отгрузка уже была проведена)' : ''}${shipped.shipped ? '. Заказ отгружен полностью.' : '.'}</div>`}
    <${Ship} id=${deal.id} picking=${data.picking} onShipped=${(a) => { setShipped(a); reload(); }} />
    ${data.supply.length > 0 && html`<h3>Закупка под заказ</h3><table class="responsive">
      <thead><tr><th>Поз.</th><th>Товар</th><th>Поставщик</th><th>Статус</th><th>Ожидается</th><th class="num">Получено</th><th></th></tr></thead>
      <tbody>${data.supply.map((s) => html`<${SupplyRow} key=${s.id + s.version} id=${deal.id} s=${s} onChanged=${reload} />`)}</tbody></table>`}
    ${data.production.length > 0 && html`<h3>Производство</h3><table class="responsive">
      <thead><tr><th>Поз.</th><th>Изделие</th><th>Статус</th><th class="num">Готовность</th><th>Обещано</th></tr></thead>
      <tbody>${data.production.map((p) => html`<tr key=${p.id}>
        <td data-label="Поз.">${p.line}</td><td data-label="Изделие">${p.product} × ${p.quantity}</td>
        <td data-label="Статус"><${Badge} kind=${(PRODUCTION[p.status] || [])[1]}>${(PRODUCTION[p.status] || [p.status])[0]}</${Badge}></td>
        <td data-label="Готовность" class="num">${p.readiness}%</td>
        <td data-label="Обещано">${p.promised_date ? date(p.promised_date) : '—'}</td></tr>`)}</tbody></table>`}
    ${data.shipments.length > 0 && html`<h3>Отгрузки</h3><table class="responsive">
      <thead><tr><th>Документ</th><th>Когда</th><th>Кто</th><th>Что</th></tr></thead>
      <tbody>${data.shipments.map((s) => html`<tr key=${s.id}>
        <td data-label="Документ">${s.document ? html`<${DocumentLink} deal=${deal.id} doc=${s.document} />` : s.number}</td>
        <td data-label="Когда">${dateTime(s.shipped_at)}</td><td data-label="Кто">${employeeName(s.shipped_by)}</td>
        <td data-label="Что">${s.lines.map((l) => html`<div>${l.product}, партия ${l.batch_id} — ${l.quantity}</div>`)}</td></tr>`)}</tbody></table>`}
  </div>`;
}

/** The work list: orders placed and not shipped in full, oldest first, as the API keeps it. */
function OpenOrders() {
  // Page by page: a head of one department or a manager gets short pages of what they see.
  const { data, error } = useLoad('/api/orders' + query({ limit: 500 }), { pages: 10 });
  if (error) return html`<${Err} error=${error} />`;
  if (!data) return html`<${Loading} />`;
  if (data.items.length === 0) return html`<p class="muted">Заказов к отгрузке нет.</p>`;
  return html`<h3>Заказы к отгрузке</h3><table class="responsive">
    <thead><tr><th>Клиент</th><th>Отдел</th><th class="num">К отбору</th><th>Ожидается</th><th class="num">Отгружено</th><th>Размещён</th><th></th></tr></thead>
    <tbody>${data.items.map((o) => html`<tr key=${o.deal_id}>
      <td data-label="Клиент">${o.client || o.deal_id}</td>
      <td data-label="Отдел">${DEPARTMENTS[o.department] || o.department}</td>
      <td data-label="К отбору" class="num">${o.ready}</td>
      <td data-label="Ожидается">${o.awaited > 0 ? html`${o.awaited} <span class="muted">(производство или поставка)</span>` : '—'}</td>
      <td data-label="Отгружено" class="num">${o.shipped} из ${o.quantity}</td>
      <td data-label="Размещён">${dateTime(o.created_at)}</td>
      <td data-label=""><button onClick=${() => go({ tab: 'orders', order: o.deal_id })}
        aria-label=${'Открыть заказ ' + (o.client || o.deal_id)}>Открыть</button></td></tr>`)}</tbody></table>`;
}

function Orders({ order }) {
  const [id, setId] = useState(order || '');
  return html`<div>
    <form class="toolbar" onSubmit=${(e) => { e.preventDefault(); go({ tab: 'orders', order: id.trim() }); }}>
      <input class="grow" required value=${id} onInput=${(e) => setId(e.target.value)} aria-label="Номер сделки (заказа)" placeholder="Номер сделки (заказа)" />
      <button type="submit">Открыть заказ</button>
    </form>
    ${order ? html`<${Order} key=${order} id=${order} />` : html`<${OpenOrders} />`}
  </div>`;
}

function Recipients({ sku, batch }) {
  const [f, setF] = useState({ sku: sku || '', batch: batch || '' });
  const { data, error } = useLoad(sku && batch ? `/api/warehouse/recipients${query({ sku, batch })}` : null);
  return html`<div>
    <form class="toolbar" onSubmit=${(e) => { e.preventDefault(); go({ tab: 'recipients', sku: f.sku.trim(), batch: f.batch.trim() }); }}>
      <label>Артикул<input required value=${f.sku} onInput=${(e) => setF({ ...f, sku: e.target.value })} /></label>
      <label>Партия<input required value=${f.batch} onInput=${(e) => setF({ ...f, batch: e.target.value })} /></label>
      <button type="submit">Найти получателей</button>
    </form>
    <${Err} error=${error} />
    ${data && (data.items.length === 0 ? html`<p class="muted">Товар этой партии никому не отгружали.</p>` : html`
      <table class="responsive"><thead><tr><th>Клиент</th><th>Заказ</th><th>Отгрузка</th><th class="num">Кол-во</th><th>Когда</th></tr></thead>
      <tbody>${data.items.map((r) => html`<tr key=${r.shipment_id + r.deal_id}>
        <td data-label="Клиент"><${PartyName} id=${r.party_id} /></td>
        <td data-label="Заказ"><button class="link" onClick=${() => go({ tab: 'orders', order: r.deal_id })}>${r.deal_id}</button></td>
        <td data-label="Отгрузка">${r.shipment_id}</td><td data-label="Кол-во" class="num">${r.quantity}</td>
        <td data-label="Когда">${dateTime(r.shipped_at)}</td></tr>`)}</tbody></table>`)}
  </div>`;
}

export default function Warehouse({ query: q }) {
  const tabs = TABS.filter((t) => may(t[2]));
  const tab = (tabs.find((t) => t[0] === q.get('tab')) || tabs[0])?.[0];
  return html`<div>
    <h1>Склад</h1>
    <div class="toolbar" role="tablist">${tabs.map(([key, label]) => html`<button role="tab" aria-selected=${key === tab}
      class=${key === tab ? 'primary' : ''} onClick=${() => go({ tab: key })}>${label}</button>`)}</div>
    ${tab === 'stock' && html`<${Stock} key=${q.get('sku')} sku=${q.get('sku')} />`}
    ${tab === 'expiring' && html`<${Expiring} key=${q.get('days')} days=${q.get('days') || '30'} />`}
    ${tab === 'receive' && html`<${Receive} />`}
    ${tab === 'orders' && html`<${Orders} key=${q.get('order')} order=${q.get('order')} />`}
    ${tab === 'recipients' && html`<${Recipients} key=${q.get('sku') + '/' + q.get('batch')} sku=${q.get('sku')} batch=${q.get('batch')} />`}
    ${!tab && html`<p class="muted">Нет доступа к складу.</p>`}
  </div>`;
}
