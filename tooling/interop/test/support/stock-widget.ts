/**
 * A stock matrix-widget-api widget: `WidgetApi.sendToDevice` (the legacy per-device map) and the
 * `send_to_device` action for what it receives, nothing of this project's widget package.
 */
import type { IWidgetApiRequest } from "matrix-widget-api";
import type { Frame } from "./frame.js";

export interface StockWidget {
  /** The `data` of every `toWidget` `send_to_device` it received. */
  readonly received: Array<Record<string, unknown>>;
}

/** Starts the frame's widget, asking for to-device capabilities of `types`, and waits for `ready`. */
export async function startStockWidget(
  frame: Frame,
  types: ReadonlyArray<string>,
): Promise<StockWidget> {
  const api = frame.widgetApi;
  for (const type of types) {
    api.requestCapabilityToSendToDevice(type);
    api.requestCapabilityToReceiveToDevice(type);
  }
  const received: Array<Record<string, unknown>> = [];
  api.on("action:send_to_device", (event: CustomEvent<IWidgetApiRequest>) => {
    event.preventDefault();
    received.push(event.detail.data as Record<string, unknown>);
    api.transport.reply(event.detail, {});
  });
  const ready = new Promise<void>((resolve) => api.once("ready", () => resolve()));
  api.start();
  await api.sendContentLoaded();
  await ready;
  return { received };
}
