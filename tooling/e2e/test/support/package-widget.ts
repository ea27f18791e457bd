/**
 * A widget built on this project's widget package (`createToDeviceWidget` from
 * `@widget-todevice/widget`, on a real matrix-widget-api `WidgetApi`), embedded in a host whose
 * real `ClientWidgetApi` has the driver attached: the same postMessage wiring as
 * ./widget-frame.ts (window stand-ins whose `postMessage` checks the target origin,
 * structured-clones the message and dispatches it on the shared global window).
 */

import { validateToDeviceCapabilities, type WidgetAttachment } from "@widget-todevice/driver";
import {
  createToDeviceWidget,
  type ReceivedToDeviceMessage,
  type ToDeviceNegotiation,
  type ToDeviceWidget,
} from "@widget-todevice/widget";
import { ClientWidgetApi, Widget } from "matrix-widget-api";
import { afterEach } from "vitest";
import { FrameWindow, HOST_ORIGIN, TestWidgetDriver, WIDGET_ORIGIN } from "./widget-frame.js";
import type { E2eHost } from "./widgets.js";

export interface PackageWidget {
  readonly widget: ToDeviceWidget;
  readonly attachment: WidgetAttachment;
  readonly negotiation: ToDeviceNegotiation;
  /** Every message of the `receive` types the widget's subscriptions got, in order. */
  readonly received: ReceivedToDeviceMessage[];
  /** What the widget package reported instead of delivering (out of scope, invalid). */
  readonly errors: Error[];
  stop(): void;
}

const stops: Array<() => void> = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

let count = 0;

/**
 * A widget-package widget on `host`'s driver, bound to `roomId` (null: a global widget), with its
 * device ID and identity passed in the URL as a host's template would. Resolves once negotiated.
 */
export async function packageWidget(
  host: E2eHost,
  roomId: string | null,
  types: { send?: string[]; receive?: string[] },
): Promise<PackageWidget> {
  count++;
  const widgetId = `pkg${count}-${Date.now().toString(36)}`;
  let hostWindow: FrameWindow;
  const widgetWindow: FrameWindow = new FrameWindow(WIDGET_ORIGIN, HOST_ORIGIN, () => hostWindow);
  hostWindow = new FrameWindow(HOST_ORIGIN, WIDGET_ORIGIN, () => widgetWindow);

  const url = new URL(`${WIDGET_ORIGIN}/index.html`);
  url.searchParams.set("widgetId", widgetId);
  url.searchParams.set("parentUrl", `${HOST_ORIGIN}/`);
  url.searchParams.set("userId", host.started.userId);
  if (roomId !== null) url.searchParams.set("roomId", roomId);
  url.searchParams.set("deviceId", host.started.deviceId);

  const received: ReceivedToDeviceMessage[] = [];
  const errors: Error[] = [];
  // The widget side: matrix-widget-api posts to `globalThis.parent`, read when it is created.
  const parent = Object.getOwnPropertyDescriptor(globalThis, "parent");
  Object.defineProperty(globalThis, "parent", { value: hostWindow, configurable: true });
  let widget: ToDeviceWidget;
  try {
    widget = createToDeviceWidget({
      url: url.href,
      send: types.send ?? [],
      receive: types.receive ?? [],
      onError: (error) => errors.push(error),
    });
  } finally {
    if (parent === undefined) Reflect.deleteProperty(globalThis, "parent");
    else Object.defineProperty(globalThis, "parent", parent);
  }
  for (const type of types.receive ?? [])
    widget.subscribe(type, (message) => {
      received.push(message);
    });

  // The host side: an iframe whose contentWindow is the widget's window.
  const loadListeners: Array<() => void> = [];
  const iframe = {
    contentWindow: widgetWindow,
    addEventListener: (type: string, listener: () => void) => {
      if (type === "load") loadListeners.push(listener);
    },
  } as unknown as HTMLIFrameElement;
  const clientApi = new ClientWidgetApi(
    new Widget({
      id: widgetId,
      creatorUserId: host.started.userId,
      type: "org.example.app",
      url: url.href,
    }),
    iframe,
    new TestWidgetDriver((requested) => validateToDeviceCapabilities(requested, () => true)),
  );
  const room = roomId === null ? null : host.started.client.getRoom(roomId);
  const attachment = host.driver.attach(clientApi, {
    roomId,
    roomEncrypted: () => room?.hasEncryptionStateEvent() ?? false,
  });
  const stop = () => {
    widget.close();
    clientApi.stop();
    widget.api.transport.stop();
  };
  stops.push(stop);
  const ready = new Promise<void>((resolve) => clientApi.once("ready", () => resolve()));
  for (const listener of loadListeners) listener();
  await ready;
  await attachment.negotiated;
  const negotiation = await widget.ready;
  return { widget, attachment, negotiation, received, errors, stop };
}
