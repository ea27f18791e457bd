import type { MatrixClient } from "matrix-js-sdk";

/** matrix-js-sdk's `CryptoApi`, as the host's client returns it. */
export type CryptoApi = NonNullable<ReturnType<MatrixClient["getCrypto"]>>;

/**
 * matrix-js-sdk's Rust crypto internals the transport reaches for, because matrix-js-sdk has no
 * public API to track the devices of a user who shares no encrypted room with this account:
 * `getUserDeviceInfo(users, true)` answers such users with a one-off key query that the
 * OlmMachine never sees, so `encryptToDeviceMessages` would then skip all their devices. The
 * room encryptor itself calls `olmMachine.updateTrackedUsers` and lets the outgoing-requests loop
 * send the key query; the transport does the same. Every member is checked before use; without
 * them it falls back to the public API (and such users' devices are reported, not dropped).
 */
export interface RustCryptoInternals {
  readonly olmMachine: {
    readonly userId: { readonly constructor: new (userId: string) => unknown };
    trackedUsers(): Promise<Set<{ toString(): string }>>;
    updateTrackedUsers(users: unknown[]): Promise<void>;
    queryKeysForUsers(users: unknown[]): unknown;
  };
  readonly outgoingRequestsManager: { doProcessOutgoingRequests(): Promise<void> };
  readonly outgoingRequestProcessor: { makeOutgoingRequest(request: unknown): Promise<void> };
}

export function rustInternals(crypto: CryptoApi): RustCryptoInternals | undefined {
  const c = crypto as unknown as Partial<Record<string, Record<string, unknown> | undefined>>;
  const machine = c.olmMachine;
  const manager = c.outgoingRequestsManager;
  const processor = c.outgoingRequestProcessor;
  if (
    typeof machine?.trackedUsers !== "function" ||
    typeof machine.updateTrackedUsers !== "function" ||
    typeof machine.queryKeysForUsers !== "function" ||
    typeof (machine.userId as { constructor?: unknown } | undefined)?.constructor !== "function" ||
    typeof manager?.doProcessOutgoingRequests !== "function" ||
    typeof processor?.makeOutgoingRequest !== "function"
  ) {
    return undefined;
  }
  return crypto as unknown as RustCryptoInternals;
}

/** The users the OlmMachine tracks (keeps device lists of, and can encrypt for). */
export async function trackedUsers(internals: RustCryptoInternals): Promise<Set<string>> {
  return new Set([...(await internals.olmMachine.trackedUsers())].map((u) => u.toString()));
}

/**
 * What the room encryptor does for room members: new users are queued for a key query, which
 * the outgoing-requests loop sends.
 */
export async function trackUsers(
  internals: RustCryptoInternals,
  userIds: ReadonlyArray<string>,
): Promise<void> {
  const UserId = internals.olmMachine.userId.constructor;
  await internals.olmMachine.updateTrackedUsers(userIds.map((userId) => new UserId(userId)));
  await internals.outgoingRequestsManager.doProcessOutgoingRequests();
}

/** An out-of-band key query whose answer the OlmMachine takes in (mark-as-sent). */
export async function queryKeys(
  internals: RustCryptoInternals,
  userIds: ReadonlyArray<string>,
): Promise<void> {
  const UserId = internals.olmMachine.userId.constructor;
  const request = internals.olmMachine.queryKeysForUsers(userIds.map((id) => new UserId(id)));
  await internals.outgoingRequestProcessor.makeOutgoingRequest(request);
}
