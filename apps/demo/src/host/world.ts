import type { ToDeviceTransport } from "@widget-todevice/driver";

// What the host page needs from a mode: simulated clients, each a device with a to-device
// transport, and the rooms their widgets sit in. Embedded mode makes them in the page; homeserver
// mode logs real matrix-js-sdk clients in.

export interface DemoRoom {
  readonly roomId: string;
  readonly name: string;
  readonly encrypted: boolean;
}

export interface SimulatedClient {
  /** "Alice's laptop": the column heading. */
  readonly label: string;
  readonly userId: string;
  readonly deviceId: string;
  readonly displayName: string;
  readonly transport: ToDeviceTransport;
  /** The rooms this client shows, each with the widgets placed in it by default. */
  readonly rooms: ReadonlyArray<DemoRoom>;
  /** Rooms (by ID) whose demo widget this client shows at start. */
  readonly defaultWidgets: ReadonlyArray<DefaultWidget>;
  /**
   * Stops the client once the page no longer uses it (after its driver is disposed): releases
   * what the transport holds on the client and ends its sync. Nothing to do in embedded mode.
   */
  readonly stop?: () => void;
}

export interface DefaultWidget {
  readonly roomId: string;
  /** Also ask for a reserved capability, so that the prompt shows how a host refuses it. */
  readonly askReserved?: boolean;
  /** Whether the host approves the demo widget's own capabilities without asking. */
  readonly preapproved?: boolean;
}

/** Everyone a widget may address: user ID -> device IDs. */
export type Directory = Readonly<Record<string, ReadonlyArray<string>>>;

export interface DemoWorld {
  readonly mode: "embedded" | "homeserver";
  /** Shown in the page header. */
  readonly description: string;
  readonly clients: ReadonlyArray<SimulatedClient>;
  readonly directory: Directory;
  /** For the widget URL template's `$org.matrix.msc4039.matrix_base_url`. */
  readonly baseUrl: string;
  /** Extra controls for the header (embedded mode: homeserver fault injection). */
  readonly controls?: HTMLElement;
}
