import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createServer } from '../../src/http/create-server';

/** The client address each `trustProxy` setting gives a request that came through proxies. */
async function clientIp(trustProxy: boolean | number | string[] | undefined, forwardedFor: string): Promise<string> {
  const server = createServer({ logger: pino({ level: 'silent' }), maxRequestBytes: 1000, ...(trustProxy !== undefined ? { trustProxy } : {}) });
  server.get('/ip', async (request) => ({ ip: request.ip }));
  try {
    // inject() comes from 127.0.0.1: the nearest proxy.
    const res = await server.inject({ method: 'GET', url: '/ip', headers: { 'x-forwarded-for': forwardedFor } });
    return (res.json() as { ip: string }).ip;
  } finally {
    await server.close();
  }
}

describe('trustProxy', () => {
  it('ignores X-Forwarded-For by default, follows it through the trusted proxies otherwise', async () => {
    expect(await clientIp(undefined, '203.0.113.9')).toBe('127.0.0.1');
    expect(await clientIp(false, '203.0.113.9')).toBe('127.0.0.1');
    expect(await clientIp(true, '198.51.100.1, 203.0.113.9')).toBe('198.51.100.1');
    // One hop: only the socket's peer is a proxy; the client is the address it forwarded.
    expect(await clientIp(1, '198.51.100.1, 203.0.113.9')).toBe('203.0.113.9');
    expect(await clientIp(2, '198.51.100.1, 203.0.113.9')).toBe('198.51.100.1');
    // Trusted by address: the peer (loopback) and 203.0.113.0/24 are proxies, so the client is 198.51.100.1.
    expect(await clientIp(['loopback', '203.0.113.0/24'], '198.51.100.1, 203.0.113.9')).toBe('198.51.100.1');
    expect(await clientIp(['10.0.0.0/8'], '198.51.100.1')).toBe('127.0.0.1');
  });
});
