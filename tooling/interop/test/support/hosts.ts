/**
 * The hosts' `WidgetDriver`s: what they approve and which room data they serve. The driver
 * (`@widget-todevice/driver`) approves to-device capabilities only; everything else is the host's.
 */
import { reviewToDeviceCapabilities, validateToDeviceCapabilities } from "@widget-todevice/driver";
import { type IRoomEvent, WidgetDriver } from "matrix-widget-api";

/** The driver README's first example: the driver's to-device approval and nothing else. */
export class ToDeviceOnlyHost extends WidgetDriver {
  override validateCapabilities(requested: Set<string>): Promise<Set<string>> {
    return validateToDeviceCapabilities(requested, () => true);
  }
}

/** Where a host reads a room's current state from. */
export type RoomStateSource = (roomId: string) => ReadonlyArray<IRoomEvent>;

/**
 * The driver's to-device approval combined with the host's own approval of everything else
 * (room timeline, state and events, delayed events), and the one room read `RoomWidgetClient`
 * needs to start: `readRoomState`, which `ClientWidgetApi` calls to push the initial
 * `update_state` (MSC2762) for every approved state capability.
 */
export class RoomHost extends WidgetDriver {
  /** What the host approved besides to-device, as it approved it. */
  readonly approvedOthers: string[] = [];

  constructor(private readonly state: RoomStateSource) {
    super();
  }

  override async validateCapabilities(requested: Set<string>): Promise<Set<string>> {
    const { others } = reviewToDeviceCapabilities(requested);
    const toDevice = await validateToDeviceCapabilities(requested, () => true);
    // A real host asks its user here; this one approves whatever is not to-device.
    this.approvedOthers.push(...others);
    return new Set([...toDevice, ...others]);
  }

  override async readRoomState(
    roomId: string,
    eventType: string,
    stateKey: string | undefined,
  ): Promise<IRoomEvent[]> {
    return this.state(roomId).filter(
      (event) =>
        event.type === eventType && (stateKey === undefined || event.state_key === stateKey),
    );
  }
}

/** A room's create, member and (optionally) encryption state, as a homeserver would serve it. */
export function roomState(
  roomId: string,
  creator: string,
  members: ReadonlyArray<string>,
  encrypted: boolean,
): IRoomEvent[] {
  let n = 0;
  const event = (type: string, stateKey: string, content: Record<string, unknown>) => ({
    type,
    state_key: stateKey,
    sender: creator,
    room_id: roomId,
    event_id: `$${roomId}-${++n}`,
    origin_server_ts: 1_700_000_000_000 + n,
    content,
    unsigned: {},
  });
  return [
    event("m.room.create", "", { creator, room_version: "10" }),
    ...members.map((member) => event("m.room.member", member, { membership: "join" })),
    ...(encrypted ? [event("m.room.encryption", "", { algorithm: "m.megolm.v1.aes-sha2" })] : []),
  ];
}
