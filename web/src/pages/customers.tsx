import { useEffect, useState, type FormEvent } from 'react';
import { api, qs, type CustomerSummary } from '../api';
import { Async, Empty, ErrorBox, useApi } from '../components';
import { label, num, pct, when } from '../format';
import type { ReactNode } from 'react';
import { Link, useRoute } from '../router';
import { useSession } from '../session';
import { NoCustomers } from './portfolio';

type Row = CustomerSummary & { clv12m?: number | null; pAlive?: number | null; probability?: number | null };
interface Page {
  customers: Row[];
  nextCursor: string | null;
  exhausted?: boolean;
}
type SortKey = 'name' | 'email' | 'events' | 'lastSeen' | 'clv' | 'pAlive' | 'probability';

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
  const minP = params.get('minProbability') ?? '';
  const minClv = params.get('minClv') ?? '';
  const alive = params.get('alive') ?? '';
  const heavy = params.get('heavyUser') ?? '';
  const advanced = Boolean(minP || minClv || alive || heavy);
  const [sort, setSort] = useState<{ key: SortKey; dir: 1 | -1 } | null>(null);
  const [draft, setDraft] = useState(query);
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const cursor = cursors[cursors.length - 1] ?? null;
  useEffect(() => {
    setCursors([null]);
    setDraft(query);
  }, [query, lens, type, minP, minClv, alive, heavy]);
  // The value/probability filters go to the dashboard's filter endpoint; search and type to the search API.
  const listUrl = (limit: number, c: string | null) =>
    advanced
      ? `/api/dashboard/customers${qs({
          lens: type || minP ? lens : undefined,
          type: type || undefined,
          minProbability: minP || undefined,
          minClv: minClv || undefined,
          maxPAlive: alive === 'at_risk' ? 0.5 : undefined,
          minPAlive: alive === 'alive' ? 0.5 : undefined,
          heavyUser: heavy || undefined,
          limit,
          cursor: c,
        })}`
      : `/api/customers${qs({ query, lens: type ? lens : undefined, type: type || undefined, limit, cursor: c })}`;
  const [page] = useApi<Page>(listUrl(PAGE, cursor));
  const lensDef = s.lenses.find((l) => l.name === lens);
  const [exporting, setExporting] = useState<string | null>(null);
  const [exportError, setExportError] = useState<Error | null>(null);

  const go = (next: Record<string, string>) => {
    const p = new URLSearchParams({ query, lens, type, minProbability: minP, minClv, alive, heavyUser: heavy, ...next });
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
        const p: Page = await api<Page>(listUrl(500, next));
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
        <label>
          Probability
          <select value={minP} onChange={(e) => go({ minProbability: e.target.value })}>
            <option value="">any</option>
            <option value="0.5">≥ 50 %</option>
            <option value="0.7">≥ 70 %</option>
            <option value="0.9">≥ 90 %</option>
          </select>
        </label>
        <label>
          CLV at least
          <input type="number" min={0} step={50} value={minClv} onChange={(e) => go({ minClv: e.target.value })} style={{ width: '7rem' }} />
        </label>
        <label>
          Activity
          <select value={alive} onChange={(e) => go({ alive: e.target.value })}>
            <option value="">any</option>
            <option value="at_risk">at risk (P(alive) &lt; 50 %)</option>
            <option value="alive">active (P(alive) ≥ 50 %)</option>
          </select>
        </label>
        <label className="inline">
          <input type="checkbox" checked={heavy === 'true'} onChange={(e) => go({ heavyUser: e.target.checked ? 'true' : '' })} /> Heavy users
        </label>
        <button type="submit" className="primary">
          Search
        </button>
        <button type="button" onClick={() => void exportCsv()} disabled={exporting !== null}>
          {exporting ? `Exporting ${exporting}` : 'Export CSV'}
        </button>
      </form>
      <p id="search-help" className="muted small">
        Exact id, user id or email; a name or email prefix; or <code>trait:value</code>.{advanced ? ' (The search box is not combined with probability, CLV or activity filters.)' : ''} Click a column heading to sort the page. Export
        takes the filtered list (up to {num(EXPORT_MAX)} rows).
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
                    <SortTh k="name" sort={sort} setSort={setSort}>
                      Customer
                    </SortTh>
                    <SortTh k="email" sort={sort} setSort={setSort}>
                      Email
                    </SortTh>
                    {s.lenses.map((l) => (
                      <th scope="col" key={l.name}>
                        {l.name}
                      </th>
                    ))}
                    {advanced ? (
                      <>
                        {p.customers.some((c) => c.probability != null) ? (
                          <SortTh k="probability" sort={sort} setSort={setSort} num>
                            P({lens})
                          </SortTh>
                        ) : null}
                        <SortTh k="clv" sort={sort} setSort={setSort} num>
                          CLV
                        </SortTh>
                        <SortTh k="pAlive" sort={sort} setSort={setSort} num>
                          P(alive)
                        </SortTh>
                      </>
                    ) : null}
                    <SortTh k="events" sort={sort} setSort={setSort} num>
                      Events
                    </SortTh>
                    <SortTh k="lastSeen" sort={sort} setSort={setSort}>
                      Last seen
                    </SortTh>
                  </tr>
                </thead>
                <tbody>
                  {sorted(p.customers, sort).map((c) => (
                    <tr key={c.id}>
                      <td>
                        <Link to={`/customers/${encodeURIComponent(c.id)}`}>{c.name ?? c.userId ?? c.id}</Link>
                      </td>
                      <td>{c.email ?? '—'}</td>
                      {s.lenses.map((l) => (
                        <td key={l.name}>{c.types[l.name] ? <span className="tag">{label(c.types[l.name])}</span> : '—'}</td>
                      ))}
                      {advanced ? (
                        <>
                          {p.customers.some((x) => x.probability != null) ? <td className="num">{pct(c.probability)}</td> : null}
                          <td className="num">{num(c.clv12m)}</td>
                          <td className="num">{pct(c.pAlive)}</td>
                        </>
                      ) : null}
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
                <span className="muted">
                  Page {cursors.length}
                  {advanced && p.nextCursor && p.customers.length < PAGE ? ' — searched part of the list; Next looks further' : ''}
                </span>
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

const SORT_VALUE: Record<SortKey, (r: Row) => string | number> = {
  name: (r) => (r.name ?? r.userId ?? r.id).toLowerCase(),
  email: (r) => r.email ?? '',
  events: (r) => r.eventCount,
  lastSeen: (r) => r.lastSeen,
  clv: (r) => r.clv12m ?? -Infinity,
  pAlive: (r) => r.pAlive ?? -Infinity,
  probability: (r) => r.probability ?? -Infinity,
};

function sorted(rows: Row[], sort: { key: SortKey; dir: 1 | -1 } | null): Row[] {
  if (!sort) return rows;
  const f = SORT_VALUE[sort.key];
  return [...rows].sort((a, b) => (f(a) < f(b) ? -sort.dir : f(a) > f(b) ? sort.dir : 0));
}

/** A column heading that sorts the page (keyboard: it is a button). */
function SortTh(props: { k: SortKey; sort: { key: SortKey; dir: 1 | -1 } | null; setSort: (s: { key: SortKey; dir: 1 | -1 } | null) => void; num?: boolean; children: ReactNode }) {
  const active = props.sort?.key === props.k;
  const dir = active ? props.sort!.dir : 0;
  return (
    <th scope="col" className={props.num ? 'num' : undefined} aria-sort={dir === 1 ? 'ascending' : dir === -1 ? 'descending' : 'none'}>
      <button type="button" className="sort" onClick={() => props.setSort(dir === 1 ? { key: props.k, dir: -1 } : dir === -1 ? null : { key: props.k, dir: 1 })}>
        {props.children} {dir === 1 ? '▲' : dir === -1 ? '▼' : ''}
      </button>
    </th>
  );
}
