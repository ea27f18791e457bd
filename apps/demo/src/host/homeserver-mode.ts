import type { DemoWorld } from "./world.js";

export async function createHomeserverWorld(
  _homeserverUrl: string,
  _progress: (line: string) => void,
): Promise<DemoWorld> {
  throw new Error("homeserver mode is not available yet");
}
