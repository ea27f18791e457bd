// @widget-todevice/codec: the wire formats of MSC3819 widget to-device messaging, as io-ts codecs.

export { canonicalJson, jsonEqual } from "./canonical-json.js";
export {
  type CapabilitySpelling,
  capabilitySpellings,
  type Direction,
  formatCapability,
  parseCapability,
  type ToDeviceCapability,
} from "./capability.js";
export {
  type CodecIssue,
  type CodedValidationError,
  formatIssues,
  type IssueCode,
  issuesOf,
  pathOf,
} from "./codec-issue.js";
export {
  type ContentScope,
  ContentScopeC,
  isScopedTo,
  readScope,
} from "./content-scope.js";
export {
  type DeliveryFailureReason,
  DeliveryFailureReasonC,
  type DeliveryFailures,
  DeliveryFailuresC,
  KNOWN_DELIVERY_FAILURE_REASONS,
  type KnownDeliveryFailureReason,
  type MatrixApiError,
  MatrixApiErrorC,
} from "./delivery-report.js";
export {
  FORMAT_IDENTIFIERS,
  FORMAT_LEGACY,
  FORMAT_RECIPIENTS,
  FORMAT_SCOPED,
  FORMATS,
  type Format,
  formatIdentifier,
  formatsIn,
  newestCommonFormat,
} from "./format.js";
export type { JsonObject, JsonValue } from "./json-content.js";
export { DEFAULT_LIMITS, type Limits } from "./limits.js";
export {
  ALL_DEVICES,
  isDeviceId,
  isEventType,
  isUserId,
  MAX_IDENTIFIER_LENGTH,
} from "./matrix-ids.js";
export {
  countRecipients,
  type NormalSendRequest,
  normalize,
  type RecipientGroup,
  toLegacyRequest,
  toRecipientsRequests,
} from "./normal-form.js";
export {
  isReservedType,
  RESERVED_TYPE_PREFIXES,
  RESERVED_TYPE_TABLE,
  RESERVED_TYPES,
  type ReservedType,
} from "./reserved-types.js";
export {
  type DeviceMessages,
  decodeSendRequest,
  encodeSendRequest,
  type LegacySendRequest,
  LegacySendRequestC,
  type LegacyWire,
  type RecipientDevices,
  type RecipientsSendRequest,
  RecipientsSendRequestC,
  type RecipientsWire,
  type RequestedScope,
  type ScopedSendRequest,
  ScopedSendRequestC,
  type ScopedWire,
  type SendRequest,
  SendRequestC,
  type SendRequestWire,
  sendRequestCodec,
} from "./send-request.js";
export {
  decodeSendToDeviceReply,
  encodeSendToDeviceReply,
  errorReply,
  partialReply,
  type SendToDeviceError,
  SendToDeviceErrorC,
  type SendToDeviceReply,
  SendToDeviceReplyC,
  type SendToDeviceReplyWire,
  successReply,
} from "./send-to-device-reply.js";
export {
  decodeToWidgetMessage,
  encodeToWidgetMessage,
  type ToWidgetMessage,
  ToWidgetMessageC,
  toWidgetMessageCodec,
} from "./to-widget-message.js";
