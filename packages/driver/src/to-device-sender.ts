import type {
  DeliveryFailures,
  JsonObject,
  MatrixApiError,
  NormalSendRequest,
  RecipientGroup,
} from "@widget-todevice/codec";
import { ALL_DEVICES } from "@widget-todevice/codec";
import { AnswerDeadline, PASSED } from "./answer-deadline.js";
import { ChunkBuilder, type ChunkLimits, type SizedMessage } from "./chunking.js";
import { FailureCollector, matrixApiErrorOf, reasonOf } from "./delivery-report.js";
import { decideEncryption, type EncryptionPolicy } from "./encryption-policy.js";
import type { DriverLogger } from "./logger.js";
import { estimatedMessageBytes, jsonByteLength } from "./message-size.js";
import type { RecipientOrder } from "./ordering.js";
import { type RetryOptions, sendWithRetry } from "./retry.js";
import { TIMED_OUT, withinTime } from "./time-limit.js";
import {
  type DeviceAddress,
  type DeviceMessage,
  SendToDeviceError,
  type ToDeviceTransport,
} from "./transport.js";
import { Uploads } from "./uploads.js";
import { WorkSlices } from "./work-slices.js";

// Sections 3.3, 5 and 6: from a decoded request to accepted `/sendToDevice` requests. A send
// decides its encryption when its turn comes, sizes each content once, refuses what cannot fit
// before expanding to devices, and works in slices that give the host's event loop a turn.

export interface SenderConfig {
  readonly transport: ToDeviceTransport;
  readonly encryptionPolicy: EncryptionPolicy;
  readonly allowGlobalCleartext: boolean;
  readonly chunkLimits: ChunkLimits;
  readonly retry: RetryOptions;
  /** The homeserver's cap on one device message (Synapse: 65,536 bytes). */
  readonly maxMessageBytes: number;
  /** Most bytes of device messages one send may upload, estimated before it expands. */
  readonly maxUploadBytesPerSend: number;
  /** How long a device list lookup may take before its users are reported. */
  readonly deviceListTimeoutMs: number;
  /** `/sendToDevice` requests of one send in flight at once. */
  readonly maxConcurrentRequests: number;
  readonly logger: DriverLogger;
}

/** Who is sending: the widget's binding. */
export interface SendContext {
  readonly roomId: string | null;
  /**
   * Whether the room is encrypted now. Read when the send's turn comes and again before each
   * cleartext `/sendToDevice` request (section 5): a room can become encrypted meanwhile.
   */
  readonly roomEncrypted: () => boolean;
  /** The default `scope.id` (section 3.3): the widget's type. */
  readonly widgetType: string;
  /** The widget's lanes: sends to the same users leave in order. */
  readonly order: RecipientOrder;
  /** Aborted when the widget is detached: no new request starts, no retry waits. */
  readonly signal?: AbortSignal | undefined;
  /**
   * How long the widget waits for the answer, less a margin (section 6): the send is answered
   * by then, and nothing of it is sent afterwards.
   */
  readonly answerDeadlineMs: number;
}

export type SendResult =
  /** Something was delivered, or there was nobody to send to; `failures` lists what was not. */
  | { readonly kind: "delivered"; readonly failures?: DeliveryFailures }
  /** Refused before anything was sent (policy, scope, upload budget). */
  | { readonly kind: "refused"; readonly message: string }
  /** Nothing was delivered. */
  | {
      readonly kind: "failed";
      readonly message: string;
      readonly failures: DeliveryFailures;
      readonly matrixApiError?: MatrixApiError;
    };

let txnCounter = 0;
const txnPrefix = `wtd${Date.now().toString(36)}${Math.floor(Math.random() * 2 ** 32).toString(36)}`;

/** Unique per client and stable across the retries of one chunk (section 6). */
function newTxnId(): string {
  txnCounter++;
  return `${txnPrefix}.${txnCounter}`;
}

/** Stamps the room scope into every group's content (section 3.3). */
function scoped(request: NormalSendRequest, context: SendContext): ReadonlyArray<RecipientGroup> {
  if (request.scope === undefined || context.roomId === null) return request.groups;
  const scope = { room_id: context.roomId, id: request.scope.id ?? context.widgetType };
  return request.groups.map((group) => ({ ...group, content: { ...group.content, scope } }));
}

function usersOf(groups: ReadonlyArray<RecipientGroup>): string[] {
  const users = new Set<string>();
  for (const group of groups) for (const userId of Object.keys(group.recipients)) users.add(userId);
  return [...users];
}

const MIB = 1_048_576;
const mebibytes = (bytes: number): string =>
  `${(bytes / MIB).toFixed(bytes < 10 * MIB ? 1 : 0)} MiB`;

/** The device lists of one send, with one set per user for explicit device IDs. */
class KnownDevices {
  private readonly sets = new Map<string, ReadonlySet<string>>();

  constructor(readonly lists: ReadonlyMap<string, ReadonlyArray<string>> | typeof TIMED_OUT) {}

  get timedOut(): boolean {
    return this.lists === TIMED_OUT;
  }

  list(userId: string): ReadonlyArray<string> | undefined {
    return this.lists === TIMED_OUT ? undefined : this.lists.get(userId);
  }

  /** Whether a listed user has the device; the user's set is built on first use, once. */
  has(userId: string, deviceId: string): boolean {
    let set = this.sets.get(userId);
    if (set === undefined) {
      set = new Set(this.list(userId));
      this.sets.set(userId, set);
    }
    return set.has(deviceId);
  }
}

/**
 * Below this many devices a group is encrypted in one call: encryption is quick, and each call
 * is one session check by matrix-js-sdk. Batches are never smaller.
 */
const MIN_DEVICES_PER_BATCH = 256;

/** One `/sendToDevice` request of a send, ready to leave. */
interface Upload {
  readonly eventType: string;
  readonly chunk: ReadonlyArray<SizedMessage>;
}

/** One device of every user first (section 6's pipeline: see `deliver`), then the others. */
function usersFirst(targets: ReadonlyArray<DeviceAddress>): {
  ordered: ReadonlyArray<DeviceAddress>;
  users: number;
} {
  const firsts: DeviceAddress[] = [];
  const rest: DeviceAddress[] = [];
  const seen = new Set<string>();
  for (const target of targets) {
    if (seen.has(target.userId)) rest.push(target);
    else {
      seen.add(target.userId);
      firsts.push(target);
    }
  }
  return { ordered: rest.length === 0 ? firsts : firsts.concat(rest), users: firsts.length };
}

/** Devices by user then ID: no key string built per device. */
class DeviceSet {
  private readonly users = new Map<string, Set<string>>();

  add({ userId, deviceId }: DeviceAddress): void {
    let devices = this.users.get(userId);
    if (devices === undefined) {
      devices = new Set();
      this.users.set(userId, devices);
    }
    devices.add(deviceId);
  }

  has({ userId, deviceId }: DeviceAddress): boolean {
    return this.users.get(userId)?.has(deviceId) === true;
  }
}

/** Resolves when `promise` settles or after `ms`, whichever comes first; never rejects. */
function settledWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    promise.then(done, done);
  });
}

/** The reason for the devices of a request that failed for good with `error`. */
function requestFailureReason(error: SendToDeviceError): string {
  // No HTTP answer: the homeserver may have processed the request and only the answer was lost.
  return error.isNetworkError ? "outcome_unknown" : reasonOf(error);
}

/** One group's content, sized once (section 6). */
interface SizedGroup {
  readonly group: RecipientGroup;
  readonly contentBytes: number;
}

/** What one send decided when its turn came. */
interface SendPlan {
  readonly type: string;
  readonly encrypt: boolean;
  /** The request's flag, for the policy checks before each cleartext request. */
  readonly requested: boolean | undefined;
  readonly context: SendContext;
}

interface Attempt {
  readonly deadline: AnswerDeadline;
  readonly failures: FailureCollector;
  /** Every `/sendToDevice` request started, settled or not: the lane waits for them. */
  readonly requests: Promise<unknown>[];
  delivered: number;
  lastHttpError: SendToDeviceError | undefined;
  /** Set once the policy refused cleartext at a request's departure: no more go out in clear. */
  cleartextRefused: boolean;
}

export class ToDeviceSender {
  constructor(private readonly config: SenderConfig) {}

  /**
   * Sends a decoded request. Resolves when every `/sendToDevice` request was accepted or gave
   * up; never rejects. The place in line is taken synchronously, before the first `await`.
   */
  send(request: NormalSendRequest, context: SendContext): Promise<SendResult> {
    if (request.scope !== undefined && context.roomId === null) {
      return Promise.resolve({
        kind: "refused",
        message:
          "a widget that is not bound to a room cannot send scoped messages: there is no room to scope them to",
      });
    }
    const groups = scoped(request, context);
    // The deadline runs from now: the widget's clock started when it posted the request.
    const deadline = new AnswerDeadline(context.answerDeadlineMs, context.signal);
    const turn = context.order.take(usersOf(groups));
    const attempt: Attempt = {
      deadline,
      failures: new FailureCollector(),
      requests: [],
      delivered: 0,
      lastHttpError: undefined,
      cleartextRefused: false,
    };
    const answer = deadline
      .race(turn.ready)
      .then((ready) =>
        // Still waiting for its turn at the deadline: nothing of it will ever be sent.
        ready === PASSED
          ? this.ranOutOfTime(groups, attempt)
          : this.sendInTurn(request, groups, context, attempt),
      )
      .catch((error: unknown): SendResult => {
        this.config.logger.error("to-device send failed unexpectedly", error);
        return { kind: "failed", message: `the send failed: ${String(error)}`, failures: {} };
      });
    void answer.then(() => {
      deadline.dispose();
      if (deadline.passed)
        this.config.logger.warn(
          `to-device send answered at its ${deadline.ms} ms deadline; nothing more of it is sent`,
        );
      // Later sends to the same users wait for this one's turn and for its requests to settle,
      // so that a request answered late cannot land after a later one (section 6's order). A
      // request the transport never settles holds the lane no longer than the retry deadline.
      const settled = settledWithin(Promise.all(attempt.requests), this.config.retry.deadlineMs);
      void Promise.all([turn.ready, settled]).then(() => turn.release());
    });
    return answer;
  }

  /**
   * The answer when the deadline passed before any request of the send left: every recipient
   * not reported yet is reported `deadline`, as the widget named it.
   */
  private ranOutOfTime(groups: ReadonlyArray<RecipientGroup>, attempt: Attempt): SendResult {
    this.reportDeadline(groups, attempt);
    return this.result(attempt, false);
  }

  /** Reports every recipient of `groups` not reported yet `deadline`, as the widget named it. */
  private reportDeadline(groups: ReadonlyArray<RecipientGroup>, attempt: Attempt): void {
    for (const group of groups) {
      for (const userId of Object.keys(group.recipients)) {
        for (const deviceId of group.recipients[userId] ?? []) {
          if (!attempt.failures.has(userId, deviceId))
            attempt.failures.add(userId, deviceId, "deadline");
        }
      }
    }
  }

  /** Section 5 as the room is now. */
  private decide(requested: boolean | undefined, context: SendContext) {
    return decideEncryption(this.config.encryptionPolicy, {
      roomId: context.roomId,
      roomEncrypted: context.roomEncrypted(),
      requested,
      allowGlobalCleartext: this.config.allowGlobalCleartext,
    });
  }

  private async sendInTurn(
    request: NormalSendRequest,
    groups: ReadonlyArray<RecipientGroup>,
    context: SendContext,
    attempt: Attempt,
  ): Promise<SendResult> {
    // Decided when the turn comes, not when queued: earlier sends may have taken a while.
    const decision = this.decide(request.encrypted, context);
    if (decision.kind === "refused") return decision;
    // Sending to nobody is a truthful success (ADR 0003), and nothing goes out.
    if (groups.every((group) => Object.keys(group.recipients).length === 0))
      return { kind: "delivered" };
    return this.deliver(
      groups,
      {
        type: request.type,
        encrypt: decision.kind === "encrypt",
        requested: request.encrypted,
        context,
      },
      attempt,
    );
  }

  private async deliver(
    groups: ReadonlyArray<RecipientGroup>,
    plan: SendPlan,
    attempt: Attempt,
  ): Promise<SendResult> {
    const { encrypt, context } = plan;
    const { deadline } = attempt;
    if (context.signal?.aborted) return this.result(attempt, true);
    const slices = new WorkSlices();
    const lists = await deadline.race(this.deviceLists(usersOf(groups), encrypt));
    slices.restart();
    if (lists === PASSED) return this.ranOutOfTime(groups, attempt);
    const known = new KnownDevices(lists);

    const sized = await this.sizeGroups(groups, attempt.failures, slices);
    const upload = await this.estimateUpload(sized, known, encrypt, slices);
    if (upload.bytes > this.config.maxUploadBytesPerSend) {
      return {
        kind: "refused",
        message:
          `the send would upload about ${mebibytes(upload.bytes)} (${upload.devices} device messages), ` +
          `more than this host allows for one send (${mebibytes(this.config.maxUploadBytesPerSend)}, ` +
          "`maxUploadBytesPerSend`); send a smaller content or to fewer devices at a time",
      };
    }

    const chunks = new ChunkBuilder(this.config.chunkLimits);
    const uploads = new Uploads<Upload>(this.config.maxConcurrentRequests, async (next) => {
      // A transport that answers at once (in memory) would otherwise send them all in one go.
      if (slices.spent(next.chunk.length)) await slices.pause();
      await this.sendChunk(next.eventType, next.chunk, attempt, plan);
      slices.restart();
    });
    let wireType = plan.type;
    eachGroup: for (const [g, { group, contentBytes }] of sized.entries()) {
      const targets = await this.resolve(group, known, encrypt, attempt.failures, slices);
      if (targets.length === 0) continue;
      if (!encrypt) {
        // One content for every device: its size is known already.
        for (const target of targets) {
          chunks.add({ ...target, content: group.content, bytes: contentBytes });
          if (slices.spent(1)) await slices.pause();
        }
        continue;
      }
      // Section 6's pipeline: a large group is encrypted in batches, and each request that is
      // full leaves while the next batch is encrypted. The first batch names every user.
      let size = this.devicesPerBatch(contentBytes);
      const { ordered, users } =
        targets.length <= size ? { ordered: targets, users: 0 } : usersFirst(targets);
      size = Math.max(users, size);
      for (let done = 0; done < ordered.length; ) {
        const batchTargets = ordered.slice(done, done + size);
        const batch = await deadline.race(
          this.encrypt(plan.type, batchTargets, group.content, attempt, slices),
        );
        if (batch === PASSED) {
          // Nothing has left yet: a send that ran out of time while preparing sends nothing.
          if (uploads.started === 0) return this.ranOutOfTime(groups, attempt);
          // Some requests left: the devices not encrypted yet are reported, and nothing more
          // leaves (the chunks still open report their devices when their turn comes).
          for (const t of ordered.slice(done))
            attempt.failures.add(t.userId, t.deviceId, "deadline");
          this.reportDeadline(
            sized.slice(g + 1).map((later) => later.group),
            attempt,
          );
          break eachGroup;
        }
        done += batchTargets.length;
        if (batch === undefined) continue;
        wireType = batch.eventType;
        // Section 6: each ciphertext is checked against the per-message cap.
        for (const message of batch.messages) {
          const bytes = jsonByteLength(message.content);
          if (bytes > this.config.maxMessageBytes)
            attempt.failures.add(message.userId, message.deviceId, "too_large");
          else chunks.add({ ...message, bytes });
          if (slices.spent(1 + bytes / 1024)) await slices.pause();
        }
        if (done === ordered.length || deadline.passed) continue;
        for (const chunk of chunks.takeClosed()) uploads.add({ eventType: wireType, chunk });
        // The next batch closes the open request, now that ciphertexts' sizes are known.
        size = Math.max(MIN_DEVICES_PER_BATCH, chunks.messagesToClose() ?? size);
      }
    }
    // Nothing has left yet: a send that ran out of time while preparing sends nothing.
    if (deadline.passed && uploads.started === 0) return this.ranOutOfTime(groups, attempt);
    for (const chunk of chunks.finish()) uploads.add({ eventType: wireType, chunk });
    await uploads.drained();
    return this.result(attempt, context.signal?.aborted === true);
  }

  /**
   * How many devices one encryption call takes (section 6's pipeline): about a request and a
   * quarter of ciphertexts, so that a request is full before the next batch is encrypted, and
   * never fewer than `MIN_DEVICES_PER_BATCH`.
   */
  private devicesPerBatch(contentBytes: number): number {
    const { maxMessagesPerRequest, maxBytesPerRequest } = this.config.chunkLimits;
    const perRequest = Math.min(
      maxMessagesPerRequest,
      Math.floor(maxBytesPerRequest / estimatedMessageBytes(contentBytes, true)),
    );
    return Math.max(MIN_DEVICES_PER_BATCH, Math.ceil(perRequest * 1.25));
  }

  /**
   * Sizes each group's content once. One that is over the per-message cap cannot fit on any
   * device, encrypted or not (a ciphertext is larger than its plaintext): its recipients are
   * reported `too_large` as the widget named them, before anything is expanded or encrypted.
   */
  private async sizeGroups(
    groups: ReadonlyArray<RecipientGroup>,
    failures: FailureCollector,
    slices: WorkSlices,
  ): Promise<SizedGroup[]> {
    const sized: SizedGroup[] = [];
    for (const group of groups) {
      const contentBytes = jsonByteLength(group.content);
      if (slices.spent(1 + contentBytes / 1024)) await slices.pause();
      if (contentBytes <= this.config.maxMessageBytes) {
        sized.push({ group, contentBytes });
        continue;
      }
      for (const userId of Object.keys(group.recipients)) {
        for (const deviceId of group.recipients[userId] ?? []) {
          failures.add(userId, deviceId, "too_large");
          if (slices.spent(1)) await slices.pause();
        }
      }
    }
    return sized;
  }

  /**
   * The bytes the send would upload (section 6's budget): each content's size times the device
   * messages it becomes, before anything is expanded or encrypted. A cleartext `*` is one
   * message (the homeserver fans it out); an encrypted `*` is one per listed device.
   */
  private async estimateUpload(
    sized: ReadonlyArray<SizedGroup>,
    known: KnownDevices,
    encrypt: boolean,
    slices: WorkSlices,
  ): Promise<{ bytes: number; devices: number }> {
    let bytes = 0;
    let devices = 0;
    for (const { group, contentBytes } of sized) {
      const perDevice = estimatedMessageBytes(contentBytes, encrypt);
      for (const userId of Object.keys(group.recipients)) {
        const requested = group.recipients[userId] ?? [];
        const count =
          encrypt && requested[0] === ALL_DEVICES
            ? (known.list(userId)?.length ?? 0)
            : requested.length;
        devices += count;
        bytes += count * perDevice;
        if (slices.spent(1)) await slices.pause();
      }
    }
    return { bytes, devices };
  }

  /** Device lists for the send: fetched for encrypted sends, what is tracked for cleartext. */
  private async deviceLists(
    userIds: ReadonlyArray<string>,
    encrypt: boolean,
  ): Promise<ReadonlyMap<string, ReadonlyArray<string>> | typeof TIMED_OUT> {
    try {
      return await withinTime(
        this.config.transport.getUserDevices(userIds, { downloadUncached: encrypt }),
        this.config.deviceListTimeoutMs,
      );
    } catch (error) {
      this.config.logger.warn("device list lookup failed", error);
      return TIMED_OUT;
    }
  }

  /**
   * The devices of one group (section 6): `*` expanded for encrypted sends, kept for cleartext;
   * devices missing from the list reported as `unknown_device` wherever there is a list.
   */
  private async resolve(
    group: RecipientGroup,
    known: KnownDevices,
    encrypt: boolean,
    failures: FailureCollector,
    slices: WorkSlices,
  ): Promise<DeviceAddress[]> {
    const targets: DeviceAddress[] = [];
    for (const userId of Object.keys(group.recipients)) {
      const requested = group.recipients[userId] ?? [];
      const list = known.list(userId);
      if (encrypt && list === undefined) {
        // No list at all: nothing can be encrypted for this user.
        for (const deviceId of requested) {
          const reason = known.timedOut
            ? "device_list_timeout"
            : deviceId === ALL_DEVICES
              ? "no_devices"
              : "unknown_device";
          failures.add(userId, deviceId, reason);
        }
        continue;
      }
      for (const deviceId of requested) {
        if (deviceId === ALL_DEVICES) {
          if (list !== undefined && list.length === 0)
            failures.add(userId, ALL_DEVICES, "no_devices");
          else if (encrypt && list !== undefined)
            for (const id of list) targets.push({ userId, deviceId: id });
          else targets.push({ userId, deviceId });
        } else if (list !== undefined && !known.has(userId, deviceId)) {
          failures.add(userId, deviceId, "unknown_device");
        } else {
          targets.push({ userId, deviceId });
        }
        if (slices.spent(1)) await slices.pause();
      }
    }
    return targets;
  }

  private async encrypt(
    type: string,
    targets: ReadonlyArray<DeviceAddress>,
    content: JsonObject,
    attempt: Attempt,
    slices: WorkSlices,
  ): Promise<{ eventType: string; messages: ReadonlyArray<DeviceMessage> } | undefined> {
    try {
      const batch = await this.config.transport.encryptToDeviceMessages(type, targets, content);
      slices.restart();
      for (const failure of batch.failures)
        attempt.failures.add(failure.userId, failure.deviceId, failure.reason);
      // A device the encryption layer skipped without saying why is still reported. In slices:
      // at 1,000 devices these passes are milliseconds the host would otherwise wait through.
      const covered = new DeviceSet();
      for (const m of batch.messages) {
        covered.add(m);
        if (slices.spent(1)) await slices.pause();
      }
      for (const f of batch.failures) covered.add(f);
      for (const target of targets) {
        if (!covered.has(target))
          attempt.failures.add(target.userId, target.deviceId, "no_olm_session");
        if (slices.spent(1)) await slices.pause();
      }
      return batch;
    } catch (error) {
      const sendError = error instanceof SendToDeviceError ? error : undefined;
      if (sendError?.httpStatus !== undefined) attempt.lastHttpError = sendError;
      const reason = sendError === undefined ? "encryption_failed" : reasonOf(sendError);
      this.config.logger.warn("to-device encryption failed", error);
      for (const target of targets) attempt.failures.add(target.userId, target.deviceId, reason);
      return undefined;
    }
  }

  /**
   * Section 5 when a cleartext request leaves: the room may have become encrypted since the
   * send's turn came. Once refused, nothing more of the send goes out in clear.
   */
  private mayLeaveInClear(plan: SendPlan, attempt: Attempt): boolean {
    if (plan.encrypt) return true;
    if (!attempt.cleartextRefused) {
      const decision = this.decide(plan.requested, plan.context);
      attempt.cleartextRefused = decision.kind !== "cleartext";
    }
    return !attempt.cleartextRefused;
  }

  private async sendChunk(
    eventType: string,
    chunk: ReadonlyArray<SizedMessage>,
    attempt: Attempt,
    plan: SendPlan,
  ): Promise<void> {
    const { deadline } = attempt;
    const report = (reason: string) => {
      for (const m of chunk) attempt.failures.add(m.userId, m.deviceId, reason);
    };
    if (plan.context.signal?.aborted) return report("cancelled");
    if (deadline.passed) return report("deadline");
    const txnId = newTxnId();
    const wire: DeviceMessage[] = chunk.map(({ userId, deviceId, content }) => ({
      userId,
      deviceId,
      content,
    }));
    let withheld = false;
    let stopped = false;
    let lastError: SendToDeviceError | undefined;
    let unanswered = false;
    const outcome = await sendWithRetry(
      async () => {
        // Checked before every attempt, retries included.
        if (deadline.passed) {
          stopped = true;
          return;
        }
        if (!this.mayLeaveInClear(plan, attempt)) {
          withheld = true;
          return;
        }
        const request = this.config.transport.sendToDevice(eventType, wire, txnId);
        attempt.requests.push(request.catch(() => undefined));
        try {
          // In flight at the deadline: answered now, its outcome unknown.
          if ((await deadline.race(request)) === PASSED) unanswered = true;
        } catch (error) {
          // What the retry saw: an unclassified error counts as no answer, as in `retry.ts`.
          lastError =
            error instanceof SendToDeviceError
              ? error
              : new SendToDeviceError(error instanceof Error ? error.message : String(error));
          throw error;
        }
      },
      // No retry may wait past the answer deadline.
      {
        ...this.config.retry,
        deadlineMs: Math.min(this.config.retry.deadlineMs, deadline.remainingMs()),
      },
      deadline.stop,
    );
    if (withheld) return report("cleartext_refused");
    if (unanswered) return report("outcome_unknown");
    if (stopped)
      return report(lastError === undefined ? "deadline" : requestFailureReason(lastError));
    if (outcome.kind === "accepted") {
      attempt.delivered += chunk.length;
      return;
    }
    if (outcome.error.httpStatus !== undefined) attempt.lastHttpError = outcome.error;
    this.config.logger.warn(
      `to-device request ${txnId} failed after ${outcome.attempts} attempt(s): ${outcome.error.message}`,
    );
    report(requestFailureReason(outcome.error));
  }

  /** Why nothing was delivered, in the words of section 6's reasons. */
  private failureMessage(failures: DeliveryFailures, deadline: AnswerDeadline): string {
    const counts = countReasons(failures);
    // `unknown_device: 2, http_500: 1`
    const summary = [...counts].map(([reason, n]) => `${reason}: ${n}`).join(", ");
    if (counts.has("outcome_unknown"))
      return `the outcome is unknown: the homeserver's answer was lost or did not come in time, so the message may have been delivered (${summary})`;
    if (counts.has("deadline"))
      return `the answer deadline of ${deadline.ms} ms passed before the message could be sent; nothing more of it will be sent (${summary})`;
    return `no device received the message (${summary})`;
  }

  private result(attempt: Attempt, cancelled: boolean): SendResult {
    const failures = attempt.failures.toJSON();
    if (attempt.delivered > 0) {
      return attempt.failures.size === 0 ? { kind: "delivered" } : { kind: "delivered", failures };
    }
    const apiError =
      attempt.lastHttpError === undefined ? undefined : matrixApiErrorOf(attempt.lastHttpError);
    const message = cancelled
      ? "the widget was detached before the message was sent"
      : attempt.failures.size === 0
        ? "no device to send to"
        : this.failureMessage(failures, attempt.deadline);
    return {
      kind: "failed",
      message,
      failures,
      ...(apiError === undefined ? {} : { matrixApiError: apiError }),
    };
  }
}

/** How many devices failed for each reason. */
function countReasons(failures: DeliveryFailures): Map<string, number> {
  const counts = new Map<string, number>();
  for (const devices of Object.values(failures)) {
    for (const reason of Object.values(devices)) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  return counts;
}
