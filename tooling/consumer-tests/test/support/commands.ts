import { spawn } from "node:child_process";

/**
 * The environment of the current process without the package managers' own settings (`pnpm`
 * and `npm` export theirs to scripts), so that every command here is configured only by what a
 * test passes.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(npm_|pnpm_|yarn_|corepack_)|^INIT_CWD$/i.test(key)) env[key] = value;
  }
  return { ...env, ...extra };
}

export interface RunOptions {
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** Runs a command to its end; resolves with its stdout, rejects with everything it printed. */
export function run(
  command: string,
  args: ReadonlyArray<string>,
  { cwd, env = cleanEnv() }: RunOptions,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(stdout);
      else
        reject(
          new Error(
            `${command} ${args.join(" ")} exited with ${code} in ${cwd}:\n${stdout}${stderr}`.slice(
              -20_000,
            ),
          ),
        );
    });
  });
}

/** Runs `work` and prints how long it took: the CI log shows where the minutes go. */
export async function timed<T>(what: string, work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await work();
  } finally {
    console.info(`${what}: ${((performance.now() - start) / 1000).toFixed(1)} s`);
  }
}
