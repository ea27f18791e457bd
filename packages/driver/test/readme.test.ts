// The README quotes every file in examples/, which `pnpm typecheck` compiles: keep them in step.
// Pure file comparison, no fakes.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
const examples = readdirSync(join(root, "examples")).filter((file) => file.endsWith(".ts"));

it.each(examples)("the README shows the type-checked example %s as it is", (file) => {
  const example = readFileSync(join(root, "examples", file), "utf8")
    .split("\n")
    .slice(1)
    .join("\n")
    .trim();
  expect(readFileSync(join(root, "README.md"), "utf8")).toContain(example);
});
