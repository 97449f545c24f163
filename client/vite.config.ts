/**
 * Builds the two pages into client/dist (served by Vigil at /candidate and /proctor, assets at
 * /assets/*). `vite` / `vite preview` with this config also serve them at those paths, with the
 * API and socket.io proxied to a running Vigil (VIGIL_URL, default http://localhost:8080).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig, type Connect, type Plugin } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const backend = process.env.VIGIL_URL ?? 'http://localhost:8080';

/** `/candidate?token=…` → candidate.html, as the real server routes it. */
const pageRoutes = (): Plugin => {
  const rewrite: Connect.NextHandleFunction = (req, _res, next) => {
    const url = req.url ?? '';
    const outcome = /^\/candidate\/outcome\/?(\?.*)?$/.exec(url);
    const match = /^\/(candidate|proctor)\/?(\?.*)?$/.exec(url);
    if (outcome) req.url = `/outcome.html${outcome[1] ?? ''}`;
    else if (match) req.url = `/${match[1]}.html${match[2] ?? ''}`;
    next();
  };
  return {
    name: 'vigil-page-routes',
    configureServer: (server) => void server.middlewares.use(rewrite),
    configurePreviewServer: (server) => void server.middlewares.use(rewrite),
  };
};

const proxy = {
  '/api': backend,
  '/socket.io': { target: backend, ws: true },
};

export default defineConfig({
  root,
  base: '/',
  appType: 'mpa',
  publicDir: false,
  plugins: [pageRoutes()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: true,
    // Every browser that can run mediasoup-client supports modulepreload.
    modulePreload: { polyfill: false },
    rollupOptions: {
      input: {
        candidate: fileURLToPath(new URL('candidate.html', import.meta.url)),
        proctor: fileURLToPath(new URL('proctor.html', import.meta.url)),
        outcome: fileURLToPath(new URL('outcome.html', import.meta.url)),
      },
      output: {
        // Libraries change rarely: a separate chunk stays cached across app releases.
        manualChunks: (id) =>
          id.includes('/node_modules/') ? 'vendor' : id.includes('/src/shared/') ? 'shared' : undefined,
      },
    },
  },
  server: { proxy },
  preview: { proxy },
});
