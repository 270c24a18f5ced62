import { useState } from 'react';
import { api, ApiError } from '../api';
import { Async, Card, Chart, Empty, ErrorBox, NotAvailable, useApi } from '../components';
import { label, money, num, pct, when } from '../format';
import { Link, useRoute } from '../router';
import { useSession } from '../session';
import { useYamlValidation, type YamlError } from '../yaml-editing';
import { YamlEditor } from '../yaml-editor';

interface PlaybookSummary {
  id: string;
  name: string;
  description?: string;
  enabled: boolean;
  trigger: unknown;
  holdout: number;
  steps: number;
}
interface Interval {
  lo: number;
  hi: number;
}
interface EffRow {
  variant: string;
  type: string;
  enrolled: number;
  reach: number;
  conversions: number;
  conversionRate: number;
  revenuePerCustomer: number;
  unsubscribes: number;
  holdout: { n: number; conversionRate: number };
  uplift: number | null;
  upliftCi: Interval | [number, number] | null;
}
interface DryRun {
  at: string;
  population: string;
  matched: number;
  enrolled: number;
  holdout: number;
  conditionsNotMet: number;
  alreadyEnrolled: number;
  sends: Record<string, number>;
  blocked: Record<string, number>;
  customers: Array<{ customerId: string; type: string | null; status: string; plan: Array<{ step: string; kind: string; at: string; outcome: string; channel?: string; reason?: string; template?: string }> }>;
}

function ci(c: EffRow['upliftCi']): [number, number] | null {
  if (!c) return null;
  if (Array.isArray(c)) return c;
  const o = c as unknown as Record<string, number>;
  const lo = o['lo'] ?? o['low'] ?? o['lower'];
  const hi = o['hi'] ?? o['high'] ?? o['upper'];
  return lo === undefined || hi === undefined ? null : [lo, hi];
}

function triggerText(t: unknown): string {
  if (!t || typeof t !== 'object') return String(t ?? '—');
  return Object.entries(t as Record<string, unknown>)
    .map(([k, v]) => `${label(k)}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' · ');
}

/** Playbooks: status, trigger, reach. */
export function PlaybooksPage() {
  const s = useSession();
  const [list] = useApi<{ playbooks: PlaybookSummary[]; errors: Array<{ file?: string; line?: number; column?: number; message: string }> }>('/api/playbooks');
  return (
    <div className="page">
      <h1>Playbooks</h1>
      {s.canEdit ? (
        <p>
          <Link to="/playbooks/new">+ New playbook</Link>
        </p>
      ) : null}
      <Async state={list} what="playbooks" notAvailable={<NotAvailable what="Automation" api="GET /api/playbooks" />}>
        {(l) => (
          <>
            {l.errors.length ? (
              <div className="error" role="alert">
                <strong>Some playbook files have errors:</strong>
                <ul>
                  {l.errors.map((e, i) => (
                    <li key={i}>
                      {e.file ? `${e.file}:${e.line ?? 1}:${e.column ?? 1}: ` : ''}
                      {e.message}
                    </li>
                  ))}
                </ul>
              </div>
            ) : null}
            {l.playbooks.length === 0 ? (
              <Empty title="No playbooks yet.">Copy one of the examples from the playbooks/ folder into your playbook folder and reload.</Empty>
            ) : (
              <table className="table" data-testid="playbook-table">
                <thead>
                  <tr>
                    <th scope="col">Playbook</th>
                    <th scope="col">Status</th>
                    <th scope="col">Trigger</th>
                    <th scope="col" className="num">
                      Steps
                    </th>
                    <th scope="col" className="num">
                      Holdout
                    </th>
                    <th scope="col" className="num">
                      Reach
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {l.playbooks.map((p) => (
                    <tr key={p.id}>
                      <td>
                        <Link to={`/playbooks/${encodeURIComponent(p.id)}`}>{p.name || p.id}</Link>
                        {p.description ? <div className="muted small">{p.description}</div> : null}
                      </td>
                      <td>{p.enabled ? <span className="tag ok">enabled</span> : <span className="tag">disabled</span>}</td>
                      <td className="small">{triggerText(p.trigger)}</td>
                      <td className="num">{p.steps}</td>
                      <td className="num">{pct(p.holdout, 0)}</td>
                      <td className="num">
                        <Reach id={p.id} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </>
        )}
      </Async>
    </div>
  );
}

function Reach(props: { id: string }) {
  const [eff] = useApi<{ rows: EffRow[] }>(`/api/playbooks/${encodeURIComponent(props.id)}/effectiveness`);
  if (eff.status !== 'ok') return <span className="muted">…</span>;
  return <>{num(eff.data.rows.reduce((a, r) => a + r.reach, 0))}</>;
}

/** One playbook: definition, enable/disable, dry run, effectiveness per variant and type. */
export function PlaybookPage(props: { id: string }) {
  const s = useSession();
  const enc = encodeURIComponent(props.id);
  const [pb, reload] = useApi<{ playbook: Record<string, unknown> & { name?: string; enabled?: boolean } }>(`/api/playbooks/${enc}`);
  const [eff] = useApi<{ rows: EffRow[]; holdoutShare: number; goal: { event: string; withinMs: number } }>(`/api/playbooks/${enc}/effectiveness`);
  const [file] = useApi<{ yaml: string; origin: string; file: string }>(`/api/playbooks/${enc}/yaml`);
  const [dry, setDry] = useState<DryRun | null>(null);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<Error | null>(null);

  const runDry = async () => {
    setBusy(true);
    setFailure(null);
    try {
      setDry(await api<DryRun>(`/api/playbooks/${enc}/dry-run?limit=25`, { method: 'POST', body: {} }));
    } catch (e) {
      setFailure(e as Error);
    } finally {
      setBusy(false);
    }
  };
  const toggle = async (enabled: boolean) => {
    setFailure(null);
    try {
      await api(`/api/playbooks/${enc}/${enabled ? 'enable' : 'disable'}`, { method: 'POST', body: {} });
      reload();
    } catch (e) {
      setFailure(e instanceof ApiError && e.status === 404 ? new Error('Enabling and disabling from the dashboard is not available on this server yet: set `enabled:` in the playbook YAML and run rapport playbooks reload.') : (e as Error));
    }
  };

  return (
    <div className="page">
      <p>
        <Link to="/playbooks">← Playbooks</Link>
      </p>
      <Async state={pb} what="playbook">
        {(p) => (
          <>
            <h1>
              {p.playbook.name ?? props.id} {p.playbook.enabled ? <span className="tag ok">enabled</span> : <span className="tag">disabled</span>}
            </h1>
            <div className="buttons">
              <button type="button" className="primary" onClick={() => void runDry()} disabled={busy}>
                {busy ? 'Running…' : 'Dry run'}
              </button>
              {s.canEdit ? (
                <button type="button" onClick={() => void toggle(!p.playbook.enabled)}>
                  {p.playbook.enabled ? 'Disable' : 'Enable'}
                </button>
              ) : null}
            </div>
            {failure ? <ErrorBox error={failure} /> : null}
            {dry ? <DryRunView dry={dry} /> : null}
            <Card title="Effectiveness per variant and type" wide id="eff">
              <Async state={eff} what="effectiveness">
                {(e) =>
                  e.rows.length === 0 ? (
                    <Empty title="No results yet.">Results appear once customers have been enrolled and the goal window ({e.goal.event}) has passed.</Empty>
                  ) : (
                    <>
                      <Chart
                        label="Uplift per variant and type with 95 % interval"
                        option={{
                          tooltip: { trigger: 'axis' },
                          grid: { left: 60, right: 20, top: 20, bottom: 70 },
                          xAxis: { type: 'category', data: e.rows.map((r) => `${r.variant} / ${label(r.type)}`), axisLabel: { rotate: 20 } },
                          yAxis: { type: 'value', axisLabel: { formatter: (v: number) => `${Math.round(v * 100)} pt` } },
                          series: [
                            { name: 'Uplift', type: 'bar', data: e.rows.map((r) => r.uplift ?? 0), itemStyle: { color: '#2563eb' } },
                            { name: 'CI low', type: 'line', symbol: 'rect', lineStyle: { opacity: 0 }, data: e.rows.map((r) => ci(r.upliftCi)?.[0] ?? null) },
                            { name: 'CI high', type: 'line', symbol: 'rect', lineStyle: { opacity: 0 }, data: e.rows.map((r) => ci(r.upliftCi)?.[1] ?? null) },
                          ],
                        }}
                      />
                      <table className="table compact" data-testid="effectiveness">
                        <thead>
                          <tr>
                            <th scope="col">Variant</th>
                            <th scope="col">Type</th>
                            <th scope="col" className="num">Enrolled</th>
                            <th scope="col" className="num">Reach</th>
                            <th scope="col" className="num">Conversion</th>
                            <th scope="col" className="num">Holdout</th>
                            <th scope="col" className="num">Uplift (95 % CI)</th>
                            <th scope="col" className="num">Revenue / customer</th>
                          </tr>
                        </thead>
                        <tbody>
                          {e.rows.map((r) => {
                            const c = ci(r.upliftCi);
                            const sig = c ? (c[0] > 0 ? 'pos' : c[1] < 0 ? 'neg' : '') : '';
                            return (
                              <tr key={`${r.variant}-${r.type}`}>
                                <td>{r.variant}</td>
                                <td>{label(r.type)}</td>
                                <td className="num">{num(r.enrolled)}</td>
                                <td className="num">{num(r.reach)}</td>
                                <td className="num">{pct(r.conversionRate)}</td>
                                <td className="num">
                                  {pct(r.holdout.conversionRate)} <span className="muted">(n={num(r.holdout.n)})</span>
                                </td>
                                <td className={`num ${sig}`}>
                                  {r.uplift === null ? 'no holdout' : `${(r.uplift * 100).toFixed(1)} pt`}
                                  {c ? ` [${(c[0] * 100).toFixed(1)}, ${(c[1] * 100).toFixed(1)}]` : ''}
                                </td>
                                <td className="num">{money(r.revenuePerCustomer)}</td>
                              </tr>
                            );
                          })}
                        </tbody>
                      </table>
                      <p className="muted small">Uplift = conversion rate of treated minus holdout, in percentage points; an interval that excludes 0 is coloured.</p>
                    </>
                  )
                }
              </Async>
            </Card>
            <Card title="Definition" wide id="def">
              <p className="muted small">The parsed definition the automation runs (edit it below, or in the playbook folder and run <code>rapport playbooks reload</code>).</p>
              <pre className="code">{JSON.stringify(p.playbook, null, 2)}</pre>
            </Card>
          </>
        )}
      </Async>
      {/* Outside the block above: saving reloads the definition without resetting the editor. */}
      <Async state={file} what="playbook file">
        {(f) => <PlaybookEditor id={props.id} initial={f.yaml} origin={f.origin} canEdit={s.canEdit} onSaved={reload} />}
      </Async>
    </div>
  );
}

function DryRunView(props: { dry: DryRun }) {
  const d = props.dry;
  return (
    <Card title={`Dry run at ${when(d.at)}`} wide id="dry">
      <p data-testid="dry-run-summary">
        {d.population}: <strong>{num(d.matched)}</strong> matched · {num(d.enrolled)} would be enrolled · {num(d.holdout)} held out · {num(d.conditionsNotMet)} do not meet the conditions ·{' '}
        {num(d.alreadyEnrolled)} already enrolled.
      </p>
      <p>
        Sends: {Object.entries(d.sends).map(([k, v]) => `${label(k)} ${num(v)}`).join(', ') || 'none'}. Blocked:{' '}
        {Object.entries(d.blocked).map(([k, v]) => `${label(k)} ${num(v)}`).join(', ') || 'none'}.
      </p>
      {d.customers.length ? (
        <table className="table compact">
          <thead>
            <tr>
              <th scope="col">Customer</th>
              <th scope="col">Type</th>
              <th scope="col">Status</th>
              <th scope="col">Plan</th>
            </tr>
          </thead>
          <tbody>
            {d.customers.map((c) => (
              <tr key={c.customerId}>
                <td>
                  <Link to={`/customers/${encodeURIComponent(c.customerId)}`}>{c.customerId}</Link>
                </td>
                <td>{label(c.type)}</td>
                <td>{label(c.status)}</td>
                <td className="small">{c.plan.map((s) => `${s.step}: ${s.outcome}${s.channel ? ` (${s.channel})` : ''}${s.reason ? ` – ${s.reason}` : ''}`).join(' → ') || '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Card>
  );
}


const NEW_PLAYBOOK = `id: my-playbook
name: My playbook
description: What it does and for whom.
trigger:
  entered: { lens: lifecycle, type: new }
holdout: 0.1
goal: { event: Order Completed, within: 30d }
steps:
  - id: hello
    send: { channel: email, template: welcome-1 }
`;

/** A new playbook: the YAML editor on a starting point; saving creates `<data>/playbooks/<id>.yaml`. */
export function NewPlaybookPage() {
  const s = useSession();
  return (
    <div className="page">
      <p>
        <Link to="/playbooks">← Playbooks</Link>
      </p>
      <h1>New playbook</h1>
      <PlaybookEditor id={null} initial={NEW_PLAYBOOK} origin="new" canEdit={s.canEdit} />
    </div>
  );
}

/**
 * The playbook YAML editor: validated as you type (errors with line and column; click one to jump
 * there), saved with `PUT /api/playbooks/:id` (editors and admins). `id` null: a new playbook, named by its `id:`.
 */
export function PlaybookEditor(props: { id: string | null; initial: string; origin: string; canEdit: boolean; onSaved?: () => void }) {
  const { navigate } = useRoute();
  const [text, setText] = useState(props.initial);
  const [parsedId, setParsedId] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);

  // Validate as you type: debounced, the latest answer wins.
  const { errors, setErrors, checking } = useYamlValidation<{ ok: boolean; id?: string; errors: YamlError[] }>(
    '/api/playbooks/validate',
    text,
    setFailure,
    (r) => setParsedId(r.id ?? null),
  );

  const target = props.id ?? parsedId;
  const save = async () => {
    if (!target) return;
    setBusy(true);
    setFailure(null);
    setMessage(null);
    try {
      const r = await api<{ saved: string; note: string; created: boolean }>(`/api/playbooks/${encodeURIComponent(target)}`, { method: 'PUT', body: { yaml: text } });
      setMessage(`Saved to ${r.saved}: ${r.note}.`);
      if (props.id === null) navigate(`/playbooks/${encodeURIComponent(target)}`);
      else props.onSaved?.();
    } catch (e) {
      if (e instanceof ApiError && Array.isArray((e.body as { errors?: unknown })?.errors)) setErrors((e.body as { errors: YamlError[] }).errors);
      setFailure(e as Error);
    } finally {
      setBusy(false);
    }
  };

  const ok = errors !== null && errors.length === 0;
  return (
    <Card title={props.id === null ? 'Playbook (YAML)' : 'Edit the playbook (YAML)'} wide id="editor">
      <p className="muted small">
        {props.origin === 'example'
          ? 'This is an example playbook shipped with Rapport; saving writes your own copy to <data>/playbooks, which overrides it.'
          : props.origin === 'new'
            ? 'Saving creates <data>/playbooks/<id>.yaml; the automation runs it from the next signal on.'
            : 'This is your own playbook file in <data>/playbooks.'}
        {props.canEdit ? '' : ' Your role (viewer) can look and validate but not save.'}
      </p>
      <YamlEditor kind="playbook" label="Playbook YAML" text={text} onChange={setText} errors={errors} checking={checking}>
        <div className="buttons">
          {props.canEdit ? (
            <button type="button" className="primary" onClick={() => void save()} disabled={!ok || busy || !target}>
              {busy ? 'Saving…' : props.id === null ? `Create ${target ?? ''}`.trim() : 'Save'}
            </button>
          ) : null}
          <button type="button" onClick={() => setText(props.initial)} disabled={text === props.initial}>
            Revert
          </button>
        </div>
        {message ? (
          <p className="ok" role="status" data-testid="playbook-saved">
            {message}
          </p>
        ) : null}
        {failure ? <ErrorBox error={failure} /> : null}
      </YamlEditor>
    </Card>
  );
}
