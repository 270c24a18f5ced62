import { useState } from 'react';
import { type Evidence, type Task } from '../api';
import { Async, Card, Empty, Highlighted, ProbBar, useApi } from '../components';
import { label, money, num, pct, when } from '../format';
import { Link } from '../router';
import { useSession } from '../session';

interface Profile {
  id: string;
  userId: string | null;
  email: string | null;
  identities: { userId: string | null; anonymousIds: string[] };
  traits: Record<string, unknown>;
  groups: string[];
  firstSeen: string;
  lastSeen: string;
  eventCount: number;
  indicators: Record<string, number>;
  value: { pAlive: number | null; expectedPurchases90d: number | null; clv12m: number | null; heavyUser: boolean; revenueTotal: number | null };
  recentEvents: Array<{ seq: number; messageId: string; type: string; event: string | null; name: string | null; properties: Record<string, unknown>; timestamp: string }>;
}
interface LensRel {
  type: string;
  probability: number;
  probabilities: Record<string, number>;
  evidence: Evidence[];
  since: string;
  history: Array<{ at: string; from: string | null; to: string; event: string | null; messageId: string; seq: number }>;
}
interface Statements {
  analysed: boolean;
  statements: Array<{
    seq: number;
    messageId: string;
    at: string;
    channel: string | null;
    text: string;
    analysis: { sentiment: number; cues: Record<string, number>; matches: Array<{ cue: string; start: number; end: number; negated: boolean }> } | null;
  }>;
}
interface Measures {
  available: boolean;
  enrolments: Array<{ id: string; playbookId: string; enteredAt: string; type: string | null; variant: string | null; holdout: boolean; status: string; reached: boolean; converted: boolean; revenue: number; unsubscribed: boolean }>;
  actions: Array<{ id: string; playbookId: string; stepId: string; due: string; status: string; reason: string | null }>;
  tasks: Task[];
  consent: Record<string, boolean | null>;
  suppressions: Array<{ channel: string; reason: string; at: string; source: string }>;
}

/** Text of any JSON value, for traits (always rendered as text). */
function show(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return num(v);
  return JSON.stringify(v);
}

/** Customer 360: identities and traits, type per lens with probabilities and evidence, history with causes, value, measures, tasks, consent. */
export function CustomerPage(props: { id: string }) {
  const s = useSession();
  const enc = encodeURIComponent(props.id);
  const [profile] = useApi<Profile>(`/api/customers/${enc}?events=200`);
  const [rel] = useApi<{ lenses: Record<string, LensRel> }>(`/api/customers/${enc}/relationships`);
  const [stm] = useApi<Statements>(`/api/customers/${enc}/statements`);
  const [meas] = useApi<Measures>(`/api/customers/${enc}/measures`);
  const [lens, setLens] = useState(s.lens);

  return (
    <div className="page">
      <p>
        <Link to="/customers">← Customers</Link>
      </p>
      <Async state={profile} what="customer">
        {(p) => (
          <>
            <h1>
              {show(p.traits['name'] ?? ([p.traits['first_name'], p.traits['last_name']].filter(Boolean).join(' ') || null) ?? p.email ?? p.userId ?? p.id)}{' '}
              {p.value.heavyUser ? <span className="tag strong">heavy user</span> : null}
            </h1>
            <div className="grid">
              <Card title="Identities and traits" id="ident">
                <dl className="kv">
                  <dt>Customer id</dt>
                  <dd>{p.id}</dd>
                  <dt>User id</dt>
                  <dd>{p.userId ?? '—'}</dd>
                  <dt>Email</dt>
                  <dd>{p.email ?? '—'}</dd>
                  <dt>Anonymous ids</dt>
                  <dd>{p.identities.anonymousIds.length ? p.identities.anonymousIds.join(', ') : '—'}</dd>
                  <dt>First / last seen</dt>
                  <dd>
                    {when(p.firstSeen)} / {when(p.lastSeen)}
                  </dd>
                  <dt>Events</dt>
                  <dd>{num(p.eventCount)}</dd>
                  {Object.entries(p.traits).map(([k, v]) => (
                    <div key={k} className="kv-row">
                      <dt>{k}</dt>
                      <dd data-testid={`trait-${k}`}>{show(v)}</dd>
                    </div>
                  ))}
                </dl>
              </Card>
              <Card title="Value" id="value">
                <dl className="kv">
                  <dt>P(alive)</dt>
                  <dd>{pct(p.value.pAlive)}</dd>
                  <dt>CLV (12 months)</dt>
                  <dd>{money(p.value.clv12m)}</dd>
                  <dt>Expected purchases (90 d)</dt>
                  <dd>{num(p.value.expectedPurchases90d)}</dd>
                  <dt>Revenue so far</dt>
                  <dd>{money(p.value.revenueTotal)}</dd>
                  <dt>RFM: recency (days)</dt>
                  <dd>{num(p.indicators['recency_days'])}</dd>
                  <dt>RFM: frequency (90 d)</dt>
                  <dd>{num(p.indicators['frequency_90d'])}</dd>
                  <dt>RFM: monetary (365 d)</dt>
                  <dd>{money(p.indicators['monetary_365d'])}</dd>
                </dl>
              </Card>
            </div>
          </>
        )}
      </Async>
      <Async state={rel} what="relationships">
        {(r) => {
          const names = Object.keys(r.lenses);
          if (names.length === 0) return <Empty title="Not classified yet.">The engine classifies a customer after their first event is processed.</Empty>;
          const cur = r.lenses[lens] ? lens : names[0]!;
          const l = r.lenses[cur]!;
          const probs = Object.entries(l.probabilities).sort((a, b) => b[1] - a[1]);
          return (
            <Card
              title="Relationship"
              wide
              id="rel"
              actions={
                <div role="tablist" aria-label="Lens" className="tabs">
                  {names.map((n) => (
                    <button key={n} type="button" role="tab" aria-selected={n === cur} className={n === cur ? 'tab active' : 'tab'} onClick={() => setLens(n)}>
                      {n}: {label(r.lenses[n]!.type)}
                    </button>
                  ))}
                </div>
              }
            >
              <div className="split">
                <div>
                  <h3>
                    {label(l.type)} <span className="muted">since {when(l.since)}</span>
                  </h3>
                  <div data-testid="probabilities">
                    {probs.map(([t, v]) => (
                      <ProbBar key={t} label={label(t)} value={v} chosen={t === l.type} />
                    ))}
                  </div>
                </div>
                <div>
                  <h3>Why: the evidence</h3>
                  {l.evidence.length === 0 ? (
                    <p className="muted">No condition stood out: the prior decided.</p>
                  ) : (
                    <table className="table compact" data-testid="evidence">
                      <thead>
                        <tr>
                          <th scope="col">Indicator</th>
                          <th scope="col">Value</th>
                          <th scope="col">Condition</th>
                          <th scope="col" className="num">
                            Weight
                          </th>
                          <th scope="col" className="num">
                            Contribution
                          </th>
                        </tr>
                      </thead>
                      <tbody>
                        {l.evidence.map((e, i) => (
                          <tr key={i} title={e.note}>
                            <td>{label(e.indicator)}</td>
                            <td>{e.value === null ? 'missing' : typeof e.value === 'number' ? num(e.value) : e.value}</td>
                            <td>{e.condition}</td>
                            <td className="num">{e.weight.toFixed(2)}</td>
                            <td className={e.contribution < 0 ? 'num neg' : 'num pos'}>{e.contribution.toFixed(2)}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  )}
                </div>
              </div>
              <h3>History</h3>
              <Timeline history={l.history} statements={stm.status === 'ok' ? stm.data.statements : []} />
            </Card>
          );
        }}
      </Async>
      <Card title="Statements" wide id="statements">
        <Async state={stm} what="statements">
          {(st) =>
            st.statements.length === 0 ? (
              <Empty title="No statements from this customer yet.">Statements arrive as Statement Captured events (chat, tickets, reviews, social media).</Empty>
            ) : (
              <ul className="statements">
                {st.statements.map((x) => (
                  <li key={x.seq}>
                    <div className="muted small">
                      {when(x.at)} · {x.channel ?? 'unknown channel'}
                      {x.analysis ? ` · sentiment ${x.analysis.sentiment.toFixed(2)}` : ''}
                      {x.analysis && Object.keys(x.analysis.cues).length ? ` · cues: ${Object.keys(x.analysis.cues).map(label).join(', ')}` : ''}
                    </div>
                    <Highlighted text={x.text} matches={x.analysis?.matches.filter((m) => m.cue !== 'sentiment') ?? []} />
                  </li>
                ))}
              </ul>
            )
          }
        </Async>
      </Card>
      <div className="grid">
        <Card title="Measures received" id="measures">
          <Async state={meas} what="measures">
            {(m) =>
              !m.available ? (
                <Empty title="Automation is not running on this server." />
              ) : m.enrolments.length === 0 ? (
                <Empty title="No measures yet.">Playbooks enrol customers when their type changes; see Playbooks.</Empty>
              ) : (
                <table className="table compact">
                  <thead>
                    <tr>
                      <th scope="col">Playbook</th>
                      <th scope="col">Entered</th>
                      <th scope="col">Variant</th>
                      <th scope="col">Outcome</th>
                    </tr>
                  </thead>
                  <tbody>
                    {m.enrolments.map((e) => (
                      <tr key={e.id}>
                        <td>
                          <Link to={`/playbooks/${encodeURIComponent(e.playbookId)}`}>{e.playbookId}</Link>
                        </td>
                        <td>{when(e.enteredAt)}</td>
                        <td>{e.holdout ? 'holdout' : (e.variant ?? '—')}</td>
                        <td>{e.converted ? `converted (${money(e.revenue)})` : e.unsubscribed ? 'unsubscribed' : e.reached ? `reached · ${e.status}` : e.status}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )
            }
          </Async>
        </Card>
        <Card title="Open tasks and consent" id="tasks">
          <Async state={meas} what="tasks">
            {(m) => (
              <>
                {m.tasks.filter((t) => t.status === 'open').length === 0 ? (
                  <p className="muted">No open tasks for this customer.</p>
                ) : (
                  <ul className="plain">
                    {m.tasks
                      .filter((t) => t.status === 'open')
                      .map((t) => (
                        <li key={t.id}>
                          {t.title} <span className="muted">· {t.assignee}</span>
                        </li>
                      ))}
                  </ul>
                )}
                <h3>Consent</h3>
                <ul className="plain">
                  {Object.entries(m.consent).map(([ch, v]) => (
                    <li key={ch}>
                      {label(ch)}: {v === null ? 'not recorded' : v ? 'granted' : 'refused'}
                      {m.suppressions.filter((x) => x.channel === ch).map((x) => ` · suppressed (${x.reason}, ${when(x.at)})`)}
                    </li>
                  ))}
                </ul>
              </>
            )}
          </Async>
        </Card>
      </div>
    </div>
  );
}

function Timeline(props: { history: LensRel['history']; statements: Statements['statements'] }) {
  if (props.history.length === 0) return <p className="muted">No type changes yet.</p>;
  const bySeq = new Map(props.statements.map((x) => [x.seq, x]));
  return (
    <ol className="timeline" data-testid="timeline">
      {[...props.history].reverse().map((h) => {
        const st = bySeq.get(h.seq);
        return (
          <li key={`${h.seq}-${h.to}`}>
            <span className="muted">{when(h.at)}</span> {h.from ? `${label(h.from)} → ` : 'classified as '}
            <strong>{label(h.to)}</strong> <span className="muted">after {h.event ?? 'an identify/trait change'}</span>
            {st ? (
              <blockquote>
                <Highlighted text={st.text} matches={st.analysis?.matches.filter((m) => m.cue !== 'sentiment') ?? []} />
              </blockquote>
            ) : null}
          </li>
        );
      })}
    </ol>
  );
}
