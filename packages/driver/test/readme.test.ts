// The README quotes every file in examples/, which `pnpm typecheck` compiles: keep them in step.
// Every other code block is marked as a fragment, so no snippet a reader copies claims to
// compile without being compiled. Pure file comparison, no fakes.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
const readme = readFileSync(join(root, "README.md"), "utf8");
const examples = readdirSync(join(root, "examples")).filter((file) => file.endsWith(".ts"));

/** An example as the README shows it: without its first line, the comment that says why. */
const quoted = (file: string) =>
  readFileSync(join(root, "examples", file), "utf8")
    .split("\n")
    .slice(1)
    .join("\n")
    .trim();

/** The README's TypeScript blocks: the fence's info string and the code. */
const blocks = [...readme.matchAll(/^```(ts[^\n]*)\n([\s\S]*?)^```$/gm)].map((match) => ({
  info: match[1] ?? "",
  code: (match[2] ?? "").trim(),
}));

it.each(examples)("the README shows the type-checked example %s as it is", (file) => {
  expect(readme).toContain(quoted(file));
});

describe("every TypeScript block in the README", () => {
  it("was found", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(examples.length);
  });

  it.each(blocks.map((block, i) => [i + 1, block.code.split("\n")[0] ?? "", block] as const))(
    "block %i (%s) is a whole example file, or says it is a fragment",
    (_n, _firstLine, { info, code }) => {
      if (info === "ts fragment") {
        expect(code.split("\n")[0]).toMatch(/^\/\/ A fragment: /);
        return;
      }
      expect(info).toBe("ts");
      expect(examples.map(quoted)).toContain(code);
    },
  );
});
