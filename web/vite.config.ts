/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";
import { VitePWA } from "vite-plugin-pwa";

// Paths the service worker must never answer from its cache: the API (and with it
// every auth response), the health probes, the API's own documentation, the voice
// server's relayed signalling and the local certificate authority (a phone opens
// /ca.crt to install it).
const serverOnly = [
  /^\/api\//,
  /^\/healthz$/,
  /^\/readyz$/,
  /^\/docs/,
  /^\/openapi\.json$/,
  /^\/livekit\//,
  /^\/ca\.crt$/,
];

export default defineConfig({
  plugins: [
    react(),
    VitePWA({
      registerType: "autoUpdate",
      injectRegister: false, // src/main.tsx registers it, so that tests can wait for it
      includeAssets: ["favicon.svg", "icons/apple-touch-icon.png"],
      manifest: {
        name: "Butler",
        short_name: "Butler",
        description: "Your household's own AI butler: talk or type.",
        id: "/",
        start_url: "/",
        scope: "/",
        display: "standalone",
        orientation: "any", // a kitchen tablet on the wall is often landscape
        background_color: "#f7f5f0",
        theme_color: "#1d3557",
        icons: [
          { src: "/icons/icon-192.png", sizes: "192x192", type: "image/png" },
          { src: "/icons/icon-512.png", sizes: "512x512", type: "image/png" },
          {
            src: "/icons/icon-maskable-512.png",
            sizes: "512x512",
            type: "image/png",
            purpose: "maskable",
          },
        ],
      },
      workbox: {
        // Only the app shell is precached; nothing is cached at run time.
        globPatterns: ["**/*.{js,css,html,svg,png,webmanifest}"],
        // The API reference (/docs, Swagger UI) is for admins at a desk: not in the shell.
        globIgnores: ["api-docs.html", "assets/apiDocs-*"],
        navigateFallback: "/index.html",
        navigateFallbackDenylist: serverOnly,
        runtimeCaching: [],
        cleanupOutdatedCaches: true,
        // Shows Butler's push messages and opens the app when one is clicked
        // (public/push-sw.js, copied as it is into dist).
        importScripts: ["push-sw.js"],
      },
    }),
  ],
  server: {
    // `npm run dev` beside `make run`: the API stays on its own port.
    proxy: { "/api": "http://127.0.0.1:8000" },
  },
  build: {
    sourcemap: true,
    chunkSizeWarningLimit: 1800, // Swagger UI, loaded by /docs only
    rollupOptions: { input: { main: "index.html", apiDocs: "api-docs.html" } },
  },
  test: { include: ["tests/**/*.test.ts"], environment: "node" },
});
