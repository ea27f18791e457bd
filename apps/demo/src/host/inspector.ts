// The wire inspector: every postMessage between widgets and hosts, every /sendToDevice request,
// and what each host's driver did with every incoming message, as formatted JSON with its size.

export type WireKind = "postMessage" | "to-device" | "routing";
export type WireTone = "plain" | "ok" | "error" | "note";

export interface WireEntry {
  readonly kind: WireKind;
  /** "widget → host", "host → homeserver", ... */
  readonly direction: string;
  /** Which client and widget. */
  readonly who: string;
  /** The action or request line. */
  readonly title: string;
  readonly json: unknown;
  readonly tone?: WireTone;
  /** A line under the title: sizes compared, reasons for refusals and drops (a function: made on first open). */
  readonly note?: string | (() => string | undefined);
}

const encoder = new TextEncoder();

/** UTF-8 bytes of the JSON text: how big a payload is on the wire. */
export function jsonBytes(value: unknown): number {
  return encoder.encode(JSON.stringify(value) ?? "").length;
}

const MAX_ENTRIES = 600;
/** Entries drawn per animation frame at most. */
const DRAW_BATCH = 25;
/** Pretty JSON shown for an entry at most; a widget may post megabytes. */
const MAX_SHOWN_CHARS = 64 * 1024;

function prettyJson(value: unknown, bytes: number): string {
  if (bytes > MAX_SHOWN_CHARS) {
    const text = JSON.stringify(value) ?? "";
    return `${text.slice(0, MAX_SHOWN_CHARS)}… (${bytes.toLocaleString("en")} B in all; the first ${MAX_SHOWN_CHARS.toLocaleString("en")} characters shown, unformatted)`;
  }
  return JSON.stringify(value, null, 2) ?? "";
}

export class Inspector {
  readonly element: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly counter: HTMLElement;
  private readonly hidden = new Set<WireKind>();
  private hideHandshake = false;
  private count = 0;
  private readonly pending: Array<{ entry: WireEntry; at: Date }> = [];
  private drawScheduled = false;

  constructor() {
    this.element = document.createElement("section");
    this.element.className = "inspector";
    this.element.dataset.testid = "inspector";
    this.element.innerHTML = `
      <header>
        <h2>Wire inspector</h2>
        <span class="inspector-count"></span>
        <label><input type="checkbox" data-kind="postMessage" checked> postMessage</label>
        <label><input type="checkbox" data-kind="to-device" checked> /sendToDevice</label>
        <label><input type="checkbox" data-kind="routing" checked> driver routing</label>
        <label><input type="checkbox" data-filter="handshake"> hide handshake</label>
        <button type="button" data-action="clear">Clear</button>
      </header>
      <p class="hint">Sizes are the UTF-8 bytes of each payload as JSON. Click an entry for its JSON.</p>
      <ol class="inspector-list"></ol>`;
    this.list = this.element.querySelector("ol") as HTMLOListElement;
    this.counter = this.element.querySelector(".inspector-count") as HTMLElement;
    for (const box of this.element.querySelectorAll<HTMLInputElement>("input[data-kind]")) {
      box.addEventListener("change", () => {
        const kind = box.dataset.kind as WireKind;
        if (box.checked) this.hidden.delete(kind);
        else this.hidden.add(kind);
        this.applyFilters();
      });
    }
    const handshake = this.element.querySelector<HTMLInputElement>("input[data-filter]");
    handshake?.addEventListener("change", () => {
      this.hideHandshake = handshake.checked;
      this.applyFilters();
    });
    this.element.querySelector("[data-action=clear]")?.addEventListener("click", () => {
      this.list.replaceChildren();
      this.pending.length = 0;
      this.count = 0;
      this.updateCount();
    });
    this.updateCount();
  }

  /**
   * Queues an entry; the list is drawn once per animation frame. A hostile widget can post
   * hundreds of messages at once: drawing each as it came (and measuring the list to keep it
   * scrolled) stalled the page for seconds, so only the newest MAX_ENTRIES of a burst are drawn.
   */
  record(entry: WireEntry): void {
    this.pending.push({ entry, at: new Date() });
    if (this.pending.length > MAX_ENTRIES)
      this.pending.splice(0, this.pending.length - MAX_ENTRIES);
    this.count++;
    if (!this.drawScheduled) {
      this.drawScheduled = true;
      requestAnimationFrame(() => this.draw());
    }
  }

  private draw(): void {
    this.drawScheduled = false;
    // A bounded batch per frame keeps each frame short; the rest waits for the next one.
    const batch = this.pending.splice(0, DRAW_BATCH);
    if (this.pending.length > 0) {
      this.drawScheduled = true;
      requestAnimationFrame(() => this.draw());
    }
    const atBottom =
      this.list.childElementCount === 0 ||
      this.list.scrollTop + this.list.clientHeight >= this.list.scrollHeight - 24;
    const fragment = document.createDocumentFragment();
    for (const { entry, at } of batch) fragment.append(this.render(entry, at));
    this.list.append(fragment);
    const excess = this.list.childElementCount - MAX_ENTRIES;
    for (let i = 0; i < excess; i++) this.list.firstElementChild?.remove();
    if (atBottom) this.list.scrollTop = this.list.scrollHeight;
    this.updateCount();
  }

  private render(entry: WireEntry, time: Date): HTMLElement {
    const bytes = jsonBytes(entry.json);
    const item = document.createElement("li");
    item.className = `wire wire-${entry.kind} tone-${entry.tone ?? "plain"}`;
    item.dataset.kind = entry.kind;
    item.dataset.title = entry.title;
    item.dataset.direction = entry.direction;
    item.dataset.bytes = String(bytes);
    if (isHandshake(entry.title)) item.dataset.handshake = "true";
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.innerHTML = `
      <time>${time.toLocaleTimeString(undefined, { hour12: false })}.${String(time.getMilliseconds()).padStart(3, "0")}</time>
      <span class="badge kind">${entry.kind}</span>
      <span class="direction"></span>
      <span class="who"></span>
      <strong class="title"></strong>
      <span class="bytes">${bytes.toLocaleString("en")} B</span>`;
    (summary.querySelector(".direction") as HTMLElement).textContent = entry.direction;
    (summary.querySelector(".who") as HTMLElement).textContent = entry.who;
    (summary.querySelector(".title") as HTMLElement).textContent = entry.title;
    details.append(summary);
    const note = document.createElement("p");
    note.className = "note";
    const pre = document.createElement("pre");
    // Both rendered on first open: hundreds of entries of pretty JSON, or a note that decodes
    // a 5 MB request, would slow the page for entries nobody opens.
    const noteText = typeof entry.note === "function" ? undefined : entry.note;
    if (noteText !== undefined) note.textContent = noteText;
    let filled = false;
    const fill = () => {
      if (filled) return;
      filled = true;
      if (typeof entry.note === "function") note.textContent = entry.note() ?? "";
      pre.textContent = prettyJson(entry.json, bytes);
    };
    // On the summary's click (mouse or keyboard), before the entry opens, so that it opens
    // with its content; on toggle too, for entries opened otherwise.
    summary.addEventListener("click", fill, { once: true });
    details.addEventListener("toggle", fill, { once: true });
    details.append(note, pre);
    item.append(details);
    if (this.isHidden(item)) item.hidden = true;
    return item;
  }

  private isHidden(item: HTMLElement): boolean {
    return (
      this.hidden.has(item.dataset.kind as WireKind) ||
      (this.hideHandshake && item.dataset.handshake === "true")
    );
  }

  private applyFilters(): void {
    for (const item of this.list.querySelectorAll<HTMLElement>("li")) {
      item.hidden = this.isHidden(item);
    }
  }

  private updateCount(): void {
    this.counter.textContent = `${this.count} message${this.count === 1 ? "" : "s"}`;
  }
}

// The widget API's setup traffic, which a reader may want out of the way.
const HANDSHAKE = new Set([
  "capabilities",
  "notify_capabilities",
  "supported_api_versions",
  "content_loaded",
  "update_visibility",
  "theme_change",
  "language_change",
]);

function isHandshake(title: string): boolean {
  return HANDSHAKE.has(title.split(" ")[0] ?? "");
}
