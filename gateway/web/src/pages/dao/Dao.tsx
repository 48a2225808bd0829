// Governance: the connected holder's voting power (FAB held and FAB staked are two vote sources, each delegated
// on its own contract), delegating it (to yourself or an address), and the DAO's proposals with their tallies
// and decoded actions. Voting power is read from the chain on each new block; the proposals list follows the
// index and reloads on the account's events.
import { useEffect, useState } from "react";
import { getAddress, isAddress, type Address } from "viem";
import { Link } from "../../app/router";
import { Address as AddressText, Loadable, Notice } from "../../components/bits";
import { TxStatus } from "../../components/TxStatus";
import { Tally } from "../../components/dao/Tally";
import { readPower, useBlockNumber, ZERO_ADDRESS, type ProposalRow } from "../../components/dao/governance";
import { useTx } from "../../chain/tx";
import { get } from "../../lib/api";
import { useConfig } from "../../lib/config";
import { formatAmount, humanize } from "../../lib/format";
import { useTopic } from "../../lib/stream";
import { useFetch } from "../../lib/useFetch";
import { useWallet } from "../../wallet/WalletContext";
import "../../components/dao/dao.css";

export default function Dao() {
  const cfg = useConfig();
  const w = useWallet();
  const account = w.account;
  const block = useBlockNumber(cfg);
  const fab = cfg.tokens.find((t) => t.kind === "fab")?.address;
  const power = useFetch(() => (account ? readPower(cfg, account) : Promise.resolve(null)), [account]);
  const proposals = useFetch(() => get<{ items: ProposalRow[] }>("/v1/proposals", { limit: 50 }), []);
  useTopic(account ? `account:${account.toLowerCase()}` : null, (m) => {
    if (m.type === "event" || m.type === "reorg") void proposals.reload();
  });
  // Votes change with blocks (a delegation, a transfer, a stake), and a proposal made by anyone lands in a new
  // block: read both again then (the index follows the chain within a second).
  useEffect(() => {
    if (block === null) return;
    void power.reload();
    const t = setTimeout(() => void proposals.reload(), 700);
    return () => clearTimeout(t);
  }, [block]); // eslint-disable-line react-hooks/exhaustive-deps

  return (
    <div className="dao-page">
      <h1>Governance</h1>
      <p className="lead">
        FAB holders govern Fabrica: they delegate their votes, vote on proposals and, once a vote passes and the
        timelock's delay is over, anyone executes it.
      </p>
      <section aria-labelledby="power-h">
        <h2 id="power-h">Your voting power</h2>
        {!account ? (
          <p>Connect a wallet (top right) to see and delegate your votes.</p>
        ) : (
          <Loadable {...power}>
            {(p) =>
              p && (
                <>
                  <dl className="facts" data-testid="voting-power">
                    <div>
                      <dt>Votes</dt>
                      <dd data-testid="votes-total">{formatAmount(cfg, p.fabVotes + p.stakeVotes, fab)}</dd>
                    </div>
                    <div>
                      <dt>From FAB held</dt>
                      <dd>{formatAmount(cfg, p.fabVotes, fab)}</dd>
                    </div>
                    <div>
                      <dt>From FAB staked</dt>
                      <dd>{formatAmount(cfg, p.stakeVotes, fab)}</dd>
                    </div>
                    <div>
                      <dt>FAB in your wallet</dt>
                      <dd>{formatAmount(cfg, p.fabBalance, fab)}</dd>
                    </div>
                    <div>
                      <dt>FAB staked</dt>
                      <dd>{formatAmount(cfg, p.staked, fab)}</dd>
                    </div>
                    <div>
                      <dt>FAB delegated to</dt>
                      <dd data-testid="fab-delegate">{delegateText(p.fabDelegate, account)}</dd>
                    </div>
                    <div>
                      <dt>Stake delegated to</dt>
                      <dd data-testid="stake-delegate">{delegateText(p.stakeDelegate, account)}</dd>
                    </div>
                  </dl>
                  {p.fabDelegate === ZERO_ADDRESS && p.fabBalance > 0n && (
                    <Notice>Your FAB counts for nobody until you delegate it — to yourself, or to someone you trust.</Notice>
                  )}
                  <Delegate account={account} fabDelegate={p.fabDelegate} stakeDelegate={p.stakeDelegate} staked={p.staked} onDone={() => void power.reload()} />
                </>
              )
            }
          </Loadable>
        )}
      </section>
      <section aria-labelledby="proposals-h">
        <h2 id="proposals-h">Proposals</h2>
        <Loadable {...proposals}>
          {(page) =>
            page.items.length === 0 ? (
              <p className="muted">No proposals yet.</p>
            ) : (
              <ul className="plain proposals" data-testid="proposals">
                {page.items.map((p) => (
                  <li key={p.proposal_id} className="proposal-card" data-proposal-id={p.proposal_id}>
                    <h3>
                      <Link to={`/dao/proposals/${p.proposal_id}`}>{p.title || "Untitled proposal"}</Link>
                    </h3>
                    <p className="small muted">
                      {humanize(p.status)} · proposed by <AddressText value={p.proposer} /> in block {p.created_block}
                    </p>
                    <Tally forVotes={p.for_votes} against={p.against_votes} abstain={p.abstain_votes} />
                    <ul className="actions small">
                      {p.actions.map((a, i) => (
                        <li key={i}>
                          {a.contract && a.function ? `${a.contract}.${a.function}` : `call ${a.target}`}
                        </li>
                      ))}
                    </ul>
                  </li>
                ))}
              </ul>
            )
          }
        </Loadable>
      </section>
    </div>
  );
}

function delegateText(delegate: Address, me: Address) {
  if (delegate === ZERO_ADDRESS) return <span className="muted">nobody (not counted)</span>;
  if (delegate.toLowerCase() === me.toLowerCase()) return "yourself";
  return <AddressText value={delegate} />;
}

/** Delegate both vote sources to yourself or to an address: one transaction per source that differs. */
function Delegate({ account, fabDelegate, stakeDelegate, staked, onDone }: { account: Address; fabDelegate: Address; stakeDelegate: Address; staked: bigint; onDone: () => void }) {
  const tx = useTx();
  const [mode, setMode] = useState<"self" | "other">("self");
  const [other, setOther] = useState("");
  const busy = tx.state.phase === "checking" || tx.state.phase === "signing" || tx.state.phase === "pending";
  const invalid = mode === "other" && !isAddress(other.trim());

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (invalid) return;
    const to = mode === "self" ? account : getAddress(other.trim());
    const steps: { contract: string; label: string; current: Address }[] = [
      { contract: "FabToken", label: "Delegate FAB votes", current: fabDelegate },
      // Staked FAB votes too, when there is (or may be) stake to count.
      ...(staked > 0n || stakeDelegate !== ZERO_ADDRESS ? [{ contract: "NodeRegistry", label: "Delegate staked FAB votes", current: stakeDelegate }] : []),
    ];
    for (const s of steps.filter((x) => x.current.toLowerCase() !== to.toLowerCase())) {
      if (!(await tx.run({ contract: s.contract, functionName: "delegate", args: [to], label: s.label }))) return;
    }
    onDone();
  };

  return (
    <form className="delegate" onSubmit={submit} aria-labelledby="delegate-h">
      <h3 id="delegate-h">Delegate your votes</h3>
      <fieldset>
        <legend>Delegate to</legend>
        <label className="choice">
          <input type="radio" name="delegate-to" checked={mode === "self"} onChange={() => setMode("self")} /> Yourself
        </label>
        <label className="choice">
          <input type="radio" name="delegate-to" checked={mode === "other"} onChange={() => setMode("other")} /> Another address
        </label>
      </fieldset>
      {mode === "other" && (
        <div className="field">
          <label htmlFor="delegate-address">Delegate's address</label>
          <input
            id="delegate-address"
            className="mono"
            value={other}
            onChange={(e) => setOther(e.target.value)}
            placeholder="0x…"
            aria-invalid={other !== "" && invalid}
            aria-describedby="delegate-address-help"
          />
          <p id="delegate-address-help" className="small muted">
            {other !== "" && invalid ? "Enter an address: 0x and 40 hex characters." : "They vote with your FAB; you keep the tokens."}
          </p>
        </div>
      )}
      <button type="submit" className="button" disabled={busy || invalid}>
        Delegate
      </button>
      <TxStatus state={tx.state} onDismiss={tx.reset} />
    </form>
  );
}
