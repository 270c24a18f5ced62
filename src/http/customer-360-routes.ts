import type { FastifyInstance } from 'fastify';
import { CHANNELS } from '../domain/contact-policy';
import { NotFoundError } from '../domain/errors';
import { isoTime } from '../domain/event';
import { VOCABULARY } from '../domain/vocabulary';
import type { AutomationStore } from '../ports/automation-store';
import type { CustomerQueries } from '../ports/engine-store';

/** Analyses one statement's text (the engine's statement analyser). */
export type AnalyseText = (text: string, lang?: string) => {
  sentiment: number;
  language: string;
  cues: Record<string, number>;
  matches: ReadonlyArray<{ cue: string; start: number; end: number; negated?: boolean }>;
};

/**
 * What the customer 360 page shows besides profile and relationships:
 * `GET /api/customers/:id/statements` (statement events with their analysis: sentiment, cues and
 * the character ranges of detected cue phrases) and `GET /api/customers/:id/measures`
 * (playbook enrolments and their outcome, actions, open tasks, consent and suppressions).
 */
export function registerCustomer360Routes(server: FastifyInstance, deps: { queries: CustomerQueries; analyse: AnalyseText | null; automation: AutomationStore | null }): void {
  const find = async (id: string) => {
    const c = await deps.queries.findCustomer(id);
    if (!c) throw new NotFoundError('customer', id);
    return c;
  };

  server.get('/api/customers/:id/statements', async (request) => {
    const { id } = request.params as { id: string };
    const c = await find(id);
    const events = await deps.queries.recentEvents(c.id, 1000);
    const statements = events
      .filter((e) => e.event === VOCABULARY.statementCaptured && typeof e.properties['text'] === 'string')
      .slice(0, 100)
      .map((e) => {
        const text = e.properties['text'] as string;
        const lang = typeof e.properties['lang'] === 'string' ? (e.properties['lang'] as string) : undefined;
        const a = deps.analyse ? deps.analyse(text, lang) : null;
        return {
          seq: e.seq,
          messageId: e.messageId,
          at: isoTime(e.timestamp),
          channel: typeof e.properties['channel'] === 'string' ? e.properties['channel'] : null,
          text,
          analysis: a ? { sentiment: a.sentiment, language: a.language, cues: Object.fromEntries(Object.entries(a.cues).filter(([, n]) => n > 0)), matches: a.matches } : null,
        };
      });
    return { customerId: c.id, statements, analysed: deps.analyse !== null };
  });

  server.get('/api/customers/:id/measures', async (request) => {
    const { id } = request.params as { id: string };
    const c = await find(id);
    const store = deps.automation;
    if (!store) return { customerId: c.id, available: false, enrolments: [], actions: [], tasks: [], consent: {}, suppressions: [] };
    const ids = [...new Set([c.id, c.userId].filter((x): x is string => typeof x === 'string'))];
    const per = await Promise.all(
      ids.map(async (cid) => ({
        enrolments: await store.enrolmentsOf(cid, 0),
        actions: await store.listActions({ customerId: cid, limit: 200 }),
        suppressions: await store.listSuppressions(cid),
      })),
    );
    const tasks = (await store.listTasks({ limit: 5000 })).filter((t) => ids.includes(t.customerId) || (c.userId !== null && t.userId === c.userId));
    const consent: Record<string, boolean | null> = {};
    for (const ch of CHANNELS) {
      let v: boolean | null = null;
      for (const cid of ids) v ??= await store.consent(cid, ch);
      consent[ch] = v;
    }
    return {
      customerId: c.id,
      available: true,
      enrolments: per
        .flatMap((p) => p.enrolments)
        .map((e) => ({
          id: e.id,
          playbookId: e.playbookId,
          enteredAt: isoTime(e.enteredAt),
          type: e.type,
          variant: e.variant,
          holdout: e.holdout,
          status: e.status,
          reached: e.reached,
          converted: e.convertedAt !== null,
          convertedAt: e.convertedAt === null ? null : isoTime(e.convertedAt),
          revenue: e.revenue,
          unsubscribed: e.unsubscribed,
        })),
      actions: per
        .flatMap((p) => p.actions)
        .map((a) => ({ id: a.id, playbookId: a.playbookId, stepId: a.stepId, due: isoTime(a.due), status: a.status, reason: a.reason, attempts: a.attempts })),
      tasks,
      consent,
      suppressions: per.flatMap((p) => p.suppressions).map((s) => ({ channel: s.channel, reason: s.reason, at: isoTime(s.at), source: s.source })),
    };
  });
}
