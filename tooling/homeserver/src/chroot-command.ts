/**
 * Builds the argv that runs a program inside the Synapse chroot.
 *
 * The chroot needs /proc and /dev. They are mounted in a private mount namespace (`unshare
 * --mount`) that dies with the process, so nothing is ever left mounted on the host, several
 * servers can share one chroot, and each can see its own data dir at the same path (`/data`).
 * `setpriv --pdeathsig` makes the program die with the Node process that started it, so a
 * crashed test run leaves no Synapse behind. No fork happens between them (each step `exec`s),
 * so the signal setting reaches the final program.
 */

export interface BindMount {
  /** Directory on the host. */
  from: string;
  /** Absolute path inside the chroot; the directory must exist there. */
  to: string;
}

/** The environment programs in the chroot get: none of the host's variables leak in. */
export const CHROOT_ENV: NodeJS.ProcessEnv = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  LANG: "C.UTF-8",
  HOME: "/root",
  DEBIAN_FRONTEND: "noninteractive",
};

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

export function chrootCommand(
  root: string,
  argv: readonly string[],
  binds: readonly BindMount[] = [],
): { command: string; args: string[] } {
  const mounts = [
    `mount -t proc proc ${shellQuote(`${root}/proc`)}`,
    `mount --bind /dev ${shellQuote(`${root}/dev`)}`,
    ...binds.map((bind) => `mount --bind ${shellQuote(bind.from)} ${shellQuote(root + bind.to)}`),
  ];
  const script = `set -e; ${mounts.join("; ")}; exec chroot "$@"`;
  return {
    command: "setpriv",
    args: [
      "--pdeathsig",
      "TERM",
      "unshare",
      "--mount",
      "--propagation",
      "private",
      "/bin/sh",
      "-c",
      script,
      "sh",
      root,
      ...argv,
    ],
  };
}
