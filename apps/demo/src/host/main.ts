import "./style.css";
import { type DriverLogger, ToDeviceDriver } from "@widget-todevice/driver";
import { Inspector } from "./inspector.js";
import {
  type EmbeddedWidget,
  embedWidget,
  type HostedClient,
  RefusedWidgetUrl,
} from "./widget-frame.js";
import { checkWidgetUrl, demoWidgetOrigin } from "./widget-url-policy.js";
import { TappedTransport } from "./wire-tap.js";
import type { DefaultWidget, DemoRoom, DemoWorld, SimulatedClient } from "./world.js";

// The host page: several simulated Matrix clients side by side, each embedding widgets the way a
// Matrix client does, with @widget-todevice/driver attached to every widget.

const params = new URLSearchParams(location.search);
const app = document.getElementById("app") as HTMLElement;
const inspector = new Inspector();

// The demo's own widgets are served from the same server under another origin: a widget on the
// host's origin with allow-same-origin could reach into the page (widget-url-policy.ts).
const widgetBase = new URL(new URL(".", location.href).pathname, demoWidgetOrigin(location)).href;

/** The project's demo widget; its URL template takes the usual variables and its widget data. */
export const DEMO_WIDGET_URL = `${widgetBase}widget.html?userId=$matrix_user_id&roomId=$matrix_room_id&deviceId=$org.matrix.msc3819.matrix_device_id&displayName=$matrix_display_name&theme=$org.matrix.msc2873.client_theme&formats=$formats&peers=$peers&askReserved=$ask_reserved`;
/** A widget written against plain matrix-widget-api, as most widgets are today (legacy format). */
export const STOCK_WIDGET_URL = `${widgetBase}stock-widget.html?userId=$matrix_user_id&deviceId=$matrix_device_id&peers=$peers`;

/**
 * The Element Call-style widget: matrix-js-sdk's embedded client and MatrixRTC's to-device key
 * transport. `$call_members` is widget data: the devices of the clients in its room.
 */
export const CALL_WIDGET_URL = `${widgetBase}call-widget.html?userId=$matrix_user_id&roomId=$matrix_room_id&deviceId=$org.matrix.msc3819.matrix_device_id&baseUrl=$org.matrix.msc4039.matrix_base_url&members=$call_members`;

const ALL_FORMATS = "legacy,recipients,scoped";
const UNSCOPED_FORMATS = "legacy,recipients";

/** sessionStorage key: the homeserver the user agreed to use (typed it, or said yes to a link). */
const HOMESERVER_CONSENT = "widget-todevice-demo.homeserver";

async function createWorld(): Promise<DemoWorld> {
  const homeserverUrl = params.get("homeserver");
  if (homeserverUrl !== null && homeserverUrl !== "") {
    // A link chose this server: registering accounts there is the user's call, not the link's.
    if (sessionStorage.getItem(HOMESERVER_CONSENT) !== homeserverUrl) {
      await askToUseHomeserver(homeserverUrl);
      sessionStorage.setItem(HOMESERVER_CONSENT, homeserverUrl);
    }
    // Loaded only here: embedded mode never downloads matrix-js-sdk or its crypto wasm.
    const { createHomeserverWorld } = await import("./homeserver-mode.js");
    return createHomeserverWorld(homeserverUrl, (line) => setStatus(line));
  }
  const { createEmbeddedWorld } = await import("./embedded.js");
  return createEmbeddedWorld();
}

/** Resolves when the user agrees to use `homeserverUrl`; the other choice leaves the page. */
function askToUseHomeserver(homeserverUrl: string): Promise<void> {
  const panel = document.createElement("section");
  panel.className = "consent";
  panel.dataset.testid = "homeserver-consent";
  panel.innerHTML = `
    <h2>Use this homeserver?</h2>
    <p>This link asks the demo to run on the homeserver <code></code>. It would register two new
    accounts there and send their messages through it; that server sees what they do.</p>
    <div class="buttons">
      <button type="button" class="primary">Use this homeserver</button>
      <a href="?">Stay in embedded mode</a>
    </div>`;
  (panel.querySelector("code") as HTMLElement).textContent = homeserverUrl;
  app.replaceChildren(panel);
  return new Promise((resolve) => {
    panel.querySelector("button")?.addEventListener("click", () => {
      panel.remove();
      resolve();
    });
  });
}

function setStatus(text: string): void {
  const status = document.getElementById("status");
  if (status !== null) status.textContent = text;
}

function driverLogger(who: string): DriverLogger {
  return {
    warn: (message, ...details) => {
      console.warn(`[widget-todevice] ${who}: ${message}`, ...details);
      inspector.record({
        kind: "routing",
        direction: "driver",
        who,
        title: message,
        json: details.map((d) => (d instanceof Error ? { error: d.message } : d)),
        tone: "note",
      });
    },
    error: (message, ...details) => {
      console.error(`[widget-todevice] ${who}: ${message}`, ...details);
      inspector.record({
        kind: "routing",
        direction: "driver",
        who,
        title: message,
        json: details.map((d) => (d instanceof Error ? { error: d.message } : d)),
        tone: "error",
      });
    },
  };
}

interface ClientColumn {
  readonly hosted: HostedClient;
  readonly rooms: ReadonlyMap<string, { room: DemoRoom; list: HTMLElement }>;
}

function demoWidgetData(world: DemoWorld, formats: string, askReserved: boolean) {
  return {
    formats,
    peers: JSON.stringify(world.directory),
    ask_reserved: askReserved ? "1" : "0",
  };
}

function addDemoWidget(
  world: DemoWorld,
  column: ClientColumn,
  room: DemoRoom,
  options: DefaultWidget & { formats?: string },
  before?: Element,
): EmbeddedWidget {
  const entry = column.rooms.get(room.roomId);
  if (entry === undefined) throw new Error(`no room ${room.roomId}`);
  const formats = options.formats ?? ALL_FORMATS;
  const embedded = embedWidget(
    column.hosted,
    room,
    {
      url: DEMO_WIDGET_URL,
      name: options.askReserved === true ? "Demo widget (also asks for m.room_key)" : "Demo widget",
      data: demoWidgetData(world, formats, options.askReserved === true),
      ...(options.preapproved === true ? { preapproved: true } : {}),
    },
    entry.list,
  );
  if (before !== undefined) entry.list.insertBefore(embedded.card, before);
  // Scoped mode is the widget's choice (it advertises org.matrix.msc3819.scoped); toggling it
  // reloads the widget with other widget data, as a room admin would edit the widget.
  const toggle = document.createElement("label");
  toggle.className = "scoped-toggle";
  toggle.title =
    "A room-bound widget that advertises org.matrix.msc3819.scoped receives only messages scoped to its room";
  toggle.innerHTML = `<input type="checkbox" ${formats === ALL_FORMATS ? "checked" : ""}> scoped mode`;
  const box = toggle.querySelector("input") as HTMLInputElement;
  box.addEventListener("change", () => {
    addDemoWidget(
      world,
      column,
      room,
      { ...options, preapproved: true, formats: box.checked ? ALL_FORMATS : UNSCOPED_FORMATS },
      embedded.card,
    );
    embedded.remove();
  });
  embedded.card.querySelector("header .remove")?.before(toggle);
  return embedded;
}

/** Who is in a room's call: every device of this page whose client shows the room. */
function callMembers(world: DemoWorld, room: DemoRoom): Record<string, string[]> {
  const members: Record<string, string[]> = {};
  for (const client of world.clients) {
    if (!client.rooms.some((r) => r.roomId === room.roomId)) continue;
    members[client.userId] = [...(members[client.userId] ?? []), client.deviceId];
  }
  return members;
}

/** The call widget in `room` of `column`'s client: the project's own, approved by host policy. */
function addCallWidget(world: DemoWorld, column: ClientColumn, room: DemoRoom): EmbeddedWidget {
  const entry = column.rooms.get(room.roomId);
  if (entry === undefined) throw new Error(`no room ${room.roomId}`);
  return embedWidget(
    column.hosted,
    room,
    {
      url: CALL_WIDGET_URL,
      name: "Call widget",
      data: { call_members: JSON.stringify(callMembers(world, room)) },
      preapproved: true,
    },
    entry.list,
  );
}

function renderHeader(world: DemoWorld): HTMLElement {
  const header = document.createElement("header");
  header.className = "page-header";
  header.innerHTML = `
    <div class="title">
      <h1>Widget to-device messaging <span class="msc">MSC3819</span></h1>
      <p class="mode" data-testid="mode"></p>
    </div>
    <div class="mode-switch"></div>`;
  (header.querySelector(".mode") as HTMLElement).textContent = world.description;
  const modeSwitch = header.querySelector(".mode-switch") as HTMLElement;
  if (world.mode === "embedded") {
    modeSwitch.innerHTML = `
      <form class="homeserver-form">
        <label>Homeserver <input name="homeserver" type="url" placeholder="http://127.0.0.1:8008" required></label>
        <button type="submit">Use a real homeserver</button>
      </form>`;
  } else {
    modeSwitch.innerHTML = `<a href="?">Back to embedded mode</a>`;
  }
  modeSwitch.querySelector("form")?.addEventListener("submit", (event) => {
    event.preventDefault();
    const input = (event.target as HTMLFormElement).elements.namedItem(
      "homeserver",
    ) as HTMLInputElement;
    const next = new URLSearchParams(location.search);
    next.set("homeserver", input.value);
    // Typed here by the user: no need to ask again on the next page.
    sessionStorage.setItem(HOMESERVER_CONSENT, input.value);
    location.search = next.toString();
  });
  if (world.controls !== undefined) header.append(world.controls);
  return header;
}

function renderLoader(world: DemoWorld, columns: ReadonlyArray<ClientColumn>): HTMLElement {
  const form = document.createElement("form");
  form.className = "loader";
  form.dataset.testid = "widget-loader";
  form.innerHTML = `
    <strong>Bring your own widget</strong>
    <input name="url" type="url" list="widget-presets" placeholder="https://… (template variables such as $matrix_user_id are filled in)" required>
    <datalist id="widget-presets"></datalist>
    <select name="client"><option value="all">into every client</option></select>
    <button type="submit">Load widget</button>`;
  const presets = form.querySelector("datalist") as HTMLDataListElement;
  for (const url of [STOCK_WIDGET_URL, DEMO_WIDGET_URL, CALL_WIDGET_URL]) {
    const option = document.createElement("option");
    option.value = url;
    presets.append(option);
  }
  const select = form.querySelector("select") as HTMLSelectElement;
  columns.forEach((column, index) => {
    const option = document.createElement("option");
    option.value = String(index);
    option.textContent = `into ${column.hosted.client.label}`;
    select.append(option);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const url = (form.elements.namedItem("url") as HTMLInputElement).value.trim();
    const chosen = select.value === "all" ? columns : [columns[Number(select.value)]];
    loadUserWidgets(
      world,
      chosen.filter((column) => column !== undefined),
      url,
    );
  });
  return form;
}

/** The page's list of refused widget URLs, each with the reason. */
const refusals = document.createElement("ul");
refusals.className = "refusals";
refusals.setAttribute("aria-live", "polite");

function showRefusal(url: string, reason: string): void {
  const item = document.createElement("li");
  item.dataset.testid = "widget-refused";
  item.textContent = `Not loaded: ${url} — ${reason}.`;
  refusals.append(item);
}

/** Loads the widget at `url` into `targets`, or says in the page why it will not. */
function loadUserWidgets(
  world: DemoWorld,
  targets: ReadonlyArray<ClientColumn>,
  url: string,
): void {
  const check = checkWidgetUrl(url, location.origin);
  if (!check.ok) {
    showRefusal(url, check.reason);
    return;
  }
  for (const column of targets) {
    try {
      loadUserWidget(world, column, url);
    } catch (error) {
      if (!(error instanceof RefusedWidgetUrl)) throw error;
      // Filled in, the template became a URL the host does not load; once per URL is enough.
      showRefusal(error.url, error.reason);
      return;
    }
  }
}

function loadUserWidget(world: DemoWorld, column: ClientColumn, url: string): void {
  const first = column.rooms.values().next().value;
  if (first === undefined) return;
  let name = params.get("widgetName") ?? "";
  if (name === "") {
    try {
      name = `Widget from ${new URL(url.replace(/\$/g, "_")).host}`;
    } catch {
      name = "Your widget";
    }
  }
  // Your widget's data: what the demo widget reads, so it works as a guest too.
  embedWidget(
    column.hosted,
    first.room,
    { url, name, data: demoWidgetData(world, ALL_FORMATS, false) },
    first.list,
  );
}

/** A room's "Join call" button: adds this client's call widget to the room (once). */
function joinCallButton(world: DemoWorld, column: () => ClientColumn, room: DemoRoom): HTMLElement {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "join-call";
  button.dataset.testid = "join-call";
  button.textContent = "Join call";
  button.title = "Add an Element Call-style widget (matrix-js-sdk's embedded client) to this room";
  button.addEventListener("click", () => {
    button.disabled = true;
    const widget = addCallWidget(world, column(), room);
    widget.card.querySelector("header .remove")?.addEventListener("click", () => {
      button.disabled = false;
    });
  });
  return button;
}

function renderClient(world: DemoWorld, client: SimulatedClient): ClientColumn {
  const who = client.label;
  const transport = new TappedTransport(client.transport, inspector, who);
  const driver = new ToDeviceDriver({ transport, logger: driverLogger(who) });
  const hosted: HostedClient = {
    client,
    driver,
    transport,
    inspector,
    baseUrl: world.baseUrl,
    widgets: new Set(),
  };
  const section = document.createElement("section");
  section.className = "client";
  section.dataset.testid = "client";
  section.dataset.user = client.userId;
  section.dataset.device = client.deviceId;
  section.innerHTML = `
    <header>
      <h2></h2>
      <p class="identity"><code class="user"></code> · device <code class="device"></code></p>
    </header>`;
  (section.querySelector("h2") as HTMLElement).textContent = client.label;
  (section.querySelector(".user") as HTMLElement).textContent = client.userId;
  (section.querySelector(".device") as HTMLElement).textContent = client.deviceId;
  const rooms = new Map<string, { room: DemoRoom; list: HTMLElement }>();
  for (const room of client.rooms) {
    const block = document.createElement("div");
    block.className = "room";
    block.dataset.roomId = room.roomId;
    block.innerHTML = `<h3><span class="room-name"></span> <code></code> <span class="badge"></span></h3><div class="widgets"></div>`;
    (block.querySelector(".room-name") as HTMLElement).textContent = room.name;
    (block.querySelector("code") as HTMLElement).textContent = room.roomId;
    (block.querySelector(".badge") as HTMLElement).textContent = room.encrypted
      ? "encrypted room"
      : "cleartext room";
    block.querySelector("h3")?.append(joinCallButton(world, () => column, room));
    section.append(block);
    rooms.set(room.roomId, { room, list: block.querySelector(".widgets") as HTMLElement });
  }
  const column: ClientColumn = { hosted, rooms };
  return column;
}

/**
 * Ends a client's part in the page: every widget removed (driver detached, widget API and frame
 * guard stopped), then its driver disposed, then the client itself stopped.
 */
function closeClient(column: ClientColumn): void {
  for (const widget of [...column.hosted.widgets]) widget.remove();
  column.hosted.driver.dispose();
  column.hosted.client.stop?.();
}

async function main(): Promise<void> {
  setStatus("starting…");
  let world: DemoWorld;
  try {
    world = await createWorld();
  } catch (error) {
    setStatus(`Could not start: ${error instanceof Error ? error.message : String(error)}`);
    console.error(error);
    return;
  }
  document.body.dataset.mode = world.mode;
  const clientsRow = document.createElement("div");
  clientsRow.className = "clients";
  const columns = world.clients.map((client) => renderClient(world, client));
  const page = document.createElement("main");
  page.append(
    renderHeader(world),
    renderLoader(world, columns),
    refusals,
    clientsRow,
    inspector.element,
  );
  app.replaceChildren(page);
  for (const column of columns) {
    const section = column.rooms.values().next().value?.list.closest("section");
    if (section !== null && section !== undefined) clientsRow.append(section);
  }
  for (const column of columns) {
    for (const widget of column.hosted.client.defaultWidgets) {
      const room = column.rooms.get(widget.roomId)?.room;
      if (room !== undefined) addDemoWidget(world, column, room, widget);
    }
  }
  // `?call`: every client joins the call in its first room (the Lobby) at start.
  if (params.has("call")) {
    for (const column of columns) {
      const first = column.rooms.values().next().value;
      first?.list.closest(".room")?.querySelector<HTMLButtonElement>(".join-call")?.click();
    }
  }
  for (const url of params.getAll("widget")) loadUserWidgets(world, columns, url);
  // Leaving the page ends every client; a page restored from the back/forward cache starts anew.
  addEventListener("pagehide", () => {
    for (const column of columns) closeClient(column);
    delete document.body.dataset.ready;
  });
  addEventListener("pageshow", (event) => {
    if (event.persisted) location.reload();
  });
  document.body.dataset.ready = "true";
}

void main();
