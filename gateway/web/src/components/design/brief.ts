// Bounty briefs by CID (JSON documents in the gateway's store), fetched once per page load: content never
// changes under its CID.
import { get } from "../../lib/api";
import type { Brief } from "./types";

const cache = new Map<string, Promise<Brief>>();

/** The brief stored under `cid` (a rejected promise when the gateway does not hold it). */
export function loadBrief(cid: string): Promise<Brief> {
  let p = cache.get(cid);
  if (!p) {
    p = get<Brief>(`/v1/content/${cid}`);
    p.catch(() => cache.delete(cid)); // a failure is retried next time
    cache.set(cid, p);
  }
  return p;
}
