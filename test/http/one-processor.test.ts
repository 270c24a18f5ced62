import { describe, expect, it } from 'vitest';
import { runCli, spawnServer, tempDir } from './helpers';
import { rmSync } from 'node:fs';

/**
 * One process at a time runs the event processor on a data directory: a second server or a replay would
 * apply every event again. The lock is the operating system's: it goes with the process, however it ends.
 */
describe('one processor per data directory', () => {
  it('refuses a second server and a replay while a server runs, and frees the directory when the server is killed', async () => {
    const dir = tempDir('rapport-one-processor-');
    try {
      const first = await spawnServer(dir);
      const second = await runCli(['start', '--port', '0', '--data', dir, '--log-level', 'warn'], { cwd: dir });
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`process ${first.pid} is already processing events in ${dir}`);
      expect(second.stderr).toContain('(engine_busy)');
      const replay = await runCli(['replay', '--data', dir], { cwd: dir });
      expect(replay.code).toBe(1);
      expect(replay.stderr).toContain('(engine_busy)');

      // SIGKILL: no clean shutdown, and still the directory is free at once.
      first.proc.kill('SIGKILL');
      await first.exited;
      const after = await runCli(['replay', '--data', dir, '--json'], { cwd: dir });
      expect(after.code).toBe(0);
      const again = await spawnServer(dir);
      expect((await fetch(`${again.url}/readyz`)).status).toBe(200);
      again.proc.kill('SIGTERM');
      expect((await again.exited).code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
