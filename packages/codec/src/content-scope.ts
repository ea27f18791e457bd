import * as t from "io-ts";
import { isPlainObject, ownField } from "./issue-log.js";
import { stringOf, struct } from "./plain-object-codecs.js";

// Sections 3.3 and 7: the scope the driver stamps into a scoped message's content,
// `content.scope = {room_id, id}`, which receivers read to keep other rooms' messages out.

const RoomIdC = /* @__PURE__ */ stringOf(
  "RoomId",
  "a room ID string",
  (roomId) => roomId !== "",
  () => "a room ID must not be empty",
);

/** `{room_id, id?}`; other fields are left out. */
export const ContentScopeC = /* @__PURE__ */ struct(
  "ContentScope",
  { room_id: RoomIdC },
  { id: t.string },
  { what: "`scope`", otherFields: "drop" },
);

/** The room a scoped message was stamped for, and the scope `id` (section 3.3). */
export type ContentScope = t.TypeOf<typeof ContentScopeC>;

/**
 * The scope stamped into a received message's content, or `undefined` when it carries none or
 * one that is not well-formed: a receiver in scoped mode drops both (section 7). Never throws.
 */
export function readScope(content: unknown): ContentScope | undefined {
  try {
    if (!isPlainObject(content)) return undefined;
    const scope = ContentScopeC.decode(ownField(content, "scope"));
    return scope._tag === "Right" ? scope.right : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a received message's content is scoped to `roomId` (section 7's room filter). */
export function isScopedTo(content: unknown, roomId: string): boolean {
  return readScope(content)?.room_id === roomId;
}
