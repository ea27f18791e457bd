import { describe, expect, it } from "vitest";
import { runCommand } from "../src/command.js";

describe("runCommand", () => {
  it("a command that exits without reading its input settles by its exit status, no EPIPE escapes", async () => {
    // More than a pipe holds: the rest is written after `true` has exited and closed the pipe.
    const input = "x".repeat(4 * 1024 * 1024);
    await expect(runCommand("true", [], { input })).resolves.toEqual({ stdout: "", stderr: "" });
    await expect(runCommand("false", [], { input })).rejects.toThrow("false  failed (exit code 1)");
  });
});
