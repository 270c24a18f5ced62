import { useEffect, useRef, useState, type ReactNode } from 'react';
import * as echarts from 'echarts/core';
import { BarChart, LineChart, SankeyChart, HeatmapChart, PieChart } from 'echarts/charts';
import { GridComponent, TooltipComponent, LegendComponent, VisualMapComponent, MarkLineComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import { api, ApiError } from './api';

echarts.use([BarChart, LineChart, SankeyChart, HeatmapChart, PieChart, GridComponent, TooltipComponent, LegendComponent, VisualMapComponent, MarkLineComponent, CanvasRenderer]);

/** State of a request the page is waiting for. */
export type Loadable<T> = { status: 'loading' } | { status: 'error'; error: ApiError | Error } | { status: 'ok'; data: T };

/** Loads `path` (re-runs when it changes); `null` skips. */
export function useApi<T>(path: string | null, deps: unknown[] = []): [Loadable<T>, () => void] {
  const [state, setState] = useState<Loadable<T>>({ status: 'loading' });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === null) return;
    const ctl = new AbortController();
    setState({ status: 'loading' });
    api<T>(path, { signal: ctl.signal }).then(
      (data) => setState({ status: 'ok', data }),
      (error: unknown) => {
        if (!ctl.signal.aborted) setState({ status: 'error', error: error instanceof Error ? error : new Error(String(error)) });
      },
    );
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [path, tick, ...deps]);
  return [state, () => setTick((t) => t + 1)];
}

/** Renders loading / error / content for one request. */
export function Async<T>(props: { state: Loadable<T>; children: (data: T) => ReactNode; what?: string; notAvailable?: ReactNode }): ReactNode {
  const { state } = props;
  if (state.status === 'loading') return <Loading what={props.what} />;
  if (state.status === 'error') {
    if (props.notAvailable && state.error instanceof ApiError && state.error.status === 404 && state.error.code !== 'unknown_lens') return props.notAvailable;
    return <ErrorBox error={state.error} />;
  }
  return props.children(state.data);
}

export function Loading(props: { what?: string | undefined }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      Loading {props.what ?? ''}…
    </p>
  );
}

export function ErrorBox(props: { error: Error }) {
  const e = props.error;
  const code = e instanceof ApiError ? e.code : 'error';
  const hint =
    e instanceof ApiError && e.status === 403
      ? 'Your role does not allow this. Ask an admin.'
      : e instanceof ApiError && e.status >= 500
        ? 'The server had a problem. Try again in a moment; the server log has details.'
        : null;
  return (
    <div className="error" role="alert">
      <strong>Something went wrong ({code}).</strong> {e.message}
      {hint ? <div className="muted">{hint}</div> : null}
    </div>
  );
}

/** An empty state that says what to do next. */
export function Empty(props: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <strong>{props.title}</strong>
      {props.children ? <div>{props.children}</div> : null}
    </div>
  );
}

export function NotAvailable(props: { what: string; api: string }) {
  return (
    <div className="empty">
      <strong>{props.what} is not available on this server.</strong>
      <div className="muted">
        It needs <code>{props.api}</code>, which this server does not provide yet.
      </div>
    </div>
  );
}

export function Card(props: { title: string; children: ReactNode; wide?: boolean; actions?: ReactNode; id?: string }) {
  return (
    <section className={props.wide ? 'card wide' : 'card'} aria-labelledby={props.id}>
      <header>
        <h2 id={props.id}>{props.title}</h2>
        {props.actions}
      </header>
      {props.children}
    </section>
  );
}

/**
 * An ECharts chart. Tooltips always use `renderMode: 'richText'` (drawn on the canvas, never parsed
 * as HTML), so names from customer data cannot inject markup.
 */
export function Chart(props: { option: echarts.EChartsCoreOption; height?: number; label: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  useEffect(() => {
    if (!ref.current) return;
    const c = echarts.init(ref.current, undefined, { renderer: 'canvas' });
    chart.current = c;
    const ro = new ResizeObserver(() => c.resize());
    ro.observe(ref.current);
    return () => {
      ro.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, []);
  useEffect(() => {
    const o = props.option as { tooltip?: Record<string, unknown> };
    const tooltip = { ...(o.tooltip ?? {}), renderMode: 'richText' };
    chart.current?.setOption({ animation: false, textStyle: { fontFamily: 'system-ui, sans-serif' }, ...props.option, tooltip }, true);
  }, [props.option]);
  return <div ref={ref} className="chart" style={{ height: props.height ?? 280 }} role="img" aria-label={props.label} />;
}

/** A horizontal probability bar with its number. */
export function ProbBar(props: { label: string; value: number; chosen?: boolean }) {
  const pctText = `${(props.value * 100).toFixed(1)} %`;
  return (
    <div className={props.chosen ? 'prob chosen' : 'prob'}>
      <span className="prob-label">{props.label}</span>
      <span className="prob-track" role="meter" aria-valuemin={0} aria-valuemax={1} aria-valuenow={props.value} aria-label={`${props.label} probability`}>
        <span className="prob-fill" style={{ width: `${Math.max(0, Math.min(1, props.value)) * 100}%` }} />
      </span>
      <span className="prob-num">{pctText}</span>
    </div>
  );
}

/**
 * Customer text with detected cue phrases highlighted. Renders plain text nodes only (React
 * escapes them), so `<script>` in a statement shows literally.
 */
export function Highlighted(props: { text: string; matches: Array<{ start: number; end: number; cue: string; negated?: boolean }> }) {
  const parts: ReactNode[] = [];
  let at = 0;
  const ms = [...props.matches].filter((m) => m.start >= 0 && m.end <= props.text.length && m.end > m.start).sort((a, b) => a.start - b.start);
  for (const m of ms) {
    if (m.start < at) continue;
    if (m.start > at) parts.push(props.text.slice(at, m.start));
    parts.push(
      <mark key={`${m.start}-${m.cue}`} title={`${m.cue}${m.negated ? ' (negated)' : ''}`} className={m.negated ? 'negated' : undefined}>
        {props.text.slice(m.start, m.end)}
      </mark>,
    );
    at = m.end;
  }
  if (at < props.text.length) parts.push(props.text.slice(at));
  return <span className="statement">{parts}</span>;
}

/** Colour per position, readable on white (WCAG AA for text on the lighter ones is not needed: they are fills). */
export const PALETTE = ['#2563eb', '#16a34a', '#d97706', '#dc2626', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#ea580c', '#4f46e5', '#0d9488', '#9333ea', '#b45309', '#be123c', '#1d4ed8'];
