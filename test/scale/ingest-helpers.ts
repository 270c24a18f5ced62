import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { decodeStreamEvent } from '../../src/adapters/nats/event-stream';
import type { StoredEvent } from '../../src/domain/event';

/** The NATS URL for stream tests (set by .ci/run), or undefined: NATS test files then skip. */
export const NATS_URL: string | undefined = process.env['RAPPORT_TEST_NATS_URL'] || undefined;

/** A unique stream name and subject prefix per test (tests run in parallel on one server). */
export function uniqueStream(): { stream: string; subjectPrefix: string } {
  const id = randomBytes(5).toString('hex');
  return { stream: `RAPPORT_TEST_${id}`, subjectPrefix: `rapport_test_${id}.events` };
}

/** One message of the stream as the tests look at it. */
export interface StreamMessage {
  seq: number;
  subject: string;
  msgId: string | undefined;
  event: StoredEvent;
}

/** Every message of `stream`, in stream order. */
export async function readStream(nc: NatsConnection, stream: string): Promise<StreamMessage[]> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(stream);
  const out: StreamMessage[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    out.push({ seq: m.seq, subject: m.subject, msgId: m.header?.get('Nats-Msg-Id'), event: decodeStreamEvent(m.data) });
  }
  return out;
}

/** Deletes a stream, ignoring "not found". */
export async function deleteStream(url: string, stream: string): Promise<void> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(stream).catch(() => {});
  } finally {
    await nc.close();
  }
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** A private `nats-server -js` child on its own port and storage dir, which a test may kill and restart. */
export class NatsChild {
  private child: ChildProcess | null = null;
  readonly dir = mkdtempSync(join(tmpdir(), 'rapport-nats-'));
  private constructor(readonly port: number) {}

  /** Starts a server on a free port; resolves once it accepts connections. */
  static async start(): Promise<NatsChild> {
    const n = new NatsChild(await freePort());
    await n.restart();
    return n;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** (Re)starts the server on the same port and storage dir. */
  async restart(): Promise<void> {
    this.child = spawn('/usr/sbin/nats-server', ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.dir], { stdio: 'ignore' });
    for (let i = 0; i < 200; i++) {
      if (await canConnect(this.port)) return;
      await sleep(50);
    }
    throw new Error(`nats-server did not start on port ${this.port}`);
  }

  /** SIGKILL, and waits for the process to be gone. */
  async kill(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
    this.child = null;
  }

  /** Kills the server and removes its storage. */
  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** A TCP proxy to `target` that a test can cut (close the port, drop every connection) and restore. */
export class TcpProxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  private frozen = false;
  private readonly held: Array<() => void> = [];
  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  /** Starts forwarding on a free port. */
  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const p = new TcpProxy(await freePort(), target);
    await p.restore();
    return p;
  }

  /** Listens again on the same port (after {@link cut}), or moves bytes again (after {@link freeze}). */
  async restore(): Promise<void> {
    this.frozen = false;
    for (const send of this.held.splice(0)) send();
    if (this.server) return;
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      this.sockets.add(client);
      this.sockets.add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      // Forwarding by hand: while frozen, bytes are held back (in both directions) until restore.
      const forward = (from: net.Socket, to: net.Socket) =>
        from.on('data', (chunk: Buffer) => {
          if (this.frozen) this.held.push(() => to.write(chunk));
          else to.write(chunk);
        });
      forward(client, upstream);
      forward(upstream, client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /** Stops moving bytes but keeps every connection open (a black-holed path: calls hang, nothing is refused). */
  freeze(): void {
    this.frozen = true;
  }

  /** Stops listening and drops every open connection (the database looks gone). */
  async cut(): Promise<void> {
    const s = this.server;
    this.server = null;
    for (const sock of this.sockets) sock.destroy();
    this.sockets.clear();
    this.held.length = 0;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** Sleeps `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` every 50 ms until it is true (or fails after `timeoutMs`). */
export async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}
