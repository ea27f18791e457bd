// Runs every package's tests through turbo, then prints one plain summary line for the whole
// workspace: `N passed, N failed` (vitest's own summary is per package). Exits with turbo's code.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");
const groups = ["packages", "apps", "tooling"];
const packageDirs = groups.flatMap((group) => {
  const dir = join(root, group);
  return existsSync(dir) ? readdirSync(dir).map((name) => join(dir, name)) : [];
});

// Results are turbo outputs: a cached run restores them, a fresh run rewrites them.
for (const dir of packageDirs) rmSync(join(dir, "test-results"), { recursive: true, force: true });

const turbo = spawnSync(
  "pnpm",
  ["exec", "turbo", "run", "test", "--continue", ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: "inherit",
  },
);

let passed = 0;
let failed = 0;
let skipped = 0;
const missing = [];
for (const dir of packageDirs) {
  const manifest = join(dir, "package.json");
  if (!existsSync(manifest)) continue;
  const { name, scripts = {} } = JSON.parse(readFileSync(manifest, "utf8"));
  if (scripts.test === undefined) continue;
  // Every vitest JSON report of the package: `vitest.json` from the shared preset, and more
  // from packages with several projects (e.g. the driver's `vitest-e2e.json`).
  const resultsDir = join(dir, "test-results");
  const reports = existsSync(resultsDir)
    ? readdirSync(resultsDir)
        .filter((file) => file.endsWith(".json"))
        .map((file) => join(resultsDir, file))
    : [];
  if (reports.length === 0) {
    missing.push(name);
    continue;
  }
  for (const report of reports) {
    const results = JSON.parse(readFileSync(report, "utf8"));
    passed += results.numPassedTests;
    failed += results.numFailedTests;
    skipped += results.numPendingTests + results.numTodoTests;
    // A test file that failed to load has no tests but is a failure all the same.
    failed += results.testResults.filter(
      (file) => file.status === "failed" && file.assertionResults.length === 0,
    ).length;
  }
}
// With a filter (`pnpm test --filter X`) only some packages run; in a full run none may be silent.
const filtered = process.argv.length > 2;
if (missing.length > 0 && !filtered) {
  console.log(`no test results from: ${missing.join(", ")}`);
  failed += missing.length;
}
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`);
process.exit(turbo.status === 0 && failed === 0 ? 0 : 1);
