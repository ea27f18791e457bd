// Which widget URLs the host loads, and where the demo's own widgets live. A widget URL comes
// from a link (`?widget=`) or the "Bring your own widget" field, so it is untrusted input: a
// `javascript:` URL in an iframe's `src` runs in the host's origin, and a widget served from the
// host's own origin with `allow-same-origin` can reach into the page (click "Allow" on every
// prompt, read other widgets' frames). Only http(s) URLs on another origin are embedded.

export type WidgetUrlCheck =
  | { readonly ok: true; readonly url: URL }
  | { readonly ok: false; readonly reason: string };

/** Whether `url` (a widget URL, template variables filled in or not) may be embedded. */
export function checkWidgetUrl(url: string, hostOrigin: string): WidgetUrlCheck {
  let parsed: URL;
  try {
    // No base URL: a relative or protocol-relative URL would resolve against the host page.
    parsed = new URL(url);
  } catch {
    return {
      ok: false,
      reason:
        "not a full URL (relative and protocol-relative URLs are refused); give one that starts with https:// or http://",
    };
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    return {
      ok: false,
      reason: `only http: and https: widget URLs are loaded; a ${parsed.protocol} URL would run in this page's origin`,
    };
  }
  if (parsed.origin === hostOrigin) {
    return {
      ok: false,
      reason: `it is on the host's own origin (${hostOrigin}); a widget there could reach into this page`,
    };
  }
  return { ok: true, url: parsed };
}

/**
 * The origin the demo's own widgets are served from: the same server under its other loopback
 * name (`localhost` for `127.0.0.1` and back), so that one `pnpm demo` serves both origins.
 */
export function demoWidgetOrigin(host: {
  protocol: string;
  hostname: string;
  port: string;
}): string {
  const other = host.hostname === "localhost" ? "127.0.0.1" : "localhost";
  return `${host.protocol}//${other}${host.port === "" ? "" : `:${host.port}`}`;
}
