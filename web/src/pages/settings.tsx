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
        <Card title="Channels" id="channels">
          <p>Email goes out over SMTP, configured when the server starts:</p>
          <ul className="plain small">
            <li>
              <code>RAPPORT_SMTP_URL</code> — e.g. <code>smtp://127.0.0.1:2525</code>
            </li>
            <li>
              <code>RAPPORT_SMTP_FROM</code> — the sender address
            </li>
            <li>Webhooks: the <code>webhooks:</code> section of rapport.config.yaml (signed with HMAC-SHA256).</li>
          </ul>
          <p className="muted small">Changing channels from the dashboard is not available yet: edit the configuration and restart.</p>
        </Card>
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

function UnitCosts() {
  const s = useSession();
  const [econ] = useApi<{ unitCosts?: Record<string, number> }>(s.lens ? `/api/lenses/${encodeURIComponent(s.lens)}/economics` : null);
  return (
    <Card title="Unit costs" id="costs">
      <Async state={econ} what="unit costs" notAvailable={<NotAvailable what="Unit costs" api="GET /api/lenses/:lens/economics" />}>
        {(c) =>
          !c.unitCosts ? (
            <Empty title="This server does not report unit costs." />
          ) : (
            <>
              <table className="table compact">
                <tbody>
                  {Object.entries(c.unitCosts).map(([k, v]) => (
                    <tr key={k}>
                      <th scope="row">{k.replace(/_/g, ' ')}</th>
                      <td className="num">{v}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <p className="muted small">
                Cost per contact, used for cost to serve. Change them in the <code>costs:</code> section of rapport.config.yaml and restart; editing them here is not available yet.
              </p>
            </>
          )
        }
      </Async>
    </Card>
  );
}
