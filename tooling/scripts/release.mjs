// `pnpm release`: versions the packages from the pending changesets (one version for the fixed
// group), writes their changelogs, builds, checks (API reports, publint, attw, size budgets),
// packs and publishes with `pnpm publish -r` to the registry configured in the environment.
//
// `pnpm release --dry-run` does all of it short of uploading, in a temporary clone so that the
// working tree is left as it was, and leaves the versioned tarballs in `release/`.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");
const dryRun = process.argv.includes("--dry-run");
const packages = ["codec", "driver", "widget"];

function run(command, args, cwd) {
  console.log(`\n$ ${command} ${args.join(" ")}`);
  execFileSync(command, args, { cwd, stdio: "inherit", env: { ...process.env, CI: "true" } });
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

run("pnpm", ["exec", "changeset", "version"], cwd);
// Versioning rewrote the packages' versions; the lockfile records workspace links only.
run("pnpm", ["install", "--no-frozen-lockfile", "--prefer-offline"], cwd);
run("pnpm", ["exec", "turbo", "run", "build", "check", "--filter=./packages/*"], cwd);

const out = join(root, "release");
rmSync(out, { recursive: true, force: true });
mkdirSync(out);
for (const name of packages) {
  run("pnpm", ["pack", "--pack-destination", out], join(cwd, "packages", name));
  const changelog = join(cwd, "packages", name, "CHANGELOG.md");
  if (existsSync(changelog)) cpSync(changelog, join(out, `${name}-CHANGELOG.md`));
}

if (dryRun) {
  run("pnpm", ["publish", "-r", "--dry-run", "--no-git-checks", "--filter=./packages/*"], cwd);
  rmSync(join(cwd, ".."), { recursive: true, force: true });
  console.log(`\nDry run: nothing was uploaded. Versioned tarballs and changelogs are in ${out}`);
} else {
  run("pnpm", ["publish", "-r", "--no-git-checks", "--filter=./packages/*"], cwd);
  console.log(
    "\nPublished. Commit the new versions and changelogs: git add -A && git commit -m 'Release'",
  );
}
