// Documents the design flows store by CID, byte for byte as the Python SDK writes them (canonical JSON: sorted
// keys, no spaces, non-ASCII kept), and the upload to the gateway's content store (POST /v1/content, multipart,
// a signed-in session).
import { ApiError } from "../../lib/api";

export const METADATA_SCHEMA = "fabrica.design-metadata/1"; // protocol/designs.py METADATA_SCHEMA
export const BRIEF_SCHEMA = "fabrica.bounty-brief/1"; // protocol/bounties.py BRIEF_SCHEMA

/** A number Python's json writes as a float (10 → "10.0"), so the bytes match `json.dumps` of a float. */
export class PyFloat {
  constructor(readonly value: number) {}
}

type Json = string | number | boolean | null | PyFloat | Json[] | { [k: string]: Json };

/** `json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)` in JavaScript. */
export function canonicalJson(value: Json): string {
  if (value instanceof PyFloat) {
    if (!Number.isFinite(value.value)) throw new Error("a document cannot hold an infinite number");
    return Number.isInteger(value.value) ? `${value.value}.0` : String(value.value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** A design's metadata document (protocol/designs.py `design_metadata`): ERC-721 metadata plus Fabrica fields. */
export function designMetadata(f: { name: string; modelCid: string; description?: string; previewCid?: string; licence?: string }): string {
  const name = f.name.trim();
  if (!name) throw new Error("a design needs a name (its metadata's `name`)");
  const doc: Record<string, Json> = {
    schema: METADATA_SCHEMA,
    name,
    description: f.description ?? "",
    model: `ipfs://${f.modelCid}`,
    model_cid: f.modelCid,
    licence: f.licence ?? "",
  };
  if (f.previewCid) doc.image = `ipfs://${f.previewCid}`;
  return canonicalJson(doc);
}

/** A bounty's brief (protocol/bounties.py `bounty_brief`): what the design must do. */
export function bountyBrief(f: {
  title: string; description?: string; material?: string; process?: string; boundingBoxMm?: [number, number, number] | null; constraints?: string[];
}): string {
  const title = f.title.trim();
  if (!title) throw new Error("a bounty brief needs a title");
  const doc: Record<string, Json> = { schema: BRIEF_SCHEMA, title, description: f.description ?? "" };
  if (f.material) doc.material = f.material;
  if (f.process) doc.process = f.process;
  if (f.boundingBoxMm) {
    if (f.boundingBoxMm.some((v) => !(v > 0))) throw new Error("the bounding box needs three positive sizes in mm (x, y, z)");
    doc.bounding_box_mm = f.boundingBoxMm.map((v) => new PyFloat(v));
  }
  if (f.constraints?.length) doc.constraints = f.constraints;
  return canonicalJson(doc);
}

export interface Stored {
  cid: string;
  size: number;
  kind: string;
  media_type: string;
  url: string;
}

/** Store a file (or JSON text) in the gateway's content store; needs a signed-in session (Sign-In with Ethereum). */
export async function uploadContent(data: Blob, filename: string, kind?: "stl" | "3mf" | "gcode" | "json"): Promise<Stored> {
  const form = new FormData();
  form.append("file", data, filename);
  if (kind) form.append("kind", kind);
  let response: Response;
  try {
    response = await fetch("/v1/content", { method: "POST", body: form, credentials: "include" });
  } catch {
    throw new ApiError(0, "offline", "the gateway cannot be reached: check your connection and retry");
  }
  const text = await response.text();
  let body: { error?: string; detail?: unknown } & Partial<Stored> = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = {};
  }
  if (response.status === 401) throw new ApiError(401, "unauthenticated", "sign in with your wallet first: storing files needs a session");
  if (!response.ok) throw new ApiError(response.status, body.error ?? "http_error", body.detail ?? text.slice(0, 200));
  return body as Stored;
}

/** Store a JSON document (canonical text) and return its CID. */
export async function uploadJson(text: string, filename: string): Promise<Stored> {
  return uploadContent(new Blob([text], { type: "application/json" }), filename, "json");
}
