/**
 * A small HTTP proxy between a client and Synapse that injects faults into
 * `PUT /_matrix/client/v3/sendToDevice/...`: 429 with `retry_after_ms`, 500s (before or after
 * Synapse took the request), slow answers, and connections dropped before or after Synapse took
 * the request. Everything else passes through untouched.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type Fault =
  /** 429 M_LIMIT_EXCEEDED with `retry_after_ms`; Synapse never sees the request. */
  | { readonly kind: "rate_limited"; readonly retryAfterMs: number }
  /** 500 with a Retry-After header in seconds instead of a body field. */
  | { readonly kind: "rate_limited_header"; readonly retryAfterSeconds: number }
  /** A 5xx; `afterForwarding`: Synapse accepted it, the client is told it failed. */
  | { readonly kind: "http_error"; readonly status: number; readonly afterForwarding?: boolean }
  /** Forwarded after `delayMs`. */
  | { readonly kind: "slow"; readonly delayMs: number }
  /** The connection is destroyed; `afterForwarding`: after Synapse accepted it. */
  | { readonly kind: "drop"; readonly afterForwarding?: boolean };

export interface ProxiedSend {
  readonly txnId: string;
  readonly eventType: string;
  /** What the client got: an HTTP status, or "dropped". */
  readonly outcome: number | "dropped";
  /** Whether Synapse saw (and accepted) the request. */
  readonly forwarded: boolean;
  readonly messageCount: number;
  /** The devices the request addressed, by user (`*` as sent). */
  readonly recipients: Readonly<Record<string, ReadonlyArray<string>>>;
  readonly bodyBytes: number;
  readonly at: number;
}

export class FaultProxy {
  /** Every `/sendToDevice` request, in the order their answers went out. */
  readonly sends: ProxiedSend[] = [];
  private readonly faults: Fault[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(target: string): Promise<FaultProxy> {
    let proxy!: FaultProxy;
    const server = createServer((req, res) => {
      proxy.handle(req, res, new URL(target)).catch((error: unknown) => {
        res.destroy(error instanceof Error ? error : new Error(String(error)));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    proxy = new FaultProxy(server, `http://127.0.0.1:${port}`);
    return proxy;
  }

  /** The next `/sendToDevice` requests meet these faults, one each, in order. */
  failNextSends(...faults: Fault[]): void {
    this.faults.push(...faults);
  }

  get pendingFaults(): number {
    return this.faults.length;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(
    req: IncomingMessage,
    res: import("node:http").ServerResponse,
    target: URL,
  ): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const match = /\/sendToDevice\/([^/]+)\/([^/?]+)/.exec(req.url ?? "");
    const fault = match !== null && req.method === "PUT" ? this.faults.shift() : undefined;
    const record = (outcome: number | "dropped", forwarded: boolean) => {
      if (match === null || req.method !== "PUT") return;
      const parsed = JSON.parse(body.toString("utf8") || "{}") as {
        messages?: Record<string, Record<string, unknown>>;
      };
      const messageCount = Object.values(parsed.messages ?? {}).reduce(
        (n, devices) => n + Object.keys(devices).length,
        0,
      );
      const recipients = Object.fromEntries(
        Object.entries(parsed.messages ?? {}).map(([user, devices]) => [
          user,
          Object.keys(devices),
        ]),
      );
      this.sends.push({
        txnId: decodeURIComponent(match[2] ?? ""),
        eventType: decodeURIComponent(match[1] ?? ""),
        outcome,
        forwarded,
        messageCount,
        recipients,
        bodyBytes: body.length,
        at: Date.now(),
      });
    };
    const json = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(JSON.stringify(payload));
    };

    if (fault?.kind === "rate_limited") {
      record(429, false);
      return json(429, {
        errcode: "M_LIMIT_EXCEEDED",
        error: "Too Many Requests",
        retry_after_ms: fault.retryAfterMs,
      });
    }
    if (fault?.kind === "rate_limited_header") {
      record(429, false);
      return json(
        429,
        { errcode: "M_LIMIT_EXCEEDED", error: "Too Many Requests" },
        { "retry-after": String(fault.retryAfterSeconds) },
      );
    }
    if (fault?.kind === "http_error" && fault.afterForwarding !== true) {
      record(fault.status, false);
      return json(fault.status, { errcode: "M_UNKNOWN", error: "Injected failure" });
    }
    if (fault?.kind === "drop" && fault.afterForwarding !== true) {
      record("dropped", false);
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "slow") await new Promise((r) => setTimeout(r, fault.delayMs));

    const upstream = await forward(req, body, target);
    if (fault?.kind === "http_error") {
      record(fault.status, true);
      return json(fault.status, { errcode: "M_UNKNOWN", error: "Injected failure after delivery" });
    }
    if (fault?.kind === "drop") {
      record("dropped", true);
      req.socket.destroy();
      return;
    }
    record(upstream.status, true);
    res.writeHead(upstream.status, upstream.headers);
    res.end(upstream.body);
  }
}

function forward(
  req: IncomingMessage,
  body: Buffer,
  target: URL,
): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers = { ...req.headers, host: target.host };
    const upstream = httpRequest(
      {
        hostname: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          const out: Record<string, string | string[]> = {};
          for (const [name, value] of Object.entries(response.headers))
            if (value !== undefined && name !== "transfer-encoding" && name !== "connection")
              out[name] = value;
          resolve({
            status: response.statusCode ?? 502,
            headers: out,
            body: Buffer.concat(chunks),
          });
        });
        response.on("error", reject);
      },
    );
    upstream.on("error", reject);
    upstream.end(body);
  });
}
