// Sending a contract transaction from a page: simulate (a revert is shown before anything is signed), sign and
// send through the wallet, wait for the receipt. Each step is a state the page shows (components/TxStatus).
//
//   const tx = useTx();
//   <button onClick={() => tx.run({ contract: "JobMarket", functionName: "cancel", args: [id] })}>Cancel</button>
//   <TxStatus state={tx.state} />
import { useCallback, useRef, useState } from "react";
import type { Abi, Address, Hash, TransactionReceipt } from "viem";
import { contractAddress, useConfig } from "../lib/config";
import { useWallet } from "../wallet/WalletContext";
import { publicClient, walletClient } from "./clients";
import { describeTxError } from "./errors";

export interface ContractCall {
  contract: string; // the ABI's name in chain/abis.ts (ERC-20s: "FabToken")
  address?: Address; // default: the deployment's contract of that name
  functionName: string;
  args?: readonly unknown[];
  value?: bigint;
  label?: string; // what the page calls this step ("Approve fUSD")
}

export type TxState =
  | { phase: "idle" }
  | { phase: "checking"; label: string }
  | { phase: "signing"; label: string }
  | { phase: "pending"; label: string; hash: Hash }
  | { phase: "confirmed"; label: string; hash: Hash; receipt: TransactionReceipt }
  | { phase: "failed"; label: string; message: string; hash?: Hash };

/** The ABIs, loaded on first use (a separate chunk: pages that only read never download them). */
export function loadAbis(): Promise<typeof import("./abis")> {
  return import("./abis");
}

/** A transaction runner with its state; `run` resolves to the receipt, or null when it failed (state says why). */
export function useTx() {
  const cfg = useConfig();
  const wallet = useWallet();
  const [state, setState] = useState<TxState>({ phase: "idle" });
  const running = useRef(false);

  const run = useCallback(
    async (call: ContractCall): Promise<TransactionReceipt | null> => {
      const label = call.label ?? call.functionName;
      if (running.current) return null;
      if (!wallet.account || !wallet.wallet) {
        setState({ phase: "failed", label, message: "Connect a wallet first." });
        return null;
      }
      if (wallet.wrongNetwork && !(await wallet.switchNetwork())) {
        setState({ phase: "failed", label, message: `Switch your wallet to chain ${cfg.chain_id} first.` });
        return null;
      }
      running.current = true;
      const { ABIS, ERRORS } = await loadAbis();
      let hash: Hash | undefined;
      try {
        const abi: Abi | undefined = ABIS[call.contract];
        if (!abi) throw new Error(`no ABI for ${call.contract}; known: ${Object.keys(ABIS).join(", ")}`);
        const address = call.address ?? contractAddress(cfg, call.contract);
        const reader = publicClient(cfg);
        setState({ phase: "checking", label });
        const { request } = await reader.simulateContract({
          address, abi, functionName: call.functionName, args: call.args ?? [], value: call.value, account: wallet.account,
        });
        setState({ phase: "signing", label });
        hash = await walletClient(cfg, wallet.wallet.provider, wallet.account).writeContract(request);
        setState({ phase: "pending", label, hash });
        const receipt = await reader.waitForTransactionReceipt({ hash, pollingInterval: 250 });
        if (receipt.status !== "success") {
          setState({ phase: "failed", label, hash, message: await replayReason(cfg, call, address, abi, receipt, ERRORS) });
          return null;
        }
        setState({ phase: "confirmed", label, hash, receipt });
        return receipt;
      } catch (e) {
        setState({ phase: "failed", label, hash, message: describeTxError(e, ERRORS) });
        return null;
      } finally {
        running.current = false;
      }
    },
    [cfg, wallet],
  );

  return { state, run, reset: () => setState({ phase: "idle" }) };
}

/** Why a mined transaction reverted: the same call replayed at its block (the chain keeps no reason). */
async function replayReason(
  cfg: ReturnType<typeof useConfig>, call: ContractCall, address: Address, abi: Abi, receipt: TransactionReceipt, errors: Abi,
): Promise<string> {
  try {
    await publicClient(cfg).simulateContract({
      address, abi, functionName: call.functionName, args: call.args ?? [], value: call.value, account: receipt.from,
      blockNumber: receipt.blockNumber,
    });
    return "The transaction reverted on chain.";
  } catch (e) {
    return `The transaction reverted on chain: ${describeTxError(e, errors)}`;
  }
}
