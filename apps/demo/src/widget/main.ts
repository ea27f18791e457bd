import "./style.css";
import type { Format } from "@widget-todevice/codec";
import {
  createToDeviceWidget,
  type DeliveryFailures,
  type ReceivedToDeviceMessage,
  ToDeviceSendError,
  type ToDeviceWidget,
} from "@widget-todevice/widget";
import { WidgetApi } from "matrix-widget-api";

// The demo widget, built on @widget-todevice/widget: pick recipients, a format and encryption,
// send; see what arrives with the driver's authenticated facts about the sender.

const TYPE = "org.example.demo.message";
/** Asked for only to show that a host refuses it: a widget must never see room keys. */
const RESERVED_CAPABILITY = "org.matrix.msc3819.receive.to_device:m.room_key";

type Directory = Record<string, string[]>;

const page = new URL(location.href);
const param = (name: string): string | undefined => {
  const value = page.searchParams.get(name);
  // An unfilled template variable is as good as absent.
  return value === null || value === "" || value.startsWith("$") ? undefined : value;
};

function parseDirectory(text: string | undefined): Directory {
  if (text === undefined) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null) return {};
    const directory: Directory = {};
    for (const [user, devices] of Object.entries(parsed)) {
      if (Array.isArray(devices)) directory[user] = devices.filter((d) => typeof d === "string");
    }
    return directory;
  } catch {
    return {};
  }
}

const formats = (param("formats") ?? "legacy,recipients,scoped")
  .split(",")
  .filter((f): f is Format => f === "legacy" || f === "recipients" || f === "scoped");
const directory = parseDirectory(param("peers"));
const parentUrl = param("parentUrl");
const parentOrigin = parentUrl === undefined ? "*" : new URL(parentUrl).origin;

// Our own WidgetApi, so that the reserved capability can be asked for beside the package's own
// requests (the package refuses to ask for reserved types).
const api = new WidgetApi(param("widgetId") ?? null, parentOrigin);
if (param("askReserved") === "1") api.requestCapability(RESERVED_CAPABILITY);
const widget: ToDeviceWidget = createToDeviceWidget({
  api,
  send: [TYPE],
  receive: [TYPE],
  formats,
  onError: (error) => addNote(`${error.reason}: ${error.message}`),
});

const $ = <E extends HTMLElement>(selector: string): E => document.querySelector(selector) as E;

function renderIdentity(): void {
  $("#who").textContent = `${widget.userId ?? "?"} · ${widget.deviceId ?? "?"}`;
  $("#room").textContent = widget.roomId ?? "no room";
}

function renderRecipients(): void {
  const list = $("#recipients");
  list.replaceChildren();
  for (const [userId, devices] of Object.entries(directory)) {
    const row = document.createElement("div");
    row.className = "recipient-row";
    const name = document.createElement("span");
    name.className = "user";
    name.textContent = userId;
    row.append(name);
    for (const device of ["*", ...devices]) {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.name = "recipient";
      box.value = JSON.stringify([userId, device]);
      box.dataset.user = userId;
      box.dataset.device = device;
      const mine = userId === widget.userId && device === widget.deviceId;
      label.append(
        box,
        document.createTextNode(device === "*" ? "* all" : mine ? `${device} (this)` : device),
      );
      row.append(label);
    }
    list.append(row);
  }
}

/** The ticked devices plus the free-form line, as the package's `Recipients`. */
function selectedRecipients(): Record<string, string[] | "*"> {
  const recipients: Record<string, string[] | "*"> = {};
  const add = (userId: string, device: string) => {
    if (device === "*") recipients[userId] = "*";
    else if (recipients[userId] !== "*") {
      const devices = (recipients[userId] as string[] | undefined) ?? [];
      if (!devices.includes(device)) devices.push(device);
      recipients[userId] = devices;
    }
  };
  for (const box of document.querySelectorAll<HTMLInputElement>("input[name=recipient]:checked")) {
    add(box.dataset.user as string, box.dataset.device as string);
  }
  const other = ($("#other") as HTMLInputElement).value.trim();
  if (other !== "") {
    const [userId, ...devices] = other.split(/\s+/);
    if (userId !== undefined)
      for (const device of devices.length > 0 ? devices : ["*"]) add(userId, device);
  }
  return recipients;
}

function showResult(
  kind: "ok" | "error" | "partial",
  text: string,
  failures?: DeliveryFailures,
): void {
  const result = $("#result");
  result.className = `result ${kind}`;
  result.dataset.kind = kind;
  result.replaceChildren();
  const line = document.createElement("p");
  line.textContent = text;
  result.append(line);
  if (failures !== undefined && Object.keys(failures).length > 0) {
    const table = document.createElement("table");
    table.className = "failures";
    table.innerHTML = "<thead><tr><th>user</th><th>device</th><th>reason</th></tr></thead>";
    const body = document.createElement("tbody");
    for (const [userId, devices] of Object.entries(failures)) {
      for (const [deviceId, reason] of Object.entries(devices)) {
        const row = document.createElement("tr");
        for (const cell of [userId, deviceId, reason]) {
          const td = document.createElement("td");
          td.textContent = cell;
          row.append(td);
        }
        body.append(row);
      }
    }
    table.append(body);
    result.append(table);
  }
}

async function send(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const format = ($("#format") as HTMLSelectElement).value as Format;
  const encryption = ($("#encryption") as HTMLSelectElement).value;
  const text = ($("#text") as HTMLInputElement).value;
  const recipients = selectedRecipients();
  if (Object.keys(recipients).length === 0) {
    showResult("error", "Pick at least one recipient.");
    return;
  }
  const content = { text, sent_at: Date.now() };
  const button = $("#send") as HTMLButtonElement;
  button.disabled = true;
  showResult("ok", "sending…");
  try {
    if (format === "legacy") {
      // The legacy format is what plain matrix-widget-api sends: its own sendToDevice, one
      // copy of the content per device. The flag is required there.
      const messages: Record<string, Record<string, object>> = {};
      for (const [userId, devices] of Object.entries(recipients)) {
        messages[userId] = {};
        for (const device of devices === "*" ? ["*"] : devices) messages[userId][device] = content;
      }
      const response = (await api.sendToDevice(TYPE, encryption !== "cleartext", messages)) as {
        failures?: DeliveryFailures;
      };
      report("legacy", response.failures ?? {});
    } else {
      const receipt = await widget.send(TYPE, recipients, content, {
        ...(encryption === "host" ? {} : { encrypted: encryption === "encrypted" }),
        ...(format === "scoped" ? { scope: { id: "org.example.demo" } } : {}),
        acceptPartial: true,
      });
      report(receipt.format, receipt.failures);
    }
  } catch (error) {
    if (error instanceof ToDeviceSendError) {
      showResult("error", `${error.reason}: ${error.hostMessage ?? error.message}`, error.failures);
    } else {
      showResult("error", error instanceof Error ? error.message : String(error));
    }
  } finally {
    button.disabled = false;
  }
}

function report(format: Format, failures: DeliveryFailures): void {
  const failed = Object.values(failures).reduce((n, d) => n + Object.keys(d).length, 0);
  if (failed === 0) showResult("ok", `Sent as ${format}; the host confirmed every device.`);
  else showResult("partial", `Sent as ${format}; ${failed} device(s) not reached:`, failures);
}

function addMessage(message: ReceivedToDeviceMessage<Record<string, unknown>>): void {
  const item = document.createElement("li");
  item.className = "message";
  item.dataset.testid = "received";
  const content = message.content;
  const scope = content.scope as { room_id?: string; id?: string } | undefined;
  item.dataset.sender = message.sender;
  item.dataset.senderDevice = message.sender_device ?? "";
  item.dataset.encrypted = String(message.encrypted);
  item.dataset.verified = String(message.sender_verified ?? "");
  item.dataset.scopeRoom = scope?.room_id ?? "";
  item.dataset.text = typeof content.text === "string" ? content.text : "";
  const text = document.createElement("p");
  text.className = "text";
  text.textContent = typeof content.text === "string" ? content.text : JSON.stringify(content);
  const facts = document.createElement("p");
  facts.className = "facts";
  const badge = (label: string, on: boolean | undefined, title: string) => {
    const span = document.createElement("span");
    span.className = `badge ${on === true ? "on" : on === false ? "off" : "unknown"}`;
    span.textContent = label;
    span.title = title;
    return span;
  };
  const from = document.createElement("span");
  from.className = "from";
  from.textContent = `${message.sender} / ${message.sender_device ?? "device unknown"}`;
  facts.append(
    from,
    badge(
      message.encrypted ? "encrypted" : "cleartext",
      message.encrypted,
      "How the host received it",
    ),
    badge(
      message.sender_verified === undefined
        ? "unverified?"
        : message.sender_verified
          ? "verified"
          : "unverified",
      message.sender_verified,
      "Whether the sending device is cross-signed (from decryption, never from the message)",
    ),
  );
  if (scope !== undefined) {
    const scoped = document.createElement("span");
    scoped.className = "badge scope";
    scoped.textContent = `scope ${scope.room_id ?? "?"} · ${scope.id ?? "?"}`;
    facts.append(scoped);
  }
  item.append(text, facts);
  const list = $("#received");
  list.prepend(item);
  $("#received-count").textContent = String(list.childElementCount);
}

function addNote(text: string): void {
  const item = document.createElement("li");
  item.className = "note";
  item.textContent = text;
  $("#received").prepend(item);
}

widget.subscribe(TYPE, (message) => addMessage(message));

renderIdentity();
renderRecipients();
($("#compose") as HTMLFormElement).addEventListener("submit", (event) => void send(event));
// The format list follows what this widget advertises: without scoped there is no scoped send.
const formatSelect = $("#format") as HTMLSelectElement;
for (const option of formatSelect.options)
  option.disabled = !formats.includes(option.value as Format);
if (!formats.includes("scoped")) formatSelect.value = "recipients";

void widget.ready.then(
  (negotiation) => {
    const status = $("#status");
    status.dataset.format = negotiation.format;
    status.dataset.scoped = String(negotiation.scoped);
    status.textContent = `host speaks ${negotiation.hostFormats.join(", ") || "nothing new"} · ${negotiation.scoped ? "scoped mode: receives only messages scoped to this room" : "receives unscoped and scoped messages"}`;
    if (negotiation.granted.send.length === 0) status.textContent += " · sending not granted";
    for (const option of formatSelect.options) {
      if (option.value !== "legacy" && !negotiation.hostFormats.includes(option.value as Format)) {
        option.disabled = true;
      }
    }
    document.body.dataset.ready = "true";
  },
  (error: unknown) => {
    // No negotiation (the host never asked, or the user never answered): say so, do not throw.
    const status = $("#status");
    status.dataset.failed = "true";
    status.textContent = `no to-device messaging: ${error instanceof Error ? error.message : String(error)}`;
  },
);
