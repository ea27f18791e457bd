export interface Registry {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  readonly port: number;
  /** The temporary directory with its storage and configuration; removed by `stop`. */
  readonly dir: string;
  /** A token of a user allowed to publish. */
  readonly token: string;
  stop(): Promise<void>;
  /** What Verdaccio printed so far. */
  log(): string;
  /** Signs up another user; resolves with its token. */
  signUp(name: string): Promise<string>;
}

export function startRegistry(options?: {
  /** Where packages outside our scope come from; by default registry.npmjs.org. */
  upstream?: string;
  /** Package name to the one user allowed to publish it. */
  publishers?: Record<string, string>;
}): Promise<Registry>;

export function npmrcFor(registry: Pick<Registry, "url" | "token">, token?: string): string;
