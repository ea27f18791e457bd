// The README's frame guard, type-checked with the package (`pnpm typecheck`).
import { guardWidgetFrame } from "@widget-todevice/driver";
import { ClientWidgetApi, type Widget, type WidgetDriver } from "matrix-widget-api";

/** Guards a widget's frame, then creates its API: the guard must be in place first. */
export function guardedWidgetApi(
  widget: Widget,
  iframe: HTMLIFrameElement,
  widgetUrl: string,
  hostWidgetDriver: WidgetDriver,
): { readonly api: ClientWidgetApi; readonly unguard: () => void } {
  const unguard = guardWidgetFrame({
    widgetId: widget.id,
    iframe,
    origin: new URL(widgetUrl).origin, // leave out for a sandbox without allow-same-origin
    onBlocked: (blocked) => console.warn("widget impersonation stopped", blocked),
  });
  const api = new ClientWidgetApi(widget, iframe, hostWidgetDriver);
  // When the widget goes away: attachment.detach(); api.stop(); unguard();
  return { api, unguard };
}
