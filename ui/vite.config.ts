/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Served by the engine at /dashboard; in development, /api goes to a running router.
export default defineConfig({
  base: "/dashboard/",
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false },
  server: { proxy: { "/api": "http://127.0.0.1:20128" } },
  test: { environment: "jsdom", include: ["src/**/*.test.{ts,tsx}"] },
});
