// Vite builds the dApp into dist/, which `fabrica gateway serve` serves at /. Contract ABIs come from the
// generated artifacts (protocol/artifacts/*.json, never hand-written) through the @artifacts alias.
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const artifacts = fileURLToPath(new URL("../../protocol/artifacts", import.meta.url));

export default defineConfig({
  plugins: [react()],
  base: "./",
  resolve: { alias: { "@artifacts": artifacts } },
  // Named JSON exports let the bundler keep each artifact's `abi` and drop its bytecode.
  json: { namedExports: true, stringify: false },
  server: { fs: { allow: [".", artifacts] } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    reportCompressedSize: true,
    chunkSizeWarningLimit: 600,
  },
});
