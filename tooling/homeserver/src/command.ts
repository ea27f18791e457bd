import { spawn } from "node:child_process";

export interface CommandOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
}

/** Keeps only the end of long outputs (apt, debootstrap): the end is where the error is. */
const KEEP_CHARS = 64 * 1024;

function keepTail(text: string): string {
  return text.length > KEEP_CHARS ? text.slice(-KEEP_CHARS) : text;
}

export function lastLines(text: string, count: number): string {
  return text.trimEnd().split("\n").slice(-count).join("\n");
}

/** Runs a command to completion; rejects with the tail of its output when it fails. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: CommandOptions = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout = keepTail(stdout + chunk);
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr = keepTail(stderr + chunk);
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === 0) {
        resolve({ stdout, stderr });
        return;
      }
      const status = signal === null ? `exit code ${code}` : `signal ${signal}`;
      const output = lastLines(`${stdout}\n${stderr}`, 30);
      reject(new Error(`${command} ${args.join(" ")} failed (${status}):\n${output}`));
    });
    // A command that exits without reading all its input closes the pipe: the write fails with
    // EPIPE, which must not escape as an uncaught error; the exit status says how it went.
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input ?? "");
  });
}
