// Section 5: the request's `encrypted` flag is a wish; the policy decides.

/**
 * `strict` (default) is the table of section 5: never cleartext that was asked to be encrypted,
 * never cleartext in an encrypted room. `obey-widget` does what the flag says when the widget
 * sets one (Element Web's behaviour), and falls back to `strict` when it does not. In both,
 * a global widget's cleartext needs the host's `allowGlobalCleartext`.
 */
export type EncryptionPolicyMode = "strict" | "obey-widget";

export interface EncryptionRequestContext {
  /** The widget's room; `null` for a global widget. */
  readonly roomId: string | null;
  readonly roomEncrypted: boolean;
  /** The request's flag; `undefined` when the widget said nothing (recipients format). */
  readonly requested: boolean | undefined;
  /** Whether the host allows cleartext from global widgets that ask for it. */
  readonly allowGlobalCleartext: boolean;
}

/** What the policy decided for one send: encrypt it, send it in clear, or refuse it (and why). */
export type EncryptionDecision =
  | { readonly kind: "encrypt" }
  | { readonly kind: "cleartext" }
  | { readonly kind: "refused"; readonly message: string };

const ENCRYPT: EncryptionDecision = { kind: "encrypt" };
const CLEARTEXT: EncryptionDecision = { kind: "cleartext" };
const encryptIf = (encrypt: boolean): EncryptionDecision => (encrypt ? ENCRYPT : CLEARTEXT);

/** A custom policy: hosts with their own rules pass a function. */
export type EncryptionPolicy =
  | EncryptionPolicyMode
  | ((context: EncryptionRequestContext) => EncryptionDecision);

/** The strict table of section 5, row by row. */
export function strictEncryption(context: EncryptionRequestContext): EncryptionDecision {
  const { roomId, roomEncrypted, requested } = context;
  if (roomId === null) {
    if (requested !== false) return ENCRYPT;
    return context.allowGlobalCleartext
      ? CLEARTEXT
      : {
          kind: "refused",
          message:
            "cleartext to-device messages are not allowed from a widget that is not bound to a room; send with `encrypted: true`",
        };
  }
  if (roomEncrypted) {
    return requested === false
      ? {
          kind: "refused",
          message:
            "the widget's room is encrypted, so its to-device messages are encrypted too; `encrypted: false` is refused (no downgrade)",
        }
      : ENCRYPT;
  }
  return encryptIf(requested === true);
}

export function decideEncryption(
  policy: EncryptionPolicy,
  context: EncryptionRequestContext,
): EncryptionDecision {
  if (typeof policy === "function") return policy(context);
  // The host's word on global cleartext outranks the widget's flag (ADR 0001).
  const globalCleartext = context.roomId === null && context.requested === false;
  if (policy === "obey-widget" && context.requested !== undefined && !globalCleartext)
    return encryptIf(context.requested);
  return strictEncryption(context);
}
