// Session gate, header (who, stream status, navigation, sign out) and the hash routes.
import { useEffect, useState } from 'react';
import { ApiError, errorText, setCsrf } from './api/client';
import { api } from './api/endpoints';
import type { Session } from './api/types';
import { can } from './lib/roles';
import { href, useRoute } from './lib/route';
import { AuditPage } from './pages/AuditPage';
import { BacktestResultPage } from './pages/BacktestResultPage';
import { BacktestsPage } from './pages/BacktestsPage';
import { ComparePage } from './pages/ComparePage';
import { DeploymentPage } from './pages/DeploymentPage';
import { GrantsPage } from './pages/GrantsPage';
import { OverviewPage } from './pages/OverviewPage';
import { SignalsPage } from './pages/SignalsPage';
import { SignInPage } from './pages/SignInPage';
import { StrategiesPage } from './pages/StrategiesPage';
import { SweepResultPage } from './pages/SweepResultPage';
import { live } from './state/live';
import { SessionContext } from './state/session';
import { useLive } from './state/useLive';

export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [checked, setChecked] = useState(false);
  const [bootError, setBootError] = useState<string | null>(null);

  useEffect(() => {
    api
      .session()
      .then((s) => {
        setCsrf(s.csrf);
        setSession(s);
      })
      .catch((e) => {
        if (!(e instanceof ApiError && e.status === 401)) setBootError(errorText(e));
      })
      .finally(() => setChecked(true));
  }, []);

  useEffect(() => {
    if (!session) return;
    live.start(can.readEvents(session.role));
    return () => live.stop();
  }, [session]);

  const signedIn = (s: Session) => {
    setCsrf(s.csrf);
    setSession(s);
    if (!window.location.hash || window.location.hash === '#/') window.location.hash = '#/overview';
  };

  const signOut = async () => {
    try {
      await api.signOut();
    } finally {
      setCsrf(null);
      setSession(null);
    }
  };

  if (!checked) return <p className="muted pad">Loading…</p>;
  if (!session) return <SignInPage onSignedIn={signedIn} bootError={bootError} />;
  return (
    <SessionContext.Provider value={session}>
      <Shell session={session} onSignOut={() => void signOut()} />
    </SessionContext.Provider>
  );
}

const NAV: { id: string; label: string; show: (s: Session) => boolean }[] = [
  { id: 'overview', label: 'Overview', show: () => true },
  { id: 'strategies', label: 'Strategies', show: () => true },
  { id: 'grants', label: 'Grants', show: () => true },
  { id: 'backtests', label: 'Backtests', show: (s) => can.readJobs(s.role) },
  { id: 'signals', label: 'Signals', show: () => true },
  { id: 'audit', label: 'Audit', show: (s) => can.readAudit(s.role) },
];

function Shell({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const route = useRoute();
  const store = useLive();
  const page = route[0] ?? 'overview';
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">stratbox</span>
        <nav aria-label="Main">
          <ul>
            {NAV.filter((n) => n.show(session)).map((n) => (
              <li key={n.id}>
                <a
                  href={href(n.id)}
                  data-testid={`nav-${n.id}`}
                  aria-current={page === n.id || (n.id === 'overview' && page === 'deployments') ? 'page' : undefined}
                >
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span className="spacer" />
        {can.readEvents(session.role) && (
          <span className={`ws ws-${store.wsStatus}`} title="Live event stream">
            <span className="dot" aria-hidden="true" />
            <span data-testid="ws-status">{store.wsStatus}</span>
          </span>
        )}
        <span data-testid="whoami" className="whoami">
          {session.name} ({session.role})
        </span>
        <button type="button" data-testid="signout" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main id="main" className="page">
        <Route route={route} session={session} />
      </main>
    </>
  );
}

function Route({ route, session }: { route: string[]; session: Session }) {
  const [page, id, extra] = route;
  switch (page) {
    case undefined:
    case 'overview':
      return <OverviewPage />;
    case 'deployments':
      return id ? <DeploymentPage id={id} /> : <OverviewPage />;
    case 'strategies':
      return <StrategiesPage selected={id} />;
    case 'grants':
      return <GrantsPage />;
    case 'backtests':
      if (!can.readJobs(session.role)) break;
      if (id === 'compare' && extra) return <ComparePage ids={[extra, route[3] ?? '']} />;
      return id ? <BacktestResultPage id={id} /> : <BacktestsPage />;
    case 'sweeps':
      if (!can.readJobs(session.role)) break;
      return id ? <SweepResultPage id={id} /> : <BacktestsPage />;
    case 'signals':
      return <SignalsPage />;
    case 'audit':
      if (!can.readAudit(session.role)) break;
      return <AuditPage />;
  }
  return (
    <p className="error" role="alert">
      No such page for your role. <a href={href('overview')}>Back to the overview</a>
    </p>
  );
}
