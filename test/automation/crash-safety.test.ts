import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { HANDED_OVER_NOT_CONFIRMED } from '../../src/automation/automation';
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

  it('after SIGKILLs mid-dispatch and restarts, every e-mail is received exactly once (or recorded as handed over, not confirmed), every webhook arrives with its key', async () => {
    const smtp = await startSmtpSink({ delayMs: 25 });
    const hook = await startWebhookReceiver({ delayMs: 10 });
    try {
      const args = [dir, smtp.url, hook.url, String(N)];
      // Kill twice while actions are due and some are in flight (mid-DATA, or past the dot awaiting the
      // sink's delayed reply), restarting each time; the third run finishes.
      const kills: number[] = [];
      for (const at of [N / 3, (2 * N) / 3]) {
        const worker = run(args);
        await new Promise<void>((resolve, reject) => {
          const t = setInterval(() => {
            if (smtp.messages.length >= at) {
              clearInterval(t);
              worker.child.kill('SIGKILL');
              resolve();
            }
          }, 5);
          void worker.out.then((r) => {
            clearInterval(t);
            if (r.signal !== 'SIGKILL') reject(new Error(`worker ended before the kill: ${r.stdout} ${r.stderr}`));
          });
        });
        const killed = await worker.out;
        expect(killed.signal).toBe('SIGKILL');
        kills.push(smtp.messages.length);
        expect(smtp.messages.length).toBeLessThan(N);
      }

      const last = run(args);
      const done = await last.out;
      expect(done.code, done.stderr).toBe(0);
      expect(done.stdout).toMatch(/done .*"done":300/);

      const countBy = (keys: string[]): Map<string, number> => {
        const m = new Map<string, number>();
        for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
        return m;
      };
      const mailKeys = Array.from({ length: N }, (_, i) => `crash:mail:k${i}:${i + 1}`);
      const hookKeys = Array.from({ length: N }, (_, i) => `crash:hook:k${i}:${i + 1}`);
      const mails = countBy(smtp.messages.map((m) => m.headers['x-rapport-idempotency-key'] ?? ''));
      const hooks = countBy(hook.requests.map((r) => String(r.headers['idempotency-key'])));
      // Actions completed as handed over but not confirmed: their dispatcher died past the commit point.
      const db = openSqliteDatabase(join(dir, 'rapport.db'));
      const notConfirmed = new Set(
        (db.prepare(`SELECT id FROM auto_actions WHERE step_id = 'mail' AND status = 'done' AND reason LIKE ?`).all(`${HANDED_OVER_NOT_CONFIRMED}%`) as { id: string }[]).map((r) => r.id),
      );
      db.close();
      // E-mail, exactly once: no key repeated; a key missing only if its dispatcher died in the instant
      // between the durable mark and the final dot (then it is recorded as handed over, not confirmed).
      expect([...mails.keys()].filter((k) => !mailKeys.includes(k))).toEqual([]);
      expect([...mails.entries()].filter(([, n]) => n > 1)).toEqual([]);
      const lost = mailKeys.filter((k) => !mails.has(k));
      expect(lost.filter((k) => !notConfirmed.has(k))).toEqual([]);
      expect(mails.size + lost.length).toBe(N);
      // Webhooks stay at-least-once: every key arrives, repeats (in flight at a kill) carry the same key.
      expect([...hooks.keys()].sort()).toEqual([...hookKeys].sort());
      const hookRepeats = [...hooks.values()].filter((c) => c > 1).length;
      expect(hookRepeats).toBeLessThanOrEqual(40);
      console.log(
        `crash test: killed after ${kills.join(' and ')} emails; ${smtp.messages.length} emails received for ${N} keys (0 repeated), ` +
          `${notConfirmed.size} completed as handed over/not confirmed, ${lost.length} of them not received; ${hook.requests.length} webhooks for ${N} keys (${hookRepeats} repeated)`,
      );
    } finally {
      await smtp.close();
      await hook.close();
    }
  });
});
