import { useState, type FormEvent } from 'react';
import { api } from '../api';
import { Async, Card, Empty, ErrorBox, NotAvailable, useApi } from '../components';
import { when } from '../format';
import { useSession } from '../session';

interface Source {
  id: string;
  name: string;
  createdAt: number;
  revokedAt: number | null;
}
interface User {
  id: string;
  email: string;
  role: string;
  createdAt: string;
}

/** Settings: sources and write keys, users, channels, unit costs. */
export function SettingsPage() {
  const s = useSession();
  return (
    <div className="page">
      <h1>Settings</h1>
      <div className="grid">
        <Sources />
        {s.isAdmin ? <Users /> : null}
        <Channels />
        <UnitCosts />
      </div>
    </div>
  );
}

function Sources() {
  const s = useSession();
  const [list, reload] = useApi<{ sources: Source[] }>('/api/sources');
  const [name, setName] = useState('');
  const [created, setCreated] = useState<{ name: string; writeKey: string } | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);
  const create = async (e: FormEvent) => {
    e.preventDefault();
    setFailure(null);
    try {
      const r = await api<{ source: Source; writeKey: string }>('/api/sources', { method: 'POST', body: { name } });
      setCreated({ name: r.source.name, writeKey: r.writeKey });
      setName('');
      reload();
    } catch (err) {
      setFailure(err as Error);
    }
  };
  const revoke = async (src: Source) => {
    if (!window.confirm(`Revoke the write key of ${src.name}? Events sent with it will be refused.`)) return;
    try {
      await api(`/api/sources/${encodeURIComponent(src.id)}`, { method: 'DELETE' });
      reload();
    } catch (err) {
      setFailure(err as Error);
    }
  };
  return (
    <Card title="Sources and write keys" id="sources">
      <Async state={list} what="sources">
        {(l) =>
          l.sources.length === 0 ? (
            <Empty title="No sources yet.">{s.isAdmin ? 'Create one below, then send events with its write key.' : 'Ask an admin to create one.'}</Empty>
          ) : (
            <table className="table compact">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Created</th>
                  <th scope="col">Status</th>
                  {s.isAdmin ? <th scope="col">Action</th> : null}
                </tr>
              </thead>
              <tbody>
                {l.sources.map((src) => (
                  <tr key={src.id}>
                    <td>{src.name}</td>
                    <td>{when(src.createdAt)}</td>
                    <td>{src.revokedAt ? `revoked ${when(src.revokedAt)}` : 'active'}</td>
                    {s.isAdmin ? (
                      <td>
                        {src.revokedAt ? null : (
                          <button type="button" className="link danger" onClick={() => void revoke(src)}>
                            Revoke
                          </button>
                        )}
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Async>
      {s.isAdmin ? (
        <form className="inline-form" onSubmit={create}>
          <label>
            New source
            <input value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. web shop" required />
          </label>
          <button type="submit" className="primary">
            Create
          </button>
        </form>
      ) : (
        <p className="muted small">Only admins see and create write keys.</p>
      )}
      {created ? (
        <div className="notice" role="status">
          Write key of <strong>{created.name}</strong> (shown once — copy it now): <code className="secret">{created.writeKey}</code>
          <div className="small">
            Send events: <code>curl -u {created.writeKey}: -H 'content-type: application/json' -d '{'{"type":"track","userId":"u1","event":"Order Completed"}'}' {window.location.origin}/v1/track</code>
          </div>
        </div>
      ) : null}
      {failure ? <ErrorBox error={failure} /> : null}
    </Card>
  );
}

function Users() {
  const [list, reload] = useApi<{ users: User[] }>('/api/users');
  const [email, setEmail] = useState('');
  const [role, setRole] = useState('viewer');
  const [created, setCreated] = useState<string | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);
  const add = async (e: FormEvent) => {
    e.preventDefault();
    setFailure(null);
    try {
      const r = await api<{ user: User; password?: string }>('/api/users', { method: 'POST', body: { email, role } });
      setCreated(`${r.user.email} can sign in with the password ${r.password ?? '(the one you set)'} — shown once.`);
      setEmail('');
      reload();
    } catch (err) {
      setFailure(err as Error);
    }
  };
  const remove = async (u: User) => {
    if (!window.confirm(`Remove ${u.email}?`)) return;
    try {
      await api(`/api/users/${encodeURIComponent(u.id)}`, { method: 'DELETE' });
      reload();
    } catch (err) {
      setFailure(err as Error);
    }
  };
  return (
    <Card title="Users" id="users">
      <Async state={list} what="users">
        {(l) => (
          <table className="table compact">
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {l.users.map((u) => (
                <tr key={u.id}>
                  <td>{u.email}</td>
                  <td>{u.role}</td>
                  <td>
                    <button type="button" className="link danger" onClick={() => void remove(u)}>
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Async>
      <form className="inline-form" onSubmit={add}>
        <label>
          Email
          <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} required />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value)}>
            <option value="viewer">viewer</option>
            <option value="editor">editor</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <button type="submit" className="primary">
          Add user
        </button>
      </form>
      {created ? (
        <p className="notice" role="status">
          {created}
        </p>
      ) : null}
      {failure ? <ErrorBox error={failure} /> : null}
    </Card>
  );
}

type ChannelField = 'email.smtpUrl' | 'email.from' | 'email.maxConnections' | 'email.ratePerSecond' | 'webhooks.timeoutMs' | 'webhooks.secret';
type SettingSource = 'settings' | 'env' | 'file' | 'default';
interface ChannelValues {
  email: { enabled: boolean; smtpUrl: string | null; from: string; maxConnections: number; ratePerSecond: number };
  webhooks: { signed: boolean; timeoutMs: number; secret: string };
}
interface ChannelSettings extends ChannelValues {
  publicUrl: string;
  sources: Record<ChannelField, SettingSource>;
  configured: ChannelValues;
  updatedAt: number | null;
  editable: boolean;
  note: string;
}
type TestResult =
  | { ok: true; to: string; from: string; smtpUrl: string; response: string; accepted: string[]; rejected: string[] }
  | { ok: false; to: string; from: string; smtpUrl: string; error: { message: string; code: string | null; responseCode: number | null; command: string | null; response: string | null } };

/** One editable channel field: label, input type, client-side check, where it comes from in the environment. */
interface FieldSpec {
  field: ChannelField;
  label: string;
  env: string;
  kind: 'text' | 'number' | 'secret';
  hint: string;
  check: (v: string) => string | null;
}

const intIn = (min: number, max: number) => (v: string) => (/^\d+$/.test(v.trim()) && Number(v) >= min && Number(v) <= max ? null : `a whole number from ${min} to ${max}`);

const FIELDS: FieldSpec[] = [
  {
    field: 'email.smtpUrl',
    label: 'SMTP URL',
    env: 'RAPPORT_SMTP_URL',
    kind: 'text',
    hint: 'smtp://user:password@host:587 or smtps://…:465. The password shows as ****; keep **** to keep it.',
    check: (v) => {
      if (!/^smtps?:\/\//i.test(v.trim())) return 'must start with smtp:// or smtps://';
      try {
        return new URL(v.trim()).hostname ? null : 'has no host';
      } catch {
        return 'is not a valid URL';
      }
    },
  },
  {
    field: 'email.from',
    label: 'Sender (from)',
    env: 'RAPPORT_SMTP_FROM',
    kind: 'text',
    hint: 'shop@example.com or Shop <shop@example.com>',
    check: (v) => (/^\s*(?:[^<>\r\n]*<[^<>\s@]+@[^<>\s@]+\.[^<>\s@]+>|[^<>\s@]+@[^<>\s@]+\.[^<>\s@]+)\s*$/.test(v) ? null : 'must be an address like shop@example.com or Shop <shop@example.com>'),
  },
  { field: 'email.maxConnections', label: 'SMTP pool size', env: 'RAPPORT_SMTP_MAX_CONNECTIONS', kind: 'number', hint: 'parallel connections, 1–50', check: intIn(1, 50) },
  { field: 'email.ratePerSecond', label: 'SMTP rate (per second)', env: 'RAPPORT_SMTP_RATE_PER_SECOND', kind: 'number', hint: 'e-mails per second over the pool; 0 = no limit', check: intIn(0, 10_000) },
  { field: 'webhooks.timeoutMs', label: 'Webhook timeout (ms)', env: 'RAPPORT_WEBHOOK_TIMEOUT_MS', kind: 'number', hint: '100–120000 ms', check: intIn(100, 120_000) },
  {
    field: 'webhooks.secret',
    label: 'Webhook signing secret',
    env: 'RAPPORT_SIGNING_SECRET',
    kind: 'secret',
    hint: 'HMAC key of X-Rapport-Signature; at least 16 characters. Never shown; type a new one to replace it.',
    check: (v) => (v.length >= 16 ? null : 'must have at least 16 characters'),
  },
];

const valueOf = (c: ChannelValues, f: ChannelField): string => {
  const [group, key] = f.split('.') as ['email' | 'webhooks', string];
  const v = (c[group] as unknown as Record<string, unknown>)[key];
  return v === null || v === undefined ? '' : String(v);
};

const sourceText = (source: SettingSource, env: string): string =>
  source === 'settings' ? 'saved here' : source === 'env' ? `environment (${env})` : source === 'file' ? 'data folder (automation-secret)' : 'default';

/** Turns the form's changed fields into the API's patch (`{ email: {...}, webhooks: {...} }`; null resets). */
function patchOf(draft: Partial<Record<ChannelField, string | null>>): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const spec of FIELDS) {
    if (!(spec.field in draft)) continue;
    const v = draft[spec.field];
    const [group, key] = spec.field.split('.') as [string, string];
    (out[group] ??= {})[key] = v === null || v === undefined ? null : spec.kind === 'number' ? Number(v) : v.trim();
  }
  return out;
}

/** Channel configuration: effective values and where they come from; admins edit them (applied to the next message, no restart). */
function Channels() {
  const s = useSession();
  const [state, reload] = useApi<ChannelSettings>('/api/settings/channels');
  const [draft, setDraft] = useState<Partial<Record<ChannelField, string | null>>>({});
  const [touched, setTouched] = useState<Partial<Record<ChannelField, boolean>>>({});
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);
  const [serverErrors, setServerErrors] = useState<Partial<Record<ChannelField, string>>>({});

  const errorsOf = (d: typeof draft): Partial<Record<ChannelField, string>> => {
    const out: Partial<Record<ChannelField, string>> = {};
    for (const spec of FIELDS) {
      const v = d[spec.field];
      if (v === undefined || v === null) continue;
      const p = spec.check(v);
      if (p) out[spec.field] = `${spec.label} ${p}.`;
    }
    return out;
  };
  const clientErrors = errorsOf(draft);

  const send = async (patch: Record<string, Record<string, unknown>>, done: string) => {
    setBusy(true);
    setFailure(null);
    setMessage(null);
    setServerErrors({});
    try {
      await api('/api/settings/channels', { method: 'PUT', body: patch });
      setDraft({});
      setTouched({});
      setMessage(done);
      reload();
    } catch (err) {
      setFailure(err as Error);
      // "email.smtpUrl: must start with ..." → shown beside the field too.
      const fieldErrors: Partial<Record<ChannelField, string>> = {};
      for (const part of (err as Error).message.split('; ')) {
        const m = /^([a-zA-Z]+\.[a-zA-Z]+): (.*)$/.exec(part);
        const spec = m ? FIELDS.find((f) => f.field === m[1]) : undefined;
        if (m && spec) fieldErrors[spec.field] = `${spec.label}: ${m[2]}`;
      }
      setServerErrors(fieldErrors);
    } finally {
      setBusy(false);
    }
  };

  const save = (e: FormEvent) => {
    e.preventDefault();
    setTouched(Object.fromEntries(FIELDS.map((f) => [f.field, true])));
    if (Object.keys(clientErrors).length > 0) return;
    void send(patchOf(draft), 'Saved: the next e-mail and webhook use the new settings (no restart needed).');
  };

  return (
    <Card title="Channels" id="channels">
      <Async state={state} what="channel configuration" notAvailable={<NotAvailable what="Channel configuration" api="GET /api/settings/channels" />}>
        {(c) => (
          <>
            {!c.email.enabled && Object.keys(draft).length === 0 ? (
              <Empty title="E-mail is off: no SMTP server is configured.">
                {s.isAdmin ? 'Enter an SMTP URL below and save; playbooks send e-mail from the next message on.' : 'Ask an admin to set the SMTP URL here (or RAPPORT_SMTP_URL).'}
              </Empty>
            ) : null}
            <form onSubmit={save} noValidate aria-describedby="channels-note">
              <table className="table compact" data-testid="channels">
                <thead>
                  <tr>
                    <th scope="col">Setting</th>
                    <th scope="col">Value</th>
                    <th scope="col">From</th>
                  </tr>
                </thead>
                <tbody>
                  {FIELDS.map((spec) => {
                    const id = `channel-${spec.field.replace('.', '-')}`;
                    const current = valueOf(c, spec.field);
                    const d = draft[spec.field];
                    const shown = d === undefined || d === null ? (spec.kind === 'secret' ? '' : current) : d;
                    const error = (touched[spec.field] ? clientErrors[spec.field] : undefined) ?? serverErrors[spec.field];
                    const source = c.sources[spec.field];
                    return (
                      <tr key={spec.field}>
                        <th scope="row">
                          <label htmlFor={id}>{spec.label}</label>
                        </th>
                        <td>
                          {s.isAdmin ? (
                            <>
                              <input
                                id={id}
                                name={spec.field}
                                type={spec.kind === 'secret' ? 'password' : spec.kind === 'number' ? 'number' : 'text'}
                                inputMode={spec.kind === 'number' ? 'numeric' : undefined}
                                autoComplete={spec.kind === 'secret' ? 'new-password' : 'off'}
                                spellCheck={false}
                                value={shown}
                                placeholder={spec.kind === 'secret' ? (c.webhooks.signed ? 'set — type to replace' : 'not set') : spec.field === 'email.smtpUrl' ? 'smtp://user:password@host:587' : undefined}
                                aria-invalid={error ? true : undefined}
                                aria-describedby={`${id}-hint${error ? ` ${id}-error` : ''}`}
                                onChange={(e) => {
                                  const v = e.target.value;
                                  const next = { ...draft };
                                  if (v === current && spec.kind !== 'secret') delete next[spec.field];
                                  else if (spec.kind === 'secret' && v === '') delete next[spec.field];
                                  else next[spec.field] = v;
                                  setDraft(next);
                                  setMessage(null);
                                }}
                                onBlur={() => setTouched({ ...touched, [spec.field]: true })}
                                className="wide-input"
                              />
                              <div id={`${id}-hint`} className="small muted">
                                {spec.hint}
                              </div>
                              {error ? (
                                <div id={`${id}-error`} className="field-error" role="alert">
                                  {error}
                                </div>
                              ) : null}
                            </>
                          ) : spec.kind === 'secret' ? (
                            <span>{c.webhooks.signed ? 'set (hidden)' : 'not set'}</span>
                          ) : current ? (
                            <code>{current}</code>
                          ) : (
                            <span className="muted">not set</span>
                          )}
                        </td>
                        <td className="small">
                          <span className={source === 'settings' ? 'tag strong' : 'tag'} data-testid={`source-${spec.field}`}>
                            {sourceText(source, spec.env)}
                          </span>
                          {s.isAdmin && source === 'settings' ? (
                            <div>
                              <button type="button" className="link" disabled={busy} onClick={() => void send(patchOf({ [spec.field]: null }), `${spec.label} is back to the configured value.`)}>
                                Reset<span className="sr-only"> {spec.label}</span>
                              </button>
                            </div>
                          ) : null}
                        </td>
                      </tr>
                    );
                  })}
                  <tr>
                    <th scope="row">Public URL (links, tracking)</th>
                    <td>
                      <code>{c.publicUrl}</code>
                    </td>
                    <td className="small">
                      <span className="tag">set at start-up (RAPPORT_PUBLIC_URL)</span>
                    </td>
                  </tr>
                </tbody>
              </table>
              {s.isAdmin ? (
                <div className="buttons">
                  <button type="submit" className="primary" disabled={busy || Object.keys(draft).length === 0}>
                    {busy ? 'Saving…' : 'Save channels'}
                  </button>
                  <button type="button" disabled={busy || Object.keys(draft).length === 0} onClick={() => (setDraft({}), setTouched({}), setServerErrors({}), setFailure(null))}>
                    Discard changes
                  </button>
                </div>
              ) : null}
              <p id="channels-note" className="muted small">
                {s.isAdmin ? c.note : 'Admins change these here; values saved here override the environment and apply to the next message.'}
                {c.updatedAt ? ` Last saved ${when(c.updatedAt)}.` : ''}
              </p>
              {message ? (
                <p className="ok" role="status" data-testid="channels-saved">
                  {message}
                </p>
              ) : null}
              {failure ? <ErrorBox error={failure} /> : null}
            </form>
            {s.isAdmin ? <TestEmail draft={patchOf(draft)['email']} defaultTo={s.me.user.email} /> : null}
          </>
        )}
      </Async>
    </Card>
  );
}

/** "Send test e-mail": uses the values in the form (saved or not) and shows the SMTP server's answer or the precise error. */
function TestEmail(props: { draft: Record<string, unknown> | undefined; defaultTo: string }) {
  const [to, setTo] = useState(props.defaultTo);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<TestResult | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);
  const run = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setResult(null);
    setFailure(null);
    try {
      setResult(await api<TestResult>('/api/settings/channels/test-email', { method: 'POST', body: { to, ...(props.draft ? { email: props.draft } : {}) } }));
    } catch (err) {
      setFailure(err as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="inline-form" onSubmit={run} aria-label="Send a test e-mail">
      <label>
        Send a test e-mail to
        <input type="email" value={to} onChange={(e) => setTo(e.target.value)} required autoComplete="email" />
      </label>
      <button type="submit" disabled={busy || to.trim() === ''}>
        {busy ? 'Sending…' : 'Send test e-mail'}
      </button>
      <div className="small muted" style={{ flexBasis: '100%' }}>
        {props.draft ? 'Uses the values in the form above, not yet saved.' : 'Uses the saved settings.'}
      </div>
      {result?.ok ? (
        <p className="notice" role="status" data-testid="test-email-result" style={{ flexBasis: '100%' }}>
          Sent to {result.to} through <code>{result.smtpUrl}</code>. The server answered: <code>{result.response}</code>
        </p>
      ) : null}
      {result && !result.ok ? (
        <div className="error" role="alert" data-testid="test-email-result" style={{ flexBasis: '100%' }}>
          <strong>The test e-mail failed</strong> ({[result.error.code, result.error.responseCode, result.error.command].filter(Boolean).join(', ') || 'error'}) through <code>{result.smtpUrl}</code>: {result.error.message}
        </div>
      ) : null}
      {failure ? <ErrorBox error={failure} /> : null}
    </form>
  );
}

interface CostSettings {
  costs: Record<string, number>;
  configured: Record<string, number>;
  overrides: Record<string, number>;
  updatedAt: number | null;
}

/** Unit costs: the effective values; admins change them here (stored in the database, used at once by economics). */
function UnitCosts() {
  const s = useSession();
  const [state, reload] = useApi<CostSettings>('/api/settings/costs');
  const [draft, setDraft] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);
  const send = async (costs: Record<string, number | null>) => {
    setBusy(true);
    setFailure(null);
    setMessage(null);
    try {
      await api('/api/settings/costs', { method: 'PUT', body: { costs } });
      setDraft({});
      setMessage('Saved: cost to serve and margins use the new costs from now on.');
      reload();
    } catch (err) {
      setFailure(err as Error);
    } finally {
      setBusy(false);
    }
  };
  const save = (e: FormEvent) => {
    e.preventDefault();
    const costs: Record<string, number> = {};
    for (const [k, v] of Object.entries(draft)) if (v.trim() !== '') costs[k] = Number(v);
    void send(costs);
  };
  return (
    <Card title="Unit costs" id="costs">
      <Async state={state} what="unit costs" notAvailable={<NotAvailable what="Unit costs" api="GET /api/settings/costs" />}>
        {(c) => (
          <form onSubmit={save}>
            <table className="table compact" data-testid="unit-costs">
              <tbody>
                {Object.entries(c.costs).map(([k, v]) => (
                  <tr key={k}>
                    <th scope="row">
                      <label htmlFor={`cost-${k}`}>{k.replace(/_/g, ' ')}</label>
                    </th>
                    <td className="num">
                      {s.isAdmin ? (
                        <input id={`cost-${k}`} type="number" min={0} step="any" value={draft[k] ?? String(v)} onChange={(e) => setDraft({ ...draft, [k]: e.target.value })} />
                      ) : (
                        v
                      )}
                    </td>
                    <td className="small muted">{k in c.overrides ? `changed here (configured ${c.configured[k]})` : 'configured'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {s.isAdmin ? (
              <div className="buttons">
                <button type="submit" className="primary" disabled={busy || Object.keys(draft).length === 0}>
                  {busy ? 'Saving…' : 'Save costs'}
                </button>
                <button type="button" disabled={busy || Object.keys(c.overrides).length === 0} onClick={() => void send(Object.fromEntries(Object.keys(c.overrides).map((k) => [k, null])))}>
                  Back to configured values
                </button>
              </div>
            ) : null}
            <p className="muted small">
              Cost per contact, used for cost to serve and margin. Defaults come from the <code>costs:</code> section of rapport.config.yaml;
              {s.isAdmin ? ' values saved here override them (stored in the database) and apply at once.' : ' admins can override them here.'}
            </p>
            {message ? (
              <p className="ok" role="status" data-testid="costs-saved">
                {message}
              </p>
            ) : null}
            {failure ? <ErrorBox error={failure} /> : null}
          </form>
        )}
      </Async>
    </Card>
  );
}
