// Releases for real: `pnpm release` publishes the three packages to a throw-away Verdaccio on
// loopback, and fresh projects install them by name and version with npm, pnpm and Yarn on
// several Node.js versions, as users will. Then a patch release that a pinned consumer upgrades
// to, and a prerelease whose publishing stops after one package and is completed by a retry.
// Everything happens in a copy of the working tree; nothing here is faked.
//
// The matrix: every manager on Node 20 (the project's), every Node version with npm, bundlers
// once (npm on Node 20). Test names say the manager, the Node version and the package.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Registry, startRegistry } from "@widget-todevice/registry";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { run, timed } from "./support/commands.js";
import {
  type ConsumerProject,
  createConsumer,
  ENTRIES,
  type Entry,
  type Manager,
  tsc,
  writeTypeScriptConsumers,
} from "./support/consumer-project.js";
import { type NodeMajor, nodeBinDir } from "./support/node-versions.js";
import {
  addChangeset,
  cloneWorkingTree,
  PACKAGES,
  type PackageName,
  packument,
  release,
  releaseEnv,
  versionIn,
} from "./support/release-clone.js";

const root = join(import.meta.dirname, "..", "..", "..");
const work = mkdtempSync(join(tmpdir(), "widget-todevice-consumers-"));

const MATRIX: ReadonlyArray<readonly [Manager, NodeMajor]> = [
  ["npm", 20],
  ["pnpm", 20],
  ["yarn", 20],
  ["npm", 22],
  ["npm", 24],
];
/** The bundler tests' project: they run once. */
const BUNDLING: readonly [Manager, NodeMajor] = ["npm", 20];

/** What each TypeScript consumer in `fixtures/` prints when the package behaves. */
const EXPECTED: Record<Entry, unknown> = {
  codec: {
    format: "recipients",
    groups: 1,
    capability: "org.matrix.msc3819.send.to_device:org.example.ping",
    version: "org.matrix.msc3819.recipient_devices",
    rejected: "Left",
  },
  driver: {
    type: "org.example.ping",
    sender: "@alice:example.org",
    content: { seq: 1 },
    encrypted: true,
    grantable: 1,
    refused: 1,
  },
  "driver-matrix-js-sdk": { transport: "function", sendToDevice: "function" },
  widget: {
    deviceId: "ALICEDEV",
    timeout: 60_000,
    options: { encrypted: true },
    format: "recipients",
    scoped: null,
  },
};
const label = (entry: Entry) =>
  entry === "driver-matrix-js-sdk"
    ? "@widget-todevice/driver/matrix-js-sdk"
    : `@widget-todevice/${entry}`;

let registry: Registry;
let clone = "";
let first = "";
const projects = new Map<string, Promise<ConsumerProject>>();
const projectOf = (manager: Manager, node: NodeMajor) => {
  const project = projects.get(`${manager}@${node}`);
  if (project === undefined) throw new Error(`no ${manager} project on Node ${node}`);
  return project;
};

/**
 * A group's shared work (a release, an install) as a hook that keeps its failure, and a check
 * before each test of the group that throws it: a failed install or release fails every test
 * that depends on it, named, and the workspace summary counts them (a throwing hook would only
 * skip them). Work whose parent failed is not run.
 */
function groupWork(work: () => Promise<void>, parent?: () => void): () => void {
  let failure: unknown;
  const check = () => {
    parent?.();
    if (failure !== undefined) throw failure;
  };
  beforeAll(async () => {
    try {
      parent?.();
      await work();
    } catch (error) {
      failure = error;
    }
  });
  beforeEach(check);
  return check;
}

const released = groupWork(async () => {
  // Node downloads (cached after the first run) go on while the first release builds.
  const nodeBins = new Map(
    [...new Set(MATRIX.map(([, node]) => node))].map((node) => {
      const bin = timed(`Node ${node}`, () => nodeBinDir(node));
      bin.catch(() => undefined); // reported by the tests that wait for it
      return [node, bin] as const;
    }),
  );
  // Only `release` may publish the driver: another user's release stops half way (below).
  registry = await startRegistry({ publishers: { "@widget-todevice/driver": "release" } });
  clone = await timed("working tree copied and installed", () => cloneWorkingTree(root));
  await timed("first release", () => release(clone, releaseEnv(registry)));
  first = versionIn(clone, "codec");
  // The consumers install side by side; each group of tests waits for its own.
  for (const [manager, node] of MATRIX) {
    const bundling = manager === BUNDLING[0] && node === BUNDLING[1];
    const project = (nodeBins.get(node) ?? nodeBinDir(node)).then((nodeBin) =>
      timed(`${manager} on Node ${node}: install`, () =>
        createConsumer({
          work,
          manager,
          node,
          nodeBin,
          registry,
          range: `^${first}`,
          extraDependencies: bundling ? { vite: "8.3.8", esbuild: "0.27.7" } : {},
        }),
      ),
    );
    project.catch(() => undefined); // reported by the tests that wait for it
    projects.set(`${manager}@${node}`, project);
  }
});

afterAll(async () => {
  await Promise.allSettled(projects.values());
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
  if (clone !== "") rmSync(join(clone, ".."), { recursive: true, force: true });
});

/** The files of a gzipped tarball, sorted. */
async function tarballFiles(file: string): Promise<string[]> {
  return (await run("tar", ["-tzf", file], { cwd: work })).split("\n").filter(Boolean).sort();
}

async function download(url: string, to: string): Promise<string> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  writeFileSync(to, Buffer.from(await response.arrayBuffer()));
  return to;
}

function integrity(file: string): string {
  return `sha512-${createHash("sha512").update(readFileSync(file)).digest("base64")}`;
}

describe("the first release", () => {
  it.each(PACKAGES)(
    "publishes @widget-todevice/%s under latest, one version for all",
    async (pkg) => {
      expect(versionIn(clone, pkg)).toBe(first);
      expect(first).not.toBe("0.0.0");
      const doc = await packument(registry, pkg);
      expect(doc["dist-tags"].latest).toBe(first);
    },
  );

  it.each(PACKAGES)(
    "serves @widget-todevice/%s as the tarball that was packed and checked, with only what `files` intends",
    async (pkg) => {
      const packed = join(clone, "release", `widget-todevice-${pkg}-${first}.tgz`);
      const { dist } = (await packument(registry, pkg)).versions[first] ?? {};
      if (dist === undefined) throw new Error(`${pkg}@${first} is not on the registry`);
      const served = await download(dist.tarball, join(work, `${pkg}-served.tgz`));
      expect(dist.integrity).toBe(integrity(packed));
      const files = await tarballFiles(served);
      expect(files).toEqual(await tarballFiles(packed));
      // `files`: dist, README.md, CHANGELOG.md, LICENSE (package.json always ships).
      const unintended = files.filter(
        (file) =>
          !/^package\/(dist\/.+|README\.md|CHANGELOG\.md|LICENSE|package\.json)$/.test(file),
      );
      expect(unintended).toEqual([]);
      expect(
        files.filter((file) => /\.(test|spec|bench)\.|\/(src|test|bench)\//.test(file)),
      ).toEqual([]);
      expect(files).toContain("package/CHANGELOG.md");
    },
  );

  it.each(PACKAGES)(
    "publishes @widget-todevice/%s's manifest with real ranges and public access",
    async (pkg) => {
      const served = join(work, `${pkg}-served.tgz`);
      const { dist } = (await packument(registry, pkg)).versions[first] ?? {};
      if (dist === undefined) throw new Error(`${pkg}@${first} is not on the registry`);
      await download(dist.tarball, served);
      const text = await run("tar", ["-xzOf", served, "package/package.json"], { cwd: work });
      expect(text).not.toContain("workspace:");
      expect(text).not.toContain("catalog:");
      const manifest = JSON.parse(text);
      expect(manifest.publishConfig).toEqual({ access: "public" });
      if (pkg !== "codec") expect(manifest.dependencies["@widget-todevice/codec"]).toBe(first);
    },
  );
});

describe.each(MATRIX)("%s on Node %i", (manager, node) => {
  let project: ConsumerProject;
  // Types do not depend on the Node version: they are checked with every manager on Node 20,
  // and only emitted (`--noCheck`) on the others.
  const checksTypes = node === 20;
  const diagnostics: Record<string, string[]> = {};

  groupWork(async () => {
    project = await projectOf(manager, node);
    writeTypeScriptConsumers(project.dir);
    await timed(`${manager} on Node ${node}: tsc`, async () => {
      if (checksTypes) {
        diagnostics.nodenext = await tsc(project, "tsconfig.nodenext.json");
        diagnostics.bundler = await tsc(project, "tsconfig.bundler.json");
      } else {
        await tsc(project, "tsconfig.nodenext.json", "--noCheck");
      }
    });
  }, released);

  it.each(PACKAGES)("installs @widget-todevice/%s by version from the registry", (pkg) => {
    const installed = join(project.dir, "node_modules", "@widget-todevice", pkg, "package.json");
    expect(JSON.parse(readFileSync(installed, "utf8")).version).toBe(first);
  });

  for (const entry of ENTRIES) {
    const name = label(entry);
    const of = (config: string, file: string) =>
      (diagnostics[config] ?? []).filter((line) => line.startsWith(`${file}(`));

    if (checksTypes) {
      it(`${name} type-checks under nodenext, imported and required`, () => {
        expect([
          ...of("nodenext", `esm/${entry}.ts`),
          ...of("nodenext", `cjs/${entry}.ts`),
        ]).toEqual([]);
      });

      it(`${name} type-checks under bundler`, () => {
        expect(of("bundler", `esm/${entry}.ts`)).toEqual([]);
      });
    }

    it(`${name} works when imported (ESM)`, async () => {
      expect(JSON.parse(await project.runNode([`esm/${entry}.js`]))).toEqual(EXPECTED[entry]);
    });

    it(`${name} works when required (CommonJS)`, async () => {
      expect(JSON.parse(await project.runNode([`cjs/${entry}.js`]))).toEqual(EXPECTED[entry]);
    });
  }
});

describe(`browser bundles of @widget-todevice/widget (${BUNDLING[0]} on Node ${BUNDLING[1]})`, () => {
  let project: ConsumerProject;
  groupWork(async () => {
    project = await projectOf(...BUNDLING);
  }, released);

  it("Vite bundles it without Node built-ins, and the bundle works", async () => {
    writeFileSync(
      join(project.dir, "vite.config.mjs"),
      `export default { build: { outDir: "vite-out", minify: false, lib: { entry: "esm/widget.ts", formats: ["es"], fileName: "widget" } } };\n`,
    );
    const log = await project.runNode(["node_modules/vite/bin/vite.js", "build"]);
    // Vite stubs a Node built-in in a browser build and says so; a real widget would break.
    expect(log).not.toMatch(/externalized for browser compatibility/);
    const bundle = readFileSync(join(project.dir, "vite-out", "widget.js"), "utf8");
    expect(bundle).not.toMatch(/from\s+["'](node:|@widget-todevice|matrix-widget-api)/);
    expect(JSON.parse(await project.runNode(["vite-out/widget.js"]))).toEqual(EXPECTED.widget);
  });

  it("esbuild bundles it for the browser platform, and the bundle works", async () => {
    // esbuild fails on any Node built-in when bundling for the browser platform.
    await run(
      join(project.dir, "node_modules", ".bin", "esbuild"),
      [
        "esm/widget.ts",
        "--bundle",
        "--platform=browser",
        "--format=esm",
        "--outfile=esbuild-out/widget.js",
        "--log-level=warning",
      ],
      { cwd: project.dir },
    );
    expect(JSON.parse(await project.runNode(["esbuild-out/widget.js"]))).toEqual(EXPECTED.widget);
  });
});

/** The version after `version` with its patch number raised. */
function nextPatch(version: string): string {
  const [major, minor, patch] = version.split(".").map(Number);
  return `${major}.${minor}.${(patch ?? Number.NaN) + 1}`;
}

describe("a patch release of the codec", () => {
  let second = "";
  const secondReleased = groupWork(async () => {
    addChangeset(clone, "codec-patch", { codec: "patch" }, "A fix in the codec.");
    // As the release workflow does it: the "version packages" pull request, then its merge.
    const env = releaseEnv(registry);
    await timed("second release: version", () => release(clone, env, "--version-only"));
    await timed("second release: publish", () => release(clone, env, "--publish-only"));
    second = versionIn(clone, "codec");
  }, released);

  it.each(PACKAGES)("gives @widget-todevice/%s the next patch version (the fixed group)", (pkg) => {
    expect(second).toBe(nextPatch(first));
    expect(versionIn(clone, pkg)).toBe(second);
  });

  it.each(PACKAGES)("writes @widget-todevice/%s's changelog entry", (pkg) => {
    const changelog = readFileSync(join(clone, "packages", pkg, "CHANGELOG.md"), "utf8");
    const entry = changelog.slice(changelog.indexOf(`## ${second}`));
    expect(entry).toMatch(new RegExp(`^## ${second.replaceAll(".", "\\.")}\\n`));
    if (pkg === "codec") expect(entry.split("\n## ")[0]).toContain("A fix in the codec.");
  });

  it.each(PACKAGES)("moves latest of @widget-todevice/%s", async (pkg) => {
    const doc = await packument(registry, pkg);
    expect(doc["dist-tags"].latest).toBe(second);
    expect(Object.keys(doc.versions).sort()).toEqual([first, second].sort());
  });

  it.each(["npm", "pnpm"] as const)(
    "a %s consumer on the first release upgrades to it, and still works",
    async (manager) => {
      const project = await projectOf(manager, 20);
      await project.manage(["update"]);
      for (const pkg of PACKAGES) {
        const installed = join(project.dir, "node_modules", "@widget-todevice", pkg);
        expect(JSON.parse(readFileSync(join(installed, "package.json"), "utf8")).version).toBe(
          second,
        );
        expect(readFileSync(join(installed, "CHANGELOG.md"), "utf8")).toContain(`## ${second}`);
      }
      for (const entry of ENTRIES) {
        expect(JSON.parse(await project.runNode([`esm/${entry}.js`]))).toEqual(EXPECTED[entry]);
      }
    },
  );

  describe("then a prerelease under next whose publishing stops after the codec", () => {
    let pre = "";
    let failure = "";
    let codecPublishedAt = "";
    const publishedAfterFailure: PackageName[] = [];
    let retry = "";
    groupWork(async () => {
      const env = releaseEnv(registry);
      await run("pnpm", ["exec", "changeset", "pre", "enter", "next"], { cwd: clone, env });
      addChangeset(clone, "widget-next", { widget: "minor" }, "A widget feature to try.");
      // A token that may publish the codec and the widget but not the driver: the release
      // publishes the codec, fails on the driver and stops.
      const newcomer = releaseEnv(registry, await registry.signUp("newcomer"));
      failure = await timed("prerelease, stopped half way", () =>
        release(clone, newcomer).then(
          () => "",
          (error: Error) => error.message,
        ),
      );
      pre = versionIn(clone, "codec");
      codecPublishedAt = (await packument(registry, "codec")).time[pre] ?? "";
      for (const pkg of PACKAGES) {
        if ((await packument(registry, pkg)).versions[pre] !== undefined) {
          publishedAfterFailure.push(pkg);
        }
      }
      // Run again with the right token, as a re-run of the release workflow would: what was
      // built and checked is cached.
      retry = await timed("prerelease retried", () => release(clone, env, "--publish-only"));
    }, secondReleased);

    it("the first attempt published the codec and failed on the driver", () => {
      expect(failure).toContain(`widget-todevice-driver-${pre}.tgz`);
      expect(publishedAfterFailure).toEqual(["codec"]);
    });

    it("versions all three packages as one prerelease", () => {
      expect(pre).toMatch(/^\d+\.\d+\.\d+-next\.0$/);
      for (const pkg of PACKAGES) expect(versionIn(clone, pkg)).toBe(pre);
    });

    it("the retry publishes what is missing and not the codec again", async () => {
      expect(retry).toContain(`@widget-todevice/codec@${pre} is already on the registry`);
      expect((await packument(registry, "codec")).time[pre]).toBe(codecPublishedAt);
      expect(retry).toContain(`New tag: @widget-todevice/driver@${pre}`);
      expect(retry).toContain(`New tag: @widget-todevice/widget@${pre}`);
    });

    it.each(PACKAGES)("publishes @widget-todevice/%s under next and leaves latest", async (pkg) => {
      const doc = await packument(registry, pkg);
      expect(doc["dist-tags"]).toEqual({ latest: second, next: pre });
    });

    it("an npm consumer's update stays on latest; asking for next gets the prerelease", async () => {
      const project = await projectOf("npm", 20);
      const installed = (pkg: PackageName) =>
        JSON.parse(
          readFileSync(
            join(project.dir, "node_modules", "@widget-todevice", pkg, "package.json"),
            "utf8",
          ),
        ).version;
      await project.manage(["update"]);
      expect(PACKAGES.map(installed)).toEqual([second, second, second]);
      await project.manage(["install", ...PACKAGES.map((pkg) => `@widget-todevice/${pkg}@next`)]);
      expect(PACKAGES.map(installed)).toEqual([pre, pre, pre]);
      for (const entry of ENTRIES) {
        expect(JSON.parse(await project.runNode([`esm/${entry}.js`]))).toEqual(EXPECTED[entry]);
      }
    });
  });
});
