// What the market's calls on an existing job need: the job's struct exactly as stored (the contract checks its
// hash), rebuilt from the gateway's indexed job, and the token-side reads a payment needs.
import { maxUint256, type Address } from "viem";
import type { AppConfig } from "../../lib/config";
import { contractAddress } from "../../lib/config";
import type { Job } from "../../lib/types";
import { publicClient } from "../../chain/clients";
import { loadAbis } from "../../chain/tx";

/** The Job struct (Solidity field names) of an indexed job, for accept, dispute… */
export function jobStruct(j: Job) {
  const raw = j as unknown as Record<string, string | number>;
  const big = (v: string | number | null | undefined) => BigInt(v ?? 0);
  return {
    customer: j.customer as Address,
    token: j.token as Address,
    node: j.node as Address,
    royaltyReceiver: j.royalty_receiver as Address,
    amount: big(j.amount),
    royalty: big(j.royalty),
    collateral: big(j.collateral),
    bond: big(j.bond),
    feeBps: big(j.fee_bps),
    deliveryWindow: big(j.delivery_window),
    reviewWindow: big(j.review_window),
    deadline: big(j.deadline),
    targetNode: big(j.target_node),
    key: big(raw.key),
  };
}

/** How much of `needed` the market must pull from the wallet (beyond the account's market credit), and whether
 * the wallet's allowance to the market already covers it. */
export async function shortfall(cfg: AppConfig, token: Address, account: Address, needed: bigint) {
  const { ABIS } = await loadAbis();
  const reader = publicClient(cfg);
  const market = contractAddress(cfg, "JobMarket");
  const [credit, allowance, balance] = (await Promise.all([
    reader.readContract({ address: market, abi: ABIS.JobMarket, functionName: "balanceOf", args: [token, account] }),
    reader.readContract({ address: token, abi: ABIS.FabToken, functionName: "allowance", args: [account, market] }),
    reader.readContract({ address: token, abi: ABIS.FabToken, functionName: "balanceOf", args: [account] }),
  ])) as [bigint, bigint, bigint];
  const fromWallet = needed > credit ? needed - credit : 0n;
  return { credit, allowance, balance, fromWallet, approve: fromWallet > 0n && allowance < fromWallet, market, unlimited: allowance === maxUint256 };
}
