import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { boundaryViolations, dependencyCycle } from "../check-package-boundaries.mjs";

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A throw-away workspace: `files` maps paths to contents; driver and widget are its packages. */
function workspace(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "boundaries-"));
  roots.push(root);
  const all: Record<string, string> = {
    "pnpm-workspace.yaml":
      'packages:\n  - packages/*\n  - "tooling/*"\n\ncatalog:\n  vitest: 4.1.12\n',
    "packages/driver/package.json": '{ "name": "@widget-todevice/driver" }',
    "packages/widget/package.json": '{ "name": "@widget-todevice/widget" }',
    "packages/widget/src/index.ts": "export const widget = 1;\n",
    "tooling/api-extractor/package.json": '{ "name": "@widget-todevice/api-extractor-config" }',
    ...files,
  };
  for (const [path, text] of Object.entries(all)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe("check-package-boundaries", () => {
  it("fails on the driver's end-to-end support importing the widget's sources", () => {
    const root = workspace({
      "packages/driver/test-e2e/support/package-widget.ts": [
        'import { ClientWidgetApi, Widget } from "matrix-widget-api";',
        "import {",
        "  createToDeviceWidget,",
        "  type ToDeviceWidget,",
        '} from "../../../widget/src/index.js";',
        "",
      ].join("\n"),
    });
    expect(boundaryViolations(root)).toEqual([
      'packages/driver/test-e2e/support/package-widget.ts:5: "../../../widget/src/index.js" leaves @widget-todevice/driver (packages/driver) for packages/widget/src/index.js: import @widget-todevice/widget by name and list it in package.json',
    ]);
  });

  it("fails on side-effect imports, re-exports, import() and require() that leave the package", () => {
    const root = workspace({
      "packages/driver/a.ts": 'import "../widget/src/index.js";\n',
      "packages/driver/b.ts": 'export * from "../widget/src/index.js";\n',
      "packages/driver/c.ts": 'const w = await import("../widget/src/index.js");\n',
      "packages/driver/d.cjs": 'const w = require("../../elsewhere.js");\n',
    });
    expect(boundaryViolations(root).map((line) => line.split(":")[0])).toEqual([
      "packages/driver/a.ts",
      "packages/driver/b.ts",
      "packages/driver/c.ts",
      "packages/driver/d.cjs",
    ]);
    expect(boundaryViolations(root)[3]).toContain(
      "move what it needs into a workspace package and import that by name",
    );
  });

  it("fails on a JSON config that extends a sibling's file by path", () => {
    const root = workspace({
      "packages/driver/api-extractor.json":
        '{\n  "extends": "../../tooling/api-extractor/base.json"\n}\n',
    });
    expect(boundaryViolations(root)).toEqual([
      'packages/driver/api-extractor.json:2: "../../tooling/api-extractor/base.json" leaves @widget-todevice/driver (packages/driver) for tooling/api-extractor/base.json: import @widget-todevice/api-extractor-config by name and list it in package.json',
    ]);
  });

  it("passes imports by name and relative imports that stay inside the package", () => {
    const root = workspace({
      "packages/driver/src/index.ts": "export const driver = 1;\n",
      "packages/driver/test/harness/world.ts": [
        'import { driver } from "../../src/index.js";',
        'import { widget } from "@widget-todevice/widget";',
        'import "./setup.js";',
        "",
      ].join("\n"),
      "packages/driver/api-extractor.json":
        '{ "extends": "@widget-todevice/api-extractor-config/base.json" }',
      "packages/driver/node_modules/x/index.js": 'import "../../../../outside.js";\n',
    });
    expect(boundaryViolations(root)).toEqual([]);
  });

  it("passes on this workspace", () => {
    expect(boundaryViolations(join(import.meta.dirname, "..", "..", ".."))).toEqual([]);
  });

  it("finds a dependency cycle through dev dependencies", () => {
    const root = workspace({
      "packages/driver/package.json":
        '{ "name": "@widget-todevice/driver", "devDependencies": { "@widget-todevice/widget": "workspace:*" } }',
      "packages/widget/package.json":
        '{ "name": "@widget-todevice/widget", "devDependencies": { "@widget-todevice/driver": "workspace:*", "vitest": "catalog:" } }',
    });
    expect(dependencyCycle(root)).toEqual([
      "@widget-todevice/driver",
      "@widget-todevice/widget",
      "@widget-todevice/driver",
    ]);
  });

  it("finds no dependency cycle in this workspace", () => {
    expect(dependencyCycle(join(import.meta.dirname, "..", "..", ".."))).toBeUndefined();
  });

  // The command as `pnpm lint` runs it: through the workspace root's bin link.
  const command = join(
    import.meta.dirname,
    "..",
    "..",
    "..",
    "node_modules",
    ".bin",
    "check-package-boundaries",
  );

  it("as a command, exits 1 and names the import that leaves its package", () => {
    const root = workspace({
      "packages/driver/test-e2e/support/package-widget.ts":
        'import { createToDeviceWidget } from "../../../widget/src/index.js";\n',
    });
    const run = spawnSync(command, [root], { encoding: "utf8" });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      'packages/driver/test-e2e/support/package-widget.ts:1: "../../../widget/src/index.js" leaves @widget-todevice/driver',
    );
  });

  it("as a command, exits 0 on a workspace that keeps its boundaries", () => {
    const root = workspace({ "packages/driver/src/index.ts": 'export * from "./driver.js";\n' });
    const run = spawnSync(command, [root], { encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
  });
});
