// The README quotes examples/attach.ts, which `pnpm typecheck` compiles: keep the two in step.
// Pure file comparison, no fakes.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";

it("the README shows the type-checked example as it is", () => {
  const root = join(import.meta.dirname, "..");
  const example = readFileSync(join(root, "examples/attach.ts"), "utf8")
    .split("\n")
    .slice(1)
    .join("\n")
    .trim();
  expect(readFileSync(join(root, "README.md"), "utf8")).toContain(example);
});
