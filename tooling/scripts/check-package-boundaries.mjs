// Fails when a workspace package reaches into a sibling by relative path: an import, export,
// `import()` or `require()` whose relative specifier, or a JSON config whose relative `extends`,
// resolves outside the package's folder. Siblings are imported by name and listed in
// package.json, so the dependency graph that pnpm and turbo see is the one the code uses; that
// graph, dev dependencies included, must have no cycle (turbo's `^build` order and cache keys
// assume none).
// The command is bin/check-package-boundaries.mjs.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";

const SOURCE = /\.(?:[cm]?[jt]sx?)$/;
const SKIPPED_DIRS = new Set([
  "node_modules",
  "dist",
  "coverage",
  ".turbo",
  "test-results",
  "temp",
]);

const JSON_EXTENDS = /"extends"\s*:\s*(\[[^\]]*\]|"[^"]*")/g;

/** The package folders that `pnpm-workspace.yaml` lists (`dir/*` globs and plain folders). */
export function workspacePackages(root) {
  const manifest = readFileSync(join(root, "pnpm-workspace.yaml"), "utf8");
  const globs = [];
  let inPackages = false;
  for (const line of manifest.split("\n")) {
    if (/^\S/.test(line)) inPackages = line.startsWith("packages:");
    const entry = inPackages && /^\s+-\s*["']?([^"'#\s]+)["']?/.exec(line);
    if (entry) globs.push(entry[1]);
  }
  return globs.flatMap((glob) => {
    if (!glob.endsWith("/*")) return existsSync(join(root, glob, "package.json")) ? [glob] : [];
    const parent = glob.slice(0, -2);
    if (!existsSync(join(root, parent))) return [];
    return readdirSync(join(root, parent), { withFileTypes: true })
      .filter(
        (entry) =>
          entry.isDirectory() && existsSync(join(root, parent, entry.name, "package.json")),
      )
      .map((entry) => `${parent}/${entry.name}`);
  });
}

function* filesIn(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name) && !entry.name.startsWith(".")) {
        yield* filesIn(join(dir, entry.name));
      }
    } else if (SOURCE.test(entry.name) || entry.name.endsWith(".json")) {
      yield join(dir, entry.name);
    }
  }
}

function lineOf(text, index) {
  return text.slice(0, index).split("\n").length;
}

/** Every relative reference in `file` with its line. */
function references(file) {
  const text = readFileSync(file, "utf8");
  const found = [];
  if (file.endsWith(".json")) {
    for (const match of text.matchAll(JSON_EXTENDS)) {
      for (const [, value] of match[1].matchAll(/"([^"]*)"/g)) {
        if (value.startsWith("./") || value.startsWith("../")) {
          found.push({ specifier: value, line: lineOf(text, match.index) });
        }
      }
    }
    return found;
  }
  // TypeScript's own pre-processor: static imports and re-exports, `import()` and `require()`,
  // never text inside strings or comments.
  const { importedFiles } = ts.preProcessFile(text, true, true);
  for (const { fileName, pos } of importedFiles) {
    if (fileName.startsWith("./") || fileName.startsWith("../")) {
      found.push({ specifier: fileName, line: lineOf(text, pos) });
    }
  }
  return found;
}

/**
 * The relative references that leave their package, as messages that say where and what to do.
 * @param {string} root the workspace root (holding pnpm-workspace.yaml)
 * @returns {string[]}
 */
export function boundaryViolations(root) {
  const violations = [];
  const packages = workspacePackages(root);
  const owner = (path) =>
    packages.find((pkg) => path === join(root, pkg) || path.startsWith(join(root, pkg) + sep));
  for (const pkg of packages) {
    const pkgDir = join(root, pkg);
    const name = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")).name ?? pkg;
    for (const file of filesIn(pkgDir)) {
      for (const { specifier, line } of references(file)) {
        const target = resolve(dirname(file), specifier);
        if (target === pkgDir || target.startsWith(pkgDir + sep)) continue;
        const where = relative(root, file).split(sep).join("/");
        const sibling = owner(target);
        const hint =
          sibling === undefined
            ? "move what it needs into a workspace package and import that by name"
            : `import ${JSON.parse(readFileSync(join(root, sibling, "package.json"), "utf8")).name} by name and list it in package.json`;
        violations.push(
          `${where}:${line}: "${specifier}" leaves ${name} (${pkg}) for ${relative(root, target).split(sep).join("/")}: ${hint}`,
        );
      }
    }
  }
  return violations;
}

/**
 * A cycle among the workspace packages' dependencies (all kinds, dev included), as the package
 * names around it, or `undefined`.
 * @param {string} root
 * @returns {string[] | undefined}
 */
export function dependencyCycle(root) {
  const edges = new Map();
  for (const pkg of workspacePackages(root)) {
    const manifest = JSON.parse(readFileSync(join(root, pkg, "package.json"), "utf8"));
    const kinds = ["dependencies", "devDependencies", "peerDependencies", "optionalDependencies"];
    edges.set(
      manifest.name,
      kinds.flatMap((kind) => Object.keys(manifest[kind] ?? {})),
    );
  }
  const done = new Set();
  const path = [];
  const visit = (name) => {
    const open = path.indexOf(name);
    if (open >= 0) return [...path.slice(open), name];
    if (done.has(name) || !edges.has(name)) return undefined;
    path.push(name);
    for (const next of edges.get(name)) {
      const cycle = visit(next);
      if (cycle !== undefined) return cycle;
    }
    path.pop();
    done.add(name);
    return undefined;
  };
  for (const name of edges.keys()) {
    const cycle = visit(name);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}
