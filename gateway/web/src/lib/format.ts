// Display helpers: amounts in token units, short addresses, times. Amounts arrive as decimal strings in base
// units (JavaScript numbers lose precision beyond 2^53), so they are formatted with BigInt arithmetic.
import { formatUnits } from "viem";
import type { AppConfig } from "./config";
import { tokenAt } from "./config";

/** `amount` base units of the token at `token` as "12.5 fUSD" (base units when the token is unknown). */
export function formatAmount(cfg: AppConfig, amount: string | number | bigint | null | undefined, token?: string | null): string {
  if (amount === null || amount === undefined || amount === "") return "—";
  const t = tokenAt(cfg, token);
  const value = BigInt(amount);
  if (!t || t.decimals === null) return `${value.toString()} base units`;
  const [whole, frac = ""] = formatUnits(value, t.decimals).split(".");
  const digits = frac.slice(0, 6).replace(/0+$/, ""); // six decimals are plenty to read; exact values are on chain
  const grouped = BigInt(whole).toLocaleString("en-US"); // BigInt: no precision lost beyond 2^53
  return `${digits ? `${grouped}.${digits}` : grouped} ${t.symbol}`;
}

/** 0x1234…abcd */
export function shortAddress(address: string | null | undefined): string {
  if (!address) return "—";
  return address.length > 12 ? `${address.slice(0, 6)}…${address.slice(-4)}` : address;
}

/** A unix time (seconds) as a local date and time. */
export function formatTime(unix: number | string | null | undefined): string {
  if (unix === null || unix === undefined || unix === "" || Number(unix) === 0) return "—";
  return new Date(Number(unix) * 1000).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
}

/** "JobClaimed" → "Job claimed"; "JobMarket__WrongStatus" → "Wrong status". */
export function humanize(name: string): string {
  const bare = name.includes("__") ? name.split("__").pop()! : name;
  const words = bare.replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/_/g, " ").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
