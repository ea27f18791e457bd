// The README's example for widgets that need more than to-device, type-checked with the package.
import { reviewToDeviceCapabilities, validateToDeviceCapabilities } from "@widget-todevice/driver";
import type { Room } from "matrix-js-sdk";
import { type IRoomEvent, WidgetDriver } from "matrix-widget-api";

/** A host's `WidgetDriver` for Element Call: to-device through the driver, the rest its own. */
export class CallWidgetDriver extends WidgetDriver {
  constructor(
    private readonly room: Room,
    private readonly ask: (description: string) => Promise<boolean>,
    /** The host's own prompt for room timeline, state, events, delayed events, ... */
    private readonly approveOthers: (others: ReadonlyArray<string>) => Promise<string[]>,
  ) {
    super();
  }

  override async validateCapabilities(requested: Set<string>): Promise<Set<string>> {
    const { others } = reviewToDeviceCapabilities(requested);
    // Only to-device capabilities come back from the driver's helper; reserved types never do.
    const toDevice = await validateToDeviceCapabilities(requested, (r) => this.ask(r.description));
    return new Set([...toDevice, ...(await this.approveOthers(others))]);
  }

  // ClientWidgetApi reads the state of every approved state capability and pushes it to the
  // widget (`update_state`): matrix-js-sdk's RoomWidgetClient waits for that push to start.
  override async readRoomState(
    roomId: string,
    eventType: string,
    stateKey: string | undefined,
  ): Promise<IRoomEvent[]> {
    if (roomId !== this.room.roomId) return [];
    const state = this.room.currentState;
    const events =
      stateKey === undefined
        ? state.getStateEvents(eventType)
        : [state.getStateEvents(eventType, stateKey)].filter((event) => event !== null);
    return events.map((event) => event.getEffectiveEvent() as IRoomEvent);
  }
}
