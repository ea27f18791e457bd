import "../widget/style.css";
import { type IWidgetApiRequest, WidgetApi } from "matrix-widget-api";

// A widget as most are written today: plain matrix-widget-api, no project package. It sends the
// legacy per-device map and must answer incoming send_to_device requests itself.

const TYPE = "org.example.demo.message";
const url = new URL(location.href);
const read = (name: string) => {
  const value = url.searchParams.get(name);
  return value === null || value === "" || value.startsWith("$") ? undefined : value;
};
const parentUrl = read("parentUrl");
const api = new WidgetApi(
  read("widgetId") ?? null,
  parentUrl === undefined ? "*" : new URL(parentUrl).origin,
);
api.requestCapabilityToSendToDevice(TYPE);
api.requestCapabilityToReceiveToDevice(TYPE);

const $ = <E extends HTMLElement>(id: string) => document.getElementById(id) as E;
$("who").textContent = `${read("userId") ?? "?"} · ${read("deviceId") ?? "?"}`;

// Without this handler matrix-widget-api answers "Unknown or unsupported action".
api.on("action:send_to_device", (event: CustomEvent<IWidgetApiRequest>) => {
  event.preventDefault();
  const data = event.detail.data as {
    type?: string;
    sender?: string;
    encrypted?: boolean;
    content?: { text?: unknown };
  };
  const item = document.createElement("li");
  item.className = "message";
  item.dataset.testid = "received";
  item.dataset.sender = String(data.sender);
  item.dataset.encrypted = String(data.encrypted);
  item.dataset.text = typeof data.content?.text === "string" ? data.content.text : "";
  item.textContent = `${String(data.content?.text)} — from ${String(data.sender)}${data.encrypted === true ? " (encrypted)" : ""}`;
  $("received").prepend(item);
  api.transport.reply(event.detail, {});
});

$("compose").addEventListener("submit", (event) => {
  event.preventDefault();
  const to = $<HTMLInputElement>("to").value.trim();
  const device = $<HTMLInputElement>("device").value.trim() || "*";
  const content = { text: $<HTMLInputElement>("text").value };
  api
    .sendToDevice(TYPE, true, { [to]: { [device]: content } })
    .then((response) => {
      $("result").textContent = `sent: ${JSON.stringify(response)}`;
      $("result").dataset.kind = "ok";
    })
    .catch((error: unknown) => {
      $("result").textContent = `failed: ${error instanceof Error ? error.message : String(error)}`;
      $("result").dataset.kind = "error";
    });
});

api.on("ready", () => {
  document.body.dataset.ready = "true";
});
api.start();
