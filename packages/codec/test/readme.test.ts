// The README quotes examples/*.ts, which `pnpm typecheck` compiles: keep them in step.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";

it.each(["decode.ts", "reply.ts"])("the README shows examples/%s as it is", (file) => {
  const root = join(import.meta.dirname, "..");
  const example = readFileSync(join(root, "examples", file), "utf8")
    .split("\n")
    .slice(1)
    .join("\n")
    .trim();
  expect(readFileSync(join(root, "README.md"), "utf8")).toContain(example);
});
