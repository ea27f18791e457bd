// For matrix-js-sdk embedded clients: an app on `createRoomWidgetClient` (Element Call's key
// transport, for example) keeps its client, and an observer beside it gets the sender device the
// host authenticated and the devices the client's sends did not reach. Quoted in the widget package's README;
// type-checked and run by this suite against @widget-todevice/driver.
import { observeToDevice, type ToDeviceObserver } from "@widget-todevice/widget";
import { createRoomWidgetClient, type MatrixClient } from "matrix-js-sdk";
import type { WidgetApi } from "matrix-widget-api";

const CALL_KEYS = "io.element.call.encryption_keys";

/** The part of Element Call's key content that names the sending device. */
interface KeyContent {
  member: { claimed_device_id: string };
}

const isKeyContent = (content: unknown): content is KeyContent =>
  typeof (content as KeyContent).member?.claimed_device_id === "string";

/** What the observer learned about one key message. */
export interface KeyOrigin {
  sender: string;
  /** The device the key message says it came from. */
  claimedDevice: string;
  /** The device the host authenticated by decryption; absent from hosts that do not vouch. */
  senderDevice: string | undefined;
}

export interface CallWidget {
  client: MatrixClient;
  observer: ToDeviceObserver;
}

export function startCallWidget(
  api: WidgetApi,
  session: { userId: string; deviceId: string; roomId: string },
  onKey: (origin: KeyOrigin) => void,
  onUndelivered: (failures: Readonly<Record<string, Readonly<Record<string, string>>>>) => void,
): CallWidget {
  // First, on the widget API the client will use: the client starts it, and the host asks
  // for the widget's versions then. The observer asks for no capability and answers no message.
  const observer = observeToDevice(api, {
    receive: [CALL_KEYS],
    send: [CALL_KEYS],
    // The client's own sends: a key that reached only some devices resolves for the client.
    onSendError: (error) => {
      if (error.reason === "partial_failure") onUndelivered(error.failures);
      else console.warn("a key send failed", error.reason, error.message);
    },
    onError: (error) => console.warn(error.reason, error.message),
  });
  observer.subscribe(
    CALL_KEYS,
    ({ sender, sender_device, content }) => {
      onKey({
        sender,
        claimedDevice: content.member.claimed_device_id,
        senderDevice: sender_device,
      });
    },
    { content: isKeyContent },
  );
  observer.ready.catch((error: unknown) => console.warn("no negotiation with the host", error));

  // The client, unchanged: it requests its capabilities, answers every message and sends.
  const client = createRoomWidgetClient(
    api,
    { sendToDevice: [CALL_KEYS], receiveToDevice: [CALL_KEYS] },
    session.roomId,
    { baseUrl: "https://matrix.example.org", userId: session.userId, deviceId: session.deviceId },
  );
  return { client, observer };
}
