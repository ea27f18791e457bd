// @widget-todevice/driver/testing: a homeserver in one process or page, for the tests of hosts
// and widgets (Node or browser). Its transport plugs into `ToDeviceDriver` like the real one.

export {
  type InMemoryDeviceOptions,
  InMemoryHomeserver,
  type InMemoryHomeserverOptions,
  type SendToDeviceFault,
  type SendToDeviceRecord,
} from "./in-memory-homeserver.js";
export { InMemoryTransport, type OutgoingTrust } from "./in-memory-transport.js";
