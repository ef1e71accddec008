import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import '@picocss/pico/css/pico.min.css';
import './styles.css';
import { getSession, logout } from './api.ts';
import { lang, t, type Key } from './i18n.ts';
import { useSignal } from './signal.ts';
import { Login } from './pages/login.tsx';
import { Jobs } from './pages/jobs.tsx';
import { Customers } from './pages/customers.tsx';
import { BulkSend } from './pages/bulk.tsx';
import { Devices } from './pages/devices.tsx';
import { Zoho } from './pages/zoho.tsx';
import { SyncClients } from './pages/sync-clients.tsx';
import { Whmcs } from './pages/whmcs.tsx';
import { LanguageSelect } from './language.tsx';

const pages: [string, Key, () => preact.JSX.Element][] = [
  ['jobs', 'jobs', Jobs],
  ['customers', 'customers', Customers],
  ['bulk', 'bulk', BulkSend],
  ['devices', 'devices', Devices],
  ['whmcs', 'whmcs', Whmcs],
  ['zoho', 'zoho', Zoho],
  ['sync-clients', 'syncClients', SyncClients],
];

function useHash() {
  const [hash, setHash] = useState(location.hash.slice(2) || 'jobs');
  useEffect(() => {
    const on = () => setHash(location.hash.slice(2) || 'jobs');
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function App() {
  useSignal(lang);
  const [session, setS] = useState(getSession());
  useEffect(() => {
    const on = () => setS(getSession());
    window.addEventListener('puente:session', on);
    return () => window.removeEventListener('puente:session', on);
  }, []);
  const hash = useHash();
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => setMenuOpen(false), [hash]);
  const current = pages.find(([h]) => h === hash) ?? pages[0]!;
  useEffect(() => {
    document.title = session ? `${t(current[1])} · ${t('appName')}` : `${t('login')} · ${t('appName')}`;
  }, [session, current[1], lang.value]);
  if (!session) return <Login />;
  const Page = current[2];
  return (
    <>
      <header class="container">
        <nav>
          <ul>
            <li>
              <strong>{t('appName')}</strong>
            </li>
            <li class="menu-toggle">
              <button class="outline secondary" aria-expanded={menuOpen} aria-controls="main-menu" onClick={() => setMenuOpen(!menuOpen)}>
                {t('menu')}
              </button>
            </li>
          </ul>
          <ul class="menu" id="main-menu" data-open={menuOpen ? 'true' : 'false'}>
            {pages.map(([h, k]) => (
              <li>
                <a href={`#/${h}`} aria-current={hash === h ? 'page' : undefined} onClick={() => setMenuOpen(false)}>
                  {t(k)}
                </a>
              </li>
            ))}
            <li>
              <LanguageSelect />
            </li>
            <li>
              <button class="outline secondary" onClick={() => void logout()}>
                {t('logout')}
              </button>
            </li>
          </ul>
        </nav>
      </header>
      <main class="container">
        <Page />
      </main>
    </>
  );
}

document.documentElement.lang = lang.value;
render(<App />, document.getElementById('app')!);
