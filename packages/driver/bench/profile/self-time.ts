// Self time of a V8 CPU profile, by where the code lives: the driver, the codec,
// matrix-widget-api, matrix-js-sdk, its Rust crypto (WebAssembly), Node, the benchmark harness.

import type { Profiler } from "node:inspector";

function placeOf(frame: Profiler.ProfileNode["callFrame"]): string {
  const { url, functionName } = frame;
  if (url === "") {
    if (functionName.startsWith("(")) return functionName; // (garbage collector), (idle), (program)
    // JSON.stringify and JSON.parse show up as builtins of these names.
    if (functionName === "stringify" || functionName === "parse")
      return `native JSON.${functionName}`;
    return "native / WebAssembly";
  }
  if (url.startsWith("wasm://")) return "matrix-sdk-crypto-wasm (WebAssembly)";
  if (url.includes("/packages/driver/dist/") || url.includes("/packages/driver/src/"))
    return "driver";
  if (url.includes("/packages/codec/")) return "codec";
  if (url.includes("matrix-sdk-crypto-wasm")) return "matrix-sdk-crypto-wasm (JS glue)";
  if (url.includes("matrix-widget-api")) return "matrix-widget-api";
  if (url.includes("matrix-js-sdk")) return "matrix-js-sdk";
  if (url.includes("/bench/") || url.includes("/test/harness/") || url.includes("/matrix-clients/"))
    return "benchmark harness (widget frame, light devices)";
  if (url.startsWith("node:internal/deps/undici")) return "node: fetch (undici)";
  if (url.startsWith("node:")) return "node: other";
  return "other JS";
}

export function selfTimeByPlace(profile: Profiler.Profile): {
  places: Array<[string, number]>;
  functions: Array<[string, number]>;
} {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  const deltas = profile.timeDeltas ?? [];
  (profile.samples ?? []).forEach((id, i) => {
    // The first delta runs from when profiling was enabled, not from a sample.
    if (i > 0) selfUs.set(id, (selfUs.get(id) ?? 0) + (deltas[i] ?? 0));
  });
  const places = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const place = placeOf(node.callFrame);
    places.set(place, (places.get(place) ?? 0) + us);
    if (place === "driver" || place === "codec") {
      const file = node.callFrame.url.replace(/^.*\/packages\//, "");
      const name = `${node.callFrame.functionName || "<anonymous>"} (${file}:${node.callFrame.lineNumber + 1})`;
      functions.set(name, (functions.get(name) ?? 0) + us);
    }
  }
  const sorted = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]);
  return { places: sorted(places), functions: sorted(functions) };
}
