/**
 * Element Call's side of a call, as it runs inside a widget: matrix-js-sdk's embedded client
 * (`createRoomWidgetClient`, class `RoomWidgetClient`) on the frame's `WidgetApi`, and MatrixRTC's
 * to-device key transport (`ToDeviceKeyTransport`) on that client, which sends media keys with
 * `encryptAndSendToDevice` (the legacy per-device map, `encrypted: true`).
 */
import {
  ClientEvent,
  createRoomWidgetClient,
  EventType,
  type ICapabilities,
  type MatrixClient,
  type MatrixEvent,
} from "matrix-js-sdk";
import { KeyTransportEvents } from "matrix-js-sdk/lib/matrixrtc/IKeyTransport.js";
import { ToDeviceKeyTransport } from "matrix-js-sdk/lib/matrixrtc/ToDeviceKeyTransport.js";
import type { Statistics } from "matrix-js-sdk/lib/matrixrtc/types.js";
import type { Frame } from "./frame.js";

/** `io.element.call.encryption_keys`: what the key transport sends and listens for. */
export const CALL_KEYS: string = EventType.CallEncryptionKeysPrefix;

/** Only what the key transport needs: to-device in both directions. */
export const TO_DEVICE_ONLY: ICapabilities = {
  sendToDevice: [CALL_KEYS],
  receiveToDevice: [CALL_KEYS],
};

/**
 * Element Call's capability set as its widget passes it to `createRoomWidgetClient`: room events,
 * its own call membership state, the room state it reads (which makes the client wait for an
 * initial `update_state` before it starts), delayed events and to-device call signalling.
 */
export function elementCallCapabilities(userId: string, deviceId: string): ICapabilities {
  const sendRecvEvent = [
    "org.matrix.rageshake_request",
    EventType.CallEncryptionKeysPrefix,
    EventType.Reaction,
    EventType.RoomRedaction,
    "io.element.call.reaction",
    EventType.RTCNotification,
  ];
  const toDevice = [
    EventType.CallInvite,
    EventType.CallCandidates,
    EventType.CallAnswer,
    EventType.CallHangup,
    EventType.CallReject,
    EventType.CallSelectAnswer,
    EventType.CallNegotiate,
    EventType.CallSDPStreamMetadataChanged,
    EventType.CallSDPStreamMetadataChangedPrefix,
    EventType.CallReplaces,
    EventType.CallEncryptionKeysPrefix,
  ];
  return {
    sendEvent: sendRecvEvent,
    receiveEvent: sendRecvEvent,
    sendState: [userId, `_${userId}_${deviceId}`, `${userId}_${deviceId}`].map((stateKey) => ({
      eventType: EventType.GroupCallMemberPrefix,
      stateKey,
    })),
    receiveState: [
      { eventType: EventType.RoomCreate },
      { eventType: EventType.RoomName },
      { eventType: EventType.RoomMember },
      { eventType: EventType.RoomEncryption },
      { eventType: EventType.GroupCallMemberPrefix },
    ],
    sendToDevice: toDevice,
    receiveToDevice: toDevice,
    turnServers: false,
    sendDelayedEvents: true,
    updateDelayedEvents: true,
  };
}

/** A to-device event as `RoomWidgetClient` emitted it (`ClientEvent.ToDeviceEvent`). */
export interface EmittedToDevice {
  readonly type: string;
  readonly sender: string | undefined;
  readonly encrypted: boolean;
  readonly content: Record<string, unknown>;
}

/** A key as the key transport reported it (`KeyTransportEvents.ReceivedKeys`). */
export interface ReceivedKey {
  readonly userId: string;
  readonly deviceId: string;
  readonly key: string;
  readonly index: number;
}

export interface CallParticipant {
  readonly userId: string;
  readonly deviceId: string;
  readonly client: MatrixClient;
  /** `client.startClient()`: resolves once the client synced the room state it asked for. */
  readonly started: Promise<void>;
  /** Whether `started` has resolved yet. */
  isStarted(): boolean;
  readonly toDevice: EmittedToDevice[];
  readonly keys: ReceivedKey[];
  readonly keyTransport: ToDeviceKeyTransport;
  readonly statistics: Statistics;
  stop(): void;
}

export interface JoinCallOptions {
  readonly userId: string;
  readonly deviceId: string;
  readonly roomId: string;
  readonly capabilities: ICapabilities;
  /** Unused by the embedded client (it never talks to a homeserver itself). */
  readonly baseUrl?: string;
}

/** Runs Element Call's embedded client and key transport in `frame`'s widget. */
export function joinCall(frame: Frame, options: JoinCallOptions): CallParticipant {
  const { userId, deviceId, roomId } = options;
  const client = createRoomWidgetClient(frame.widgetApi, options.capabilities, roomId, {
    baseUrl: options.baseUrl ?? "https://matrix.example.org",
    userId,
    deviceId,
    timelineSupport: true,
  });
  const toDevice: EmittedToDevice[] = [];
  client.on(ClientEvent.ToDeviceEvent, (event: MatrixEvent) => {
    toDevice.push({
      type: event.getType(),
      sender: event.getSender(),
      encrypted: event.isEncrypted(),
      content: event.getContent(),
    });
  });
  const statistics: Statistics = {
    counters: { roomEventEncryptionKeysSent: 0, roomEventEncryptionKeysReceived: 0 },
    totals: { roomEventEncryptionKeysReceivedTotalAge: 0 },
  };
  const keyTransport = new ToDeviceKeyTransport(
    { userId, deviceId, memberId: `${userId}:${deviceId}` },
    roomId,
    client,
    statistics,
  );
  const keys: ReceivedKey[] = [];
  keyTransport.on(KeyTransportEvents.ReceivedKeys, (membership, key, index) => {
    keys.push({ userId: membership.userId, deviceId: membership.deviceId, key, index });
  });
  keyTransport.start();
  let started = false;
  const starting = client.startClient().then(() => {
    started = true;
  });
  return {
    userId,
    deviceId,
    client,
    started: starting,
    isStarted: () => started,
    toDevice,
    keys,
    keyTransport,
    statistics,
    stop() {
      keyTransport.stop();
      client.stopClient();
      frame.stop();
    },
  };
}

/** Everyone in the call as the key transport's `members` list. */
export function members(
  participants: ReadonlyArray<{ readonly userId: string; readonly deviceId: string }>,
): Array<{ userId: string; deviceId: string; membershipTs: number }> {
  return participants.map(({ userId, deviceId }) => ({ userId, deviceId, membershipTs: 0 }));
}
