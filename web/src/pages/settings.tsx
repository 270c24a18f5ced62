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

interface ChannelSettings {
  email: { enabled: boolean; smtpUrl: string | null; from: string };
  publicUrl: string;
  webhooks: { signed: boolean };
  note: string;
}

/** The effective channel configuration, read-only (it comes from the environment; password masked by the server). */
function Channels() {
  const [ch] = useApi<ChannelSettings>('/api/settings/channels');
  return (
    <Card title="Channels" id="channels">
      <Async state={ch} what="channel configuration" notAvailable={<NotAvailable what="Channel configuration" api="GET /api/settings/channels" />}>
        {(c) => (
          <>
            <table className="table compact" data-testid="channels">
              <tbody>
                <tr>
                  <th scope="row">Email (SMTP)</th>
                  <td>{c.email.enabled ? <code>{c.email.smtpUrl}</code> : <span className="muted">off — set RAPPORT_SMTP_URL</span>}</td>
                </tr>
                <tr>
                  <th scope="row">Sender</th>
                  <td>{c.email.from}</td>
                </tr>
                <tr>
                  <th scope="row">Public URL (links, tracking)</th>
                  <td>
                    <code>{c.publicUrl}</code>
                  </td>
                </tr>
                <tr>
                  <th scope="row">Webhooks</th>
                  <td>{c.webhooks.signed ? 'signed (HMAC-SHA256)' : 'not signed'}</td>
                </tr>
              </tbody>
            </table>
            <p className="muted small">Read-only. {c.note}</p>
          </>
        )}
      </Async>
    </Card>
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
