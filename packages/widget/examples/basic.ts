// A complete widget: it answers every `org.example.ping` with an `org.example.pong` to the
// device that pinged. Quoted in README.md; type-checked with the package.
import {
  createToDeviceWidget,
  ToDeviceSendError,
  type ToDeviceWidget,
} from "@widget-todevice/widget";
import * as t from "io-ts";

const PING = "org.example.ping";
const PONG = "org.example.pong";

// The content of a ping, as an io-ts codec: handlers only ever see contents that match it.
const Ping = t.type({ seq: t.number });

export function startPingPong(): ToDeviceWidget {
  // Reads widgetId, parentUrl, userId, roomId and the device ID from this page's URL, asks the
  // host for the capabilities, and negotiates the newest format both sides speak.
  const widget = createToDeviceWidget({
    send: [PONG, PING],
    receive: [PING],
    onError: (error) => console.warn(error.reason, error.message, error.issues),
  });

  // `content: Ping` types `content` and keeps contents that do not match from the handler.
  // Any Standard Schema (zod, valibot, arktype) or a type guard works the same way.
  widget.subscribe(
    PING,
    async ({ sender, sender_device, sender_verified, content }) => {
      // `sender_device` and `sender_verified` exist only where the host vouches for them (it
      // advertised a format newer than legacy, as @widget-todevice/driver does). A stock host
      // passes on whatever the sender wrote, so there they are left out: answer every device.
      const verified = sender_verified === true ? "verified" : "not verified";
      console.log(`ping ${content.seq} from ${sender}/${sender_device ?? "?"} (${verified})`);
      const device = sender_device ?? "*";
      try {
        // "auto": room-scoped where the host can scope (then room-bound peers accept only
        // scoped messages), plain where it cannot (a stock host).
        await widget.send(PONG, { [sender]: [device] }, { seq: content.seq }, { scope: "auto" });
      } catch (error) {
        if (!(error instanceof ToDeviceSendError)) throw error;
        // error.reason: "host_refused" | "partial_failure" | "invalid_reply" | "timeout" | ...
        console.warn(error.reason, error.message, error.failures);
      }
    },
    { content: Ping },
  );

  widget.ready.then(
    (negotiation) => {
      // format: "scoped" or "recipients" against @widget-todevice/driver, "legacy" against a stock host.
      console.log("negotiated", negotiation.format, "granted", negotiation.granted);
    },
    // The host did not negotiate within readyTimeoutMs, or sent a malformed negotiation message.
    (error: unknown) => console.warn("no negotiation with the host", error),
  );
  return widget;
}

/** Pings every device of `userId`; the widget waits for the negotiation by itself. */
export async function ping(widget: ToDeviceWidget, userId: string, seq: number): Promise<void> {
  const receipt = await widget.send(PING, { [userId]: "*" }, { seq }, { scope: "auto" });
  console.log(`ping ${seq} sent as ${receipt.format}`);
}
