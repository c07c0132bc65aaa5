// How the app writes things: Moscow time, money as `1 234 567,89 ₽`, phones as
// `+7 912 345-67-89`, and the Russian names of the API's codes.

export const TIME_ZONE = 'Europe/Moscow';

const moneyFormat = new Intl.NumberFormat('ru-RU', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const dateTimeFormat = new Intl.DateTimeFormat('ru-RU', {
  timeZone: TIME_ZONE, day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit',
});
const dateFormat = new Intl.DateTimeFormat('ru-RU', { timeZone: TIME_ZONE, day: '2-digit', month: '2-digit', year: 'numeric' });
const timeFormat = new Intl.DateTimeFormat('ru-RU', { timeZone: TIME_ZONE, hour: '2-digit', minute: '2-digit' });

/** Kopecks (integers, as the API keeps money) as `1 234 567,89 ₽`. */
export function money(kopecks) {
  if (kopecks === null || kopecks === undefined) return '—';
  // Intl writes a narrow no-break space between thousands; the company writes a space.
  return moneyFormat.format(Number(kopecks) / 100).replace(/[\u202f\u00a0]/g, ' ') + ' ₽';
}

/** A Russian number, however written (`+79123456789`, `8 (912) 345-67-89`, `9123456789`),
 * as `+7 912 345-67-89`; other countries' numbers as given. */
export function phone(written) {
  if (!written) return '';
  const [number, extension] = String(written).split(/\s*(?:доб\.|ext\.?|,)\s*/);
  const digits = number.replace(/\D/g, '');
  const national = number.trim().startsWith('+')
    ? (/^7\d{10}$/.test(digits) ? digits.slice(1) : null)
    : /^[78]\d{10}$/.test(digits) ? digits.slice(1) : /^\d{10}$/.test(digits) ? digits : null;
  const shown = national ? `+7 ${national.slice(0, 3)} ${national.slice(3, 6)}-${national.slice(6, 8)}-${national.slice(8)}` : number;
  return extension ? `${shown} доб. ${extension}` : shown;
}

export function dateTime(iso) {
  return iso ? dateTimeFormat.format(new Date(iso)).replace(',', '') : '—';
}

export function date(iso) {
  return iso ? dateFormat.format(new Date(iso)) : '—';
}

export function time(iso) {
  return iso ? timeFormat.format(new Date(iso)) : '';
}

/** How long ago, in the largest whole unit: `5 мин`, `3 ч`, `2 дн`. */
export function age(iso, now = Date.now()) {
  if (!iso) return '';
  const minutes = Math.max(0, Math.floor((now - new Date(iso).getTime()) / 60000));
  if (minutes < 60) return `${minutes} мин`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} ч`;
  return `${Math.floor(hours / 24)} дн`;
}

export function minutesSince(iso, now = Date.now()) {
  return iso ? (now - new Date(iso).getTime()) / 60000 : 0;
}

const HOUR = 3600000;
const DAY = 24 * HOUR;
const MOSCOW = 3 * HOUR; // UTC+3 all year

/** Working minutes between `iso` and `now`: Monday to Friday, 09:00–18:00 Moscow time, the
 * hours the first-response rule counts in (`add_working_hours` in the domain), so what came
 * on Friday evening is not late on Monday morning. */
export function workingMinutesSince(iso, now = Date.now()) {
  if (!iso) return 0;
  const from = new Date(iso).getTime() + MOSCOW;
  const to = now + MOSCOW;
  let total = 0;
  for (let day = Math.floor(from / DAY) * DAY; day < to; day += DAY) {
    const weekday = new Date(day).getUTCDay();
    if (weekday === 0 || weekday === 6) continue;
    total += Math.max(0, Math.min(day + 18 * HOUR, to) - Math.max(day + 9 * HOUR, from));
  }
  return total / 60000;
}

export const STAGES = {
  equipment_selection: 'Подбор оборудования',
  proposal: 'КП',
  invoice: 'Счёт',
  agreed: 'Согласовано',
  production: 'Производство',
  warehouse_sale: 'Продажа со склада',
  installation: 'Монтаж / ПНР',
  attestation: 'Аттестация',
  service: 'Сервис',
  closed: 'Закрыта',
  unfit: 'Нецелевая',
};
export const STAGE_ORDER = Object.keys(STAGES);

export const CHANNELS = {
  call: 'Звонок',
  jivo_chat: 'Чат Jivo',
  site_form: 'Форма сайта',
  manual: 'Письмо',
  email: 'Письмо',
  // A counterparty's first channel.
  phone: 'Звонок',
  chat: 'Чат',
  form: 'Форма сайта',
};

/** A supplier order's status. */
export const SUPPLY_STATUS = { draft: 'черновик', ordered: 'заказано', received: 'получено' };

/** Lead, client or partner. */
export const COUNTERPARTY_KINDS = { lead: 'Лид', client: 'Клиент', partner: 'Партнёр' };

/** A production order's status: its name and its badge. */
export const PRODUCTION_STATUS = {
  planned: ['запланирован', ''],
  in_progress: ['в работе', 'accent'],
  done: ['готов', 'ok'],
};

export const DEPARTMENTS = {
  high: 'Высокий вакуум',
  industrial: 'Промышленный',
  thermal: 'Терм. оборудование',
};

export const ROLES = {
  head: 'Руководитель продаж',
  manager: 'Менеджер',
  marketer: 'Маркетолог',
  warehouse: 'Склад',
  production: 'Производство',
  admin: 'Администратор',
};

export const EQUIPMENT = {
  vacuum_pump: 'Вакуумный насос',
  pump: 'Насос',
  compressor: 'Компрессор',
  vacuum_equipment: 'Вакуумное оборудование',
  thermal_equipment: 'Термическое оборудование',
  climate_chamber: 'Климатическая камера',
  simulator: 'Имитатор',
  other: 'Другое',
};

export const TASK_KINDS = {
  call_back: 'Перезвонить',
  call_client: 'Позвонить клиенту',
  check_sellers_work: 'Проверить работу продавца',
  offer_service: 'Предложить сервис',
  conclude_service_contract: 'Заключить договор на сервис',
  first_response_overdue: 'Просрочен первый ответ',
  late_production: 'Производство опаздывает',
  check_payment: 'Проверить оплату счёта',
  other: 'Задача',
};

/** What a stage needs, in words: the API's field paths of a refusal's `missing`. */
const FIELD_NAMES = {
  items: 'позиции сделки',
  'items.price': 'цена и количество в каждой позиции',
  proposal_sent_at: 'отправленное КП',
  invoice_number: 'номер счёта',
  production_ready: 'готовность производства',
  shipped: 'отгрузка',
  acceptance_signed: 'подписанный акт приёмки',
  attestation_done: 'пройденная аттестация',
  service_decision: 'решение по сервису',
  payment_received: 'полученная оплата',
  closing_documents: 'закрывающие документы',
  unfit_reason: 'причина «нецелевая»',
  needs: 'потребности клиента',
  'contact.name': 'имя контактного лица',
  'contact.phone_or_email': 'телефон или email контакта',
  'legal_entity.name': 'название юрлица',
  'legal_entity.inn': 'ИНН',
  'legal_entity.kpp': 'КПП',
  'legal_entity.address': 'юридический адрес',
  'legal_entity.bank.bank_name': 'банк',
  'legal_entity.bank.bik': 'БИК',
  'legal_entity.bank.account': 'расчётный счёт',
  'legal_entity.bank.correspondent_account': 'корр. счёт',
};

export function fieldName(path) {
  if (FIELD_NAMES[path]) return FIELD_NAMES[path];
  const line = /^items\[(\d+)\]\.(\w+)$/.exec(path);
  if (line) {
    const n = Number(line[1]) + 1;
    return line[2] === 'sku' ? `артикул или «под заказ / закупка» в позиции ${n}` : `позиция ${n}: ${line[2]}`;
  }
  return path;
}

/** INN check digits (10 digits for a company, 12 for a sole trader). */
export function innValid(inn) {
  const d = String(inn || '').replace(/\s/g, '');
  if (!/^\d{10}$|^\d{12}$/.test(d)) return false;
  const digit = (weights) => (weights.reduce((s, w, i) => s + w * Number(d[i]), 0) % 11) % 10;
  if (d.length === 10) return digit([2, 4, 10, 3, 5, 9, 4, 6, 8]) === Number(d[9]);
  return (
    digit([7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) === Number(d[10]) &&
    digit([3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) === Number(d[11])
  );
}

export function plural(n, one, few, many) {
  const m10 = n % 10, m100 = n % 100;
  if (m10 === 1 && m100 !== 11) return one;
  if (m10 >= 2 && m10 <= 4 && (m100 < 10 || m100 >= 20)) return few;
  return many;
}
