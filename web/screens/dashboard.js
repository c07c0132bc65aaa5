// Сводка для руководителей: обращения по каналам и дням, неразобранные и их ожидание,
// медиана первой реакции по менеджерам, сделки по стадиям, просроченные задачи, выигранные
// и нецелевые по месяцам — как их последний раз пересчитала задача `dashboard` (раз в 15 минут).
// Графики — uPlot, загружается лениво только на этом экране.
import { html, useState, useEffect, useMemo, useRef } from '../lib/html.js';
import { useLoad, ErrorBox, Loading, Badge, employeeName } from '../lib/ui.js';
import { dateTime, minutesSince, STAGES, STAGE_ORDER, DEPARTMENTS, TIME_ZONE, plural } from '../lib/format.js';

const CHANNELS = { email: 'Почта', phone: 'Звонки', chat: 'Чаты', form: 'Формы сайта' };
const COLORS = { email: '#1f6feb', phone: '#1a7f37', chat: '#8250df', form: '#bf8700' };
const MONTHS = ['янв', 'фев', 'мар', 'апр', 'май', 'июн', 'июл', 'авг', 'сен', 'окт', 'ноя', 'дек'];
const DAY = 86400;
const MSK_OFFSET = 3 * 3600; // Москва — UTC+3 круглый год
const STALE_MINUTES = 30;

// uPlot: <script> и <link> добавляются один раз, при первом открытии сводки.
let uPlotLoading = null;
function loadUPlot() {
  if (window.uPlot) return Promise.resolve(window.uPlot);
  if (!uPlotLoading) {
    uPlotLoading = new Promise((resolve, reject) => {
      if (!document.querySelector('link[href="./vendor/uPlot.min.css"]')) {
        const css = document.createElement('link');
        css.rel = 'stylesheet';
        css.href = './vendor/uPlot.min.css';
        document.head.append(css);
      }
      const script = document.createElement('script');
      script.src = './vendor/uPlot.iife.min.js';
      script.onload = () => resolve(window.uPlot);
      script.onerror = () => {
        uPlotLoading = null;
        script.remove();
        reject(new Error('Не удалось загрузить библиотеку графиков'));
      };
      document.head.append(script);
    });
  }
  return uPlotLoading;
}

/** Минуты словами: `45 мин`, `3 ч 20 мин`, `2 дн 5 ч`. */
function duration(m) {
  if (m === null || m === undefined) return '—';
  if (m < 60) return `${m} мин`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} ч ${m % 60} мин` : `${h} ч`;
  return h % 24 ? `${Math.floor(h / 24)} дн ${h % 24} ч` : `${Math.floor(h / 24)} дн`;
}

/** `YYYY-MM-DD` → полночь по Москве в секундах Unix (как ось x у uPlot). */
const dayTs = (day) => Date.UTC(+day.slice(0, 4), +day.slice(5, 7) - 1, +day.slice(8, 10)) / 1000 - MSK_OFFSET;
const mskDay = (iso) => new Intl.DateTimeFormat('en-CA', { timeZone: TIME_ZONE }).format(new Date(iso));
const dayLabel = (ts, weekday) => {
  const d = new Date((ts + MSK_OFFSET) * 1000);
  const dm = String(d.getUTCDate()).padStart(2, '0') + '.' + String(d.getUTCMonth() + 1).padStart(2, '0');
  return weekday ? ['вс', 'пн', 'вт', 'ср', 'чт', 'пт', 'сб'][d.getUTCDay()] + ' ' + dm : dm;
};
const monthLabel = (ym) => `${MONTHS[+ym.slice(5, 7) - 1]} ${ym.slice(2, 4)}`;
const count = (u, v, si, i) => (i == null ? '—' : v || 0);
const whole = (u, splits) => splits.map((v) => (Number.isInteger(v) ? String(v) : ''));
const COUNTS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

/** Обращения по дням: последние 30 дней (по Москве) до момента расчёта, ряд на канал. */
function perDay(d) {
  const last = dayTs(mskDay(d.computed_at));
  let first = last - 29 * DAY;
  for (const c of d.inquiries_per_day) first = Math.min(first, dayTs(c.day));
  const xs = [];
  for (let t = first; t <= last; t += DAY) xs.push(t);
  const order = Object.keys(CHANNELS);
  const channels = [...new Set(d.inquiries_per_day.map((c) => c.channel))].sort((a, b) => order.indexOf(a) - order.indexOf(b));
  const rows = channels.map(() => xs.map(() => 0));
  for (const c of d.inquiries_per_day) {
    const i = Math.round((dayTs(c.day) - first) / DAY);
    if (i >= 0 && i < xs.length) rows[channels.indexOf(c.channel)][i] += c.count;
  }
  const totals = channels.map((ch, k) => [ch, rows[k].reduce((s, n) => s + n, 0)]);
  // Столбцы накоплением: ряд k — сумма каналов 0..k; рисуются сверху вниз (самый высокий первым).
  // Ноль канала в этот день — без столбца (иначе у оси остаётся черта).
  const stacked = rows.map((row, k) => row.map((v, i) => (v ? rows.slice(0, k + 1).reduce((s, r) => s + r[i], 0) : null)));
  return { data: [xs, ...stacked.reverse()], raw: rows, channels, totals };
}

function dailyOptions(uPlot, channels, raw) {
  const n = channels.length;
  return (width, height) => ({
    width, height,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), TIME_ZONE),
    scales: {
      x: { time: true, range: (u, min, max) => [min - DAY / 2, max + DAY / 2] },
      y: { range: (u, min, max) => [0, Math.max(4, max)] },
    },
    axes: [
      { incrs: [DAY, 2 * DAY, 7 * DAY, 14 * DAY], values: (u, splits) => splits.map((s) => dayLabel(s)) },
      { incrs: COUNTS, values: whole, size: 40 },
    ],
    series: [
      { label: 'День', value: (u, ts) => (ts == null ? '—' : dayLabel(ts, true)) },
      ...channels.map((_, j) => {
        const k = n - 1 - j; // ряд j на графике — канал k
        const color = COLORS[channels[k]] || '#57606a';
        return {
          label: CHANNELS[channels[k]] || channels[k], stroke: color, fill: color + 'cc', width: 1,
          paths: uPlot.paths.bars({ size: [0.7, 28], gap: 1 }), points: { show: false },
          value: (u, v, si, i) => (i == null ? '—' : raw[k][i]),
        };
      }),
    ],
  });
}

function outcomeOptions(uPlot, months) {
  const bars = (align) => uPlot.paths.bars({ size: [0.35, 36], align, gap: 1 });
  return (width, height) => ({
    width, height,
    scales: { x: { time: false, range: (u, min, max) => [min - 0.5, max + 0.5] }, y: { range: (u, min, max) => [0, Math.max(4, max)] } },
    axes: [
      {
        // Подписи через одну-две, когда месяцам тесно (на телефоне).
        splits: (u) => {
          const step = Math.max(1, Math.ceil((months.length * 56) / Math.max(1, u.width - 60)));
          return months.map((m, i) => i).filter((i) => (months.length - 1 - i) % step === 0);
        },
        values: (u, splits) => splits.map((i) => (months[i] ? monthLabel(months[i]) : '')),
      },
      { incrs: COUNTS, values: whole, size: 40 },
    ],
    series: [
      { label: 'Месяц', value: (u, i) => (i == null || !months[i] ? '—' : monthLabel(months[i])) },
      { label: 'Выиграно', fill: '#1a7f37cc', stroke: '#1a7f37', paths: bars(-1), points: { show: false }, value: count },
      { label: 'Нецелевые', fill: '#cf222ecc', stroke: '#cf222e', paths: bars(1), points: { show: false }, value: count },
    ],
  });
}

/** Один график uPlot на ширину своего контейнера; перестраивается при смене данных. */
function Chart({ options, data, label, height = 240 }) {
  const box = useRef(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let live = true, plot = null, observer = null;
    loadUPlot().then(
      (uPlot) => {
        const el = box.current;
        if (!live || !el) return;
        plot = new uPlot(options(uPlot)(el.clientWidth || 320, height), data, el);
        observer = new ResizeObserver(() => {
          const width = el.clientWidth;
          if (width && plot && width !== plot.width) plot.setSize({ width, height });
        });
        observer.observe(el);
      },
      (e) => live && setError(e),
    );
    return () => {
      live = false;
      observer?.disconnect();
      plot?.destroy();
    };
  }, [data]);
  return html`<div class="chart" ref=${box} role="img" aria-label=${label}>
    ${error && html`<p class="muted">${error.message}</p>`}
  </div>`;
}

/** Горизонтальные полосы: `rows` — `{key, label, value, text, kind?}`. */
function Bars({ rows, label }) {
  const max = Math.max(1, ...rows.map((r) => r.value));
  return html`<ul class="bars" aria-label=${label}>
    ${rows.map((r) => html`<li key=${r.key}>
      <span class="bar-label">${r.label}</span>
      <span class="bar-track" aria-hidden="true"><span class="bar-fill ${r.kind || ''}" style=${`width:${r.value > 0 ? Math.max(1, (100 * r.value) / max) : 0}%`}></span></span>
      <span class="bar-value">${r.text}</span>
    </li>`)}
  </ul>`;
}

function Daily({ d }) {
  const { data, raw, channels, totals } = useMemo(() => perDay(d), [d]);
  const sum = totals.reduce((s, [, n]) => s + n, 0);
  return html`<section class="card">
    <h2>Новые обращения по дням</h2>
    <p class="muted">
      За 30 дней: ${sum} ${plural(sum, 'обращение', 'обращения', 'обращений')}${totals.length > 0 && ' — '}
      ${totals.map(([ch, n], i) => html`${i > 0 && ', '}${CHANNELS[ch] || ch}: ${n}`)}
    </p>
    ${sum === 0
      ? html`<p class="muted">Обращений за 30 дней нет.</p>`
      : html`<${Chart} data=${data} options=${(uPlot) => dailyOptions(uPlot, channels, raw)}
          label=${'Обращения по дням и каналам за 30 дней, всего ' + sum} />`}
  </section>`;
}

function Unrouted({ u }) {
  const rows = [
    { key: 'h1', label: 'меньше часа', value: u.under_1h, text: u.under_1h, kind: 'ok' },
    { key: 'h4', label: '1–4 часа', value: u.under_4h, text: u.under_4h, kind: 'warn' },
    { key: 'd1', label: '4–24 часа', value: u.under_1d, text: u.under_1d, kind: 'danger' },
    { key: 'long', label: 'больше суток', value: u.longer, text: u.longer, kind: 'danger' },
  ];
  return html`<section class="card">
    <div class="spread"><h2>Неразобранные обращения</h2><a href="#/inbox">Во входящие</a></div>
    <div class="row">
      <span class="big">${u.count}</span>
      <span class="muted">${u.count > 0 ? `ждут распределения; дольше всех — ${duration(u.oldest_minutes)}` : 'всё распределено'}</span>
    </div>
    ${u.count > 0 && html`<h3>Сколько ждут</h3><${Bars} rows=${rows} label="Неразобранные по времени ожидания" />`}
  </section>`;
}

function FirstResponse({ list }) {
  const rows = [...list]
    .sort((a, b) => b.median_minutes - a.median_minutes)
    .map((r) => ({
      key: r.manager_id, label: employeeName(r.manager_id), value: r.median_minutes,
      text: html`${duration(r.median_minutes)} <small>(${r.count} ${plural(r.count, 'обращение', 'обращения', 'обращений')})</small>`,
    }));
  return html`<section class="card">
    <h2>Первая реакция менеджеров</h2>
    <p class="muted">Медиана от распределения до квалификации, за 30 дней.</p>
    ${rows.length ? html`<${Bars} rows=${rows} label="Медиана первой реакции по менеджерам" />` : html`<p class="muted">Квалифицированных обращений пока нет.</p>`}
  </section>`;
}

function Stages({ perStage }) {
  const codes = [...STAGE_ORDER, ...Object.keys(perStage).filter((c) => !STAGES[c])].filter((c) => perStage[c]);
  const rows = codes.map((c) => ({
    key: c, label: STAGES[c] || c, value: perStage[c], text: perStage[c],
    kind: c === 'closed' ? 'ok' : c === 'unfit' ? 'danger' : '',
  }));
  const total = codes.reduce((s, c) => s + perStage[c], 0);
  return html`<section class="card">
    <div class="spread"><h2>Сделки по стадиям</h2><a href="#/deals">К сделкам</a></div>
    <p class="muted">Всего: ${total}</p>
    ${rows.length ? html`<${Bars} rows=${rows} label="Сделки по стадиям" />` : html`<p class="muted">Сделок нет.</p>`}
  </section>`;
}

function Overdue({ perAssignee }) {
  const rows = Object.entries(perAssignee)
    .sort((a, b) => b[1] - a[1])
    .map(([id, n]) => ({ key: id, label: id === 'heads' ? 'Руководители (общие)' : employeeName(id), value: n, text: n, kind: 'danger' }));
  return html`<section class="card">
    <div class="spread"><h2>Просроченные задачи</h2><a href="#/tasks?tab=overdue">К задачам</a></div>
    ${rows.length ? html`<${Bars} rows=${rows} label="Просроченные задачи по исполнителям" />` : html`<p class="muted">Просроченных задач нет.</p>`}
  </section>`;
}

function Outcomes({ outcomes }) {
  const months = useMemo(() => outcomes.map((o) => o.month), [outcomes]);
  const data = useMemo(() => [outcomes.map((o, i) => i), outcomes.map((o) => o.won || null), outcomes.map((o) => o.unfit || null)], [outcomes]);
  const won = outcomes.reduce((s, o) => s + o.won, 0);
  const unfit = outcomes.reduce((s, o) => s + o.unfit, 0);
  return html`<section class="card">
    <h2>Выиграно и нецелевые по месяцам</h2>
    ${outcomes.length
      ? html`<p class="muted">За ${outcomes.length} ${plural(outcomes.length, 'месяц', 'месяца', 'месяцев')}: выиграно ${won}, нецелевых ${unfit}</p>
        <${Chart} data=${data} options=${(uPlot) => outcomeOptions(uPlot, months)}
          label=${`Выигранные и нецелевые сделки по месяцам: выиграно ${won}, нецелевых ${unfit}`} />`
      : html`<p class="muted">Закрытых сделок за 12 месяцев нет.</p>`}
  </section>`;
}

export default function Dashboard() {
  const { data, error, loading, reload } = useLoad('/api/dashboard');
  const d = data?.dashboard;
  const old = d && minutesSince(d.computed_at) > STALE_MINUTES;
  return html`<div class="dash">
    <div class="spread">
      <h1>Сводка${d && html` <small>· ${d.department ? DEPARTMENTS[d.department] || d.department : 'все отделы'}</small>`}</h1>
      <div class="row">
        ${d && html`<span class="muted">Рассчитано ${dateTime(d.computed_at)} (МСК)</span>`}
        ${old && html`<${Badge} kind="warn">данные устарели<//>`}
        <button onClick=${reload} disabled=${loading}>Обновить</button>
      </div>
    </div>
    <${ErrorBox} error=${error} />
    ${loading && !data && html`<${Loading} />`}
    ${data && !d && html`<p class="notice">Сводка ещё не рассчитана: она пересчитывается каждые 15 минут. Загляните позже.</p>`}
    ${d && html`
      <${Daily} d=${d} />
      <div class="charts">
        <${Unrouted} u=${d.unrouted} />
        <${FirstResponse} list=${d.first_response} />
        <${Stages} perStage=${d.deals_per_stage} />
        <${Overdue} perAssignee=${d.overdue_tasks} />
      </div>
      <${Outcomes} outcomes=${d.outcomes} />`}
  </div>`;
}
