import type { AutomationStore } from '../ports/automation-store';
import type { ChannelAdapter } from '../ports/channel';

/**
 * Channels backed by the automation store: tasks (for a person or queue, listed by GET /api/tasks)
 * and in-app messages (pulled by GET /v1/inbox/:userId). Idempotent: the id is the idempotency key.
 */
export function createTaskChannel(store: AutomationStore): ChannelAdapter {
  return {
    channel: 'task',
    idempotent: true,
    async send(m) {
      if (m.channel !== 'task') return { ok: false, permanent: true, error: `task channel got a ${m.channel} message` };
      await store.createTask({
        id: m.idempotencyKey,
        actionId: m.actionId,
        playbookId: m.playbookId,
        customerId: m.customerId,
        userId: m.userId,
        assignee: m.assignee,
        queue: m.queue,
        kind: m.kind,
        title: m.title,
        description: m.description,
        dueAt: m.dueAt,
        createdAt: m.createdAt,
        status: 'open',
        completedAt: null,
        outcome: null,
      });
      return { ok: true, providerId: m.idempotencyKey };
    },
  };
}

/** In-app inbox channel. */
export function createInAppChannel(store: AutomationStore): ChannelAdapter {
  return {
    channel: 'in_app',
    idempotent: true,
    async send(m) {
      if (m.channel !== 'in_app') return { ok: false, permanent: true, error: `in_app channel got a ${m.channel} message` };
      await store.addInbox({ id: m.idempotencyKey, userId: m.userId, customerId: m.customerId, playbookId: m.playbookId, title: m.title, body: m.body, createdAt: m.createdAt, readAt: null });
      return { ok: true, providerId: m.idempotencyKey };
    },
  };
}
