import "../widget/style.css";
import "./style.css";
import { CallSession, type Member, type Participant } from "./call-session.js";

// An Element Call-style widget: media keys for a call exchanged by matrix-js-sdk's embedded
// client and MatrixRTC's to-device key transport (call-session.ts). It shows everyone in the
// call, the keys sent to and received from each, and the sending device where the host vouches
// for it. The call's members come from widget data (`members`: user ID -> device IDs).

const page = new URL(location.href);
const param = (name: string): string | undefined => {
  const value = page.searchParams.get(name);
  // An unfilled template variable is as good as absent.
  return value === null || value === "" || value.startsWith("$") ? undefined : value;
};

function parseMembers(text: string | undefined): Member[] {
  if (text === undefined) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null) return [];
    return Object.entries(parsed).flatMap(([userId, devices]) =>
      Array.isArray(devices)
        ? devices.filter((d) => typeof d === "string").map((deviceId) => ({ userId, deviceId }))
        : [],
    );
  } catch {
    return [];
  }
}

const $ = <E extends HTMLElement>(id: string): E => document.getElementById(id) as E;
const status = $("status");

const userId = param("userId");
const deviceId = param("deviceId");
const roomId = param("roomId");
const parentUrl = param("parentUrl");

/** The first characters of a key: enough to tell keys apart at a glance. */
const fingerprint = (key: string) => `${key.slice(0, 8)}…`;

function cell(row: HTMLTableRowElement, text: string, className = ""): HTMLTableCellElement {
  const td = document.createElement("td");
  td.textContent = text;
  td.className = className;
  row.append(td);
  return td;
}

function participantRow(session: CallSession, p: Participant): HTMLTableRowElement {
  const row = document.createElement("tr");
  row.dataset.testid = "participant";
  row.dataset.user = p.userId;
  row.dataset.device = p.deviceId;
  row.dataset.sentCount = String(p.sentCount);
  row.dataset.sentIndex = p.sentIndex === undefined ? "" : String(p.sentIndex);
  row.dataset.member = String(p.member);
  row.dataset.receivedCount = String(p.receivedCount);
  const { latest } = p;
  cell(row, `${p.userId} / ${p.deviceId}`, "who");
  cell(
    row,
    !p.member
      ? "never: not a call member"
      : p.sentIndex === undefined
        ? "not yet"
        : `#${p.sentIndex} (${p.sentCount}×)`,
    p.member ? "" : "muted",
  );
  if (latest === undefined) {
    cell(row, "none yet", "muted");
    cell(row, "");
    return row;
  }
  row.dataset.receivedIndex = String(latest.index);
  row.dataset.receivedKey = latest.key;
  row.dataset.encrypted = String(latest.encrypted);
  row.dataset.senderDevice = latest.senderDevice ?? "";
  row.dataset.claimedDevice = latest.claimedDevice;
  cell(
    row,
    `#${latest.index} ${fingerprint(latest.key)} (${p.receivedCount} received${latest.encrypted ? ", encrypted" : ", CLEARTEXT"})`,
  );
  if (latest.senderDevice !== undefined) {
    const verified =
      latest.senderVerified === true
        ? "verified"
        : latest.senderVerified === false
          ? "unverified"
          : "";
    cell(row, `${latest.senderDevice} ${verified}`.trim(), "vouched");
  } else {
    cell(
      row,
      session.hostVouches
        ? `not vouched for (cleartext); claims ${latest.claimedDevice}`
        : `host does not vouch; claims ${latest.claimedDevice}`,
      "muted",
    );
  }
  return row;
}

function render(session: CallSession): void {
  const own = $("own-key");
  own.dataset.index = String(session.own.index);
  own.dataset.key = session.own.key;
  own.textContent = `#${session.own.index} ${fingerprint(session.own.key)}`;
  const mine = (p: Participant) => p.userId === session.userId && p.deviceId === session.deviceId;
  $("participants").replaceChildren(
    ...[...session.participants.values()]
      .filter((p) => !mine(p))
      .map((p) => participantRow(session, p)),
  );
  const { counters } = session.statistics;
  document.body.dataset.keysSent = String(counters.roomEventEncryptionKeysSent);
  document.body.dataset.keysReceived = String(counters.roomEventEncryptionKeysReceived);
}

function addNote(text: string): void {
  const item = document.createElement("li");
  item.className = "note";
  item.textContent = text;
  $("notes").prepend(item);
}

if (userId === undefined || deviceId === undefined || roomId === undefined) {
  status.dataset.failed = "true";
  status.textContent =
    "needs userId, deviceId and roomId in its URL ($matrix_user_id, $org.matrix.msc3819.matrix_device_id, $matrix_room_id)";
} else {
  $("who").textContent = `${userId} · ${deviceId}`;
  let session: CallSession | undefined;
  const redraw = () => {
    if (session !== undefined) render(session);
  };
  session = new CallSession({
    widgetId: param("widgetId") ?? null,
    parentOrigin: parentUrl === undefined ? "*" : new URL(parentUrl).origin,
    userId,
    deviceId,
    roomId,
    // The embedded client never talks to the homeserver itself; the base URL is only its name.
    baseUrl: param("baseUrl") ?? "https://matrix.invalid",
    members: parseMembers(param("members")),
    onChange: redraw,
    onNote: addNote,
  });
  render(session);
  const rotate = $<HTMLButtonElement>("rotate");
  rotate.addEventListener("click", () => {
    rotate.disabled = true;
    void session
      ?.rotate()
      .catch((error: unknown) => addNote(`rotating failed: ${String(error)}`))
      .finally(() => {
        rotate.disabled = false;
      });
  });
  session.started.then(
    () => {
      status.textContent = session?.hostVouches
        ? "in the call · the host vouches for senders' devices"
        : "in the call · the host does not vouch for senders' devices (legacy host)";
      rotate.disabled = false;
      document.body.dataset.ready = "true";
    },
    (error: unknown) => {
      status.dataset.failed = "true";
      status.textContent = `could not join: ${error instanceof Error ? error.message : String(error)}`;
    },
  );
}
