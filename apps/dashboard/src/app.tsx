import { useEffect, useState } from 'preact/hooks';
import { LocationProvider, Route, Router, useLocation } from 'preact-iso';
import { api, ApiError, onUnauthorized, storedKey, storeKey } from './api';
import { DlqPage } from './dlq-page';
import { KeyForm } from './key-form';
import { LimitsPage } from './limits-page';
import { Overview } from './overview';
import { SchedulesPage } from './schedules-page';
import { TaskPage } from './task-page';
import { TasksList } from './tasks-list';
import { TemplatesPage } from './templates-page';

type Access = 'checking' | 'needs-key' | 'granted' | 'unreachable';

/**
 * The shell: asks the API whether it needs a key (any /v1 read answers 401 then), shows the key
 * form until a key is accepted, then the views. A 401 later on (key removed from the server)
 * brings the form back; nothing else is shown without an accepted key.
 */
export function App() {
  const [access, setAccess] = useState<Access>('checking');
  const [problem, setProblem] = useState<string | null>(null);

  const check = async () => {
    try {
      await api('GET', '/tasks?limit=1');
      setAccess('granted');
      setProblem(null);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        setAccess('needs-key');
        if (storedKey()) {
          storeKey(null);
          setProblem('The API refused that key.');
        }
      } else {
        setAccess('unreachable');
        setProblem(err instanceof Error ? err.message : String(err));
      }
    }
  };

  useEffect(() => {
    void check();
    return onUnauthorized(() => setAccess('needs-key'));
  }, []);

  return (
    <LocationProvider>
      <header class="top">
        <a class="brand" href="/ui/">
          Tasker
        </a>
        <Nav />
        {storedKey() && access === 'granted' && (
          <button
            type="button"
            class="quiet"
            onClick={() => {
              storeKey(null);
              setAccess('checking');
              void check();
            }}
          >
            Forget key
          </button>
        )}
      </header>
      <main id="main">
        {access === 'checking' && <p role="status">Connecting to the API…</p>}
        {access === 'unreachable' && (
          <p role="alert" class="error">
            The API cannot be reached: {problem}
          </p>
        )}
        {access === 'needs-key' && (
          <KeyForm
            problem={problem}
            onKey={(key) => {
              storeKey(key);
              setProblem(null);
              setAccess('checking');
              void check();
            }}
          />
        )}
        {access === 'granted' && (
          <Router>
            <Route path="/ui/tasks/:taskUuid" component={TaskPage} />
            <Route path="/ui/tasks" component={TasksList} />
            <Route path="/ui/dlq" component={DlqPage} />
            <Route path="/ui/schedules" component={SchedulesPage} />
            <Route path="/ui/limits" component={LimitsPage} />
            <Route path="/ui/templates" component={TemplatesPage} />
            <Route default component={Overview} />
          </Router>
        )}
      </main>
    </LocationProvider>
  );
}

const VIEWS = [
  ['/ui/', 'Overview'],
  ['/ui/tasks', 'Tasks'],
  ['/ui/dlq', 'DLQ'],
  ['/ui/schedules', 'Schedules'],
  ['/ui/limits', 'Limits'],
  ['/ui/templates', 'Templates'],
] as const;

function Nav() {
  const { path } = useLocation();
  const current = (href: string) =>
    href === '/ui/' ? path === '/ui/' || path === '/ui' : path.startsWith(href);
  return (
    <nav aria-label="Views">
      {VIEWS.map(([href, label]) => (
        <a key={href} href={href} aria-current={current(href) ? 'page' : undefined}>
          {label}
        </a>
      ))}
    </nav>
  );
}
