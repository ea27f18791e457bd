// The README's testing example: type-checked with the package, run by test/testing-example.test.ts.
import {
  ToDeviceDriver,
  validateToDeviceCapabilities,
  type WidgetAttachment,
} from "@widget-todevice/driver";
import { InMemoryHomeserver, type InMemoryTransport } from "@widget-todevice/driver/testing";
import { type ClientWidgetApi, WidgetDriver } from "matrix-widget-api";

export const ALICE = "@alice:example.org";
export const BOB = "@bob:example.org";

/** A user who says yes: every to-device capability the widget asks for (never reserved types). */
export class ApprovingWidgetDriver extends WidgetDriver {
  override validateCapabilities(requested: Set<string>): Promise<Set<string>> {
    return validateToDeviceCapabilities(requested, () => true);
  }
}

export interface TestHost {
  /** Bob's device: `bob.received` is what reached it, decrypted, with `encryptionInfo`. */
  readonly bob: InMemoryTransport;
  /** Every `/sendToDevice` request in `homeserver.sendLog`; faults with `failNextSends`. */
  readonly homeserver: InMemoryHomeserver;
  /** `await attachment.negotiated` before the widget's first send. */
  readonly attachment: WidgetAttachment;
  /** Bob's client sends an encrypted message to Alice's device, where the widget runs. */
  sendFromBob(
    type: string,
    content: { readonly [key: string]: string | number | boolean },
  ): Promise<void>;
  stop(): void;
}

/** Alice's client, running the driver for the widget behind `api` in an encrypted room. */
export function createTestHost(api: ClientWidgetApi): TestHost {
  const homeserver = new InMemoryHomeserver();
  const alice = homeserver.addDevice(ALICE, "ALICEDEV");
  const bob = homeserver.addDevice(BOB, "BOBDEV", { verified: true });
  const driver = new ToDeviceDriver({ transport: alice });
  const attachment = driver.attach(api, { roomId: "!room:example.org", roomEncrypted: true });
  let sent = 0;
  return {
    bob,
    homeserver,
    attachment,
    async sendFromBob(type, content) {
      const to = [{ userId: ALICE, deviceId: "ALICEDEV" }];
      const batch = await bob.encryptToDeviceMessages(type, to, content);
      sent++;
      await bob.sendToDevice(batch.eventType, batch.messages, `bob.${sent}`);
    },
    stop: () => driver.dispose(),
  };
}
