// viem clients for the deployment's chain: reads over the gateway-announced JSON-RPC URL, writes through the
// connected wallet (EIP-1193), never a private key in the page.
import { createPublicClient, createWalletClient, custom, defineChain, http, type Address, type Chain, type PublicClient, type WalletClient } from "viem";
import type { AppConfig } from "../lib/config";
import type { Eip1193Provider } from "../wallet/eip1193";

const chains = new Map<string, Chain>();
let reader: { key: string; client: PublicClient } | null = null;

/** The deployment's chain as viem describes chains. */
export function chainOf(cfg: AppConfig): Chain {
  const key = `${cfg.chain_id}|${cfg.rpc_url}`;
  let chain = chains.get(key);
  if (!chain) {
    chain = defineChain({
      id: cfg.chain_id,
      name: cfg.chain_id === 31337 ? "Fabrica devnet" : `Chain ${cfg.chain_id}`,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [cfg.rpc_url] } },
    });
    chains.set(key, chain);
  }
  return chain;
}

/** A read client; polls every 250 ms so a confirmation shows within a block time. */
export function publicClient(cfg: AppConfig): PublicClient {
  const key = `${cfg.chain_id}|${cfg.rpc_url}`;
  if (!reader || reader.key !== key) {
    reader = { key, client: createPublicClient({ chain: chainOf(cfg), transport: http(cfg.rpc_url), pollingInterval: 250 }) };
  }
  return reader.client;
}

/** A wallet client signing as `account` through the connected wallet. */
export function walletClient(cfg: AppConfig, provider: Eip1193Provider, account: Address): WalletClient {
  return createWalletClient({ account, chain: chainOf(cfg), transport: custom(provider as Parameters<typeof custom>[0]) });
}
