/**
 * Vite build for the SPA. No React plugin: esbuild's automatic JSX runtime is all the build
 * needs, and it keeps the toolchain to one package. noVNC 1.7 ships ESM with top-level await
 * (core/util/browser.js probes WebCodecs at import time), so every stage targets es2022.
 */
import { defineConfig } from "vite";

const backend = process.env.STREAMSPACE_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  esbuild: { jsx: "automatic" },
  build: {
    target: "es2022",
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: true,
    rollupOptions: {
      // TanStack Query marks files "use client" for React Server Components; harmless in a SPA.
      onwarn(warning, warn) {
        if (warning.code === "MODULE_LEVEL_DIRECTIVE" || warning.code === "SOURCEMAP_ERROR") return;
        warn(warning);
      },
    },
  },
  optimizeDeps: { esbuildOptions: { target: "es2022" } },
  server: {
    // `npm run dev -w web` against a running control plane (npm start).
    proxy: {
      "/trpc": { target: backend, ws: true },
      "/vnc": { target: backend, ws: true },
    },
  },
});
