// A client of the gateway's WebSocket /v1/stream (protocol: gateway/stream.py's docstring, README "WebSocket
// /v1/stream"). One socket per page; components subscribe to topics (job:<id>, account:<0xaddr>,
// open-jobs:<node id>, telemetry:<node id>) and get every message for them. It keeps the cursor of the last
// message and, after a dropped connection, reconnects with backoff and resubscribes with that cursor, so the
// gateway replays exactly what was missed (a `reorg` first when the chain rolled back below it).
import { useEffect, useRef, useSyncExternalStore } from "react";

export interface StreamEvent {
  type: "event";
  topic: string;
  topics: string[];
  cursor: string;
  block: number;
  log_index: number;
  event: string;
  contract: string;
  args: Record<string, unknown>;
  tx: string;
}
export interface StreamReorg {
  type: "reorg";
  block: number; // the common ancestor: forget everything after it
  depth?: number;
  old_tip?: number;
  cursor: string;
}
export interface StreamState {
  type: "state";
  topic: string;
  cursor: string;
  job: Record<string, unknown> | null;
}
export interface StreamTelemetry {
  type: "telemetry";
  topic: string;
  cursor: string;
  [key: string]: unknown;
}
/** The gateway acknowledged the topic: from here no message of it is missed (read the REST state now). */
export interface StreamSubscribed {
  type: "subscribed";
  topic: string;
  cursor?: string;
}
export type StreamMessage = StreamEvent | StreamReorg | StreamState | StreamTelemetry | StreamSubscribed;
export type StreamStatus = "idle" | "connecting" | "live" | "reconnecting" | "offline"; // idle: no topic yet
type Handler = (msg: StreamMessage) => void;

const MAX_BACKOFF_MS = 15_000;

export class StreamClient {
  private ws: WebSocket | null = null;
  private handlers = new Map<string, Set<Handler>>(); // topic -> handlers
  private cursor: string | null = null;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private statusListeners = new Set<() => void>();
  private closed = false;
  status: StreamStatus = "idle";
  lastError: string | null = null;

  constructor(private readonly url: string) {}

  /** Receive every message of `topic` (events, states, telemetry, and reorgs); returns the unsubscribe. */
  subscribe(topic: string, handler: Handler): () => void {
    let set = this.handlers.get(topic);
    const fresh = !set;
    if (!set) this.handlers.set(topic, (set = new Set()));
    set.add(handler);
    if (fresh) {
      // A topic added to a live socket starts from now; the caller reads the REST state after subscribing.
      this.send({ op: "subscribe", topics: [topic] });
    }
    this.ensure();
    return () => {
      const s = this.handlers.get(topic);
      if (!s) return;
      s.delete(handler);
      if (s.size === 0) {
        this.handlers.delete(topic);
        this.send({ op: "unsubscribe", topics: [topic] });
      }
    };
  }

  /** Listen to status changes (for useSyncExternalStore). */
  onStatus = (listener: () => void): (() => void) => {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  };

  getStatus = (): StreamStatus => this.status;

  /** The cursor of the last message received (null before the first). */
  get lastCursor(): string | null {
    return this.cursor;
  }

  /** Close for good (tests and page unload). */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.close();
  }

  private setStatus(s: StreamStatus): void {
    this.status = s;
    this.statusListeners.forEach((l) => l());
  }

  private ensure(): void {
    if (this.closed || this.ws || this.timer || this.handlers.size === 0) return;
    this.connect();
  }

  private send(body: unknown): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(body));
  }

  private connect(): void {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    this.setStatus(this.attempt === 0 ? "connecting" : "reconnecting");
    ws.onopen = () => {
      const topics = [...this.handlers.keys()];
      // Resuming: the gateway replays every message of these topics after the cursor, in chain order.
      if (topics.length) ws.send(JSON.stringify({ op: "subscribe", topics, ...(this.cursor ? { cursor: this.cursor } : {}) }));
    };
    ws.onmessage = (e) => this.receive(String(e.data));
    ws.onclose = () => {
      this.ws = null;
      if (this.closed) return;
      this.attempt += 1;
      this.setStatus(this.attempt > 3 ? "offline" : "reconnecting");
      const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(this.attempt, 6)) * (0.75 + Math.random() / 2);
      this.timer = setTimeout(() => {
        this.timer = null;
        this.ensure();
      }, delay);
    };
  }

  private receive(text: string): void {
    let msg: {
      type?: string; cursor?: string; topic?: string; topics?: string[]; added?: string[]; code?: string; detail?: string;
    };
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (msg.type === "error") {
      this.lastError = `${msg.code}: ${msg.detail}`;
      if (msg.code === "bad_cursor" || msg.code === "cursor_too_old") {
        // Too far behind to replay: start afresh; subscribers refetch their state on the synthetic reorg.
        this.cursor = null;
        this.dispatchAll({ type: "reorg", block: 0, cursor: "" });
        this.send({ op: "subscribe", topics: [...this.handlers.keys()] });
      }
      return;
    }
    if (msg.type === "subscribed") {
      if (this.attempt > 0 || this.status !== "live") {
        this.attempt = 0;
        this.setStatus("live");
      }
      if (!this.cursor && msg.cursor) this.cursor = msg.cursor;
      for (const t of msg.added ?? []) this.handlers.get(t)?.forEach((h) => h({ type: "subscribed", topic: t, cursor: msg.cursor }));
      return;
    }
    if (msg.cursor) this.cursor = msg.cursor;
    if (msg.type === "reorg") {
      this.dispatchAll(msg as StreamReorg);
    } else if (msg.type === "event") {
      const seen = new Set<Handler>();
      for (const t of msg.topics ?? [msg.topic!]) {
        this.handlers.get(t)?.forEach((h) => {
          if (!seen.has(h)) {
            seen.add(h);
            h(msg as StreamEvent);
          }
        });
      }
    } else if (msg.type === "state" || msg.type === "telemetry") {
      this.handlers.get(msg.topic!)?.forEach((h) => h(msg as StreamMessage));
    }
  }

  private dispatchAll(msg: StreamReorg): void {
    const seen = new Set<Handler>();
    this.handlers.forEach((set) => set.forEach((h) => !seen.has(h) && (seen.add(h), h(msg))));
  }
}

let shared: StreamClient | null = null;

/** The page's one stream client, on the gateway this page came from. */
export function streamClient(): StreamClient {
  if (!shared) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    shared = new StreamClient(`${scheme}://${location.host}/v1/stream`);
  }
  return shared;
}

/** Call `handler` for every message of `topic` while the component is mounted (null: no subscription). */
export function useTopic(topic: string | null, handler: Handler): void {
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => {
    if (!topic) return;
    return streamClient().subscribe(topic, (m) => ref.current(m));
  }, [topic]);
}

/** The stream's connection status, re-rendering on change. */
export function useStreamStatus(): StreamStatus {
  const c = streamClient();
  return useSyncExternalStore(c.onStatus, c.getStatus);
}
