import { useEffect, useMemo, useState } from 'react';
import { api } from '../api';
import { qs, type CustomerSummary, type Distribution, type Transitions } from '../api';
import { Async, Card, Chart, Empty, ErrorBox, Loading, NotAvailable, PALETTE, useApi } from '../components';
import { label, money, num, pct } from '../format';
import { Link } from '../router';
import { useLens, useSession } from '../session';

interface ValueSummary {
  customers: number;
  revenueTotal: number;
  /** `percentile` is 1..100 (or a 0..1 share from older servers). */
  pareto: Array<{ percentile: number; revenueShare: number }>;
  clvHistogram?: Array<{ from: number; to: number; count: number }>;
  heavyUsers?: { share: number; revenueShare: number; clvThreshold: number };
  heavyUserShare?: number;
  heavyUserThreshold?: number;
  /** Set when the figures come from samples (very large populations): the shares sampled. */
  sample?: { customerShare: number; buyerShare: number } | null;
}
interface Economics {
  lens: string;
  types: Array<{
    type: string;
    customers: number;
    revenue: number;
    clv: number;
    costToServe: number;
    margin: number;
    revenuePerCustomer?: number;
    clvPerCustomer?: number;
    costPerCustomer?: number;
  }>;
}

const DAY = 86_400_000;
/** Up to this many customers the history chart loads by itself. */
const AUTO_HISTORY_MAX = 200_000;
const PERIODS: Array<[string, number]> = [
  ['Last 7 days', 7],
  ['Last 30 days', 30],
  ['Last 90 days', 90],
  ['Last year', 365],
  ['All time', 0],
];

/** Portfolio: who is what, how it moves, what each type is worth, where value concentrates, who is at risk. */
export function PortfolioPage() {
  const s = useSession();
  const lens = useLens();
  const [days, setDays] = useState(30);
  // Stable per render-minute so the request is cached while the user looks.
  const range = useMemo(() => {
    const to = new Date(Math.ceil(Date.now() / 60_000) * 60_000);
    return { from: days ? new Date(to.getTime() - days * DAY).toISOString() : undefined, to: to.toISOString() };
  }, [days]);
  const [dist] = useApi<Distribution>(s.lens ? `/api/lenses/${encodeURIComponent(s.lens)}/distribution` : null);
  const [trans] = useApi<Transitions>(s.lens ? `/api/lenses/${encodeURIComponent(s.lens)}/transitions${qs({ from: range.from, to: range.to })}` : null);
  const [econ] = useApi<Economics>(s.lens ? `/api/lenses/${encodeURIComponent(s.lens)}/economics` : null);
  const [value] = useApi<ValueSummary>('/api/value/summary');
  const atRiskType = lens?.types.find((t) => /risk|lapsing|enmity|rebound/.test(t.name))?.name ?? (s.lens === 'lifecycle' ? 'at_risk' : undefined);

  if (!s.lens) {
    return (
      <div className="page">
        <h1>Portfolio</h1>
        <Empty title="No lenses are active.">Add a lens file to the lenses folder, or restart with the built-in lenses.</Empty>
      </div>
    );
  }
  return (
    <div className="page">
      <h1>
        Portfolio <span className="muted">· {lens?.title ?? s.lens}</span>
      </h1>
      <div className="grid">
        <Card title="Customers per type now" id="dist-title">
          <Async state={dist} what="distribution">
            {(d) =>
              d.total === 0 ? (
                <NoCustomers />
              ) : (
                <>
                  <p className="kpi" data-testid="total-customers">
                    {num(d.total)} <span className="muted">customers</span>
                  </p>
                  <Chart
                    label={`Customers per type in ${s.lens}`}
                    option={{
                      color: PALETTE,
                      grid: { left: 140, right: 40, top: 10, bottom: 30 },
                      tooltip: { trigger: 'item' },
                      xAxis: { type: 'value' },
                      yAxis: { type: 'category', inverse: true, data: d.types.map((t) => label(t.type)) },
                      series: [{ type: 'bar', data: d.types.map((t, i) => ({ value: t.count, itemStyle: { color: PALETTE[i % PALETTE.length] } })), label: { show: true, position: 'right', formatter: (p: { value: number }) => num(p.value) } }],
                    }}
                  />
                </>
              )
            }
          </Async>
        </Card>
        <Card title="Intended vs measured mix" id="mix-title">
          <Async state={dist} what="mix">
            {(d) =>
              !lens?.intended ? (
                <Empty title="This lens has no intended mix.">
                  Add <code>intended: {'{ type: share, … }'}</code> to the lens YAML to compare the company's self-image with the measured mix.
                </Empty>
              ) : (
                <Chart
                  label="Intended versus measured share per type"
                  option={{
                    color: ['#94a3b8', '#2563eb'],
                    legend: { top: 0 },
                    grid: { left: 140, right: 20, top: 30, bottom: 30 },
                    tooltip: { trigger: 'axis' },
                    xAxis: { type: 'value', axisLabel: { formatter: (v: number) => `${Math.round(v * 100)} %` } },
                    yAxis: { type: 'category', inverse: true, data: lens.types.map((t) => label(t.name)) },
                    series: [
                      { name: 'Intended', type: 'bar', data: lens.types.map((t) => intendedShare(lens.intended!, t.name)) },
                      { name: 'Measured', type: 'bar', data: lens.types.map((t) => d.types.find((x) => x.type === t.name)?.share ?? 0) },
                    ],
                  }}
                />
              )
            }
          </Async>
        </Card>
        <Card title="Customers per type over time" wide id="time-title">
          <OverTime lens={s.lens} days={days || 365} types={lens?.types.map((t) => t.name) ?? []} total={dist.status === 'ok' ? dist.data.total : null} />
        </Card>
        <Card
          title="How customers move between types"
          wide
          id="flow-title"
          actions={
            <label className="inline">
              Period{' '}
              <select value={days} onChange={(e) => setDays(Number(e.target.value))}>
                {PERIODS.map(([t, d]) => (
                  <option key={d} value={d}>
                    {t}
                  </option>
                ))}
              </select>
            </label>
          }
        >
          <Async state={trans} what="transitions">
            {(t) => {
              const links = t.transitions.filter((r) => r.from !== null && r.from !== r.to && r.count > 0);
              if (links.length === 0) return <Empty title="No type changes in this period.">Choose a longer period, or wait for new events to arrive.</Empty>;
              // Sankey needs a DAG: sources and targets are separate nodes ("from" on the left).
              const nodes = new Set<string>();
              for (const r of links) {
                nodes.add(`${label(r.from)} ·`);
                nodes.add(`→ ${label(r.to)}`);
              }
              return (
                <Chart
                  height={360}
                  label="Sankey diagram of type changes"
                  option={{
                    color: PALETTE,
                    tooltip: { trigger: 'item' },
                    series: [
                      {
                        type: 'sankey',
                        left: 10,
                        right: 140,
                        emphasis: { focus: 'adjacency' },
                        nodeAlign: 'justify',
                        data: [...nodes].map((name) => ({ name })),
                        links: links.map((r) => ({ source: `${label(r.from)} ·`, target: `→ ${label(r.to)}`, value: r.count })),
                        lineStyle: { color: 'gradient', curveness: 0.5, opacity: 0.35 },
                      },
                    ],
                  }}
                />
              );
            }}
          </Async>
        </Card>
        <Card title="Relationship economics per type" wide id="econ-title">
          <Async state={econ} what="economics" notAvailable={<NotAvailable what="Revenue, CLV and cost per type" api={`GET /api/lenses/${s.lens}/economics`} />}>
            {(e) =>
              e.types.length === 0 ? (
                <NoCustomers />
              ) : (
                <div className="split">
                  <Chart
                    label="Revenue, CLV and cost to serve per type"
                    option={{
                      color: ['#2563eb', '#16a34a', '#dc2626'],
                      legend: { top: 0 },
                      tooltip: { trigger: 'axis' },
                      grid: { left: 60, right: 20, top: 30, bottom: 70 },
                      xAxis: { type: 'category', data: e.types.map((t) => label(t.type)), axisLabel: { rotate: 30 } },
                      yAxis: { type: 'value' },
                      series: [
                        { name: 'Revenue per customer', type: 'bar', data: e.types.map((t) => round(t.revenuePerCustomer ?? t.revenue / Math.max(1, t.customers))) },
                        { name: 'CLV (12 m) per customer', type: 'bar', data: e.types.map((t) => round(t.clvPerCustomer ?? t.clv / Math.max(1, t.customers))) },
                        { name: 'Cost to serve per customer', type: 'bar', data: e.types.map((t) => round(t.costPerCustomer ?? t.costToServe / Math.max(1, t.customers))) },
                      ],
                    }}
                  />
                  <table className="table compact" data-testid="economics-table">
                    <thead>
                      <tr>
                        <th scope="col">Type</th>
                        <th scope="col" className="num">Customers</th>
                        <th scope="col" className="num">Revenue</th>
                        <th scope="col" className="num">CLV</th>
                        <th scope="col" className="num">Cost</th>
                        <th scope="col" className="num">Margin</th>
                      </tr>
                    </thead>
                    <tbody>
                      {e.types.map((t) => (
                        <tr key={t.type}>
                          <th scope="row">{label(t.type)}</th>
                          <td className="num">{num(t.customers)}</td>
                          <td className="num">{money(t.revenue)}</td>
                          <td className="num">{money(t.clv)}</td>
                          <td className="num">{money(t.costToServe)}</td>
                          <td className={t.margin < 0 ? 'num neg' : 'num'}>{money(t.margin)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )
            }
          </Async>
        </Card>
        <Card title="Where the value is (Pareto)" id="pareto-title">
          <Async state={value} what="value summary" notAvailable={<NotAvailable what="The value curve" api="GET /api/value/summary" />}>
            {(v) =>
              v.pareto.length === 0 ? (
                <Empty title="No purchases yet.">Value appears once customers have bought (Order Completed events).</Empty>
              ) : (
                <>
                  <p className="kpi">
                    {pct(v.heavyUsers?.revenueShare ?? v.heavyUserShare, 0)}{' '}
                    <span className="muted">
                      of revenue from the top {pct(v.heavyUsers?.share ?? 0.2, 0)} (heavy users, CLV ≥ {money(v.heavyUsers?.clvThreshold ?? v.heavyUserThreshold)})
                    </span>
                  </p>
                  <Chart
                    label="Pareto curve: share of revenue by share of customers"
                    option={{
                      tooltip: { trigger: 'axis' },
                      grid: { left: 50, right: 20, top: 10, bottom: 40 },
                      xAxis: { type: 'value', min: 0, max: 100, name: '% customers', nameLocation: 'middle', nameGap: 25 },
                      yAxis: { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value} %' } },
                      series: [
                        { type: 'line', smooth: true, showSymbol: false, areaStyle: { opacity: 0.15 }, data: [[0, 0], ...paretoPoints(v.pareto)] },
                        { type: 'line', showSymbol: false, lineStyle: { type: 'dashed', color: '#94a3b8' }, data: [[0, 0], [100, 100]] },
                      ],
                    }}
                  />
                  {v.sample ? (
                    <p className="muted" data-testid="value-sample">
                      Estimated from a sample of {pct(v.sample.customerShare, 1)} of the customers and {pct(v.sample.buyerShare, 1)} of the buyers.
                    </p>
                  ) : null}
                  {v.clvHistogram?.length ? (
                    <Chart
                      height={180}
                      label="Customers per CLV band"
                      option={{
                        tooltip: { trigger: 'axis' },
                        grid: { left: 50, right: 20, top: 20, bottom: 40 },
                        xAxis: { type: 'category', name: 'CLV (12 m)', nameLocation: 'middle', nameGap: 25, data: v.clvHistogram.map((b) => `${num(b.from)}–${num(b.to)}`) },
                        yAxis: { type: 'value', name: 'customers' },
                        series: [{ type: 'bar', data: v.clvHistogram.map((b) => b.count), itemStyle: { color: '#16a34a' } }],
                      }}
                    />
                  ) : null}
                </>
              )
            }
          </Async>
        </Card>
        <Card title="At-risk customers" id="risk-title">
          {atRiskType ? <AtRisk lens={s.lens} type={atRiskType} /> : <Empty title="This lens has no at-risk type.">Switch to the lifecycle lens to see customers at risk.</Empty>}
        </Card>
      </div>
    </div>
  );
}

/** Distribution as of evenly spaced dates over the period (one request per point, in parallel). */
function OverTime(props: { lens: string; days: number; types: string[]; total: number | null }) {
  const [points, setPoints] = useState<Array<{ at: string; d: Distribution }> | null>(null);
  const [error, setError] = useState<Error | null>(null);
  // Past distributions are recomputed from the type history: on large populations load them on request.
  const [wanted, setWanted] = useState(false);
  const auto = props.total !== null && props.total <= AUTO_HISTORY_MAX;
  const load = auto || wanted;
  useEffect(() => {
    if (!load) return;
    const n = 8;
    const now = Math.ceil(Date.now() / 60_000) * 60_000;
    const dates = Array.from({ length: n }, (_, i) => new Date(now - ((n - 1 - i) * props.days * DAY) / (n - 1)).toISOString());
    let live = true;
    setPoints(null);
    Promise.all(dates.map((at) => api<Distribution>(`/api/lenses/${encodeURIComponent(props.lens)}/distribution${qs({ asOf: at })}`).then((d) => ({ at, d })))).then(
      (p) => live && setPoints(p),
      (e: unknown) => live && setError(e as Error),
    );
    return () => {
      live = false;
    };
  }, [props.lens, props.days, load]);
  if (props.total === null) return <Loading what="history" />;
  if (!load) {
    return (
      <p>
        <button type="button" onClick={() => setWanted(true)}>
          Show the history over the period
        </button>{' '}
        <span className="muted small">With {num(props.total)} customers this takes a few seconds.</span>
      </p>
    );
  }
  if (error) return <ErrorBox error={error} />;
  if (!points) return <Loading what="history" />;
  if (points.every((p) => p.d.total === 0)) return <Empty title="No history in this period yet." />;
  const types = [...new Set([...props.types, ...points.flatMap((p) => p.d.types.map((t) => t.type))])];
  return (
    <Chart
      height={260}
      label="Customers per type over time"
      option={{
        color: PALETTE,
        legend: { top: 0 },
        tooltip: { trigger: 'axis' },
        grid: { left: 50, right: 20, top: 30, bottom: 30 },
        xAxis: { type: 'category', boundaryGap: false, data: points.map((p) => p.at.slice(0, 10)) },
        yAxis: { type: 'value' },
        series: types.map((t) => ({ name: label(t), type: 'line', stack: 'all', areaStyle: { opacity: 0.6 }, showSymbol: false, data: points.map((p) => p.d.types.find((x) => x.type === t)?.count ?? 0) })),
      }}
    />
  );
}

function AtRisk(props: { lens: string; type: string }) {
  const [list] = useApi<{ customers: CustomerSummary[]; nextCursor: string | null }>(`/api/customers${qs({ lens: props.lens, type: props.type, limit: 8 })}`);
  return (
    <Async state={list} what="at-risk customers">
      {(l) =>
        l.customers.length === 0 ? (
          <Empty title="No customers at risk right now." />
        ) : (
          <>
            <ul className="plain">
              {l.customers.map((c) => (
                <li key={c.id}>
                  <Link to={`/customers/${encodeURIComponent(c.id)}`}>{c.name ?? c.email ?? c.userId ?? c.id}</Link> <span className="muted">· last seen {c.lastSeen.slice(0, 10)}</span>
                </li>
              ))}
            </ul>
            <Link to={`/customers?lens=${encodeURIComponent(props.lens)}&type=${encodeURIComponent(props.type)}`}>All {label(props.type)} customers →</Link>
          </>
        )
      }
    </Async>
  );
}

/** The first-run empty state: what to do to get data in. */
export function NoCustomers() {
  const s = useSession();
  return (
    <Empty title="No customers yet.">
      Run the demo (<code>npm run demo</code>) or send events to <code>POST /v1/batch</code> with a write key
      {s.isAdmin ? (
        <>
          {' '}
          — create one under <Link to="/settings">Settings → Sources</Link>.
        </>
      ) : (
        ' (an admin creates one under Settings).'
      )}
    </Empty>
  );
}

function intendedShare(intended: Record<string, number>, type: string): number {
  const total = Object.values(intended).reduce((a, b) => a + b, 0) || 1;
  return (intended[type] ?? 0) / total;
}

/** Pareto points as [% customers, % revenue], whether percentiles come as 1..100 or 0..1. */
function paretoPoints(p: ValueSummary['pareto']): Array<[number, number]> {
  const scale = Math.max(...p.map((x) => x.percentile)) <= 1 ? 100 : 1;
  return [...p].sort((a, b) => a.percentile - b.percentile).map((x) => [round(x.percentile * scale), round(x.revenueShare * 100)]);
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
