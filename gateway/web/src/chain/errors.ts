// Why a transaction failed, in words: the contract's custom error decoded against every ABI the dApp has
// (chain/abis.ts, from the generated artifacts), a wallet rejection, or the node's own message.
import { BaseError, decodeErrorResult, type Abi, type Hex } from "viem";
import { humanize } from "../lib/format";
import { USER_REJECTED, errorCode } from "../wallet/eip1193";

/** The revert data somewhere in a (viem or wallet) error chain, if any. */
export function revertData(e: unknown): Hex | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 8 && cur && typeof cur === "object"; i++) {
    const data = (cur as { data?: unknown }).data;
    if (typeof data === "string" && /^0x[0-9a-fA-F]{8,}$/.test(data)) return data as Hex;
    if (data && typeof data === "object") {
      const inner = (data as { data?: unknown }).data;
      if (typeof inner === "string" && /^0x[0-9a-fA-F]{8,}$/.test(inner)) return inner as Hex;
    }
    const raw = (cur as { raw?: unknown }).raw;
    if (typeof raw === "string" && /^0x[0-9a-fA-F]{8,}$/.test(raw)) return raw as Hex;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

function showArg(v: unknown): string {
  if (typeof v === "bigint") return v.toString();
  if (Array.isArray(v)) return `[${v.map(showArg).join(", ")}]`;
  return String(v);
}

/** A revert's data as "Wrong status (jobId 3, actual 1, expected 0) — JobMarket__WrongStatus". */
export function decodeRevert(data: Hex, errors: Abi): string {
  try {
    const decoded = decodeErrorResult({ abi: errors, data });
    if (decoded.errorName === "Error") return `Reverted: ${showArg(decoded.args?.[0])}`;
    if (decoded.errorName === "Panic") return `The contract panicked (code ${showArg(decoded.args?.[0])})`;
    const item = decoded.abiItem as { inputs?: readonly { name?: string }[] };
    const args = (decoded.args ?? []).map((a, i) => `${item.inputs?.[i]?.name || `arg${i}`} ${showArg(a)}`);
    return `${humanize(decoded.errorName)}${args.length ? ` (${args.join(", ")})` : ""} — ${decoded.errorName}`;
  } catch {
    return `The contract refused with an error this dApp does not know (selector ${data.slice(0, 10)})`;
  }
}

/** Any failure of a transaction or call as a sentence for the page. */
export function describeTxError(e: unknown, errors: Abi): string {
  if (errorCode(e) === USER_REJECTED) return "You rejected the transaction in your wallet. Nothing was sent.";
  const data = revertData(e);
  if (data) return decodeRevert(data, errors);
  if (e instanceof BaseError) return e.shortMessage;
  return e instanceof Error ? e.message.split("\n")[0] : String(e);
}
