// @widget-todevice/driver: the host side of MSC3819 widget to-device messaging.

// The reply's shapes are the codec's (one home for every wire shape), under the names hosts know.
export type { DeliveryFailures, MatrixApiError } from "@widget-todevice/codec";
export { type AnswerDeadlineOptions, DEFAULT_ANSWER_DEADLINE } from "./answer-deadline.js";
export { supportedApiVersions } from "./api-versions.js";
export {
  describeToDeviceCapability,
  isGrantableToDeviceCapability,
  type RefusedToDeviceCapability,
  reviewToDeviceCapabilities,
  type ToDeviceCapabilityRequest,
  type ToDeviceCapabilityReview,
  validateToDeviceCapabilities,
} from "./capabilities.js";
export { type ChunkLimits, DEFAULT_CHUNK_LIMITS } from "./chunking.js";
export type { DeliveryFailureReason } from "./delivery-report.js";
export {
  decideEncryption,
  type EncryptionDecision,
  type EncryptionPolicy,
  type EncryptionPolicyMode,
  type EncryptionRequestContext,
  strictEncryption,
} from "./encryption-policy.js";
export { consoleLogger, type DriverLogger } from "./logger.js";
export { DEFAULT_RETRY_OPTIONS, type RetryOptions } from "./retry.js";
export {
  CANNOT_SEND_TYPE,
  MISSING_CONTENTS,
  MISSING_ENCRYPTION_FLAG,
  MISSING_TYPE,
} from "./send-request-checks.js";
export {
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_UPLOAD_BYTES_PER_SEND,
  type SendToDeviceMethod,
  ToDeviceDeliveryError,
  ToDeviceDriver,
  type ToDeviceDriverOptions,
  toDeviceErrorDetails,
} from "./to-device-driver.js";
export {
  DEFAULT_DEDUP_MAX_BYTES,
  DEFAULT_PRE_NEGOTIATION,
  type DeliveryStats,
  type DropReason,
  type IncomingTrust,
  type PreNegotiationOptions,
  type RetainedMemory,
} from "./to-device-router.js";
export {
  type DeviceAddress,
  type DeviceListOptions,
  type DeviceMessage,
  type EncryptedBatch,
  type EncryptionFailure,
  type EncryptionFailureReason,
  type ReceivedToDeviceEvent,
  type ReceivedToDeviceMessage,
  SendToDeviceError,
  type SendToDeviceErrorDetails,
  type ToDeviceEncryptionInfo,
  type ToDeviceTransport,
} from "./transport.js";
export {
  type BlockedWidgetMessage,
  type DisposeWidgetFrameGuard,
  guardWidgetFrame,
  type WidgetFrameGuardOptions,
} from "./widget-frame-guard.js";
export type { WidgetAttachment, WidgetBinding } from "./widget-session.js";
