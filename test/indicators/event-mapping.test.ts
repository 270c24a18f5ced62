import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/domain/errors';
import { KIND } from '../../src/indicators/event-kind';
import {
  canonicalise,
  compileMapping,
  emptyMapping,
  parseEventMapping,
  parseEventMappingYaml,
} from '../../src/indicators/event-mapping';
import { stored, T0, track } from './event-helpers';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/mapping/${name}`, import.meta.url));

function thrown(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('canonicalise with the built-in vocabulary', () => {
  const m = emptyMapping();

  it('reads Segment Order Completed: revenue, discount, coupon, categories', () => {
    const ev = canonicalise(
      track('Order Completed', T0, {
        order_id: 'o1',
        revenue: 42.5,
        discount: 5,
        coupon: 'SPRING',
        products: [
          { product_id: 'p1', category: 'Shoes', price: 30, quantity: 1 },
          { product_id: 'p2', category: ' shoes ', price: 12.5, quantity: 1 },
          { product_id: 'p3', category: 'Socks' },
        ],
      }),
      m,
    );
    expect(ev).toMatchObject({
      kind: KIND.orderCompleted,
      name: 'Order Completed',
      t: T0,
      revenue: 42.5,
      discount: 5,
      coupon: 'SPRING',
      orderId: 'o1',
      categories: ['shoes', 'socks'],
    });
  });

  it('falls back to total, then to the products price x quantity', () => {
    expect(canonicalise(track('Order Completed', T0, { total: 12 }), m)?.revenue).toBe(12);
    const ev = canonicalise(track('Order Completed', T0, { products: [{ price: 2.5, quantity: 4 }, { price: 1 }] }), m);
    expect(ev?.revenue).toBe(11);
  });

  it('accepts other spellings and older Segment names', () => {
    expect(canonicalise(track('order_completed', T0), m)?.kind).toBe(KIND.orderCompleted);
    expect(canonicalise(track('Completed Order', T0), m)?.kind).toBe(KIND.orderCompleted);
    expect(canonicalise(track('EMAIL-LINK-CLICKED', T0), m)?.kind).toBe(KIND.emailLinkClicked);
    expect(canonicalise(track('Email Marked as Spam', T0), m)?.kind).toBe(KIND.emailMarkedAsSpam);
  });

  it('maps unknown track events to kind other (activity only), keeping their text', () => {
    const ev = canonicalise(track('Wishlist Shared', T0, { comment: 'love it' }), m);
    expect(ev).toMatchObject({ kind: KIND.other, name: 'Wishlist Shared', text: 'love it' });
  });

  it('page and screen are engagement with a local hour; group and alias give null', () => {
    const page = canonicalise(stored('page', null, Date.UTC(2025, 0, 6, 7, 30), { context: { timezone: 'Europe/Berlin' } }), m);
    expect(page).toMatchObject({ kind: KIND.page, hour: 8 });
    const screen = canonicalise(stored('screen', null, Date.UTC(2025, 6, 6, 7, 30), { context: { timezone: 'Europe/Berlin' } }), m);
    expect(screen).toMatchObject({ kind: KIND.screen, hour: 9 }); // summer time
    expect(canonicalise(stored('page', null, Date.UTC(2025, 0, 6, 7, 30), { context: { timezone: 'Mars/Olympus' } }), m)?.hour).toBe(7);
    expect(canonicalise(stored('group', null, T0), m)).toBeNull();
    expect(canonicalise(stored('alias', null, T0), m)).toBeNull();
  });

  it('identify carries its traits and nothing else', () => {
    const ev = canonicalise(stored('identify', null, T0, { traits: { plan: 'gold' } }), m);
    expect(ev).toMatchObject({ kind: KIND.identify, traits: { plan: 'gold' } });
  });

  it('reads relationship-event properties', () => {
    expect(canonicalise(track('Support Ticket Created', T0, { channel: 'Phone' }), m)).toMatchObject({ channel: 'phone', agent: true });
    expect(canonicalise(track('Support Ticket Created', T0, { channel: 'self_service' }), m)?.agent).toBe(false);
    expect(canonicalise(track('Support Ticket Created', T0, { channel: 'chat', agent: false }), m)?.agent).toBe(false);
    expect(canonicalise(track('Survey Answered', T0, { nps: '9', relationship: 'partner', lens: 'swinscoe' }), m)).toMatchObject({
      nps: 9,
      label: 'partner',
      lens: 'swinscoe',
    });
    expect(canonicalise(track('Survey Answered', T0, {}), m)?.nps).toBe(-1);
    expect(canonicalise(track('Statement Captured', T0, { channel: 'twitter', text: 'hi' }), m)).toMatchObject({ public: true, text: 'hi' });
    expect(canonicalise(track('Statement Captured', T0, { channel: 'chat', text: 'hi' }), m)?.public).toBe(false);
    expect(canonicalise(track('Review Submitted', T0, { rating: 5, text: 'great' }), m)?.public).toBe(true);
    expect(canonicalise(track('Email Bounced', T0, { bounce_type: 'HARD' }), m)?.bounceType).toBe('hard');
    expect(canonicalise(track('Email Delivered', T0, { promotional: true }), m)?.promotional).toBe(true);
    expect(canonicalise(track('Membership Started', T0, { plan: 'annual', contract: true }), m)?.contract).toBe(true);
    expect(canonicalise(track('Order Refunded', T0, { revenue: -12 }), m)?.revenue).toBe(12);
  });
});

describe('user mapping', () => {
  const mapping = parseEventMappingYaml(readFileSync(fixture('shop-mapping.yaml'), 'utf8'), 'shop-mapping.yaml');

  it("renames 'purchase' with amount onto Order Completed with revenue", () => {
    const ev = canonicalise(track('purchase', T0, { amount: 99.9, id: 'A-1', voucher: 'WELCOME' }), mapping);
    expect(ev).toMatchObject({ kind: KIND.orderCompleted, name: 'Order Completed', revenue: 99.9, orderId: 'A-1', coupon: 'WELCOME' });
    expect(ev?.properties).toMatchObject({ amount: 99.9, revenue: 99.9, order_id: 'A-1' });
  });

  it('supports dot paths, scale and constants', () => {
    const ev = canonicalise(track('checkout_v2', T0, { cart: { total_cents: 1250 } }), mapping);
    expect(ev).toMatchObject({ kind: KIND.orderCompleted, revenue: 12.5, promotional: false });
  });

  it('supports regular expressions and leaves unmatched names to the vocabulary', () => {
    expect(canonicalise(track('mail_read', T0), mapping)?.kind).toBe(KIND.emailOpened);
    expect(canonicalise(track('mail_sent', T0), mapping)?.kind).toBe(KIND.other);
    expect(canonicalise(track('Order Completed', T0, { revenue: 3 }), mapping)?.revenue).toBe(3);
    expect(canonicalise(track('helpdesk_ticket', T0, { medium: 'phone' }), mapping)).toMatchObject({
      kind: KIND.supportTicketCreated,
      channel: 'phone',
    });
  });

  it('renames identify traits', () => {
    const ev = canonicalise(stored('identify', null, T0, { traits: { sow: 0.4, kam: 'Ann', city: 'Bonn' } }), mapping);
    expect(ev?.traits).toEqual({ share_of_wallet: 0.4, account_manager: 'Ann', city: 'Bonn' });
  });

  it('accepts a mapping nested under a top-level mapping: key', () => {
    const m = parseEventMappingYaml('mapping:\n  events:\n    - from: buy\n      to: Order Completed\n', 'rapport.config.yaml');
    expect(canonicalise(track('buy', T0), m)?.kind).toBe(KIND.orderCompleted);
  });

  it('first exact rule wins over later ones and over regexes', () => {
    const m = compileMapping({
      events: [
        { match: '^buy', to: 'Product Added', properties: {} },
        { from: 'buy', to: 'Order Completed', properties: {} },
        { from: 'buy', to: 'Order Refunded', properties: {} },
      ],
      traits: {},
    });
    expect(canonicalise(track('buy', T0), m)?.kind).toBe(KIND.orderCompleted);
    expect(canonicalise(track('buy_more', T0), m)?.kind).toBe(KIND.productAdded);
  });
});

describe('invalid mapping configuration', () => {
  it('names file:line:column, the path and the allowed values for an unknown canonical event', () => {
    const err = thrown(() => parseEventMappingYaml(readFileSync(fixture('invalid-mapping.yaml'), 'utf8'), 'invalid-mapping.yaml'));
    expect(err.code).toBe('invalid_config');
    expect(err.file).toBe('invalid-mapping.yaml');
    expect(err.line).toBe(6);
    expect(err.column).toBe(9);
    expect(err.message).toContain('invalid-mapping.yaml:6:9');
    expect(err.message).toContain('events.1.to');
    expect(err.message).toContain('unknown canonical event "Order Complete"');
    expect(err.message).toContain('Order Completed');
  });

  it('requires exactly one of from / match', () => {
    const err = thrown(() => parseEventMapping({ events: [{ to: 'Order Completed' }] }));
    expect(err.message).toContain('events.0');
    expect(err.message).toContain("exactly one of 'from'");
    const both = thrown(() => parseEventMapping({ events: [{ from: 'a', match: 'b', to: 'Order Completed' }] }));
    expect(both.message).toContain("exactly one of 'from'");
  });

  it('rejects a bad regular expression and unknown keys', () => {
    const err = thrown(() => parseEventMappingYaml('events:\n  - match: "([a-z"\n    to: Email Opened\n', 'm.yaml'));
    expect(err.message).toContain('events.0.match');
    expect(err.message).toContain('invalid regular expression');
    expect(err.line).toBe(2);
    const extra = thrown(() => parseEventMapping({ events: [{ from: 'a', to: 'Email Opened', rename: {} }] }));
    expect(extra.message).toContain('rename');
  });

  it('explains a wrong property source and a missing target', () => {
    const err = thrown(() => parseEventMappingYaml('events:\n  - from: a\n    to: Order Completed\n    properties:\n      revenue: 5\n', 'p.yaml'));
    expect(err.message).toBe(
      'p.yaml:5:16: event mapping: events.0.properties.revenue: a property source: a path string (amount, cart.total), { path, scale?, default? } or { const: value }',
    );
    expect(thrown(() => parseEventMapping({ events: [{ from: 'a' }] })).message).toContain("events.0.to: missing 'to'");
  });

  it('reports YAML syntax errors with a position', () => {
    const err = thrown(() => parseEventMappingYaml('events:\n  - from: [a\n', 'broken.yaml'));
    expect(err.message).toMatch(/^broken\.yaml:\d+:\d+: YAML syntax error/);
  });
});
