#!/usr/bin/env node
// `pnpm lint`'s check that no package reaches into a sibling by relative path and that the
// workspace's dependencies have no cycle (see ../check-package-boundaries.mjs).
//
//   check-package-boundaries [workspace root]   (default: the current directory)
import { resolve } from "node:path";
import {
  boundaryViolations,
  dependencyCycle,
  workspacePackages,
} from "../check-package-boundaries.mjs";

const root = resolve(process.argv[2] ?? ".");
const violations = boundaryViolations(root);
for (const violation of violations) console.error(violation);
if (violations.length > 0) {
  console.error(`${violations.length} relative reference(s) leave their package`);
}
const cycle = dependencyCycle(root);
if (cycle !== undefined) {
  console.error(`the workspace's dependencies have a cycle: ${cycle.join(" -> ")}`);
}
if (violations.length > 0 || cycle !== undefined) process.exit(1);
console.log(
  `package boundaries: ${workspacePackages(root).length} packages, none reached into, no dependency cycle`,
);
