// What the dApp knows about the deployment it serves, read from GET /v1/config at start: nothing about a chain
// is baked into the build.
import { createContext, useContext } from "react";
import type { Address } from "viem";
import { get } from "./api";

export interface TokenInfo {
  kind: "fab" | "payment";
  symbol: string;
  address: Address;
  decimals: number | null; // null: not a standard ERC-20, amounts shown in base units
}

export interface AppConfig {
  chain_id: number;
  rpc_url: string;
  contracts: Record<string, Address>;
  tokens: TokenInfo[];
  deployed_block: number;
  siwe: { domain: string; uri: string; version: string };
  block: number | null;
  job_statuses: string[];
  materials: string[];
  processes: string[];
}

/** The deployment's configuration from the gateway. */
export function loadConfig(): Promise<AppConfig> {
  return get<AppConfig>("/v1/config");
}

export const ConfigContext = createContext<AppConfig | null>(null);

/** The deployment's configuration (inside <ConfigContext.Provider>, which main.tsx sets up before rendering). */
export function useConfig(): AppConfig {
  const cfg = useContext(ConfigContext);
  if (!cfg) throw new Error("useConfig outside ConfigContext.Provider");
  return cfg;
}

/** The token at `address` (any case), if the deployment knows it. */
export function tokenAt(cfg: AppConfig, address: string | null | undefined): TokenInfo | undefined {
  const a = address?.toLowerCase();
  return cfg.tokens.find((t) => t.address.toLowerCase() === a);
}

/** A contract's address by name (JobMarket, NodeRegistry…), or an error naming what the deployment has. */
export function contractAddress(cfg: AppConfig, name: string): Address {
  const a = cfg.contracts[name];
  if (!a) throw new Error(`this deployment has no ${name}; it has ${Object.keys(cfg.contracts).join(", ")}`);
  return a;
}
