import {
  type CodecIssue,
  type ContentScope,
  formatIssues,
  type JsonObject,
  readScope,
  type ToWidgetMessage,
} from "@widget-todevice/codec";
import {
  type ContentOf,
  type ContentValidation,
  type ContentValidator,
  isContentValidator,
  validateContent,
} from "./content-validator.js";
import { ToDeviceReceiveError } from "./errors.js";

// Section 7: what a widget receives, validated, per event type.

/** A message as a handler gets it: the host's section 7 fields, the content validated. */
export interface ReceivedToDeviceMessage<C = JsonObject> {
  readonly type: string;
  readonly sender: string;
  /** How the host received it, not what the message claims. */
  readonly encrypted: boolean;
  readonly content: C;
  /** The sender's device, authenticated by decryption: from hosts that give it (encrypted only). */
  readonly sender_device?: string;
  /** Whether that device is verified: from hosts that give it (encrypted only). */
  readonly sender_verified?: boolean;
  /** The room scope the host stamped into the content (section 3.3), if any. */
  readonly scope?: ContentScope;
}

export type ToDeviceHandler<C> = (message: ReceivedToDeviceMessage<C>) => void | Promise<void>;

export type ReceiveErrorHandler = (error: ToDeviceReceiveError) => void;

/** How `subscribe()` checks and reports: the content's validator, an error handler, a signal. */
export interface SubscribeOptions<V extends ContentValidator | undefined = undefined> {
  /**
   * Checks each content and types it for the handler: a Standard Schema (zod 4, valibot 1,
   * arktype 2, ...), an io-ts codec, or a type guard. A content it refuses reaches no handler:
   * it goes to `onError` as `invalid_content`. Without it, handlers get the content as JSON.
   * A schema that validates asynchronously delays delivery, never reorders one sender's messages.
   */
  readonly content?: V;
  /** Messages of this subscription that fail (bad content, a throwing handler); default the widget's `onError`. */
  readonly onError?: ReceiveErrorHandler;
  /** Unsubscribes when aborted. */
  readonly signal?: AbortSignal;
}

/** `subscribe()`'s options, plus the bound on unread messages of `messages()`. */
export interface MessagesOptions<V extends ContentValidator | undefined = undefined>
  extends SubscribeOptions<V> {
  /**
   * How many unread messages wait before the oldest is dropped (and reported to `onError` as
   * `buffer_full`). Default 1,000.
   */
  readonly maxBuffered?: number;
}

/** Stops a subscription. Calling it again does nothing. */
export type Unsubscribe = () => void;

interface Subscription {
  readonly validator: ContentValidator | undefined;
  readonly handler: ToDeviceHandler<unknown>;
  readonly onError: ReceiveErrorHandler | undefined;
  /** Per sender, the last delivery still waiting for an asynchronous validation. */
  readonly waiting: Map<string, Promise<void>>;
  active: boolean;
}

/** Checks what `subscribe()` and `messages()` were given: plain JavaScript callers get no compiler. */
export function checkSubscription(handler: unknown, options: unknown): void {
  if (typeof handler !== "function") {
    throw new TypeError(
      `subscribe(type, handler, options): the handler must be a function, not ${handler === null ? "null" : typeof handler} (a validator goes in options.content)`,
    );
  }
  checkOptions(options);
}

export function checkOptions(options: unknown): void {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      "the subscription's options must be an object, for example { content: Ping }",
    );
  }
  const content = (options as { content?: unknown }).content;
  if (content !== undefined && !isContentValidator(content)) {
    throw new TypeError(
      "options.content must be a Standard Schema (zod, valibot, arktype, ...), an io-ts codec or a type guard",
    );
  }
}

/** The subscriptions of one widget, by event type. */
export class SubscriptionRegistry {
  private readonly byType = new Map<string, Set<Subscription>>();

  add<V extends ContentValidator | undefined>(
    type: string,
    handler: ToDeviceHandler<ContentOf<V>>,
    options: SubscribeOptions<V>,
  ): Unsubscribe {
    const subscription: Subscription = {
      validator: options.content,
      handler: handler as ToDeviceHandler<unknown>,
      onError: options.onError,
      waiting: new Map(),
      active: true,
    };
    let set = this.byType.get(type);
    if (set === undefined) {
      set = new Set();
      this.byType.set(type, set);
    }
    set.add(subscription);
    const unsubscribe = (): void => {
      subscription.active = false;
      const current = this.byType.get(type);
      current?.delete(subscription);
      if (current?.size === 0) this.byType.delete(type);
      options.signal?.removeEventListener("abort", unsubscribe);
    };
    if (options.signal?.aborted === true) unsubscribe();
    else options.signal?.addEventListener("abort", unsubscribe, { once: true });
    return unsubscribe;
  }

  clear(): void {
    for (const set of this.byType.values()) {
      for (const subscription of set) subscription.active = false;
    }
    this.byType.clear();
  }

  /**
   * Hands `message` to every subscription of its type. Nothing thrown here or by a handler
   * escapes: failures go to `report`, so the host's request is always answered.
   */
  dispatch(message: ToWidgetMessage, report: ReceiveErrorHandler): void {
    const subscriptions = this.byType.get(message.type);
    if (subscriptions === undefined) return;
    const scope = readScope(message.content);
    const base = {
      type: message.type,
      sender: message.sender,
      encrypted: message.encrypted,
      ...(message.sender_device === undefined ? {} : { sender_device: message.sender_device }),
      ...(message.sender_verified === undefined
        ? {}
        : { sender_verified: message.sender_verified }),
      ...(scope === undefined ? {} : { scope }),
    };
    // A copy: a handler may unsubscribe, or subscribe others, while this runs.
    for (const subscription of [...subscriptions]) {
      const deliver = (validation: ContentValidation): void => {
        // Unsubscribed (or closed) while its validation ran: nothing more for this handler.
        if (!subscription.active) return;
        const fail = (error: ToDeviceReceiveError): void => {
          safely(subscription.onError ?? report, error);
        };
        if (!validation.valid) {
          fail(invalidContent(message, validation.issues, validation.cause));
          return;
        }
        try {
          const result = subscription.handler({ ...base, content: validation.content });
          // Any thenable: a handler's promise may come from another realm or library.
          if (typeof (result as PromiseLike<void> | undefined)?.then === "function") {
            (result as PromiseLike<void>).then(undefined, (error: unknown) => {
              fail(handlerError(message, error));
            });
          }
        } catch (error) {
          fail(handlerError(message, error));
        }
      };
      const validation: ContentValidation | Promise<ContentValidation> =
        subscription.validator === undefined
          ? { valid: true, content: message.content }
          : validateContent(subscription.validator, message.content);
      const earlier = subscription.waiting.get(message.sender);
      if (earlier === undefined && !(validation instanceof Promise)) {
        deliver(validation);
        continue;
      }
      // One sender's messages reach the handler in the order they arrived, however long each
      // validation takes; other senders do not wait for this one.
      const sender = message.sender;
      const delivered = (earlier ?? Promise.resolve()).then(() => validation).then(deliver);
      subscription.waiting.set(sender, delivered);
      void delivered.then(() => {
        if (subscription.waiting.get(sender) === delivered) subscription.waiting.delete(sender);
      });
    }
  }
}

function invalidContent(
  message: ToWidgetMessage,
  issues: ReadonlyArray<CodecIssue>,
  cause: unknown,
): ToDeviceReceiveError {
  return new ToDeviceReceiveError(
    `${message.type} from ${message.sender}: content refused by the subscription's validator (${formatIssues(issues)})`,
    {
      reason: "invalid_content",
      data: message,
      type: message.type,
      sender: message.sender,
      issues,
      ...(cause === undefined ? {} : { cause }),
    },
  );
}

function handlerError(message: ToWidgetMessage, cause: unknown): ToDeviceReceiveError {
  return new ToDeviceReceiveError(`a handler for ${message.type} failed: ${String(cause)}`, {
    reason: "handler_failed",
    data: message,
    type: message.type,
    sender: message.sender,
    cause,
  });
}

/** Calls an error handler; one that throws is logged, never rethrown into the host. */
export function safely(handler: ReceiveErrorHandler, error: ToDeviceReceiveError): void {
  try {
    handler(error);
  } catch (thrown) {
    console.error("to-device error handler threw", thrown, error);
  }
}

/** How many unread messages `messages()` keeps by default before dropping the oldest. */
export const DEFAULT_MAX_BUFFERED = 1_000;

/**
 * An async iterator over a subscription. Messages wait in memory until read, at most
 * `maxBuffered` of them: past that the oldest is dropped and handed to `onDrop`, so that an
 * iterator nobody reads cannot grow without bound. `return()` (a `break` out of `for await`)
 * or `signal` ends it and unsubscribes.
 */
export function messageStream<C>(
  subscribe: (handler: ToDeviceHandler<C>) => Unsubscribe,
  signal: AbortSignal | undefined,
  maxBuffered: number,
  onDrop: (message: ReceivedToDeviceMessage<C>) => void,
): AsyncIterableIterator<ReceivedToDeviceMessage<C>> {
  type Message = ReceivedToDeviceMessage<C>;
  const queue: Message[] = [];
  const waiting: Array<(result: IteratorResult<Message>) => void> = [];
  let done = false;
  const unsubscribe = subscribe((message) => {
    const next = waiting.shift();
    if (next !== undefined) {
      next({ value: message, done: false });
      return;
    }
    queue.push(message);
    if (queue.length > maxBuffered) onDrop(queue.shift() as Message);
  });
  const finish = (): IteratorResult<Message> => {
    if (!done) {
      done = true;
      unsubscribe();
      signal?.removeEventListener("abort", finish);
      for (const next of waiting.splice(0)) next({ value: undefined, done: true });
    }
    queue.length = 0;
    return { value: undefined, done: true };
  };
  if (signal?.aborted === true) finish();
  else signal?.addEventListener("abort", finish, { once: true });
  return {
    next(): Promise<IteratorResult<Message>> {
      const message = queue.shift();
      if (message !== undefined) return Promise.resolve({ value: message, done: false });
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => waiting.push(resolve));
    },
    return(): Promise<IteratorResult<Message>> {
      return Promise.resolve(finish());
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
