import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { npmrcFor, type Registry } from "@widget-todevice/registry";
import { cleanEnv, run } from "./commands.js";

export const PACKAGES = ["codec", "driver", "widget"] as const;
export type PackageName = (typeof PACKAGES)[number];

/**
 * A copy of the working tree (tracked files and new ones git does not ignore) in a temporary
 * directory, committed to a fresh git repository: releases version, tag and publish there, and
 * the checkout under test is never touched.
 */
export async function cloneWorkingTree(root: string): Promise<string> {
  const dir = join(mkdtempSync(join(tmpdir(), "widget-todevice-release-test-")), "repo");
  const files = execFileSync(
    "git",
    ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    {
      cwd: root,
      encoding: "utf8",
    },
  )
    .split("\0")
    .filter((file) => file !== "" && existsSync(join(root, file)));
  for (const file of new Set(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(join(root, file), join(dir, file));
  }
  const git = ["-c", "user.name=Release test", "-c", "user.email=release@example.org"];
  await run("git", ["init", "--quiet", "--initial-branch=main"], { cwd: dir });
  await run("git", ["add", "--all"], { cwd: dir });
  await run("git", [...git, "commit", "--quiet", "--message=Release test"], { cwd: dir });
  await run("pnpm", ["install", "--frozen-lockfile", "--prefer-offline"], { cwd: dir });
  return dir;
}

/**
 * The environment a release runs with: the registry and its token come only from here (a user
 * config in a temporary directory), as in the release workflow.
 */
export function releaseEnv(registry: Registry, token = registry.token): NodeJS.ProcessEnv {
  const userconfig = join(mkdtempSync(join(registry.dir, "user-")), "npmrc");
  writeFileSync(userconfig, npmrcFor(registry, token));
  return cleanEnv({ npm_config_registry: registry.url, npm_config_userconfig: userconfig });
}

/**
 * `pnpm release` (or one of its steps) in the clone, with `env` from `releaseEnv`; resolves with
 * what it printed.
 */
export function release(
  clone: string,
  env: NodeJS.ProcessEnv,
  ...args: ReadonlyArray<string>
): Promise<string> {
  return run("pnpm", ["release", ...args], { cwd: clone, env });
}

/** Adds a changeset to the clone, as `pnpm changeset` would. */
export function addChangeset(
  clone: string,
  name: string,
  bumps: Partial<Record<PackageName, "patch" | "minor">>,
  summary: string,
): void {
  const front = Object.entries(bumps)
    .map(([pkg, bump]) => `"@widget-todevice/${pkg}": ${bump}`)
    .join("\n");
  writeFileSync(join(clone, ".changeset", `${name}.md`), `---\n${front}\n---\n\n${summary}\n`);
}

export function versionIn(clone: string, pkg: PackageName): string {
  return JSON.parse(readFileSync(join(clone, "packages", pkg, "package.json"), "utf8")).version;
}

export interface Packument {
  readonly "dist-tags": Record<string, string>;
  readonly versions: Record<string, { dist: { tarball: string; integrity: string } }>;
  readonly time: Record<string, string>;
}

/** The registry's document for one of our packages (its versions, dist-tags and times). */
export async function packument(registry: Registry, pkg: PackageName): Promise<Packument> {
  const response = await fetch(`${registry.url}@widget-todevice%2f${pkg}`);
  if (!response.ok)
    throw new Error(`${registry.url}: ${response.status} for @widget-todevice/${pkg}`);
  return (await response.json()) as Packument;
}
