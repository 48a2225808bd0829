// Paying from the wallet as the SDK's `pay_from_wallet` does: the balance checked first (a sentence, no
// transaction), the spender approved for exactly what the call pulls when the allowance is short, then the call.
import { getAddress, type Address, type TransactionReceipt } from "viem";
import type { ContractCall } from "../../chain/tx";
import { tokenAt, type AppConfig } from "../../lib/config";
import { formatAmount } from "../../lib/format";
import { allowance, tokenBalance } from "./chain";

export interface PayArgs {
  cfg: AppConfig;
  run: (call: ContractCall) => Promise<TransactionReceipt | null>;
  account: Address;
  token: Address;
  spender: Address;
  amount: bigint;
  what: string; // "buying this design"
  fail: (text: string) => void;
  call: ContractCall;
}

/** Approve (when needed) then send `call`; resolves to its receipt, or null when a step failed (said why). */
export async function payAndRun(a: PayArgs): Promise<TransactionReceipt | null> {
  if (a.amount > 0n) {
    const held = await tokenBalance(a.cfg, a.token, a.account);
    if (held < a.amount) {
      a.fail(`${a.what} needs ${formatAmount(a.cfg, a.amount, a.token)} from your wallet, which holds ${formatAmount(a.cfg, held, a.token)}: top up the wallet or pay less.`);
      return null;
    }
    if ((await allowance(a.cfg, a.token, a.account, a.spender)) < a.amount) {
      const symbol = tokenAt(a.cfg, a.token)?.symbol ?? "the token";
      const approved = await a.run({
        // Checksummed: the index stores addresses lowercase, and some wallets refuse a lowercase `to`.
        contract: "FabToken", address: getAddress(a.token), functionName: "approve", args: [a.spender, a.amount],
        label: `Approve ${formatAmount(a.cfg, a.amount, a.token)} (${symbol}) for ${a.what}`,
      });
      if (!approved) return null;
    }
  }
  return a.run(a.call);
}
