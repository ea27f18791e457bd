import {
  type BlockedWidgetMessage,
  guardWidgetFrame,
  type ToDeviceDriver,
  type WidgetAttachment,
} from "@widget-todevice/driver";
import {
  ClientWidgetApi,
  type IWidget,
  type IWidgetApiRequest,
  Widget,
  WidgetDriver,
} from "matrix-widget-api";
import { markdownCode, promptForCapabilities, reviewOf } from "./capability-prompt.js";
import type { Inspector } from "./inspector.js";
import { RememberedApprovals } from "./remembered-approvals.js";
import { compareWithLegacy } from "./request-size.js";
import { checkWidgetUrl } from "./widget-url-policy.js";
import type { TappedTransport } from "./wire-tap.js";
import type { DemoRoom, SimulatedClient } from "./world.js";

// Embeds one widget the way a Matrix client does: a widget definition, its URL template filled
// in by matrix-widget-api, an iframe, a ClientWidgetApi, and the to-device driver attached.

export interface HostedClient {
  readonly client: SimulatedClient;
  readonly driver: ToDeviceDriver;
  readonly transport: TappedTransport;
  readonly inspector: Inspector;
  readonly baseUrl: string;
  /** The client's embedded widgets, until each is removed. */
  readonly widgets: Set<EmbeddedWidget>;
}

export interface WidgetSpec {
  /** The widget's URL, with template variables (`$matrix_user_id`, ...). */
  readonly url: string;
  readonly name: string;
  /** Widget data: also template variables (`$name`). */
  readonly data?: Readonly<Record<string, string>>;
  /** The host approves the to-device capabilities without asking (a trusted widget). */
  readonly preapproved?: boolean;
}

export interface EmbeddedWidget {
  readonly id: string;
  readonly card: HTMLElement;
  readonly iframe: HTMLIFrameElement;
  readonly api: ClientWidgetApi;
  readonly attachment: WidgetAttachment;
  /** Takes the widget out: detaches the driver, stops its API and frame guard, drops its card. */
  remove(): void;
}

const CLIENT_ID = "org.example.widget_todevice.demo";
let widgetCounter = 0;

const remembered = new RememberedApprovals();

/** A widget URL the host will not embed, with the reason to show. */
export class RefusedWidgetUrl extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`Refused widget URL ${url}: ${reason}`);
    this.name = "RefusedWidgetUrl";
  }
}

class DemoHostWidgetDriver extends WidgetDriver {
  constructor(
    private readonly decide: (requested: Set<string>) => Promise<Set<string>>,
    private readonly roomId: string,
  ) {
    super();
  }

  override validateCapabilities(requested: Set<string>): Promise<Set<string>> {
    return this.decide(requested);
  }

  override getKnownRooms(): string[] {
    return [this.roomId];
  }
}

/**
 * The widget's URL as a client renders it: matrix-widget-api's templating for the variables,
 * then `widgetId` and `parentUrl` appended as Element Web does.
 */
export function renderWidgetUrl(
  widget: Widget,
  hosted: HostedClient,
  room: DemoRoom | null,
): string {
  const { client } = hosted;
  const templated = widget.getCompleteUrl({
    ...(room === null ? {} : { widgetRoomId: room.roomId }),
    currentUserId: client.userId,
    userDisplayName: client.displayName,
    userHttpAvatarUrl: "",
    clientId: CLIENT_ID,
    clientTheme: "light",
    clientLanguage: navigator.language || "en",
    deviceId: client.deviceId,
    baseUrl: hosted.baseUrl,
  });
  // Checked again filled in: a template variable could have changed what the URL is.
  const check = checkWidgetUrl(templated, location.origin);
  if (!check.ok) throw new RefusedWidgetUrl(templated, check.reason);
  const parsed = check.url;
  parsed.searchParams.set("widgetId", widget.id);
  // The origin only: the page's URL (its query, `?homeserver=` included) is none of its business.
  parsed.searchParams.set("parentUrl", location.origin);
  // URL encodes `$`; widgets expect unfilled variables to stay readable (as Element Web does).
  return parsed.toString().replace(/%24/g, "$");
}

/** The stable spellings of the variables matrix-widget-api fills under unstable names. */
function stableVariables(hosted: HostedClient): Record<string, string> {
  return {
    matrix_device_id: hosted.client.deviceId,
    matrix_client_id: CLIENT_ID,
    matrix_client_theme: "light",
    matrix_client_language: navigator.language || "en",
    matrix_base_url: hosted.baseUrl,
  };
}

/**
 * Embeds the widget `spec` in `room` of `hosted`'s client, into `container`.
 * @throws RefusedWidgetUrl when the URL is not one the host loads (see widget-url-policy.ts)
 */
export function embedWidget(
  hosted: HostedClient,
  room: DemoRoom,
  spec: WidgetSpec,
  container: HTMLElement,
): EmbeddedWidget {
  const { client, inspector } = hosted;
  const check = checkWidgetUrl(spec.url, location.origin);
  if (!check.ok) throw new RefusedWidgetUrl(spec.url, check.reason);
  widgetCounter++;
  const id = `w${widgetCounter}-${client.deviceId.toLowerCase()}`;
  const definition: IWidget = {
    id,
    creatorUserId: client.userId,
    type: "m.custom",
    url: spec.url,
    name: spec.name,
    // Data fields are template variables too: the stable spellings first, the widget's own over them.
    data: { ...stableVariables(hosted), ...spec.data },
    waitForIframeLoad: true,
  };
  const widget = new Widget(definition);
  const url = renderWidgetUrl(widget, hosted, room);
  const label = `${client.label} · ${room.name} · ${spec.name}`;

  const card = document.createElement("article");
  card.className = "widget-card";
  card.dataset.widgetId = id;
  card.dataset.room = room.roomId;
  card.dataset.testid = "widget-card";
  card.innerHTML = `
    <header>
      <strong class="widget-name"></strong>
      <span class="widget-origin"></span>
      <span class="widget-status">loading…</span>
      <button type="button" class="remove" title="Remove this widget" aria-label="Remove widget">×</button>
    </header>
    <div class="frame-holder"></div>
    <details class="permissions"><summary>Permissions</summary><ul></ul></details>`;
  (card.querySelector(".widget-name") as HTMLElement).textContent = spec.name;
  (card.querySelector(".widget-origin") as HTMLElement).textContent = widget.origin;
  const status = card.querySelector(".widget-status") as HTMLElement;
  const holder = card.querySelector(".frame-holder") as HTMLElement;
  const permissions = card.querySelector(".permissions ul") as HTMLElement;
  container.append(card);

  const iframe = document.createElement("iframe");
  iframe.title = label;
  iframe.src = url;
  iframe.setAttribute(
    "sandbox",
    "allow-scripts allow-same-origin allow-forms allow-popups allow-modals allow-downloads",
  );
  iframe.setAttribute("allow", "clipboard-write");
  iframe.dataset.widgetId = id;
  holder.append(iframe);

  const rememberKey = RememberedApprovals.key({
    userId: client.userId,
    deviceId: client.deviceId,
    roomId: room.roomId,
    url: spec.url,
  });
  // Everything asked for and granted so far: renegotiation asks only for what is new.
  const allRequested = new Set<string>();
  const allApproved = new Set<string>();
  const decide = async (requested: Set<string>): Promise<Set<string>> => {
    status.textContent = "asking for permissions…";
    let approved: Set<string>;
    if (spec.preapproved === true) {
      approved = new Set(reviewOf(requested).grantable.map((g) => g.capability));
    } else {
      const recalled = remembered.recall(rememberKey, requested);
      approved = recalled.approved;
      if (recalled.undecided.size > 0) {
        const answer = await promptForCapabilities(holder, {
          widgetName: spec.name,
          origin: widget.origin,
          requested: recalled.undecided,
        });
        if (answer.remember) remembered.remember(rememberKey, recalled.undecided, answer.approved);
        for (const capability of answer.approved) approved.add(capability);
      }
    }
    for (const capability of requested) allRequested.add(capability);
    for (const capability of approved) allApproved.add(capability);
    showPermissions(permissions, reviewOf(allRequested), allApproved, spec.preapproved === true);
    status.textContent = "running";
    return approved;
  };

  // The host's side of the wire goes through this window: the inspector sees every message.
  const tappedWindow = {
    postMessage: (message: IWidgetApiRequest, targetOrigin: string) => {
      recordPostMessage(inspector, "host → widget", label, message);
      iframe.contentWindow?.postMessage(message, targetOrigin);
    },
  };
  const tappedIframe = {
    contentWindow: tappedWindow,
    addEventListener: iframe.addEventListener.bind(iframe),
  } as unknown as HTMLIFrameElement;
  const fromWidget = (event: MessageEvent) => {
    if (event.source !== iframe.contentWindow || typeof event.data !== "object") return;
    recordPostMessage(inspector, "widget → host", label, event.data as IWidgetApiRequest);
  };
  window.addEventListener("message", fromWidget);
  // Before the ClientWidgetApi: only this iframe may speak for this widget ID (protocol §10).
  const unguard = guardWidgetFrame({
    widgetId: id,
    iframe,
    origin: widget.origin,
    onBlocked: (blocked) => recordBlocked(inspector, label, blocked),
  });

  const api = new ClientWidgetApi(
    widget,
    tappedIframe,
    new DemoHostWidgetDriver(decide, room.roomId),
  );
  const attachment = hosted.driver.attach(api, {
    roomId: room.roomId,
    roomEncrypted: room.encrypted,
  });
  const tapped = { label, attachment };
  hosted.transport.widgets.add(tapped);
  api.on("error:preparing", (error: unknown) => {
    status.textContent = `failed to start: ${String(error)}`;
  });

  const embedded: EmbeddedWidget = {
    id,
    card,
    iframe,
    api,
    attachment,
    remove: () => {
      if (!hosted.widgets.delete(embedded)) return;
      attachment.detach();
      api.stop();
      hosted.transport.widgets.delete(tapped);
      window.removeEventListener("message", fromWidget);
      unguard();
      card.remove();
    },
  };
  hosted.widgets.add(embedded);
  (card.querySelector(".remove") as HTMLElement).addEventListener("click", () => embedded.remove());
  return embedded;
}

function showPermissions(
  list: HTMLElement,
  review: ReturnType<typeof reviewOf>,
  approved: ReadonlySet<string>,
  preapproved: boolean,
): void {
  list.replaceChildren();
  const line = (className: string, html: string) => {
    const item = document.createElement("li");
    item.className = className;
    item.innerHTML = html;
    list.append(item);
  };
  if (preapproved) line("note", "Approved by host policy (the project's own demo widget).");
  for (const g of review.grantable) {
    const granted = approved.has(g.capability);
    line(
      granted ? "granted" : "denied",
      `${granted ? "✓" : "✕ denied:"} ${markdownCode(g.description)}`,
    );
  }
  for (const r of review.refused) line("refused", `✕ refused: ${markdownCode(r.reason)}`);
  for (const o of review.others) line("denied", `– not offered: <code>${markdownCode(o)}</code>`);
}

function recordPostMessage(
  inspector: Inspector,
  direction: string,
  who: string,
  message: IWidgetApiRequest & { response?: unknown },
): void {
  const action = typeof message.action === "string" ? message.action : "(no action)";
  const isReply = message.response !== undefined;
  const error =
    isReply &&
    typeof message.response === "object" &&
    message.response !== null &&
    "error" in message.response;
  const title = `${action} ${isReply ? "reply" : "request"}`;
  inspector.record({
    kind: "postMessage",
    direction,
    who,
    title,
    json: message,
    tone: error ? "error" : "plain",
    ...noteFor(action, isReply, message),
  });
}

/** A message that claimed this widget's ID from elsewhere, stopped by the frame guard. */
function recordBlocked(inspector: Inspector, who: string, blocked: BlockedWidgetMessage): void {
  const message = (typeof blocked.data === "object" ? blocked.data : {}) as {
    action?: unknown;
    response?: unknown;
  };
  const action = typeof message.action === "string" ? message.action : "(no action)";
  const where =
    blocked.reason === "foreign_source"
      ? "not from that widget's frame"
      : "from that widget's frame, but at another origin than the widget's";
  inspector.record({
    kind: "postMessage",
    direction: "frame → host",
    who,
    title: `blocked: ${action} ${message.response === undefined ? "request" : "reply"}`,
    json: blocked.data,
    tone: "error",
    note: `Stopped: it claims widget ${blocked.widgetId} but came ${where} (origin ${blocked.origin}); the widget API never saw it.`,
  });
}

function noteFor(
  action: string,
  isReply: boolean,
  message: IWidgetApiRequest & { response?: unknown },
): { note?: string | (() => string | undefined) } {
  if (action === "send_to_device" && !isReply && message.api === "fromWidget") {
    // Decoding a request may take a while (a widget can send megabytes): only when opened.
    return { note: () => compareWithLegacy(message.data) };
  }
  if (isReply && typeof message.response === "object" && message.response !== null) {
    const error = (message.response as { error?: { message?: unknown } }).error;
    if (typeof error?.message === "string") return { note: `refused: ${error.message}` };
    const failures = (message.response as { failures?: unknown }).failures;
    if (failures !== undefined) return { note: `partial: ${JSON.stringify(failures)}` };
  }
  return {};
}
