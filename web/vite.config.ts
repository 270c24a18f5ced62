import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Built into web/dist, which `rapport start` serves at /. `npm run dev:web` proxies /api to a running server.
export default defineConfig(({ command }) => {
  // Builds are production builds whatever NODE_ENV the shell (or vitest: 'test') has; React's
  // build and the JSX transform must agree.
  if (command === 'build') process.env.NODE_ENV = 'production';
  return {
  root: import.meta.dirname,
  base: '/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1500, sourcemap: false },
  server: { proxy: { '/api': 'http://127.0.0.1:4100' } },
  };
});
