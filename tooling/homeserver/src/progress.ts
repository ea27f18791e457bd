/** Progress lines go to stderr so that stdout stays free for what a CLI prints on purpose. */
export type Log = (line: string) => void;

export const stderrLog: Log = (line) => {
  process.stderr.write(`[homeserver] ${line}\n`);
};

/** Runs `step`, logging its name before and its duration after. */
export async function timed<T>(log: Log, name: string, step: () => Promise<T>): Promise<T> {
  const started = performance.now();
  log(`${name} ...`);
  const result = await step();
  log(`${name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return result;
}
