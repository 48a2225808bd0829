// Uploads to the gateway's content store (POST /v1/content, multipart, signed in): parts, the job spec, dispute
// evidence. The gateway sniffs the kind from the bytes and answers the CID `fabrica content add` would give.
import { ApiError } from "../../lib/api";

export interface Stored {
  cid: string;
  size: number;
  kind: string;
  media_type: string;
  url: string;
}

async function send(body: FormData): Promise<Response> {
  try {
    return await fetch("/v1/content", { method: "POST", credentials: "include", body });
  } catch {
    throw new ApiError(0, "offline", "the gateway cannot be reached: check your connection and retry");
  }
}

/** Store `data` (a file, or JSON) under `name`; `kind` makes the gateway refuse anything else. */
export async function upload(data: Blob, name: string, kind?: "stl" | "3mf" | "gcode" | "json"): Promise<Stored> {
  const form = () => {
    const f = new FormData();
    f.append("file", data, name);
    if (kind) f.append("kind", kind);
    return f;
  };
  let r = await send(form());
  if (r.status === 401) {
    // An expired access token: the refresh cookie renews it without a new signature (as lib/api does).
    const refreshed = await fetch("/v1/auth/refresh", { method: "POST", credentials: "include" }).then((x) => x.ok, () => false);
    if (refreshed) r = await send(form());
  }
  const text = await r.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = {};
  }
  if (!r.ok) throw new ApiError(r.status, String(json.error ?? "http_error"), json.detail ?? text.slice(0, 200));
  return json as unknown as Stored;
}

/** Store a JSON document as canonical JSON (sorted keys, no spaces: the same document, the same CID). */
export function uploadJson(doc: unknown, name: string): Promise<Stored> {
  return upload(new Blob([canonicalJson(doc)], { type: "application/json" }), name, "json");
}

/** JSON with sorted keys and no spaces, as the SDK writes documents (JobSpec.to_json_bytes). */
export function canonicalJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === "object") {
      return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]));
    }
    return v;
  };
  return JSON.stringify(sort(value));
}
