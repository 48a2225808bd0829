// A proposal: its actions decoded, its description, its state and tally as the governor has them now (read on
// every new block: the state moves with the clock too), the votes cast; voting (directly with a reason, or by
// signing an EIP-712 ballot that any account can submit), then queueing and executing once it passed.
import { useEffect, useState } from "react";
import type { Address } from "viem";
import { Link, type RouteProps } from "../../app/router";
import { Address as AddressText, Facts, Loadable, Notice } from "../../components/bits";
import { TxStatus } from "../../components/TxStatus";
import { ActionList } from "../../components/dao/ActionList";
import { BallotPanel } from "../../components/dao/BallotPanel";
import { duration, lifecycleArgs, readProposal, SUPPORT, useBlockNumber, type ChainProposal, type ProposalRow } from "../../components/dao/governance";
import { useTx } from "../../chain/tx";
import { get } from "../../lib/api";
import { useConfig } from "../../lib/config";
import { formatAmount, formatTime, humanize } from "../../lib/format";
import { useTopic } from "../../lib/stream";
import { useFetch } from "../../lib/useFetch";
import { useWallet } from "../../wallet/WalletContext";
import { Tally } from "../../components/dao/Tally";
import "../../components/dao/dao.css";

export default function Proposal({ params }: RouteProps) {
  const cfg = useConfig();
  const w = useWallet();
  const account = w.account;
  const id = params.id;
  const valid = /^[0-9]{1,78}$/.test(id);
  const block = useBlockNumber(cfg);
  const row = useFetch(() => (valid ? get<ProposalRow>(`/v1/proposals/${id}`) : Promise.reject(new Error(`${id} is not a proposal id`))), [id]);
  // Not keyed on the account: switching accounts keeps the page (a ballot being relayed) and reads again.
  const chain = useFetch<ChainProposal | null>(() => (valid ? readProposal(cfg, BigInt(id), account) : Promise.resolve(null)), [id]);
  useEffect(() => void chain.reload(), [account]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => {
    if (block === null) return;
    void chain.reload(); // the state, tally and the clock: straight from the governor
    const t = setTimeout(() => void row.reload(), 700); // the index's votes and history follow within a second
    return () => clearTimeout(t);
  }, [block]); // eslint-disable-line react-hooks/exhaustive-deps
  useTopic(account ? `account:${account.toLowerCase()}` : null, (m) => {
    if (m.type === "event" || m.type === "reorg") void row.reload();
  });

  return (
    <div className="dao-page">
      <p className="crumbs">
        <Link to="/dao">Governance</Link> / Proposal
      </p>
      <h1>{row.data?.title || "Proposal"}</h1>
      <p className="mono small proposal-id">Proposal {id}</p>
      <Loadable {...row}>
        {(p) => (
          <>
            {chain.data && <StateLine p={p} c={chain.data} />}
            {chain.error && <Notice kind="error">The governor cannot be read right now: {chain.error}</Notice>}
            <section aria-labelledby="actions-h">
              <h2 id="actions-h">What it does</h2>
              <ActionList actions={p.actions} createdBlock={p.created_block} />
            </section>
            <section aria-labelledby="desc-h">
              <h2 id="desc-h">Description</h2>
              <p className="description">{p.description}</p>
              <Facts items={[["Proposer", <AddressText value={p.proposer} />], ["Proposed in block", String(p.created_block)]]} />
            </section>
            {chain.data && (
              <>
                <section aria-labelledby="tally-h">
                  <h2 id="tally-h">Tally</h2>
                  <Tally forVotes={chain.data.for} against={chain.data.against} abstain={chain.data.abstain} />
                  <Quorum c={chain.data} />
                </section>
                <VoteSection p={p} c={chain.data} account={account} onChange={() => void chain.reload()} />
                <Lifecycle p={p} c={chain.data} onChange={() => void chain.reload()} />
              </>
            )}
            <section aria-labelledby="votes-h">
              <h2 id="votes-h">Votes cast</h2>
              {(p.votes ?? []).length === 0 ? (
                <p className="muted">No votes yet.</p>
              ) : (
                <ul className="plain votes" data-testid="votes">
                  {(p.votes ?? []).map((v) => (
                    <li key={v.tx_hash + v.voter}>
                      <AddressText value={v.voter} /> voted <strong>{SUPPORT[v.support] ?? v.support}</strong> with{" "}
                      {formatAmount(cfg, v.weight, cfg.tokens.find((t) => t.kind === "fab")?.address)}
                      {v.reason && <span className="reason">: “{v.reason}”</span>}
                    </li>
                  ))}
                </ul>
              )}
            </section>
          </>
        )}
      </Loadable>
    </div>
  );
}

function StateLine({ p, c }: { p: ProposalRow; c: ChainProposal }) {
  const when =
    c.state === "Pending"
      ? `Voting opens in ${duration(c.snapshot - c.clock)} (${formatTime(Number(c.snapshot))}).`
      : c.state === "Active"
        ? `Voting closes in ${duration(c.deadline - c.clock)} (${formatTime(Number(c.deadline))}).`
        : c.state === "Queued"
          ? c.eta > c.clock
            ? `In the timelock: executable in ${duration(c.eta - c.clock)} (${formatTime(Number(c.eta))}).`
            : "The timelock's delay is over: anyone may execute it."
          : c.state === "Succeeded"
            ? "It passed: anyone may queue it in the timelock."
            : c.state === "Executed"
              ? "The timelock made its calls."
              : "";
  return (
    <p className="state-line" data-testid="proposal-state" data-state={c.state}>
      <span className={`badge state-${c.state.toLowerCase()}`}>{c.state}</span> {when}
      <span className="visually-hidden"> Indexed as {humanize(p.status)}.</span>
    </p>
  );
}

function Quorum({ c }: { c: ChainProposal }) {
  const cfg = useConfig();
  const fab = cfg.tokens.find((t) => t.kind === "fab")?.address;
  if (c.quorum === null) return <p className="small muted">Quorum is fixed when voting opens.</p>;
  const reached = c.for + c.abstain >= c.quorum;
  return (
    <p className="small">
      Quorum {formatAmount(cfg, c.quorum, fab)} (for and abstain count): {reached ? "reached" : "not reached yet"}.
    </p>
  );
}

function VoteSection({ p, c, account, onChange }: { p: ProposalRow; c: ChainProposal; account: Address | null; onChange: () => void }) {
  const tx = useTx();
  const [support, setSupport] = useState(1);
  const [reason, setReason] = useState("");
  const busy = tx.state.phase === "checking" || tx.state.phase === "signing" || tx.state.phase === "pending";
  const cfg = useConfig();
  const fab = cfg.tokens.find((t) => t.kind === "fab")?.address;

  const vote = async (e: React.FormEvent) => {
    e.preventDefault();
    const receipt = await tx.run({
      contract: "FabGovernor", functionName: "castVoteWithReason", args: [BigInt(p.proposal_id), support, reason.trim()], label: "Vote",
    });
    if (receipt) {
      setReason("");
      onChange();
    }
  };

  return (
    <section aria-labelledby="vote-h">
      <h2 id="vote-h">Vote</h2>
      {c.state !== "Active" ? (
        <p className="muted">{c.state === "Pending" ? "Voting has not opened yet." : "Voting is closed."}</p>
      ) : !account ? (
        <p>Connect a wallet (top right) to vote.</p>
      ) : (
        <>
          {c.hasVoted ? (
            <Notice kind="success">You have voted on this proposal.</Notice>
          ) : (
            <form className="vote" onSubmit={vote}>
              <p className="small">
                Your votes at the snapshot: <strong data-testid="my-weight">{c.weight === null ? "—" : formatAmount(cfg, c.weight, fab)}</strong>
                {c.weight === 0n && " — delegate before a proposal's snapshot to vote on it."}
              </p>
              <fieldset>
                <legend>Your vote</legend>
                {SUPPORT.map((label, i) => (
                  <label key={label} className="choice">
                    <input type="radio" name="support" value={i} checked={support === i} onChange={() => setSupport(i)} /> {label}
                  </label>
                ))}
              </fieldset>
              <div className="field">
                <label htmlFor="vote-reason">Reason (optional, public)</label>
                <textarea id="vote-reason" rows={2} value={reason} maxLength={1000} onChange={(e) => setReason(e.target.value)} />
              </div>
              <button type="submit" className="button" disabled={busy}>
                Cast vote
              </button>
            </form>
          )}
          <TxStatus state={tx.state} onDismiss={tx.reset} />
        </>
      )}
      {c.state === "Active" && <BallotPanel proposalId={p.proposal_id} account={account} hasVoted={!!c.hasVoted} onSubmitted={onChange} />}
    </section>
  );
}

function Lifecycle({ p, c, onChange }: { p: ProposalRow; c: ChainProposal; onChange: () => void }) {
  const tx = useTx();
  const busy = tx.state.phase === "checking" || tx.state.phase === "signing" || tx.state.phase === "pending";
  const run = async (functionName: "queue" | "execute", label: string) => {
    if (await tx.run({ contract: "FabGovernor", functionName, args: lifecycleArgs(p), label })) onChange();
  };
  const canQueue = c.state === "Succeeded";
  const canExecute = c.state === "Queued" && c.eta <= c.clock;
  if (!canQueue && c.state !== "Queued" && tx.state.phase === "idle") return null;
  return (
    <section aria-labelledby="life-h">
      <h2 id="life-h">Queue and execute</h2>
      <p className="small muted">
        A passed proposal waits in the timelock before it runs, so anyone who disagrees can act first. Any account may queue and execute it.
      </p>
      <div className="row">
        <button type="button" className="button" disabled={!canQueue || busy} onClick={() => void run("queue", "Queue")}>
          Queue
        </button>
        <button type="button" className="button" disabled={!canExecute || busy} onClick={() => void run("execute", "Execute")}>
          Execute
        </button>
      </div>
      <TxStatus state={tx.state} onDismiss={tx.reset} />
    </section>
  );
}

