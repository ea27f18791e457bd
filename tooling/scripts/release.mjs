// `pnpm release`: versions the packages from the pending changesets (one version for the fixed
// group), writes their changelogs, builds, checks (API reports, publint, attw, size budgets),
// packs into `release/` and publishes those tarballs to the registry configured in the
// environment (`npm_config_registry` and a user config with its token; see RELEASING.md).
//
//   pnpm release                  version + publish (what a maintainer runs by hand)
//   pnpm release --version-only   only version: what the "version packages" pull request holds
//   pnpm release --publish-only   only build, check, pack and publish the versions in the tree
//   pnpm release --dry-run        all of it short of uploading, in a temporary clone, leaving
//                                 the working tree as it was and the tarballs in `release/`
//
// Publishing skips every version the registry already has, so after a release that stopped half
// way (one package published, another not) running it again completes it. In pre mode
// (`changeset pre enter next`) the versions are prereleases published under that dist-tag, and
// `latest` stays where it was.
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");
const dryRun = process.argv.includes("--dry-run");
const onlyVersion = process.argv.includes("--version-only");
const onlyPublish = process.argv.includes("--publish-only");
const packages = ["codec", "driver", "widget"];

function run(command, args, cwd) {
  console.log(`\n$ ${command} ${args.join(" ")}`);
  const start = performance.now();
  execFileSync(command, args, { cwd, stdio: "inherit", env: { ...process.env, CI: "true" } });
  console.log(`(${((performance.now() - start) / 1000).toFixed(1)} s)`);
}

let cwd = root;
if (dryRun) {
  // Committed work plus the changesets not committed yet: what a release from here would ship.
  cwd = join(mkdtempSync(join(tmpdir(), "widget-todevice-release-")), "repo");
  run("git", ["clone", "--quiet", "--no-local", root, cwd], root);
  for (const file of readdirSync(join(root, ".changeset"))) {
    cpSync(join(root, ".changeset", file), join(cwd, ".changeset", file));
  }
  run("pnpm", ["install", "--frozen-lockfile", "--prefer-offline"], cwd);
}

if (!onlyPublish) {
  // With no pending changesets this changes nothing: the versions in the tree are released.
  run("pnpm", ["exec", "changeset", "version"], cwd);
  // Versioning rewrote the packages' versions; the lockfile records workspace links only.
  run("pnpm", ["install", "--no-frozen-lockfile", "--prefer-offline"], cwd);
}
if (onlyVersion) process.exit(0);

run("pnpm", ["exec", "turbo", "run", "build", "check", "--filter=./packages/*"], cwd);

// What will be uploaded, for inspection: `pnpm publish` packs the same way (the consumer tests
// compare these file lists with what the registry serves).
const out = join(cwd, "release");
rmSync(out, { recursive: true, force: true });
mkdirSync(out);
for (const name of packages) {
  run("pnpm", ["pack", "--pack-destination", out], join(cwd, "packages", name));
  const changelog = join(cwd, "packages", name, "CHANGELOG.md");
  if (existsSync(changelog)) cpSync(changelog, join(out, `${name}-CHANGELOG.md`));
}

if (dryRun) {
  run("pnpm", ["publish", "-r", "--dry-run", "--no-git-checks", "--filter=./packages/*"], cwd);
  rmSync(join(root, "release"), { recursive: true, force: true });
  cpSync(out, join(root, "release"), { recursive: true });
  rmSync(join(cwd, ".."), { recursive: true, force: true });
  console.log(
    `\nDry run: nothing was uploaded. Versioned tarballs and changelogs are in ${join(root, "release")}`,
  );
} else {
  publish(cwd, out);
}

/** The versions of `name` the configured registry has (none if it never heard of it). */
function publishedVersions(name, cwd) {
  try {
    const out = execFileSync("npm", ["view", name, "versions", "--json"], {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    return [JSON.parse(out)].flat();
  } catch (error) {
    if (/\bE404\b/.test(`${error.stdout}${error.stderr}`)) return [];
    throw error;
  }
}

/**
 * Uploads the tarballs just packed, so that what was checked is byte for byte what is served.
 * A version the registry already has is skipped: re-running after a release that stopped half
 * way publishes only what is missing. In pre mode the tag is the pre mode's (`next`), so
 * `latest` does not move. Provenance is asked for with `NPM_CONFIG_PROVENANCE=true` (set by the
 * release workflow): pnpm honours only its `--provenance` flag, which fails outside a CI
 * provider with an OIDC token, so it is never on by default (RELEASING.md).
 */
function publish(cwd, out) {
  const prePath = join(cwd, ".changeset", "pre.json");
  const pre = existsSync(prePath) ? JSON.parse(readFileSync(prePath, "utf8")) : undefined;
  const tag = pre?.mode === "pre" ? pre.tag : "latest";
  const provenance = /^(true|1)$/i.test(process.env.NPM_CONFIG_PROVENANCE ?? "");
  for (const name of packages) {
    const manifest = JSON.parse(readFileSync(join(cwd, "packages", name, "package.json"), "utf8"));
    const id = `${manifest.name}@${manifest.version}`;
    if (publishedVersions(manifest.name, cwd).includes(manifest.version)) {
      console.log(`\n${id} is already on the registry: not published again`);
      continue;
    }
    const tarball = join(out, `widget-todevice-${name}-${manifest.version}.tgz`);
    const args = ["publish", tarball, "--tag", tag, "--access", "public", "--no-git-checks"];
    run("pnpm", provenance ? [...args, "--provenance"] : args, cwd);
    // The changesets action reads these lines to push tags and write GitHub releases.
    execFileSync("git", ["tag", "--force", id], { cwd, stdio: "ignore" });
    console.log(`New tag: ${id}`);
  }
  console.log(
    "\nPublished. Commit the new versions and changelogs if this run made them: git add -A && git commit -m 'Release'",
  );
}
