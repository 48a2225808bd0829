// CIDs as the contracts take them: the binary form (CIDv0: the bare sha2-256 multihash; CIDv1: varint version,
// varint codec, multihash), exactly `fabrica.protocol.storage.cid.Cid.to_bytes`. A design's id is the sha-256
// digest inside its content CID read as a number (`design_id` in protocol/designs.py).
import { bytesToHex, type Hex } from "viem";

const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";
const SHA2_256 = 0x12;

/** Bytes of a base58btc string (Bitcoin alphabet; leading "1"s are zero bytes). */
export function base58Decode(text: string): Uint8Array {
  let value = 0n;
  for (const ch of text) {
    const digit = BASE58.indexOf(ch);
    if (digit < 0) throw new Error(`"${ch}" is not a base58btc character`);
    value = value * 58n + BigInt(digit);
  }
  const bytes: number[] = [];
  while (value > 0n) {
    bytes.unshift(Number(value & 0xffn));
    value >>= 8n;
  }
  for (const ch of text) {
    if (ch !== "1") break;
    bytes.unshift(0);
  }
  return Uint8Array.from(bytes);
}

/** Bytes of an unpadded RFC 4648 base32 string (either case). */
export function base32Decode(text: string): Uint8Array {
  const out: number[] = [];
  let bits = 0;
  let buffer = 0;
  for (const ch of text.toLowerCase()) {
    const digit = BASE32.indexOf(ch);
    if (digit < 0) throw new Error(`"${ch}" is not a base32 character`);
    buffer = (buffer << 5) | digit;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((buffer >> bits) & 0xff);
    }
  }
  return Uint8Array.from(out);
}

function readVarint(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (let i = at; i < bytes.length && i < at + 9; i++) {
    value += (bytes[i] & 0x7f) * 2 ** shift;
    if ((bytes[i] & 0x80) === 0) return [value, i + 1];
    shift += 7;
  }
  throw new Error("truncated varint");
}

/** The binary form of a CID string ("Qm…" v0, or multibase b/B/z/f/F v1), checked to carry a sha2-256 digest. */
export function cidToBytes(cid: string): Uint8Array {
  const text = cid.trim();
  if (!text) throw new Error("the CID is empty");
  let raw: Uint8Array;
  if (text.length === 46 && text.startsWith("Qm")) {
    raw = base58Decode(text);
    if (raw.length !== 34 || raw[0] !== SHA2_256 || raw[1] !== 32) throw new Error(`CIDv0 ${text} is not a sha2-256 multihash`);
    return raw;
  }
  const body = text.slice(1);
  switch (text[0]) {
    case "b":
    case "B":
      raw = base32Decode(body);
      break;
    case "z":
      raw = base58Decode(body);
      break;
    case "f":
    case "F":
      if (!/^([0-9a-fA-F]{2})+$/.test(body)) throw new Error(`CID ${text} is not base16`);
      raw = Uint8Array.from(body.match(/../g)!.map((h) => parseInt(h, 16)));
      break;
    default:
      throw new Error(`${text} is not a CID (expected "Qm…" or a multibase CIDv1 such as "bafy…")`);
  }
  const [version, afterVersion] = readVarint(raw, 0);
  if (version !== 1) throw new Error(`CID ${text}: version ${version} is not 1`);
  const [, afterCodec] = readVarint(raw, afterVersion);
  const [hashCode, afterHash] = readVarint(raw, afterCodec);
  const [length, digestAt] = readVarint(raw, afterHash);
  if (digestAt + length !== raw.length) throw new Error(`CID ${text}: its multihash length does not match`);
  if (hashCode !== SHA2_256 || length !== 32) throw new Error(`CID ${text}: designs use sha2-256 CIDs`);
  return raw;
}

/** The CID's binary form as 0x hex (what a `bytes cid` argument takes). */
export function cidHex(cid: string): Hex {
  return bytesToHex(cidToBytes(cid));
}

/** The design id of content `cid`: its sha-256 digest as a number (the same for every form of the CID). */
export function designIdOf(cid: string): bigint {
  const raw = cidToBytes(cid);
  return BigInt(bytesToHex(raw.slice(raw.length - 32)));
}
