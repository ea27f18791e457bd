import { InMemoryHomeserver, type SendToDeviceFault } from "@widget-todevice/driver/testing";
import type { DemoRoom, DemoWorld, SimulatedClient } from "./world.js";

// Embedded mode: no server. The driver's in-memory homeserver connects the simulated devices in
// this page, with a homeserver's to-device semantics and a simulated Olm layer.

const SERVER = "example.org";
export const ALICE = `@alice:${SERVER}`;
export const BOB = `@bob:${SERVER}`;
export const CAROL = `@carol:${SERVER}`;

export const LOBBY: DemoRoom = { roomId: `!lobby:${SERVER}`, name: "Lobby", encrypted: true };
export const SIDE_ROOM: DemoRoom = {
  roomId: `!side:${SERVER}`,
  name: "Side room",
  encrypted: false,
};

export function createEmbeddedWorld(): DemoWorld {
  const homeserver = new InMemoryHomeserver({ deliveryDelayMs: 30 });
  // Verified here means cross-signed by a user the receiver verified: shown as sender_verified.
  const aliceLaptop = homeserver.addDevice(ALICE, "ALICELAPTOP", { verified: true });
  const alicePhone = homeserver.addDevice(ALICE, "ALICEPHONE", { verified: false });
  const bobDesktop = homeserver.addDevice(BOB, "BOBDESKTOP", { verified: true });
  // Carol has no client here, only a device that used up its one-time keys: encrypted sends to it
  // fail with no_olm_session, which shows a partial failure.
  homeserver.addDevice(CAROL, "CAROLOLD", { hasOneTimeKeys: false });

  const clients: SimulatedClient[] = [
    {
      label: "Alice · laptop",
      userId: ALICE,
      deviceId: aliceLaptop.deviceId,
      displayName: "Alice",
      transport: aliceLaptop,
      rooms: [LOBBY],
      defaultWidgets: [{ roomId: LOBBY.roomId, preapproved: true }],
    },
    {
      label: "Alice · phone",
      userId: ALICE,
      deviceId: alicePhone.deviceId,
      displayName: "Alice",
      transport: alicePhone,
      rooms: [LOBBY],
      defaultWidgets: [{ roomId: LOBBY.roomId, preapproved: true }],
    },
    {
      label: "Bob · desktop",
      userId: BOB,
      deviceId: bobDesktop.deviceId,
      displayName: "Bob",
      transport: bobDesktop,
      rooms: [LOBBY, SIDE_ROOM],
      defaultWidgets: [
        { roomId: LOBBY.roomId, preapproved: true },
        // Not preapproved, and asks for a reserved type too: its prompt is the first thing to see.
        { roomId: SIDE_ROOM.roomId, askReserved: true },
      ],
    },
  ];

  return {
    mode: "embedded",
    description:
      "Embedded mode: three simulated clients connected through the driver's in-memory homeserver, in this page. Encryption is simulated (opaque m.room.encrypted envelopes).",
    clients,
    directory: {
      [ALICE]: homeserver.deviceIds(ALICE),
      [BOB]: homeserver.deviceIds(BOB),
      [CAROL]: homeserver.deviceIds(CAROL),
    },
    baseUrl: `https://${SERVER}`,
    controls: faultControls(homeserver),
  };
}

/** Buttons that make the in-memory homeserver misbehave on the next /sendToDevice request. */
function faultControls(homeserver: InMemoryHomeserver): HTMLElement {
  const box = document.createElement("div");
  box.className = "faults";
  box.innerHTML = `<span>Next /sendToDevice:</span>`;
  const faults: ReadonlyArray<[string, SendToDeviceFault]> = [
    ["429 rate limited", { kind: "rate_limited", retryAfterMs: 800 }],
    ["500 error", { kind: "http_error", status: 500 }],
    ["slow (2 s)", { kind: "slow", delayMs: 2_000 }],
    ["reply lost", { kind: "connection_dropped", afterDelivery: true }],
  ];
  const pending = document.createElement("span");
  pending.className = "pending";
  const update = () => {
    pending.textContent =
      homeserver.pendingFaults === 0 ? "" : `${homeserver.pendingFaults} fault(s) armed`;
  };
  for (const [label, fault] of faults) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.addEventListener("click", () => {
      homeserver.failNextSends(fault);
      update();
    });
    box.append(button);
  }
  box.append(pending);
  setInterval(update, 500);
  return box;
}
