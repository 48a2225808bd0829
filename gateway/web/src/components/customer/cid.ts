// CID strings as the gateway returns them → the binary CID the contracts store (what the SDK's `cid_bytes` and
// protocol/storage/cid.py's `Cid.to_bytes` give): a CIDv0 "Qm…" is its base58btc-decoded multihash; a CIDv1
// "b…" is its base32 (RFC 4648, lowercase, unpadded) body after the multibase prefix.
import { bytesToHex, type Hex } from "viem";

const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const B32 = "abcdefghijklmnopqrstuvwxyz234567";

/** base58btc (Bitcoin alphabet) text → bytes; leading "1"s are leading zero bytes. */
export function base58btcDecode(text: string): Uint8Array {
  let n = 0n;
  for (const ch of text) {
    const v = B58.indexOf(ch);
    if (v < 0) throw new Error(`"${ch}" is not a base58btc character`);
    n = n * 58n + BigInt(v);
  }
  const body: number[] = [];
  while (n > 0n) {
    body.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  const zeros = text.match(/^1*/)![0].length;
  return Uint8Array.from([...new Array<number>(zeros).fill(0), ...body]);
}

/** RFC 4648 base32 without padding (any case) → bytes. */
export function base32Decode(text: string): Uint8Array {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of text.toLowerCase()) {
    const v = B32.indexOf(ch);
    if (v < 0) throw new Error(`"${ch}" is not a base32 character`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Uint8Array.from(out);
}

/** The binary form of a CID string (v0 base58btc "Qm…", v1 base32 "b…"/"B…"), as 0x hex for a `bytes` argument. */
export function cidToBytes(cid: string): Hex {
  const text = cid.trim();
  let raw: Uint8Array;
  if (text.length === 46 && text.startsWith("Qm")) {
    raw = base58btcDecode(text);
    if (raw.length !== 34 || raw[0] !== 0x12 || raw[1] !== 0x20) throw new Error(`${cid} is not a sha2-256 CIDv0`);
  } else if (text.startsWith("b") || text.startsWith("B")) {
    raw = base32Decode(text.slice(1));
    if (raw[0] !== 0x01) throw new Error(`${cid} is not a CIDv1`);
  } else if (text.startsWith("z")) {
    raw = base58btcDecode(text.slice(1));
    if (raw[0] !== 0x01) throw new Error(`${cid} is not a CIDv1`);
  } else {
    throw new Error(`${cid} is not a CID this page can read (CIDv0 "Qm…" or CIDv1 in base32 "b…")`);
  }
  return bytesToHex(raw);
}
