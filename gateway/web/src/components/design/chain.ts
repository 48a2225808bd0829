// Chain reads the design flows need before they send anything (allowances, approvals, order counters, terms
// hashes), through the same public client and generated ABIs as chain/tx.ts.
import { parseUnits, type Address } from "viem";
import { publicClient } from "../../chain/clients";
import { loadAbis } from "../../chain/tx";
import { contractAddress, tokenAt, type AppConfig } from "../../lib/config";

export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000" as Address;

/** A view call on a deployment contract (or an ERC-20 at `address` with contract "FabToken"). */
export async function readChain<T>(cfg: AppConfig, contract: string, functionName: string, args: readonly unknown[] = [], address?: Address): Promise<T> {
  const { ABIS } = await loadAbis();
  return (await publicClient(cfg).readContract({
    address: address ?? contractAddress(cfg, contract),
    abi: ABIS[contract],
    functionName,
    args,
  })) as T;
}

/** `amount` typed in the token's units ("12.5") as base units; an error in words when it is not a number. */
export function toBaseUnits(cfg: AppConfig, token: string, amount: string, what = "the amount"): bigint {
  const t = tokenAt(cfg, token);
  const text = amount.trim();
  if (!/^[0-9]+(\.[0-9]+)?$/.test(text)) throw new Error(`${what}: type a number such as 25 or 12.5`);
  const decimals = t?.decimals ?? 0;
  const frac = text.split(".")[1] ?? "";
  if (frac.length > decimals) throw new Error(`${what}: ${t?.symbol ?? "this token"} has ${decimals} decimals`);
  return parseUnits(text, decimals);
}

/** The payment tokens of the deployment (what prices and pots are in). */
export function paymentTokens(cfg: AppConfig) {
  return cfg.tokens.filter((t) => t.kind === "payment");
}

/** The ERC-20 allowance `owner` gave `spender`. */
export function allowance(cfg: AppConfig, token: Address, owner: Address, spender: Address): Promise<bigint> {
  return readChain<bigint>(cfg, "FabToken", "allowance", [owner, spender], token);
}

/** The ERC-20 balance of `owner`. */
export function tokenBalance(cfg: AppConfig, token: Address, owner: Address): Promise<bigint> {
  return readChain<bigint>(cfg, "FabToken", "balanceOf", [owner], token);
}

/** An amount in base units as decimal string/number from the gateway → bigint (null/undefined → 0). */
export function big(v: string | number | bigint | null | undefined): bigint {
  if (v === null || v === undefined || v === "") return 0n;
  return BigInt(v);
}

/** Same address (any case). */
export function sameAddress(a: string | null | undefined, b: string | null | undefined): boolean {
  return !!a && !!b && a.toLowerCase() === b.toLowerCase();
}
