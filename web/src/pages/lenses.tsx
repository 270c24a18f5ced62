import { useState } from 'react';
import { api, ApiError, type Distribution } from '../api';
import { Async, Card, Chart, Empty, ErrorBox, useApi } from '../components';
import { label, num, pct } from '../format';
import { Link } from '../router';
import { useYamlValidation, type YamlError } from '../yaml-editing';
import { YamlEditor } from '../yaml-editor';
import { useSession } from '../session';

interface Preview {
  population: number;
  sampled: number;
  isSample: boolean;
  before: Record<string, number>;
  after: Record<string, number>;
  changed: number;
  moves: Array<{ from: string; to: string; count: number }>;
}

/** Lenses: each relationship taxonomy with its types. */
export function LensesPage() {
  const s = useSession();
  return (
    <div className="page">
      <h1>Lenses</h1>
      <p className="muted">A lens is one way of seeing relationships: a set of types, each recognised by weighted indicator conditions.</p>
      {s.lenses.length === 0 ? (
        <Empty title="No lenses are loaded." />
      ) : (
        <div className="grid">
          {s.lenses.map((l) => (
            <Card key={l.name} title={l.title || l.name} id={`lens-${l.name}`}>
              <p>{l.description}</p>
              <p className="muted small">{l.types.map((t) => t.label || label(t.name)).join(' · ')}</p>
              <Link to={`/lenses/${encodeURIComponent(l.name)}`}>Open {l.name} →</Link>
            </Card>
          ))}
        </div>
      )}
    </div>
  );
}

/** One lens: its types and conditions, and the YAML editor with validation, preview and save. */
export function LensPage(props: { name: string }) {
  const s = useSession();
  const lens = s.lenses.find((l) => l.name === props.name);
  const [file] = useApi<{ yaml: string; origin: string; file: string }>(`/api/lenses/${encodeURIComponent(props.name)}/yaml`);
  const [dist] = useApi<Distribution>(lens ? `/api/lenses/${encodeURIComponent(props.name)}/distribution` : null);
  return (
    <div className="page">
      <p>
        <Link to="/lenses">← Lenses</Link>
      </p>
      <h1>{lens?.title ?? props.name}</h1>
      {lens ? (
        <Card title="Types and their conditions" wide id="types">
          <div className="types">
            {lens.types.map((t) => (
              <div key={t.name} className="type">
                <h3>
                  {t.label || label(t.name)} <span className="muted small">prior {pct(t.prior, 0)}</span>
                </h3>
                <p className="small">{t.description}</p>
                <ul className="conds">
                  {t.conditions.map((c, i) => (
                    <li key={i} className={c.weight < 0 ? 'neg' : ''}>
                      <code>{c.indicator}</code> {c.op} {c.op === 'between' ? `${c.threshold}–${c.upper}` : (c.equalsText ?? c.threshold)} · weight {c.weight}
                      {c.note ? <span className="muted"> — {c.note}</span> : null}
                    </li>
                  ))}
                </ul>
              </div>
            ))}
          </div>
        </Card>
      ) : null}
      <Async state={file} what="lens file">
        {(f) => <Editor name={props.name} initial={f.yaml} origin={f.origin} canEdit={s.canEdit} current={dist.status === 'ok' ? dist.data : null} />}
      </Async>
    </div>
  );
}

function Editor(props: { name: string; initial: string; origin: string; canEdit: boolean; current: Distribution | null }) {
  const [text, setText] = useState(props.initial);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [busy, setBusy] = useState<'preview' | 'save' | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);

  // Validate as you type: debounced, the latest answer wins.
  const { errors, setErrors, checking } = useYamlValidation('/api/lenses/validate', text, setFailure);

  const runPreview = async () => {
    setBusy('preview');
    setFailure(null);
    setMessage(null);
    try {
      setPreview(await api<Preview>(`/api/lenses/${encodeURIComponent(props.name)}/preview`, { method: 'POST', body: { yaml: text } }));
    } catch (e) {
      if (e instanceof ApiError && Array.isArray((e.body as { errors?: unknown })?.errors)) setErrors((e.body as { errors: YamlError[] }).errors);
      setFailure(e as Error);
    } finally {
      setBusy(null);
    }
  };
  const save = async () => {
    setBusy('save');
    setFailure(null);
    try {
      const r = await api<{ note: string; saved: string }>(`/api/lenses/${encodeURIComponent(props.name)}`, { method: 'PUT', body: { yaml: text } });
      setMessage(`Saved to ${r.saved}: ${r.note}.`);
    } catch (e) {
      setFailure(e as Error);
    } finally {
      setBusy(null);
    }
  };

  const ok = errors !== null && errors.length === 0;
  const types = preview ? [...new Set([...Object.keys(preview.before), ...Object.keys(preview.after)])] : [];
  return (
    <Card title="Edit the lens (YAML)" wide id="editor">
      <p className="muted small">
        {props.origin === 'builtin' ? 'This is the built-in file; saving writes your own copy to <data>/lenses, which overrides it.' : 'This is your own lens file.'}
        {props.canEdit ? '' : ' Your role (viewer) can look and preview but not save.'}
      </p>
      <YamlEditor kind="lens" label="Lens YAML" text={text} onChange={setText} errors={errors} checking={checking}>
        <div className="buttons">
          <button type="button" onClick={() => void runPreview()} disabled={!ok || busy !== null}>
            {busy === 'preview' ? 'Previewing…' : 'Preview the change'}
          </button>
          {props.canEdit ? (
            <button type="button" className="primary" onClick={() => void save()} disabled={!ok || busy !== null}>
              {busy === 'save' ? 'Saving…' : 'Save'}
            </button>
          ) : null}
          <button type="button" onClick={() => setText(props.initial)} disabled={text === props.initial}>
            Revert
          </button>
        </div>
        {message ? (
          <p className="ok" role="status">
            {message}
          </p>
        ) : null}
        {failure ? <ErrorBox error={failure} /> : null}
      </YamlEditor>
      {preview ? (
        <div data-testid="lens-preview">
          <h3>Preview: how the distribution would change</h3>
          <p>
            {preview.isSample ? `On a deterministic sample of ${num(preview.sampled)} of ${num(preview.population)} customers` : `On all ${num(preview.population)} customers`}:{' '}
            <strong>{num(preview.changed)}</strong> would change type ({pct(preview.sampled ? preview.changed / preview.sampled : 0)}).
          </p>
          {preview.sampled === 0 ? (
            <Empty title="No customers to preview on yet." />
          ) : (
            <Chart
              label="Distribution before and after the change"
              option={{
                color: ['#94a3b8', '#2563eb'],
                legend: { top: 0 },
                tooltip: { trigger: 'axis' },
                grid: { left: 140, right: 20, top: 30, bottom: 30 },
                xAxis: { type: 'value' },
                yAxis: { type: 'category', inverse: true, data: types.map(label) },
                series: [
                  { name: 'Now', type: 'bar', data: types.map((t) => preview.before[t] ?? 0) },
                  { name: 'With this change', type: 'bar', data: types.map((t) => preview.after[t] ?? 0) },
                ],
              }}
            />
          )}
          {preview.moves.length ? (
            <table className="table compact">
              <thead>
                <tr>
                  <th scope="col">From</th>
                  <th scope="col">To</th>
                  <th scope="col" className="num">
                    Customers
                  </th>
                </tr>
              </thead>
              <tbody>
                {preview.moves.map((m) => (
                  <tr key={`${m.from}-${m.to}`}>
                    <td>{label(m.from)}</td>
                    <td>{label(m.to)}</td>
                    <td className="num">{num(m.count)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </div>
      ) : null}
    </Card>
  );
}
