import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { BUILTIN_LENS_DIR, createLensRegistry, type LensRegistry } from '../classify/lens-registry';
import type { App, AppExtension } from '../app/create-app';
import type { UserStore } from '../ports/user-store';
import { registerLensEditRoutes } from './lens-edit-routes';
import { registerCustomer360Routes, type AnalyseText } from './customer-360-routes';
import { registerDashboardCustomerRoutes } from './dashboard-customer-routes';
import { createStatementAnalyser, type StatementAnalyser } from '../indicators/statements/statement-analyser';
import { loadBuiltinLexicon } from '../indicators/statements/statement-lexicon';
import { installSessionAuth } from './session-auth';

/** Where `vite build web` puts the dashboard. */
export const WEB_DIST_DIR: string = fileURLToPath(new URL('../../web/dist/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

// The app needs no inline script; ECharts and React set inline styles.
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Rapport</title></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;line-height:1.5">
<h1>Rapport dashboard is not built yet</h1>
<p>Run <code>npm run build:web</code> (or <code>npm install</code>, which builds it) and reload this page.
The admin API under <code>/api</code> works without it.</p></body></html>`;

/** Options of {@link dashboardExtension}. */
export interface DashboardOptions {
  /** Built dashboard folder (default: the package's web/dist). */
  distDir?: string;
  /**
   * The engine's lens registry, so a saved lens applies at once. Without it the dashboard keeps
   * its own registry over the built-in and `<data>/lenses` folders, and a save applies on restart.
   */
  lensRegistry?: () => LensRegistry;
  /** Users and sessions (default: the app store's). */
  users?: (app: App) => UserStore;
  /** Statement analysis for the customer 360 page (default: the built-in lexicon, loaded on first use). */
  analyse?: AnalyseText | null;
}

/** Serves one file of the built app with the right type, caching and security headers. */
function sendFile(reply: FastifyReply, path: string, immutable: boolean): FastifyReply {
  const type = TYPES[extname(path)] ?? 'application/octet-stream';
  void reply.header('content-type', type).header('x-content-type-options', 'nosniff').header('referrer-policy', 'same-origin');
  void reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  if (type.startsWith('text/html')) void reply.header('content-security-policy', CSP).header('x-frame-options', 'DENY');
  return reply.send(readFileSync(path));
}

/**
 * Serves the built dashboard at `/` with an SPA fallback (any other GET outside `/api`, `/v1`,
 * `/t`, `/u` gets index.html so deep links work).
 */
export function registerDashboardRoutes(server: FastifyInstance, opts: { distDir: string }): void {
  const root = resolve(opts.distDir);
  const index = join(root, 'index.html');
  const handler = async (request: { url: string }, reply: FastifyReply) => {
    const path = decodeURIComponent((request.url.split('?')[0] ?? '/').replace(/^\/+/, ''));
    if (/^(api|v1|t|u)(\/|$)/.test(path)) return reply.code(404).send({ code: 'not_found', message: `no route GET /${path}` });
    if (!existsSync(index)) return reply.code(503).header('content-type', 'text/html; charset=utf-8').send(NOT_BUILT);
    const file = normalize(join(root, path));
    if (path !== '' && file.startsWith(root + sep) && existsSync(file) && statSync(file).isFile()) {
      return sendFile(reply, file, path.startsWith('assets/'));
    }
    // A missing asset is a 404, not the app: a stale tab must not parse HTML as JavaScript.
    if (path.startsWith('assets/')) return reply.code(404).send({ code: 'not_found', message: 'no such asset: reload the page' });
    return sendFile(reply, index, false);
  };
  server.get('/', handler);
  server.get('/*', handler);
}

/**
 * The web dashboard as an app extension: static files + SPA fallback, session sign-in with roles
 * and CSRF (`/api/session`, `/api/users`), and the lens editing routes.
 */
export function dashboardExtension(opts: DashboardOptions = {}): AppExtension {
  return {
    name: 'dashboard',
    routes(server, app) {
      const users = opts.users ? opts.users(app) : app.store.userStore;
      installSessionAuth(server, { users, clock: app.clock });
      const userDir = join(app.config.dataDir, 'lenses');
      const files = { builtinDir: BUILTIN_LENS_DIR, userDirs: [userDir] };
      let own: LensRegistry | undefined;
      const registry = opts.lensRegistry ?? (() => (own ??= createLensRegistry(files)));
      const dashboardQueries = app.store.dashboardQueries;
      registerLensEditRoutes(server, { sample: (max) => dashboardQueries.samplePopulation(max), files, userDir, registry, live: opts.lensRegistry !== undefined });
      let analyser: StatementAnalyser | undefined;
      const analyse: AnalyseText | null =
        opts.analyse !== undefined
          ? opts.analyse
          : (text, lang) => (analyser ??= createStatementAnalyser({ lexicon: loadBuiltinLexicon() })).analyse(text, lang === 'de' || lang === 'en' ? { lang } : {});
      registerCustomer360Routes(server, { queries: app.store.customerQueries, analyse, automation: app.store.automationStore });
      registerDashboardCustomerRoutes(server, { queries: dashboardQueries, lenses: registry });
      registerDashboardRoutes(server, { distDir: opts.distDir ?? WEB_DIST_DIR });
    },
  };
}
