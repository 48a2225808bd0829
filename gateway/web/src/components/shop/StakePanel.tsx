// The operator's stake in the NodeRegistry: bonded, locked as collateral by running jobs, free, unbonding (each
// request with its release time) and slashed; staking more (FAB approved to the registry first, exactly),
// requesting an unbond, and withdrawing released requests — each a transaction through useTx.
import { useState } from "react";
import { parseUnits, type Abi, type Address } from "viem";
import { Facts } from "../bits";
import { TxStatus } from "../TxStatus";
import { publicClient } from "../../chain/clients";
import { loadAbis, useTx } from "../../chain/tx";
import { contractAddress, useConfig } from "../../lib/config";
import { formatAmount, formatTime } from "../../lib/format";

export interface StakeView {
  staked: string | number;
  locked: string | number;
  unbonding: string | number;
  unbond_at: number;
  slashed: string | number;
  eligible: boolean;
  requests: { amount: string | number; release_at: number; requested_block: number }[];
}

const big = (v: string | number | null | undefined) => BigInt(v ?? 0);

/** Stake facts and the stake, unbond and withdraw actions. */
export function StakePanel({ account, stake, onChange }: { account: Address; stake: StakeView | null; onChange: () => void }) {
  const cfg = useConfig();
  const fab = cfg.tokens.find((t) => t.kind === "fab");
  const tx = useTx();
  const [stakeText, setStakeText] = useState("");
  const [unbondText, setUnbondText] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const busy = tx.state.phase === "checking" || tx.state.phase === "signing" || tx.state.phase === "pending";
  const fmt = (v: bigint) => formatAmount(cfg, v, fab?.address);
  const staked = big(stake?.staked);
  const locked = big(stake?.locked);
  const now = Math.floor(Date.now() / 1000);

  const amountOf = (text: string): bigint | null => {
    try {
      const v = parseUnits(text.trim(), fab?.decimals ?? 18);
      if (v <= 0n) throw new Error();
      setProblem(null);
      return v;
    } catch {
      setProblem(`“${text}” is not an amount of FAB: write a positive number such as 250 or 12.5.`);
      return null;
    }
  };

  const doStake = async (e: React.FormEvent) => {
    e.preventDefault();
    const amount = amountOf(stakeText);
    if (amount === null) return;
    const registry = contractAddress(cfg, "NodeRegistry");
    const { ABIS } = await loadAbis();
    const allowance = (await publicClient(cfg).readContract({
      address: contractAddress(cfg, "FabToken"), abi: ABIS.FabToken as Abi, functionName: "allowance", args: [account, registry],
    })) as bigint;
    if (allowance < amount) {
      // Exactly the amount: the registry never holds a standing allowance over the operator's FAB.
      if (!(await tx.run({ contract: "FabToken", functionName: "approve", args: [registry, amount], label: "Approve FAB" }))) return;
    }
    if (await tx.run({ contract: "NodeRegistry", functionName: "stake", args: [amount], label: "Stake" })) {
      setStakeText("");
      onChange();
    }
  };

  const doUnbond = async (e: React.FormEvent) => {
    e.preventDefault();
    const amount = amountOf(unbondText);
    if (amount === null) return;
    if (await tx.run({ contract: "NodeRegistry", functionName: "requestUnbond", args: [amount], label: "Request unbond" })) {
      setUnbondText("");
      onChange();
    }
  };

  const doWithdraw = async () => {
    if (await tx.run({ contract: "NodeRegistry", functionName: "withdraw", label: "Withdraw released stake" })) onChange();
  };

  const requests = stake?.requests ?? [];
  return (
    <section aria-labelledby="stake-h">
      <h2 id="stake-h">Stake</h2>
      <div data-testid="stake">
        <Facts
          items={[
            ["Bonded", fmt(staked)],
            ["Locked in jobs", fmt(locked)],
            ["Free", fmt(staked > locked ? staked - locked : 0n)],
            ["Unbonding", fmt(big(stake?.unbonding))],
            ["Slashed", fmt(big(stake?.slashed))],
            ["Eligible to claim", stake ? (stake.eligible ? "Yes" : "No: stake at least the registry's minimum") : "—"],
          ]}
        />
      </div>
      <h3>Unbond requests</h3>
      {requests.length === 0 ? (
        <p className="muted small">None pending.</p>
      ) : (
        <ul className="plain small" data-testid="unbond-requests">
          {requests.map((r, i) => (
            <li key={i}>
              {fmt(big(r.amount))} — {r.release_at <= now ? "released: withdraw it" : `released ${formatTime(r.release_at)}`}
            </li>
          ))}
        </ul>
      )}
      <div className="stake-forms">
        <form onSubmit={doStake}>
          <label htmlFor="stake-amount">Stake more (FAB)</label>
          <div className="row">
            <input id="stake-amount" inputMode="decimal" value={stakeText} onChange={(e) => setStakeText(e.target.value)} placeholder="250" />
            <button type="submit" className="button" disabled={busy || !stakeText.trim()}>
              Stake
            </button>
          </div>
        </form>
        <form onSubmit={doUnbond}>
          <label htmlFor="unbond-amount">Unbond (FAB)</label>
          <div className="row">
            <input id="unbond-amount" inputMode="decimal" value={unbondText} onChange={(e) => setUnbondText(e.target.value)} placeholder="100" />
            <button type="submit" className="button secondary" disabled={busy || !unbondText.trim()}>
              Request unbond
            </button>
          </div>
        </form>
        <div>
          <button type="button" className="button secondary" disabled={busy || requests.length === 0} onClick={() => void doWithdraw()}>
            Withdraw released stake
          </button>
        </div>
      </div>
      {problem && (
        <p className="error-text" role="alert">
          {problem}
        </p>
      )}
      <TxStatus state={tx.state} onDismiss={tx.reset} />
    </section>
  );
}
