import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Channel } from '../domain/contact-policy';
import { AuthError, httpStatusFor, NotFoundError, RapportError, ValidationError } from '../domain/errors';
import { VOCABULARY } from '../domain/vocabulary';
import type { Automation } from './automation';
import { verifyToken } from './tokens';

const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
const PREF_CHANNELS: readonly Channel[] = ['email', 'in_app'];

function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  const e = err instanceof RapportError ? err : new RapportError('internal', 'internal error');
  return reply.code(httpStatusFor(e.code)).send({ code: e.code, message: e.message });
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

function rawBody(body: unknown): string {
  if (typeof body === 'string') return body;
  if (body && typeof body === 'object') return new URLSearchParams(body as Record<string, string>).toString();
  return '';
}

function page(title: string, inner: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}button{padding:.5rem 1rem}label{display:block;margin:.5rem 0}</style></head>
<body>${inner}</body></html>`;
}

/**
 * Token routes are wildcards because signed tokens are longer than Fastify's default
 * maxParamLength (100).
 * Registers the engine's HTTP routes in an encapsulated plugin (its form-body parsers do not leak):
 * `/t/o/:token` pixel, `/t/c/:token` click redirect, `/u/:token` preference page (GET) and one-click
 * unsubscribe / preference save (POST), `/v1/inbox/:userId` (write key), and plain `/api/...` routes
 * (tasks, playbooks, effectiveness, dry run) that the admin-auth hook protects.
 */
export async function registerAutomationRoutes(app: FastifyInstance, automation: Automation): Promise<void> {
  const { config, deps, feedback, unsubscribe, resubscribe, completeTask, setEnabled, isEnabled } = automation.internals;
  const now = (): number => deps.clock.now();

  await app.register(async (scope) => {
    for (const type of ['application/x-www-form-urlencoded', 'multipart/form-data']) {
      if (!scope.hasContentTypeParser(type)) scope.addContentTypeParser(type, { parseAs: 'string' }, (_req, body, done) => done(null, body));
    }

    scope.get<{ Params: { '*': string } }>('/t/o/*', async (req, reply) => {
      const t = verifyToken(config.signingSecret, req.params['*'], 'o', now());
      if (t) {
        const at = now();
        const fb = await feedback(VOCABULARY.emailOpened, t.a, t.c, at, {}, `open:${t.a}:${Math.floor(at / 60_000)}`);
        if (fb) await deps.emit([fb]);
      }
      // Always a pixel: a broken image tells nobody anything about the token.
      return reply.header('Cache-Control', 'no-store, private').type('image/gif').send(PIXEL);
    });

    scope.get<{ Params: { '*': string } }>('/t/c/*', async (req, reply) => {
      const t = verifyToken(config.signingSecret, req.params['*'], 'c', now());
      if (!t || !t.u || !/^https?:\/\//i.test(t.u)) {
        return reply.code(404).type('text/html').send(page('Link expired', '<p>This link has expired or is not valid.</p>'));
      }
      const at = now();
      const fb = await feedback(VOCABULARY.emailLinkClicked, t.a, t.c, at, { link_url: t.u }, `click:${t.a}:${t.u}:${Math.floor(at / 1000)}`);
      if (fb) await deps.emit([fb]);
      return reply.header('Cache-Control', 'no-store, private').redirect(t.u, 302);
    });

    const prefPage = async (token: string, customerId: string, saved: boolean): Promise<string> => {
      const sups = await deps.store.listSuppressions(customerId);
      const boxes = PREF_CHANNELS.map((c) => {
        const off = sups.some((s) => s.channel === c && s.reason !== 'no_consent');
        const label = c === 'email' ? 'Marketing emails' : 'Messages in the app';
        return `<label><input type="checkbox" name="${c}" value="on"${off ? '' : ' checked'}> ${label}</label>`;
      }).join('\n');
      return page(
        'Your preferences',
        `<h1>Your preferences</h1>${saved ? '<p role="status">Saved.</p>' : ''}
<form method="post" action="/u/${escapeHtml(token)}">${boxes}<input type="hidden" name="action" value="save"><button type="submit">Save</button></form>
<form method="post" action="/u/${escapeHtml(token)}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe from all marketing email</button></form>
<p><small>Service messages about your orders and account are still sent.</small></p>`,
      );
    };

    scope.get<{ Params: { '*': string } }>('/u/*', async (req, reply) => {
      const t = verifyToken(config.signingSecret, req.params['*'], 'u', now());
      if (!t) return reply.code(404).type('text/html').send(page('Link not valid', '<p>This link is not valid any more.</p>'));
      return reply.type('text/html').header('Cache-Control', 'no-store').send(await prefPage(req.params['*'], t.c, false));
    });

    scope.post<{ Params: { '*': string } }>('/u/*', async (req, reply) => {
      const t = verifyToken(config.signingSecret, req.params['*'], 'u', now());
      if (!t) return reply.code(404).type('text/html').send(page('Link not valid', '<p>This link is not valid any more.</p>'));
      const body = rawBody(req.body);
      const at = now();
      // RFC 8058: the POST body contains List-Unsubscribe=One-Click (urlencoded or multipart).
      if (/List-Unsubscribe(=|"\r?\n\r?\n)One-Click/i.test(body) || (!body.includes('action=save') && !body.includes('name="action"'))) {
        await unsubscribe(t.c, 'email', 'one_click', t.a, at);
        return reply.type('text/html').send(page('Unsubscribed', '<h1>You are unsubscribed</h1><p>You will not receive marketing email from us any more.</p>'));
      }
      const form = new URLSearchParams(body);
      for (const c of PREF_CHANNELS) {
        if (form.get(c) === 'on') await resubscribe(t.c, c, at);
        else await unsubscribe(t.c, c, 'preference_page', t.a, at);
      }
      return reply.type('text/html').send(await prefPage(req.params['*'], t.c, true));
    });

    const writeKeyOf = (req: FastifyRequest): string | null => {
      const h = req.headers.authorization ?? '';
      const basic = /^basic\s+(\S+)$/i.exec(h);
      if (basic?.[1]) return Buffer.from(basic[1], 'base64').toString('utf8').replace(/:.*$/s, '');
      const bearer = /^bearer\s+(\S+)$/i.exec(h);
      return bearer?.[1] ?? null;
    };
    const checkWriteKey = async (req: FastifyRequest): Promise<void> => {
      const key = writeKeyOf(req);
      if (!key || !config.verifyWriteKey || !(await config.verifyWriteKey(key))) {
        throw new AuthError('send a valid write key: Authorization: Basic base64(writeKey + ":")');
      }
    };

    scope.get<{ Params: { userId: string }; Querystring: { unread?: string } }>('/v1/inbox/:userId', async (req, reply) => {
      try {
        await checkWriteKey(req);
        const items = await deps.store.listInbox(req.params.userId, req.query.unread === 'true' || req.query.unread === '1');
        return { messages: items.map((i) => ({ id: i.id, title: i.title, body: i.body, campaignId: i.playbookId, createdAt: new Date(i.createdAt).toISOString(), read: i.readAt !== null })) };
      } catch (err) {
        return sendError(reply, err);
      }
    });

    scope.post<{ Params: { userId: string } }>('/v1/inbox/:userId/read', async (req, reply) => {
      try {
        await checkWriteKey(req);
        const b = z.object({ ids: z.array(z.string()).max(500) }).safeParse(typeof req.body === 'string' ? JSON.parse(req.body || '{}') : req.body);
        if (!b.success) throw new ValidationError('body must be { "ids": [message ids] }');
        return { marked: await deps.store.markInboxRead(req.params.userId, b.data.ids, now()) };
      } catch (err) {
        return sendError(reply, err);
      }
    });

    // ---- admin API (protected by the server's /api auth hook) ----------------------------------

    scope.get<{ Querystring: { status?: string; assignee?: string; limit?: string } }>('/api/tasks', async (req, reply) => {
      const q = z
        .object({ status: z.enum(['open', 'done']).optional(), assignee: z.string().optional(), limit: z.coerce.number().int().min(1).max(5000).optional() })
        .safeParse(req.query);
      if (!q.success) return sendError(reply, new ValidationError('status must be open|done; limit 1..5000'));
      const tasks = await deps.store.listTasks({ ...(q.data.status ? { status: q.data.status } : {}), ...(q.data.assignee ? { assignee: q.data.assignee } : {}), limit: q.data.limit ?? 500 });
      return { tasks };
    });

    scope.post<{ Params: { id: string } }>('/api/tasks/:id/complete', async (req, reply) => {
      try {
        const raw = typeof req.body === 'string' ? (req.body ? JSON.parse(req.body) : {}) : (req.body ?? {});
        const b = z.object({ outcome: z.string().max(500).default('done') }).safeParse(raw);
        if (!b.success) throw new ValidationError('body must be { "outcome": "..." }');
        return { task: await completeTask(req.params.id, b.data.outcome) };
      } catch (err) {
        return sendError(reply, err);
      }
    });

    scope.post<{ Params: { id: string } }>('/api/tasks/:id/assign', async (req, reply) => {
      try {
        const raw = typeof req.body === 'string' ? (req.body ? JSON.parse(req.body) : {}) : (req.body ?? {});
        const b = z.object({ assignee: z.string().min(1).max(200) }).safeParse(raw);
        if (!b.success) throw new ValidationError('body must be { "assignee": "person or queue" }');
        const task = await deps.store.assignTask(req.params.id, b.data.assignee);
        if (!task) throw new NotFoundError('task', req.params.id);
        return { task };
      } catch (err) {
        return sendError(reply, err);
      }
    });

    scope.get('/api/playbooks', async () => ({
      playbooks: await Promise.all(
        deps.playbooks.current().map(async (p) => ({ id: p.id, name: p.name, description: p.description, enabled: await isEnabled(p.id), trigger: p.trigger, holdout: p.holdout, steps: p.steps.length })),
      ),
      errors: deps.playbooks.lastErrors(),
    }));

    for (const [action, on] of [['enable', true], ['disable', false]] as const) {
      scope.post<{ Params: { id: string } }>(`/api/playbooks/:id/${action}`, async (req, reply) => {
        try {
          await setEnabled(req.params.id, on);
          return { id: req.params.id, enabled: on };
        } catch (err) {
          return sendError(reply, err);
        }
      });
    }

    scope.post('/api/playbooks/reload', async (_req, reply) => {
      const r = deps.playbooks.reload();
      return reply.code(r.ok ? 200 : 400).send(r);
    });

    scope.get<{ Params: { id: string } }>('/api/playbooks/:id', async (req, reply) => {
      const p = deps.playbooks.get(req.params.id);
      if (!p) return sendError(reply, new NotFoundError('playbook', req.params.id));
      return { playbook: { ...p, enabled: await isEnabled(p.id) } };
    });

    scope.get<{ Params: { id: string } }>('/api/playbooks/:id/effectiveness', async (req, reply) => {
      try {
        return await automation.effectiveness(req.params.id);
      } catch (err) {
        return sendError(reply, err);
      }
    });

    const dryRun = async (req: FastifyRequest<{ Params: { id: string }; Querystring: { limit?: string; at?: string } }>, reply: FastifyReply): Promise<unknown> => {
      try {
        const limit = req.query.limit ? Number(req.query.limit) : 100;
        const at = req.query.at ? Date.parse(req.query.at) : now();
        if (!Number.isInteger(limit) || limit < 0 || limit > 10_000 || Number.isNaN(at)) throw new ValidationError('limit must be 0..10000 and at an ISO date-time');
        return await automation.dryRun(req.params.id, { limit, now: at });
      } catch (err) {
        return sendError(reply, err);
      }
    };
    scope.get('/api/playbooks/:id/dry-run', dryRun);
    scope.post('/api/playbooks/:id/dry-run', dryRun);

    scope.get<{ Querystring: { limit?: string } }>('/api/automation/dead-letters', async () => ({ deadLetters: await deps.store.listDeadLetters(200) }));
    scope.get('/api/automation/actions', async () => ({ counts: await deps.store.countActions() }));
  });
}
