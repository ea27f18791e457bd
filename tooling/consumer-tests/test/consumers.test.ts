// Consumer tests: real `pnpm pack` tarballs installed with plain npm into fresh projects outside
// the workspace, each package on its own with its declared peers. Nothing here is faked.
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..", "..");
const fixtures = join(import.meta.dirname, "..", "fixtures");
const work = mkdtempSync(join(tmpdir(), "widget-todevice-consumers-"));
const tarballs: Record<string, string> = {};

function run(command: string, args: ReadonlyArray<string>, cwd: string): string {
  try {
    return execFileSync(command, args, {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(
      `${command} ${args.join(" ")} failed in ${cwd}:\n${stdout ?? ""}${stderr ?? ""}`,
    );
  }
}

/**
 * `pnpm release --dry-run` leaves versioned tarballs with changelogs in `release/`; CI points
 * `WIDGET_TODEVICE_RELEASE_DIR` there so that what would be published is what is tested.
 * Without it, the packages are packed as they are.
 */
const releaseDir = process.env.WIDGET_TODEVICE_RELEASE_DIR;

beforeAll(() => {
  const packed = releaseDir ?? join(work, "tarballs");
  if (releaseDir === undefined) {
    for (const name of ["codec", "driver", "widget"]) {
      run("pnpm", ["pack", "--pack-destination", packed], join(root, "packages", name));
    }
  }
  for (const file of readdirSync(packed)) {
    const name = /^widget-todevice-(codec|driver|widget)-/.exec(file)?.[1];
    if (name !== undefined) tarballs[name] = join(packed, file);
  }
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The peers each package declares, as ranges a consumer would install. */
function peersOf(name: string): string[] {
  const manifest = JSON.parse(readFileSync(join(root, "packages", name, "package.json"), "utf8"));
  return Object.entries<string>(manifest.peerDependencies ?? {})
    .filter(([peer]) => manifest.peerDependenciesMeta?.[peer]?.optional !== true)
    .map(([peer, range]) => `${peer}@${range}`);
}

/** A fresh npm project with `name` installed from its tarball (and ours it depends on). */
function consumer(name: "codec" | "driver" | "widget"): string {
  const dir = mkdtempSync(join(work, `${name}-`));
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ name: `consumer-of-${name}`, private: true, type: "module" }),
  );
  const ours = name === "codec" ? [tarballs.codec] : [tarballs.codec, tarballs[name]];
  // The driver's matrix-js-sdk entry is checked too, with that optional peer installed.
  const optional = name === "driver" ? ["matrix-js-sdk@43.0.0"] : [];
  run(
    "npm",
    [
      "install",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      ...(ours as string[]),
      ...peersOf(name),
      ...optional,
      "typescript@5.9.3",
    ],
    dir,
  );
  return dir;
}

describe.each(["codec", "driver", "widget"] as const)(
  "@widget-todevice/%s from its tarball",
  (name) => {
    let dir = "";
    beforeAll(() => {
      dir = consumer(name);
    });

    it.runIf(releaseDir !== undefined)("ships a versioned release with its changelog", () => {
      const installed = join(dir, "node_modules", "@widget-todevice", name);
      const manifest = JSON.parse(readFileSync(join(installed, "package.json"), "utf8"));
      expect(manifest.version).not.toBe("0.0.0");
      expect(readFileSync(join(installed, "CHANGELOG.md"), "utf8")).toContain(
        `## ${manifest.version}`,
      );
    });

    it("has real version ranges, not workspace: ones", () => {
      const manifest = readFileSync(
        join(dir, "node_modules", "@widget-todevice", name, "package.json"),
        "utf8",
      );
      expect(manifest).not.toContain("workspace:");
      expect(manifest).not.toContain("catalog:");
    });

    it("loads with ESM import", () => {
      const out = run(
        "node",
        [
          "--input-type=module",
          "-e",
          `import * as m from "@widget-todevice/${name}"; console.log(Object.keys(m).length)`,
        ],
        dir,
      );
      expect(Number(out)).toBeGreaterThan(5);
    });

    it("loads with CJS require", () => {
      const out = run(
        "node",
        [
          "--input-type=commonjs",
          "-e",
          `const m = require("@widget-todevice/${name}"); console.log(Object.keys(m).length)`,
        ],
        dir,
      );
      expect(Number(out)).toBeGreaterThan(5);
    });

    it.runIf(name === "driver")(
      "loads the matrix-js-sdk entry with ESM import and CJS require",
      () => {
        const esm = `import { MatrixJsSdkTransport } from "@widget-todevice/driver/matrix-js-sdk"; console.log(typeof MatrixJsSdkTransport)`;
        const cjs = `const { MatrixJsSdkTransport } = require("@widget-todevice/driver/matrix-js-sdk"); console.log(typeof MatrixJsSdkTransport)`;
        expect(run("node", ["--input-type=module", "-e", esm], dir).trim()).toBe("function");
        expect(run("node", ["--input-type=commonjs", "-e", cjs], dir).trim()).toBe("function");
      },
    );

    it("type-checks and runs a TypeScript consumer of the documented API", () => {
      cpSync(join(fixtures, `${name}.ts`), join(dir, "consumer.ts"));
      writeFileSync(
        join(dir, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            module: "nodenext",
            moduleResolution: "nodenext",
            target: "es2022",
            lib: ["es2022", "dom"],
            strict: true,
            types: [],
            // matrix-js-sdk's own declarations need a newer lib than ours; its users skip them.
            skipLibCheck: true,
          },
          files: ["consumer.ts"],
        }),
      );
      run("npx", ["tsc", "-p", "tsconfig.json"], dir);
      const out = JSON.parse(run("node", ["consumer.js"], dir));
      const expected = {
        codec: {
          format: "recipients",
          groups: 1,
          capability: "org.matrix.msc3819.send.to_device:org.example.ping",
          version: "org.matrix.msc3819.recipient_devices",
        },
        driver: { grantable: 1, refused: 1 },
        widget: { deviceId: "ALICEDEV", timeout: 60_000, options: { encrypted: true } },
      }[name];
      expect(out).toEqual(expected);
    });
  },
);
