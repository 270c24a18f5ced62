import { useState } from 'react';
import { api, ApiError, qs, type Task } from '../api';
import { Async, Empty, ErrorBox, useApi } from '../components';
import { when } from '../format';
import { Link } from '../router';
import { useSession } from '../session';

/** The account manager's queue: open tasks (personal / dedicated assistance), assign, complete. */
export function TasksPage() {
  const s = useSession();
  const [status, setStatus] = useState<'open' | 'done'>('open');
  const [mine, setMine] = useState(false);
  const [list, reload] = useApi<{ tasks: Task[] }>(`/api/tasks${qs({ status, assignee: mine ? s.me.user.email : undefined, limit: 500 })}`);
  const [failure, setFailure] = useState<Error | null>(null);
  const [done, setDone] = useState<string | null>(null);

  const complete = async (t: Task, outcome: string) => {
    setFailure(null);
    try {
      await api(`/api/tasks/${encodeURIComponent(t.id)}/complete`, { method: 'POST', body: { outcome } });
      setDone(`Completed “${t.title}”.`);
      reload();
    } catch (e) {
      setFailure(e as Error);
    }
  };
  const assign = async (t: Task, assignee: string) => {
    setFailure(null);
    try {
      await api(`/api/tasks/${encodeURIComponent(t.id)}/assign`, { method: 'POST', body: { assignee } });
      reload();
    } catch (e) {
      setFailure(e instanceof ApiError && e.status === 404 ? new Error('Re-assigning tasks is not available on this server yet (needs POST /api/tasks/:id/assign).') : (e as Error));
    }
  };

  return (
    <div className="page">
      <h1>Tasks</h1>
      <div className="filters">
        <div role="tablist" aria-label="Status" className="tabs">
          {(['open', 'done'] as const).map((st) => (
            <button key={st} type="button" role="tab" aria-selected={status === st} className={status === st ? 'tab active' : 'tab'} onClick={() => setStatus(st)}>
              {st === 'open' ? 'Open' : 'Done'}
            </button>
          ))}
        </div>
        <label className="inline">
          <input type="checkbox" checked={mine} onChange={(e) => setMine(e.target.checked)} /> Only mine ({s.me.user.email})
        </label>
      </div>
      {done ? (
        <p className="ok" role="status">
          {done}
        </p>
      ) : null}
      {failure ? <ErrorBox error={failure} /> : null}
      <Async state={list} what="tasks">
        {(l) =>
          l.tasks.length === 0 ? (
            <Empty title={status === 'open' ? 'No open tasks.' : 'No completed tasks yet.'}>Playbooks with a task step create tasks for personal or dedicated assistance.</Empty>
          ) : (
            <ul className="task-list" data-testid="task-list">
              {l.tasks.map((t) => (
                <TaskItem key={t.id} task={t} onComplete={complete} onAssign={assign} canEdit={s.canEdit} />
              ))}
            </ul>
          )
        }
      </Async>
    </div>
  );
}

function TaskItem(props: { task: Task; onComplete: (t: Task, outcome: string) => void; onAssign: (t: Task, a: string) => void; canEdit: boolean }) {
  const t = props.task;
  const [outcome, setOutcome] = useState('');
  const [assignee, setAssignee] = useState(t.assignee);
  return (
    <li className="task">
      <div>
        <strong>{t.title}</strong> <span className="tag">{t.kind === 'dedicated' ? 'dedicated assistance' : 'personal assistance'}</span>
        <div className="muted small">
          for <Link to={`/customers/${encodeURIComponent(t.customerId)}`}>{t.userId || t.customerId}</Link> · {t.assignee}
          {t.queue ? ` (${t.queue})` : ''} · created {when(t.createdAt)}
          {t.dueAt ? ` · due ${when(t.dueAt)}` : ''}
          {t.status === 'done' ? ` · done ${when(t.completedAt)}: ${t.outcome ?? ''}` : ''}
        </div>
        {t.description ? <p className="small">{t.description}</p> : null}
      </div>
      {t.status === 'open' && props.canEdit ? (
        <form
          className="task-actions"
          onSubmit={(e) => {
            e.preventDefault();
            props.onComplete(t, outcome || 'done');
          }}
        >
          <label>
            <span className="sr">Outcome of {t.title}</span>
            <input value={outcome} onChange={(e) => setOutcome(e.target.value)} placeholder="Outcome (e.g. called, solved)" />
          </label>
          <button type="submit" className="primary">
            Complete
          </button>
          <label>
            <span className="sr">Assignee of {t.title}</span>
            <input value={assignee} onChange={(e) => setAssignee(e.target.value)} />
          </label>
          <button type="button" onClick={() => props.onAssign(t, assignee)} disabled={assignee === t.assignee || !assignee}>
            Assign
          </button>
        </form>
      ) : null}
    </li>
  );
}

