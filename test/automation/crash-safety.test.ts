import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startSmtpSink, startWebhookReceiver } from './helpers';

const ROOT = join(import.meta.dirname, '..', '..');
const N = 150;

function run(args: string[]): { child: ChildProcess; out: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'crash-worker.ts'), ...args], { cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const out = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, out };
}

describe('crash safety of the durable scheduler', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapport-auto-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('after SIGKILL mid-dispatch and a restart, every action reaches the receivers, none is lost, repeats carry the same key', async () => {
    const smtp = await startSmtpSink({ delayMs: 25 });
    const hook = await startWebhookReceiver({ delayMs: 10 });
    try {
      const args = [dir, smtp.url, hook.url, String(N)];
      const first = run(args);
      // Kill while actions are due and some are in flight.
      await new Promise<void>((resolve, reject) => {
        const t = setInterval(() => {
          if (smtp.messages.length >= N / 3) {
            clearInterval(t);
            first.child.kill('SIGKILL');
            resolve();
          }
        }, 5);
        void first.out.then((r) => {
          clearInterval(t);
          if (r.signal !== 'SIGKILL') reject(new Error(`worker ended before the kill: ${r.stdout} ${r.stderr}`));
        });
      });
      const killed = await first.out;
      expect(killed.signal).toBe('SIGKILL');
      const atKill = smtp.messages.length;
      expect(atKill).toBeLessThan(N);

      const second = run(args);
      const done = await second.out;
      expect(done.code, done.stderr).toBe(0);
      expect(done.stdout).toMatch(/done .*"done":300/);

      const countBy = (keys: string[]): Map<string, number> => {
        const m = new Map<string, number>();
        for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
        return m;
      };
      const expected = Array.from({ length: N }, (_, i) => i);
      const mails = countBy(smtp.messages.map((m) => m.headers['x-rapport-idempotency-key'] ?? ''));
      const hooks = countBy(hook.requests.map((r) => String(r.headers['idempotency-key'])));
      // Nothing skipped: every key arrived at both receivers.
      expect([...mails.keys()].sort()).toEqual(expected.map((i) => `crash:mail:k${i}:${i + 1}`).sort());
      expect([...hooks.keys()].sort()).toEqual(expected.map((i) => `crash:hook:k${i}:${i + 1}`).sort());
      // Deduplicated by idempotency key, each is delivered exactly once. Raw repeats can only be the
      // handful in flight at the kill (bounded by the batch size), and they carry the same Message-ID.
      const repeats = [...mails.values(), ...hooks.values()].filter((c) => c > 1).length;
      expect(repeats).toBeLessThanOrEqual(20);
      console.log(`crash test: killed after ${atKill} emails; ${smtp.messages.length} emails and ${hook.requests.length} webhooks received for ${N} + ${N} keys; ${repeats} repeated key(s)`);
      const byKey = new Map<string, Set<string>>();
      for (const m of smtp.messages) {
        const k = m.headers['x-rapport-idempotency-key'] ?? '';
        byKey.set(k, (byKey.get(k) ?? new Set()).add(m.headers['message-id'] ?? ''));
      }
      expect([...byKey.values()].every((ids) => ids.size === 1)).toBe(true);
    } finally {
      await smtp.close();
      await hook.close();
    }
  });
});
