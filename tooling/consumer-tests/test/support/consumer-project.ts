import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Registry } from "@widget-todevice/registry";
import { cleanEnv, run } from "./commands.js";
import type { NodeMajor } from "./node-versions.js";

export type Manager = "npm" | "pnpm" | "yarn";

const fixtures = join(import.meta.dirname, "..", "..", "fixtures");
/** Yarn 4 as its own package publishes it: one JavaScript file, run by the Node under test. */
const yarnJs = createRequire(import.meta.url).resolve("@yarnpkg/cli-dist/bin/yarn.js");

/**
 * Every run publishes our packages anew under the same versions, while Yarn's global cache keys
 * a package by name and version: a copy cached by an earlier run would be installed instead of
 * what this run published. Our scope is forgotten before each Yarn install; the rest stays cached.
 */
function forgetOurPackagesInYarnCache(): void {
  const global = process.env.YARN_GLOBAL_FOLDER ?? join(homedir(), ".yarn", "berry");
  const cache = join(global, "cache");
  if (existsSync(cache)) {
    for (const file of readdirSync(cache)) {
      if (file.startsWith("@widget-todevice-")) rmSync(join(cache, file), { force: true });
    }
  }
  // What the registries said, per registry host: the loopback registry's answers are stale too.
  const metadata = join(global, "metadata", "npm");
  if (existsSync(metadata)) {
    for (const key of readdirSync(metadata)) {
      rmSync(join(metadata, key, "127.0.0.1"), { recursive: true, force: true });
    }
  }
}

/** The TypeScript consumers, one per entry point; each prints JSON of what it observed. */
export const ENTRIES = ["codec", "driver", "driver-matrix-js-sdk", "widget"] as const;
export type Entry = (typeof ENTRIES)[number];

export interface ConsumerProject {
  readonly dir: string;
  readonly manager: Manager;
  readonly node: NodeMajor;
  readonly nodeBin: string;
  /** Runs the package manager in the project, with the Node under test first on PATH. */
  manage(args: ReadonlyArray<string>): Promise<string>;
  /** Runs `node` of the version under test in the project. */
  runNode(args: ReadonlyArray<string>): Promise<string>;
}

/** Debian's CA bundle: its own Node trusts it; the registry's Node binaries carry their own list. */
const SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

function projectEnv(nodeBin: string): NodeJS.ProcessEnv {
  const extraCa = process.env.NODE_EXTRA_CA_CERTS ?? SYSTEM_CA_BUNDLE;
  return cleanEnv({
    PATH: `${nodeBin}:${process.env.PATH}`,
    // So that Node 22 and 24 trust what the machine trusts (a TLS-inspecting proxy's CA, say).
    ...(existsSync(extraCa) ? { NODE_EXTRA_CA_CERTS: extraCa } : {}),
    // Yarn: a lockfile is written on first install even where CI is set.
    YARN_ENABLE_IMMUTABLE_INSTALLS: "false",
    YARN_ENABLE_TELEMETRY: "false",
  });
}

/**
 * A fresh project outside the workspace that depends on our packages by name and range, as a
 * user's would, with our scope served by `registry` (a project `.npmrc` or `.yarnrc.yml`;
 * every other package comes from the usual registry). Installed with `manager` under `node`.
 */
export async function createConsumer(options: {
  readonly work: string;
  readonly manager: Manager;
  readonly node: NodeMajor;
  readonly nodeBin: string;
  readonly registry: Registry;
  readonly range: string;
  readonly extraDependencies?: Record<string, string>;
}): Promise<ConsumerProject> {
  const { manager, node, nodeBin, registry, range } = options;
  const dir = mkdtempSync(join(options.work, `${manager}-node${node}-`));
  writeFileSync(
    join(dir, "package.json"),
    `${JSON.stringify(
      {
        name: `consumer-${manager}-node${node}`,
        private: true,
        type: "module",
        dependencies: {
          "@widget-todevice/codec": range,
          "@widget-todevice/driver": range,
          "@widget-todevice/widget": range,
          // The peers, as their READMEs ask; matrix-js-sdk for the driver's second entry.
          "matrix-widget-api": "^1.16.0",
          "matrix-js-sdk": "43.0.0",
          typescript: "5.9.3",
          ...options.extraDependencies,
        },
      },
      null,
      2,
    )}\n`,
  );
  if (manager === "yarn") {
    writeFileSync(
      join(dir, ".yarnrc.yml"),
      [
        "nodeLinker: node-modules",
        'npmRegistryServer: "https://registry.npmjs.org"',
        "npmScopes:",
        "  widget-todevice:",
        `    npmRegistryServer: "${registry.url}"`,
        // Yarn 4 quarantines versions younger than a day (`npmMinimalAgeGate`) unless approved.
        "npmPreapprovedPackages:",
        '  - "@widget-todevice/*"',
        "unsafeHttpWhitelist:",
        '  - "127.0.0.1"',
        "",
      ].join("\n"),
    );
    writeFileSync(join(dir, "yarn.lock"), "");
    forgetOurPackagesInYarnCache();
  } else {
    writeFileSync(join(dir, ".npmrc"), `@widget-todevice:registry=${registry.url}\n`);
  }
  if (manager === "pnpm") {
    // pnpm 12 holds back versions younger than a day (`minimumReleaseAge`) on update; a
    // project that wants our releases at once names them (RELEASING.md).
    writeFileSync(
      join(dir, "pnpm-workspace.yaml"),
      'minimumReleaseAgeExclude:\n  - "@widget-todevice/*"\n',
    );
  }
  const env = projectEnv(nodeBin);
  const manage = (args: ReadonlyArray<string>) =>
    manager === "yarn"
      ? run(join(nodeBin, "node"), [yarnJs, ...args], { cwd: dir, env })
      : run(manager, args, { cwd: dir, env });
  const runNode = (args: ReadonlyArray<string>) =>
    run(join(nodeBin, "node"), args, { cwd: dir, env });
  await manage(manager === "npm" ? ["install", "--no-audit", "--no-fund"] : ["install"]);
  return { dir, manager, node, nodeBin, manage, runNode };
}

/**
 * Puts the TypeScript consumers in the project twice, under `esm/` (the project's
 * `"type": "module"`) and under `cjs/` (a `"type": "commonjs"` folder): under `nodenext` one
 * program compiles the one source to `import` and to `require`, each against its own type
 * declarations, and emits next to the sources. A `bundler` configuration checks the ESM copy as a
 * bundler would resolve it.
 */
export function writeTypeScriptConsumers(dir: string): void {
  const compilerOptions = {
    target: "es2022",
    lib: ["es2022", "dom"],
    strict: true,
    types: [],
    // matrix-js-sdk's own declarations need a newer lib than ours; its users skip them.
    skipLibCheck: true,
  };
  for (const flavour of ["esm", "cjs"]) {
    mkdirSync(join(dir, flavour));
    for (const entry of ENTRIES) {
      cpSync(join(fixtures, `${entry}.ts`), join(dir, flavour, `${entry}.ts`));
    }
  }
  writeFileSync(join(dir, "cjs", "package.json"), JSON.stringify({ type: "commonjs" }));
  writeFileSync(
    join(dir, "tsconfig.nodenext.json"),
    JSON.stringify({
      compilerOptions: { ...compilerOptions, module: "nodenext", moduleResolution: "nodenext" },
      include: ["esm/*.ts", "cjs/*.ts"],
    }),
  );
  writeFileSync(
    join(dir, "tsconfig.bundler.json"),
    JSON.stringify({
      compilerOptions: {
        ...compilerOptions,
        module: "esnext",
        moduleResolution: "bundler",
        noEmit: true,
      },
      include: ["esm/*.ts"],
    }),
  );
}

/**
 * `tsc -p config` with the project's own TypeScript (with `--noCheck`, only emits); resolves
 * with its diagnostics, one per line.
 */
export async function tsc(
  project: ConsumerProject,
  config: string,
  ...flags: ReadonlyArray<string>
): Promise<string[]> {
  const bin = join(project.dir, "node_modules", "typescript", "bin", "tsc");
  try {
    await project.runNode([bin, "-p", config, ...flags]);
    return [];
  } catch (error) {
    const lines = String((error as Error).message).split("\n");
    const diagnostics = lines.filter((line) => /error TS\d+/.test(line));
    if (diagnostics.length === 0) throw error;
    return diagnostics;
  }
}
