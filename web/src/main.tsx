import { StrictMode, useEffect, useState, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { api, setCsrfToken, setUnauthorizedHandler, type Lens, type Me } from './api';
import { Loading, ErrorBox } from './components';
import { Link, RouterProvider, useRoute } from './router';
import { LoginPage } from './pages/login';
import { PortfolioPage } from './pages/portfolio';
import { CustomersPage } from './pages/customers';
import { CustomerPage } from './pages/customer';
import { LensesPage, LensPage } from './pages/lenses';
import { NewPlaybookPage, PlaybooksPage, PlaybookPage } from './pages/playbooks';
import { TasksPage } from './pages/tasks';
import { LivePage } from './pages/live';
import { SettingsPage } from './pages/settings';
import { SessionContext, useSession, type Session } from './session';
import './styles.css';

const NAV: Array<[string, string]> = [
  ['/', 'Portfolio'],
  ['/customers', 'Customers'],
  ['/lenses', 'Lenses'],
  ['/playbooks', 'Playbooks'],
  ['/tasks', 'Tasks'],
  ['/live', 'Live'],
  ['/settings', 'Settings'],
];

function Shell(props: { children: ReactNode }) {
  const s = useSession();
  const { path } = useRoute();
  const active = (to: string) => (to === '/' ? path === '/' : path === to || path.startsWith(`${to}/`));
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Rapport</span>
        <nav aria-label="Main">
          {NAV.map(([to, text]) => (
            <Link key={to} to={to} className={active(to) ? 'active' : ''} aria-current={active(to) ? 'page' : undefined}>
              {text}
            </Link>
          ))}
        </nav>
        <div className="who">
          <label>
            <span className="sr">Lens</span>
            <select aria-label="Lens" value={s.lens} onChange={(e) => s.setLens(e.target.value)} data-testid="lens-switcher">
              {s.lenses.map((l) => (
                <option key={l.name} value={l.name}>
                  {l.title || l.name}
                </option>
              ))}
            </select>
          </label>
          <span className="muted" title={s.me.user.role}>
            {s.me.user.email} · {s.me.user.role}
          </span>
          <button type="button" className="link" onClick={s.signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {props.children}
      </main>
    </div>
  );
}

function Routes() {
  const { path } = useRoute();
  const seg = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (seg.length === 0) return <PortfolioPage />;
  if (seg[0] === 'customers' && seg[1]) return <CustomerPage id={seg[1]} />;
  if (seg[0] === 'customers') return <CustomersPage />;
  if (seg[0] === 'lenses' && seg[1]) return <LensPage name={seg[1]} />;
  if (seg[0] === 'lenses') return <LensesPage />;
  if (seg[0] === 'playbooks' && seg[1] === 'new') return <NewPlaybookPage />;
  if (seg[0] === 'playbooks' && seg[1]) return <PlaybookPage id={seg[1]} />;
  if (seg[0] === 'playbooks') return <PlaybooksPage />;
  if (seg[0] === 'tasks') return <TasksPage />;
  if (seg[0] === 'live') return <LivePage />;
  if (seg[0] === 'settings') return <SettingsPage />;
  return (
    <div className="page">
      <h1>Page not found</h1>
      <p>
        <Link to="/">Back to the portfolio</Link>
      </p>
    </div>
  );
}

function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [lenses, setLenses] = useState<Lens[] | null>(null);
  const [lensError, setLensError] = useState<Error | null>(null);
  const [lens, setLensState] = useState<string>(() => localStorage.getItem('rapport.lens') ?? '');

  const load = () =>
    api<Me | { user: null }>('/api/session').then(
      (m) => {
        if (!m.user) return setMe(null);
        setCsrfToken((m as Me).csrfToken);
        setMe(m as Me);
      },
      () => setMe(null),
    );
  useEffect(() => {
    setUnauthorizedHandler(() => setMe(null));
    void load();
  }, []);
  useEffect(() => {
    if (!me) return;
    api<{ lenses: Lens[] }>('/api/lenses').then(
      (r) => {
        setLenses(r.lenses);
        setLensError(null);
        setLensState((cur) => (r.lenses.some((l) => l.name === cur) ? cur : (r.lenses.find((l) => l.name === 'lifecycle')?.name ?? r.lenses[0]?.name ?? '')));
      },
      (e: unknown) => {
        setLenses([]);
        setLensError(e as Error);
      },
    );
  }, [me]);

  if (me === undefined) return <Loading what="Rapport" />;
  if (me === null) return <LoginPage onSignedIn={load} />;
  if (lenses === null) return <Loading what="lenses" />;
  const session: Session = {
    me,
    lenses,
    lens,
    setLens: (l) => {
      localStorage.setItem('rapport.lens', l);
      setLensState(l);
    },
    signOut: () => {
      void api('/api/session', { method: 'DELETE' }).finally(() => {
        setCsrfToken(null);
        setMe(null);
      });
    },
    canEdit: me.user.role !== 'viewer',
    isAdmin: me.user.role === 'admin',
  };
  return (
    <SessionContext.Provider value={session}>
      <Shell>
        {lensError ? <ErrorBox error={lensError} /> : null}
        <Routes />
      </Shell>
    </SessionContext.Provider>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <RouterProvider>
      <App />
    </RouterProvider>
  </StrictMode>,
);
