import Handlebars from 'handlebars';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../domain/errors';

/**
 * Email / in-app templates: one YAML file per template (`templates/<name>.yaml`) with one entry per
 * tone (warm, neutral, playful, formal ...), each a Handlebars `subject`, `text` and `html`. The HTML
 * part is wrapped in `templates/_layout.html` when present. Links written as `{{track "https://..."}}`
 * become signed click-tracking redirects.
 */

const toneSchema = z.strictObject({ subject: z.string().min(1), text: z.string().min(1), html: z.string().min(1) });
const fileSchema = z.strictObject({ description: z.string().optional(), tones: z.record(z.string(), toneSchema) });

/** A rendered message. */
export interface RenderedMessage {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /** The tone actually used (after fallback). */
  readonly tone: string;
}

/** Data a template sees. `track` turns a URL into a tracked link. */
export interface TemplateContext {
  readonly customer: { id: string; userId: string; email?: string; firstName: string; traits: Record<string, unknown> };
  readonly playbook: { id: string; name: string };
  readonly variant: string | null;
  readonly type: string | null;
  readonly links: { unsubscribe: string; preferences: string };
}

interface Compiled {
  subject: Handlebars.TemplateDelegate;
  text: Handlebars.TemplateDelegate;
  html: Handlebars.TemplateDelegate;
}

/** Loads and renders templates. */
export interface TemplateRenderer {
  /** Renders a template in a tone (falls back to `neutral`, then the first tone); null when unknown. */
  render(name: string, tone: string, ctx: TemplateContext, track: (url: string) => string): RenderedMessage | null;
  has(name: string): boolean;
  names(): string[];
}

/** Loads every `*.yaml` template from `dirs` (first directory wins on a name clash); throws ConfigError with file:line:column. */
export function createTemplateRenderer(dirs: readonly string[]): TemplateRenderer {
  const hb = Handlebars.create();
  hb.registerHelper('track', function (this: unknown, url: unknown, options: Handlebars.HelperOptions) {
    const t = (options.data as { root: { __track?: (u: string) => string } }).root.__track;
    return new hb.SafeString(hb.escapeExpression(t ? t(String(url)) : String(url)));
  });
  const templates = new Map<string, Map<string, Compiled>>();
  let layout: Handlebars.TemplateDelegate | null = null;
  for (const dir of [...dirs].reverse()) {
    if (!existsSync(dir)) continue;
    const layoutFile = join(dir, '_layout.html');
    if (existsSync(layoutFile)) layout = hb.compile(readFileSync(layoutFile, 'utf8'));
    for (const f of readdirSync(dir).sort()) {
      if (!f.endsWith('.yaml') && !f.endsWith('.yml')) continue;
      const file = join(dir, f);
      const lc = new LineCounter();
      const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter: lc });
      if (doc.errors[0]) {
        const p = lc.linePos(doc.errors[0].pos[0]);
        throw new ConfigError(`YAML syntax: ${doc.errors[0].message.split('\n')[0]}`, { file, line: p.line, column: p.col }, 'invalid_template');
      }
      const parsed = fileSchema.safeParse(doc.toJS());
      if (!parsed.success) {
        const i = parsed.error.issues[0];
        const node = i ? doc.getIn(i.path as (string | number)[], true) : null;
        const range = (node as { range?: [number] } | null)?.range;
        const p = range ? lc.linePos(range[0]) : { line: 1, col: 1 };
        throw new ConfigError(`${i?.path.join('.') ?? ''}: ${i?.message ?? 'invalid'} (each tone needs subject, text and html)`, { file, line: p.line, column: p.col }, 'invalid_template');
      }
      const tones = new Map<string, Compiled>();
      for (const [tone, t] of Object.entries(parsed.data.tones)) {
        tones.set(tone, { subject: hb.compile(t.subject, { noEscape: true }), text: hb.compile(t.text, { noEscape: true }), html: hb.compile(t.html) });
      }
      templates.set(f.replace(/\.ya?ml$/, ''), tones);
    }
  }
  return {
    render(name, tone, ctx, track) {
      const tones = templates.get(name);
      if (!tones) return null;
      const used = tones.has(tone) ? tone : tones.has('neutral') ? 'neutral' : [...tones.keys()][0];
      const c = used ? tones.get(used) : undefined;
      if (!c || !used) return null;
      const data = { ...ctx, tone: used, __track: track };
      const body = c.html(data);
      const html = layout ? layout({ ...data, body: new hb.SafeString(body) }) : body;
      return { subject: c.subject(data).trim(), text: c.text(data), html, tone: used };
    },
    has: (name) => templates.has(name),
    names: () => [...templates.keys()].sort(),
  };
}
