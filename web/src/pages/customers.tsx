import { useEffect, useState, type FormEvent } from 'react';
import { api, qs, type CustomerSummary } from '../api';
import { Async, Empty, ErrorBox, useApi } from '../components';
import { label, num, when } from '../format';
import { Link, useRoute } from '../router';
import { useSession } from '../session';
import { NoCustomers } from './portfolio';

interface Page {
  customers: CustomerSummary[];
  nextCursor: string | null;
}

const PAGE = 50;
const EXPORT_MAX = 50_000;

/** CSV cell: quoted, and a leading = + - @ neutralised so spreadsheets do not run it as a formula. */
function csvCell(v: unknown): string {
  let s = v === null || v === undefined ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return `"${s.replace(/"/g, '""')}"`;
}

/** Customers: search (id, email, name prefix, trait:value), filter by type, page with cursors, export CSV. */
export function CustomersPage() {
  const s = useSession();
  const { search, navigate } = useRoute();
  const params = new URLSearchParams(search);
  const query = params.get('query') ?? '';
  const lens = params.get('lens') ?? s.lens;
  const type = params.get('type') ?? '';
  const [draft, setDraft] = useState(query);
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const cursor = cursors[cursors.length - 1] ?? null;
  useEffect(() => {
    setCursors([null]);
    setDraft(query);
  }, [query, lens, type]);
  const [page] = useApi<Page>(`/api/customers${qs({ query, lens: type ? lens : undefined, type: type || undefined, limit: PAGE, cursor })}`);
  const lensDef = s.lenses.find((l) => l.name === lens);
  const [exporting, setExporting] = useState<string | null>(null);
  const [exportError, setExportError] = useState<Error | null>(null);

  const go = (next: Record<string, string>) => {
    const p = new URLSearchParams({ query, lens, type, ...next });
    for (const [k, v] of [...p.entries()]) if (!v) p.delete(k);
    navigate(`/customers${p.toString() ? `?${p}` : ''}`);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    go({ query: draft.trim() });
  };

  const exportCsv = async () => {
    setExportError(null);
    const lensNames = s.lenses.map((l) => l.name);
    const rows: string[] = [['id', 'userId', 'email', 'name', 'lastSeen', 'eventCount', ...lensNames].map(csvCell).join(',')];
    let next: string | null = null;
    try {
      do {
        const p: Page = await api<Page>(`/api/customers${qs({ query, lens: type ? lens : undefined, type: type || undefined, limit: 500, cursor: next })}`);
        for (const c of p.customers) rows.push([c.id, c.userId, c.email, c.name, c.lastSeen, c.eventCount, ...lensNames.map((l) => c.types[l] ?? '')].map(csvCell).join(','));
        next = p.nextCursor;
        setExporting(`${num(rows.length - 1)} rows…`);
      } while (next && rows.length <= EXPORT_MAX);
      const blob = new Blob([rows.join('\r\n') + '\r\n'], { type: 'text/csv;charset=utf-8' });
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = `rapport-customers${type ? `-${lens}-${type}` : ''}.csv`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    } catch (err) {
      setExportError(err as Error);
    } finally {
      setExporting(null);
    }
  };

  return (
    <div className="page">
      <h1>Customers</h1>
      <form className="filters" onSubmit={submit} role="search">
        <label>
          Search
          <input
            type="search"
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            placeholder="email, name, id or trait:value (e.g. plan:gold)"
            aria-describedby="search-help"
            name="query"
          />
        </label>
        <label>
          Lens
          <select value={lens} onChange={(e) => go({ lens: e.target.value, type: '' })}>
            {s.lenses.map((l) => (
              <option key={l.name} value={l.name}>
                {l.title || l.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Type
          <select value={type} onChange={(e) => go({ type: e.target.value })} name="type">
            <option value="">All types</option>
            {lensDef?.types.map((t) => (
              <option key={t.name} value={t.name}>
                {t.label || label(t.name)}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="primary">
          Search
        </button>
        <button type="button" onClick={() => void exportCsv()} disabled={exporting !== null}>
          {exporting ? `Exporting ${exporting}` : 'Export CSV'}
        </button>
      </form>
      <p id="search-help" className="muted small">
        Exact id, user id or email; a name or email prefix; or <code>trait:value</code>. Export takes the filtered list (up to {num(EXPORT_MAX)} rows).
      </p>
      {exportError ? <ErrorBox error={exportError} /> : null}
      <Async state={page} what="customers">
        {(p) =>
          p.customers.length === 0 ? (
            query || type ? (
              <Empty title="No customers match.">Clear the search or pick another type.</Empty>
            ) : (
              <NoCustomers />
            )
          ) : (
            <>
              <table className="table" data-testid="customer-table">
                <thead>
                  <tr>
                    <th scope="col">Customer</th>
                    <th scope="col">Email</th>
                    {s.lenses.map((l) => (
                      <th scope="col" key={l.name}>
                        {l.name}
                      </th>
                    ))}
                    <th scope="col" className="num">
                      Events
                    </th>
                    <th scope="col">Last seen</th>
                  </tr>
                </thead>
                <tbody>
                  {p.customers.map((c) => (
                    <tr key={c.id}>
                      <td>
                        <Link to={`/customers/${encodeURIComponent(c.id)}`}>{c.name ?? c.userId ?? c.id}</Link>
                      </td>
                      <td>{c.email ?? '—'}</td>
                      {s.lenses.map((l) => (
                        <td key={l.name}>{c.types[l.name] ? <span className="tag">{label(c.types[l.name])}</span> : '—'}</td>
                      ))}
                      <td className="num">{num(c.eventCount)}</td>
                      <td>{when(c.lastSeen)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <nav className="pager" aria-label="Pages">
                <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
                  ← Previous
                </button>
                <span className="muted">Page {cursors.length}</span>
                <button type="button" disabled={!p.nextCursor} onClick={() => setCursors((c) => [...c, p.nextCursor])}>
                  Next →
                </button>
              </nav>
            </>
          )
        }
      </Async>
    </div>
  );
}
