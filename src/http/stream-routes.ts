import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { isoTime } from '../domain/event';
import type { TypeChange } from '../ports/engine-store';
import { parseQuery } from './customer-routes';

/** Something that calls back with each committed batch of type changes; returns an unsubscribe. */
export type TypeChangeSource = (listener: (changes: readonly TypeChange[]) => void) => () => void;

/**
 * `GET /api/stream` — Server-Sent Events of classification changes (`event: type_change`), optionally
 * filtered by `?lens=`. Comments every 15 s keep proxies from closing an idle stream.
 */
export function registerStreamRoutes(server: FastifyInstance, deps: { subscribe: TypeChangeSource; heartbeatMs?: number }): void {
  const open = new Set<() => void>();
  // Streams never end by themselves: end them so a graceful shutdown does not wait forever.
  server.addHook('preClose', async () => {
    for (const end of open) end();
  });
  server.get('/api/stream', (request, reply) => {
    const { lens } = parseQuery(z.strictObject({ lens: z.string().max(100).optional() }), request.query);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(': connected\n\n');
    const unsubscribe = deps.subscribe((changes) => {
      for (const c of changes) {
        if (lens && c.lens !== lens) continue;
        const data = { customerId: c.customerId, lens: c.lens, from: c.from, to: c.to, at: isoTime(c.at), seq: c.seq, event: c.event };
        res.write(`id: ${c.seq}\nevent: type_change\ndata: ${JSON.stringify(data)}\n\n`);
      }
    });
    const heartbeat = setInterval(() => res.write(': ping\n\n'), deps.heartbeatMs ?? 15_000);
    heartbeat.unref();
    const close = () => {
      clearInterval(heartbeat);
      unsubscribe();
      open.delete(end);
    };
    const end = () => {
      close();
      res.end();
    };
    open.add(end);
    request.raw.on('close', close);
  });
}
