import { describe, expect, it } from 'vitest';
import type { EventType, StoredEvent } from '../../src/domain/event';
import { fnv1a32 } from '../../src/domain/partition-routing';
import type { PartitionRouter } from '../../src/ports/partition-router';

/** A fresh, empty route store and routers on it (every router is a separate node with its own cache). */
export interface PartitionRouterFixture {
  /** A new router on the shared store. */
  router(partitions: number): PartitionRouter;
  close(): Promise<void>;
}

let n = 0;
/** A minimal stored event for routing. */
export function ev(type: EventType, ids: { userId?: string; anonymousId?: string; previousId?: string }): StoredEvent {
  n++;
  return {
    seq: 0,
    messageId: `m${n}`,
    type,
    userId: ids.userId ?? null,
    anonymousId: ids.anonymousId ?? null,
    event: type === 'track' ? 'Viewed' : null,
    name: null,
    groupId: null,
    previousId: ids.previousId ?? null,
    properties: {},
    traits: {},
    context: {},
    integrations: {},
    timestamp: 1,
    receivedAt: 1,
    sentAt: null,
    sourceId: 'test',
  };
}

/** Behaviour every {@link PartitionRouter} adapter must have. */
export function partitionRouterContract(name: string, open: () => Promise<PartitionRouterFixture>): void {
  describe(`PartitionRouter contract: ${name}`, () => {
    const P = 16;

    it('routes a new customer by the hash of its would-be customer id, and remembers it', async () => {
      const f = await open();
      try {
        const r = f.router(P);
        const [a, u] = await r.route([ev('track', { anonymousId: 'a1' }), ev('track', { userId: 'u1' })]);
        expect(a).toBe(fnv1a32('anon:a1') % P);
        expect(u).toBe(fnv1a32('u1') % P);
        expect(await f.router(P).customerPartition('anon:a1')).toBe(a);
        expect(await f.router(P).customerPartition('u1')).toBe(u);
        expect(await r.customerPartition('never-seen')).toBeNull();
      } finally {
        await f.close();
      }
    });

    it('an identify linking an anonymous id follows the anonymous id (earlier call, same batch, other node)', async () => {
      const f = await open();
      try {
        const r1 = f.router(P);
        const [pa] = await r1.route([ev('page', { anonymousId: 'anon-x' })]);
        const [pi] = await f.router(P).route([ev('identify', { userId: 'user-x', anonymousId: 'anon-x' })]);
        expect(pi).toBe(pa);
        // Later events of the user alone follow too.
        expect(await r1.route([ev('track', { userId: 'user-x' })])).toEqual([pa]);
        expect(await f.router(P).customerPartition('user-x')).toBe(pa);
        // Same batch.
        const same = await f.router(P).route([ev('page', { anonymousId: 'anon-y' }), ev('identify', { userId: 'user-y', anonymousId: 'anon-y' })]);
        expect(same[1]).toBe(same[0]);
        expect(same[0]).toBe(fnv1a32('anon:anon-y') % P);
      } finally {
        await f.close();
      }
    });

    it('a known userId wins over an anonymous id routed elsewhere; alias follows the previous id when the user is new', async () => {
      const f = await open();
      try {
        const r = f.router(P);
        // Pick ids that hash to different partitions so the test shows which one wins.
        let i = 0;
        while (fnv1a32(`k${i}`) % P === fnv1a32(`anon:z${i}`) % P) i++;
        const [pu, pa] = await r.route([ev('track', { userId: `k${i}` }), ev('track', { anonymousId: `z${i}` })]);
        expect(pu).not.toBe(pa);
        expect(await r.route([ev('identify', { userId: `k${i}`, anonymousId: `z${i}` })])).toEqual([pu]);
        const [prev] = await r.route([ev('track', { anonymousId: 'old-id' })]);
        expect(await f.router(P).route([ev('alias', { userId: 'new-user', previousId: 'old-id' })])).toEqual([prev]);
        expect(await f.router(P).customerPartition('new-user')).toBe(prev);
      } finally {
        await f.close();
      }
    });

    it('two routers racing on the same new identities agree on every event', async () => {
      const f = await open();
      try {
        const a = f.router(P);
        const b = f.router(P);
        // Many small batches that interleave anonymous visits, identifies and user events on shared ids, in
        // different orders on each node, so both keep trying to route the same identities first.
        const batches: StoredEvent[][] = [];
        for (let k = 0; k < 40; k++) {
          batches.push([
            ev('page', { anonymousId: `ra${k}` }),
            ev('identify', { userId: `ru${k}`, anonymousId: `ra${k}` }),
            ev('track', { userId: `ru${(k + 1) % 40}` }),
            ev('identify', { userId: `ru${(k + 7) % 40}`, anonymousId: `ra${(k + 3) % 40}` }),
          ]);
        }
        const reversed = batches.map((bt) => [...bt].reverse()).reverse();
        const [ra, rb] = await Promise.all([
          Promise.all(batches.map((bt) => a.route(bt))),
          Promise.all(reversed.map((bt) => b.route(bt))),
        ]);
        const judge = f.router(P);
        const all = batches.flat();
        const truth = await judge.route(all);
        const byId = new Map(all.map((e, i) => [e.messageId, truth[i]]));
        batches.forEach((bt, i) => bt.forEach((e, j) => expect(ra[i]?.[j]).toBe(byId.get(e.messageId))));
        reversed.forEach((bt, i) => bt.forEach((e, j) => expect(rb[i]?.[j]).toBe(byId.get(e.messageId))));
      } finally {
        await f.close();
      }
    });
  });
}
