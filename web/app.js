// The app's shell: sign-in, who I am, the menu my role allows, and the screens by hash
// route (`#/inbox`, `#/deals/ID`, …).
import { html, render, useState, useEffect } from './lib/html.js';
import { configure, get } from './lib/api.js';
import { currentToken, finishSignIn, signIn, signOut } from './lib/auth.js';
import { session, may } from './lib/ui.js';
import { ROLES, DEPARTMENTS } from './lib/format.js';

// Each screen is its own module, loaded when first opened: the first screen carries only
// the shell and itself.
const SCREENS = [
  { path: /^\/inbox$/, load: () => import('./screens/inbox.js'), menu: 'Входящие', href: '#/inbox', capability: 'read_inquiries' },
  { path: /^\/deals$/, load: () => import('./screens/board.js'), menu: 'Сделки', href: '#/deals', capability: 'read_deals' },
  { path: /^\/tasks$/, load: () => import('./screens/tasks.js'), menu: 'Задачи', href: '#/tasks', capability: 'read_tasks' },
  { path: /^\/counterparties$/, load: () => import('./screens/counterparties.js'), menu: 'Клиенты', href: '#/counterparties', capability: 'list_counterparties' },
  { path: /^\/dashboard$/, load: () => import('./screens/dashboard.js'), menu: 'Сводка', href: '#/dashboard', capability: 'route_inquiries' },
  { path: /^\/marketing$/, load: () => import('./screens/marketing.js'), menu: 'Маркетинг', href: '#/marketing', capability: 'manage_segments' },
  { path: /^\/warehouse$/, load: () => import('./screens/warehouse.js'), menu: 'Склад', href: '#/warehouse', capability: 'read_stock' },
  { path: /^\/production$/, load: () => import('./screens/production.js'), menu: 'Производство', href: '#/production', capability: ['update_production', 'route_inquiries'] },
  { path: /^\/counterparties\/([^/]+)$/, load: () => import('./screens/counterparty.js'), params: ['id'] },
  { path: /^\/deals\/([^/]+)$/, load: () => import('./screens/deal.js'), params: ['id'] },
  { path: /^\/inquiries\/([^/]+)\/qualify$/, load: () => import('./screens/qualify.js'), params: ['id'] },
];

function parseRoute(hash) {
  const [path, search] = (hash.replace(/^#/, '') || '/').split('?');
  for (const screen of SCREENS) {
    const m = screen.path.exec(path);
    if (m) {
      const params = Object.fromEntries((screen.params || []).map((p, i) => [p, decodeURIComponent(m[i + 1])]));
      return { screen, params, query: new URLSearchParams(search || '') };
    }
  }
  return null;
}

/** A menu entry shows when the role has its capability (or one of them). */
function allowed(screen) {
  return [].concat(screen.capability).some((c) => may(c));
}

function homeFor() {
  const first = SCREENS.find((s) => s.menu && allowed(s));
  return first ? first.href : '#/tasks';
}

function useRoute() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = () => setHash(location.hash);
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return hash;
}

function Screen({ route }) {
  const [loaded, setLoaded] = useState(null);
  useEffect(() => {
    let live = true;
    route.screen.load().then((module) => live && setLoaded({ screen: route.screen, View: module.default }));
    return () => {
      live = false;
    };
  }, [route.screen]);
  if (!loaded || loaded.screen !== route.screen) return html`<p class="muted">Загрузка…</p>`;
  const View = loaded.View;
  return html`<${View} params=${route.params} query=${route.query} />`;
}

function Search() {
  const [q, setQ] = useState('');
  const submit = (e) => {
    e.preventDefault();
    if (q.trim()) location.hash = '#/counterparties?q=' + encodeURIComponent(q.trim());
  };
  return html`<form class="search" onSubmit=${submit} role="search">
    <input type="search" placeholder="Поиск: имя, компания, телефон, email" value=${q}
      onInput=${(e) => setQ(e.target.value)} aria-label="Поиск клиента" />
  </form>`;
}

function Shell({ config }) {
  const hash = useRoute();
  const [menuOpen, setMenuOpen] = useState(false);
  const route = parseRoute(hash);
  useEffect(() => {
    if (!route) location.replace(homeFor());
    setMenuOpen(false);
  }, [hash]);
  const me = session.me;
  const items = SCREENS.filter((s) => s.menu && allowed(s));
  return html`<div class="shell">
    <header class="top">
      <button class="menu-button" aria-label="Меню" onClick=${() => setMenuOpen(!menuOpen)}>☰</button>
      <a class="brand" href=${homeFor()}>CRM</a>
      <nav class=${menuOpen ? 'open' : ''}>
        ${items.map((s) => html`<a href=${s.href} class=${route?.screen === s ? 'active' : ''}>${s.menu}</a>`)}
      </nav>
      ${may('list_counterparties') && html`<${Search} />`}
      <div class="who">
        <span title=${ROLES[me.role]}>${me.name}</span>
        <small>${ROLES[me.role]}${me.department ? ' · ' + DEPARTMENTS[me.department] : ''}</small>
        <button class="link" onClick=${() => signOut(config)}>Выйти</button>
      </div>
    </header>
    <main>${route && html`<${Screen} route=${route} />`}</main>
  </div>`;
}

async function start() {
  const root = document.getElementById('app');
  const config = await (await fetch('/config.json')).json();
  // Back from the login with a code (or its error): a failed exchange is shown, not
  // retried, so a misconfigured login cannot send the browser round in circles.
  const returned = new URLSearchParams(location.search);
  const failed = returned.get('error');
  const exchanged = returned.has('code');
  const token = (await finishSignIn(config)) || currentToken();
  if (!token) {
    if (failed || exchanged) {
      history.replaceState(null, '', '/');
      const retry = () => signIn(config);
      root.textContent = '';
      render(html`<div class="error">Вход не удался${failed ? `: ${failed}` : ''}. <button onClick=${retry}>Войти снова</button></div>`, root);
      return;
    }
    await signIn(config);
    return;
  }
  session.config = config;
  configure({ token, base: config.api_base, onUnauthorized: () => signIn(config) });
  try {
    session.me = await get('/api/me');
    session.employees = (await get('/api/employees')).items || [];
  } catch (error) {
    render(html`<div class="error">Не удалось войти: ${error.message}</div>`, root);
    return;
  }
  root.textContent = '';
  render(html`<${Shell} config=${config} />`, root);
}

start();
