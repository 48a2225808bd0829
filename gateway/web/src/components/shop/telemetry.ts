// Telemetry of a shop's nodes: the stored samples (GET /v1/nodes/{id}/telemetry, operator only) and the live ones
// from the stream's private topic telemetry:<node id>. That topic is checked against the session cookie the
// WebSocket was opened with, so the dashboard opens its own stream connection once signed in (the page's
// shared one may predate the sign-in) and closes it on sign-out or when the page goes.
import { useEffect, useRef, useState } from "react";
import { get } from "../../lib/api";
import { StreamClient } from "../../lib/stream";

export interface Sample {
  id?: number | null;
  machine: string;
  job_id: number | string | null;
  at: number;
  state: string | null;
  hotend: number | null;
  hotend_target: number | null;
  bed: number | null;
  bed_target: number | null;
  hotend_duty: number | null;
  bed_duty: number | null;
  progress: number | null;
  error: string | null;
  seq?: number;
}

const WINDOW_S = 3600; // what the charts show: the last hour
const KEEP = 2000; // samples kept per node in the page

/** A stream connection of the signed-in operator's own (null until signed in). */
export function usePrivateStream(signedIn: boolean): StreamClient | null {
  const [client, setClient] = useState<StreamClient | null>(null);
  useEffect(() => {
    if (!signedIn) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const c = new StreamClient(`${scheme}://${location.host}/v1/stream`);
    setClient(c);
    return () => {
      c.close();
      setClient(null);
    };
  }, [signedIn]);
  return client;
}

/** A node's samples of the last hour, kept current by the private stream; `error` says why none can be read. */
export function useNodeTelemetry(nodeId: number, stream: StreamClient | null) {
  const [samples, setSamples] = useState<Sample[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const seen = useRef(new Set<string>());

  useEffect(() => {
    if (!stream) return;
    let live = true;
    const add = (items: Sample[]) => {
      const fresh = items.filter((s) => {
        const key = `${s.machine}|${s.at}|${s.seq ?? ""}`;
        if (seen.current.has(key)) return false;
        seen.current.add(key);
        return true;
      });
      if (fresh.length) setSamples((old) => [...old, ...fresh].sort((a, b) => a.at - b.at).slice(-KEEP));
    };
    // Subscribe first, then read what is stored: nothing published in between is missed (duplicates are dropped).
    const off = stream.subscribe(`telemetry:${nodeId}`, (m) => {
      if (m.type !== "telemetry") return;
      const data = (m as unknown as { data?: { samples?: Sample[] } }).data;
      add(data?.samples ?? []);
    });
    setLoading(true);
    (async () => {
      try {
        let cursor: string | null | undefined;
        const since = Math.floor(Date.now() / 1000) - WINDOW_S;
        for (let page = 0; page < 5; page++) {
          const r = await get<{ items: Sample[]; next_cursor: string | null }>(`/v1/nodes/${nodeId}/telemetry`, { since, limit: 1000, cursor });
          if (!live) return;
          add(r.items);
          cursor = r.next_cursor;
          if (!cursor) break;
        }
        setError(null);
      } catch (e) {
        if (live) setError(e instanceof Error ? e.message : String(e));
      } finally {
        if (live) setLoading(false);
      }
    })();
    return () => {
      live = false;
      off();
    };
  }, [nodeId, stream]);

  return { samples, error, loading };
}

/** Samples grouped by machine, machines by name. */
export function byMachine(samples: Sample[]): [string, Sample[]][] {
  const out = new Map<string, Sample[]>();
  for (const s of samples) {
    let list = out.get(s.machine);
    if (!list) out.set(s.machine, (list = []));
    list.push(s);
  }
  return [...out.entries()].sort(([a], [b]) => a.localeCompare(b));
}
