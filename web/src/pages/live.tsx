import { useEffect, useRef, useState } from 'react';
import { api } from '../api';
import { Empty } from '../components';
import { label, num, when } from '../format';
import { Link } from '../router';
import { useSession } from '../session';

interface Change {
  customerId: string;
  lens: string;
  from: string | null;
  to: string;
  at: string;
  seq: number;
  event: string | null;
}
interface Item {
  key: string;
  kind: 'type_change' | 'measures';
  change?: Change;
  text?: string;
  received: number;
}

const MAX = 200;

/** Live: classification changes from the SSE stream and measures going out (action counts). */
export function LivePage() {
  const s = useSession();
  const [items, setItems] = useState<Item[]>([]);
  const [state, setState] = useState<'connecting' | 'open' | 'error'>('connecting');
  const [onlyLens, setOnlyLens] = useState(false);
  const lastCounts = useRef<Record<string, number> | null>(null);

  useEffect(() => {
    const es = new EventSource(`/api/stream${onlyLens ? `?lens=${encodeURIComponent(s.lens)}` : ''}`, { withCredentials: true });
    es.onopen = () => setState('open');
    es.onerror = () => setState('error');
    es.addEventListener('type_change', (ev) => {
      const c = JSON.parse((ev as MessageEvent<string>).data) as Change;
      setItems((xs) => [{ key: `${c.seq}-${c.lens}-${c.customerId}`, kind: 'type_change' as const, change: c, received: Date.now() }, ...xs].slice(0, MAX));
    });
    return () => es.close();
  }, [onlyLens, s.lens]);

  // Measures: the automation's action counts, polled; a rise in "done" means messages went out.
  useEffect(() => {
    let stop = false;
    const poll = async () => {
      try {
        const r = await api<{ counts: Record<string, number> }>('/api/automation/actions');
        const prev = lastCounts.current;
        if (prev) {
          const sent = (r.counts['done'] ?? 0) - (prev['done'] ?? 0);
          if (sent > 0) setItems((xs) => [{ key: `m-${Date.now()}`, kind: 'measures' as const, text: `${num(sent)} measure${sent === 1 ? '' : 's'} went out`, received: Date.now() }, ...xs].slice(0, MAX));
        }
        lastCounts.current = r.counts;
      } catch {
        // No automation on this server: the feed shows classifications only.
      }
      if (!stop) setTimeout(() => void poll(), 5000);
    };
    void poll();
    return () => {
      stop = true;
    };
  }, []);

  return (
    <div className="page">
      <h1>Live</h1>
      <div className="filters">
        <span className={`status ${state === 'open' ? 'ok' : state === 'error' ? 'bad' : ''}`} role="status" data-testid="live-status">
          {state === 'open' ? '● Connected' : state === 'error' ? 'Disconnected — retrying…' : 'Connecting…'}
        </span>
        <label className="inline">
          <input type="checkbox" checked={onlyLens} onChange={(e) => setOnlyLens(e.target.checked)} /> Only the {s.lens} lens
        </label>
      </div>
      {items.length === 0 ? (
        <Empty title="Waiting for changes…">Classification changes appear here as events arrive. Send events, or run the demo.</Empty>
      ) : (
        <ol className="feed" data-testid="live-feed" aria-live="polite">
          {items.map((i) =>
            i.kind === 'type_change' && i.change ? (
              <li key={i.key}>
                <span className="muted">{when(i.change.at)}</span> <Link to={`/customers/${encodeURIComponent(i.change.customerId)}`}>{i.change.customerId}</Link> ·{' '}
                <span className="tag">{i.change.lens}</span> {i.change.from ? `${label(i.change.from)} → ` : 'new: '}
                <strong>{label(i.change.to)}</strong> <span className="muted">({i.change.event ?? 'identify'})</span>
              </li>
            ) : (
              <li key={i.key} className="measure">
                <span className="muted">{when(i.received)}</span> {i.text}
              </li>
            ),
          )}
        </ol>
      )}
    </div>
  );
}
