// Plain JavaScript: tsup loads configs' imports from node_modules without compiling them.
import { defineConfig } from "tsup";

/**
 * How every published package is built: ESM and CJS side by side, each with its own type
 * declarations (`.d.ts` and `.d.cts`), so that both `import` and `require` get the right types.
 * @param {string[]} entry the package's entry points, e.g. `["src/index.ts"]`
 */
export function libraryConfig(entry) {
  return defineConfig({
    entry,
    format: ["esm", "cjs"],
    dts: true,
    sourcemap: true,
    clean: true,
    target: "es2022",
  });
}
