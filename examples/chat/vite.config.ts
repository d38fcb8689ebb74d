import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const sdk = (p: string) => fileURLToPath(new URL(`../../sdk/src/${p}`, import.meta.url));
const local = (p: string) => fileURLToPath(new URL(`./node_modules/${p}`, import.meta.url));

// The SDK is imported from source (no SDK build step). React is pinned to
// this app's copy so that the SDK's hooks and the app share one React even
// when sdk/node_modules has its own.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@walrelay\/client\/react$/, replacement: sdk('react/index.ts') },
      { find: /^@walrelay\/client\/ws$/, replacement: sdk('ws.ts') },
      { find: /^@walrelay\/client$/, replacement: sdk('index.ts') },
      { find: /^react$/, replacement: local('react/index.js') },
      { find: /^react\/jsx-runtime$/, replacement: local('react/jsx-runtime.js') },
      { find: /^react\/jsx-dev-runtime$/, replacement: local('react/jsx-dev-runtime.js') },
      { find: /^react-dom$/, replacement: local('react-dom/index.js') },
      { find: /^react-dom\/client$/, replacement: local('react-dom/client.js') },
    ],
    dedupe: ['react', 'react-dom'],
  },
  esbuild: { jsx: 'automatic' },
  server: {
    // `npm run dev` against a running `walrelay demo` on :8080.
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/demo': 'http://127.0.0.1:8080',
      '/ws': { target: 'ws://127.0.0.1:8080', ws: true },
    },
  },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
});
