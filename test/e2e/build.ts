import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './harness';

/** Newest modification time under a folder. */
function newest(dir: string): number {
  let t = 0;
  for (const f of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, f.name);
    t = Math.max(t, f.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Builds web/dist when it is missing or older than web/src (npm install normally built it). */
export function ensureDashboardBuilt(): void {
  const index = join(ROOT, 'web', 'dist', 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newest(join(ROOT, 'web', 'src'))) return;
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', 'web', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
}
