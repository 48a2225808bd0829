// A bounty: its brief and terms, pot and sponsors, entries, pending approvals and awards. Sponsors fund it
// (the terms shown are hashed by the board and funded by that hash), designers submit a design file, approvers
// award an entry; the winner withdraws. Live through the stream: the accounts the bounty involves.
import { useState, type FormEvent } from "react";
import { getAddress, type Address } from "viem";
import { Link, type RouteProps } from "../../app/router";
import { Address as Addr, Amount, Facts, Loadable, Notice } from "../../components/bits";
import { TxStatus } from "../../components/TxStatus";
import { AwardBalances } from "../../components/design/AwardBalances";
import { loadBrief } from "../../components/design/brief";
import { big, readChain, sameAddress, toBaseUnits } from "../../components/design/chain";
import { cidHex } from "../../components/design/cid";
import { uploadContent } from "../../components/design/content";
import { payAndRun } from "../../components/design/pay";
import type { BountyView, Entry } from "../../components/design/types";
import { Field, SignInGate, StepNotice, TopicWatch, errorText, isChange, useStep } from "../../components/design/ui";
import "../../components/design/design.css";
import { useTx } from "../../chain/tx";
import { get } from "../../lib/api";
import { contractAddress, useConfig } from "../../lib/config";
import { formatAmount, formatTime, humanize, shortAddress } from "../../lib/format";
import type { StreamMessage } from "../../lib/stream";
import { useFetch } from "../../lib/useFetch";
import { useWallet } from "../../wallet/WalletContext";

const MAX_WATCHED = 16; // account topics one bounty page follows

/** The terms as BountyTerms (the struct `post`, `hashTerms` and `extendDeadline` take). */
function termsStruct(b: BountyView) {
  return {
    token: getAddress(b.token), briefCid: cidHex(b.brief_cid), deadline: BigInt(b.deadline), approvers: b.approvers.map((a) => getAddress(a)), quorum: b.quorum,
    evaluator: getAddress(b.evaluator), sponsorRoyaltyBps: b.sponsor_royalty_bps, designRoyaltyBps: b.design_royalty_bps,
  };
}

function AwardForm({ bounty, entry, disabled, onAward }: { bounty: BountyView; entry: Entry; disabled: boolean; onAward: (e: Entry, amount: string) => void }) {
  const cfg = useConfig();
  const [amount, setAmount] = useState("");
  const id = `award-${entry.submission_id}`;
  return (
    <form className="design-award" onSubmit={(e) => { e.preventDefault(); onAward(entry, amount); }}>
      <Field id={id} label={`Award entry ${entry.submission_id}`} hint={`Pot: ${formatAmount(cfg, bounty.pot, bounty.token)}`}>
        <input id={id} inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} required aria-describedby={`${id}-hint`} />
      </Field>
      <button type="submit" className="button" disabled={disabled}>Award</button>
    </form>
  );
}

export default function Bounty({ params }: RouteProps) {
  const cfg = useConfig();
  const w = useWallet();
  const tx = useTx();
  const step = useStep();
  const id = params.id;
  const valid = /^[0-9]{1,18}$/.test(id);
  const bounty = useFetch(() => (valid ? get<BountyView>(`/v1/bounties/${id}`) : Promise.reject(new Error(`${id} is not a bounty id`))), [id]);
  const briefCid = bounty.data?.brief_cid;
  const brief = useFetch(() => (briefCid ? loadBrief(briefCid) : Promise.resolve(null)), [briefCid]);
  const [fundAmount, setFundAmount] = useState("");
  const [entryFile, setEntryFile] = useState<File | null>(null);
  const [live, setLive] = useState<string | null>(null);
  const me = w.account;
  const working = step.step.kind === "busy" || ["checking", "signing", "pending"].includes(tx.state.phase);
  const board = contractAddress(cfg, "BountyBoard");

  const b = bounty.data;
  const watched = b
    ? [...new Set([b.poster, me, ...b.approvers, ...(b.contributions ?? []).map((c) => c.sponsor), ...(b.entries ?? []).map((e) => e.submitter)]
        .filter((a): a is string => !!a).map((a) => a.toLowerCase()))].slice(0, MAX_WATCHED)
    : [];
  const onMessage = (m: StreamMessage) => {
    if (m.type === "event") setLive(`${humanize(m.event)} in block ${m.block}`);
    if (isChange(m)) void bounty.reload();
  };

  async function fund(e: FormEvent) {
    e.preventDefault();
    tx.reset();
    step.clear();
    if (!me || !b) return step.fail("Connect a wallet first.");
    try {
      const amount = toBaseUnits(cfg, b.token, fundAmount, "the amount");
      if (amount <= 0n) throw new Error("fund a bounty with more than zero");
      // The board takes the hash of the terms the sponsor agrees to: hash exactly the terms this page shows.
      const digest = await readChain<string>(cfg, "BountyBoard", "hashTerms", [termsStruct(b)]);
      const receipt = await payAndRun({
        cfg, run: tx.run, account: me, token: b.token as Address, spender: board, amount, what: `funding bounty ${b.bounty_id}`, fail: step.fail,
        call: { contract: "BountyBoard", functionName: "fund", args: [BigInt(b.bounty_id), amount, digest], label: "Fund the bounty" },
      });
      if (receipt) setFundAmount("");
    } catch (err) {
      step.fail(`Funding stopped: ${errorText(err)}`);
    }
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    tx.reset();
    step.clear();
    if (!b) return;
    try {
      if (!entryFile) throw new Error("choose your design's file");
      step.busy(`Storing ${entryFile.name}…`);
      const stored = await uploadContent(entryFile, entryFile.name);
      if (stored.kind !== "stl" && stored.kind !== "3mf") throw new Error(`${entryFile.name} is ${stored.kind}, not a model: submit an STL or 3MF file`);
      step.clear();
      const receipt = await tx.run({ contract: "BountyBoard", functionName: "submit", args: [BigInt(b.bounty_id), cidHex(stored.cid)], label: "Submit your design" });
      if (receipt) setEntryFile(null);
    } catch (err) {
      step.fail(`Submitting stopped: ${errorText(err)}`);
    }
  }

  async function award(entry: Entry, text: string) {
    tx.reset();
    step.clear();
    if (!b) return;
    try {
      const amount = toBaseUnits(cfg, b.token, text, "the award");
      if (amount <= 0n) throw new Error("award more than zero");
      await tx.run({ contract: "BountyBoard", functionName: "award", args: [BigInt(b.bounty_id), BigInt(entry.submission_id), amount], label: `Award entry ${entry.submission_id}` });
    } catch (err) {
      step.fail(`Award stopped: ${errorText(err)}`);
    }
  }

  const now = Date.now() / 1000;
  return (
    <>
      <p className="crumbs">
        <Link to="/bounties">Bounties</Link> / Bounty {id}
      </p>
      <h1>{brief.data?.title ? `Bounty ${id}: ${brief.data.title}` : `Bounty ${id}`}</h1>
      {watched.map((a) => (
        <TopicWatch key={a} topic={`account:${a}`} onMessage={onMessage} />
      ))}
      <div aria-live="polite">{live && <Notice>Update: {live}.</Notice>}</div>
      <Loadable {...bounty}>
        {(v) => {
          const open = v.deadline >= now;
          const approver = v.approvers.some((a) => sameAddress(a, me));
          return (
            <>
              {brief.data?.description && <p className="lead">{brief.data.description}</p>}
              <section aria-labelledby="terms-h">
                <h2 id="terms-h">Terms</h2>
                <Facts
                  items={[
                    ["Pot", <strong data-testid="bounty-pot"><Amount value={v.pot} token={v.token} /></strong>],
                    ["Paid out", <Amount value={v.paid} token={v.token} />],
                    ["Submissions until", `${formatTime(v.deadline)}${open ? "" : " (closed)"}`],
                    ["Poster", <Addr value={v.poster} />],
                    ["Approvers", <>{v.approvers.map((a, i) => <span key={a}>{i ? ", " : ""}<Addr value={a} /></span>)} ({v.quorum} needed)</>],
                    ["Material", brief.data?.material || "any"],
                    ["Process", brief.data?.process || "any"],
                    ["Bounding box", brief.data?.bounding_box_mm ? `${brief.data.bounding_box_mm.join(" × ")} mm` : "any"],
                    ["Royalty shares", `sponsors ${v.sponsor_royalty_bps / 100} %, winner's design ${v.design_royalty_bps / 100} %`],
                    ["Brief", <a className="mono" href={`/v1/content/${v.brief_cid}`}>{shortAddress(v.brief_cid)}</a>],
                  ]}
                />
                {brief.data?.constraints?.length ? (
                  <>
                    <h3>Constraints</h3>
                    <ul>{brief.data.constraints.map((c) => <li key={c}>{c}</li>)}</ul>
                  </>
                ) : null}
              </section>
              <section aria-labelledby="sponsors-h">
                <h2 id="sponsors-h">Sponsors</h2>
                <ul className="plain" data-testid="sponsors">
                  {(v.contributions ?? []).map((c) => (
                    <li key={c.sponsor}><Addr value={c.sponsor} />: <Amount value={c.funded} token={v.token} />{c.refunded ? " (refunded)" : ""}</li>
                  ))}
                </ul>
                {open && (
                  <form className="design-form design-panel" onSubmit={(e) => void fund(e)} aria-labelledby="fund-h">
                    <h3 id="fund-h">Fund this bounty</h3>
                    <Field id="fund-amount" label="Amount">
                      <input id="fund-amount" inputMode="decimal" value={fundAmount} onChange={(e) => setFundAmount(e.target.value)} required />
                    </Field>
                    <div className="design-actions"><button type="submit" className="button" disabled={working}>Fund</button></div>
                  </form>
                )}
              </section>
              <section aria-labelledby="entries-h">
                <h2 id="entries-h">Entries</h2>
                {(v.entries ?? []).length === 0 ? (
                  <p className="muted">No entries yet.</p>
                ) : (
                  <ul className="design-list" data-testid="entries">
                    {(v.entries ?? []).map((s) => {
                      const pending = (v.approvals ?? []).filter((a) => a.submission_id === s.submission_id);
                      return (
                        <li key={s.submission_id}>
                          <span className="grow">
                            Entry {s.submission_id} by <Addr value={s.submitter} />: <a className="mono" href={`/v1/content/${s.cid}`}>{shortAddress(s.cid)}</a>
                            {big(s.awarded) > 0n && <> · awarded <Amount value={s.awarded} token={v.token} /></>}
                            {pending.map((p) => <span key={String(p.amount)} className="small muted"> · {p.approvers.length}/{v.quorum} approvals for <Amount value={p.amount} token={v.token} /></span>)}
                          </span>
                          {approver && v.quorum > 0 && <AwardForm bounty={v} entry={s} disabled={working} onAward={(e, a) => void award(e, a)} />}
                        </li>
                      );
                    })}
                  </ul>
                )}
                {open && (
                  <div className="design-panel">
                    <h3 id="submit-h">Submit a design</h3>
                    <SignInGate why="store your design and submit it">
                      <form className="design-form" onSubmit={(e) => void submit(e)} aria-labelledby="submit-h">
                        <Field id="entry-file" label="Design file (STL or 3MF)">
                          <input id="entry-file" type="file" accept=".stl,.3mf,model/stl,model/3mf" required onChange={(e) => setEntryFile(e.target.files?.[0] ?? null)} />
                        </Field>
                        <div className="design-actions"><button type="submit" className="button" disabled={working}>Submit entry</button></div>
                      </form>
                    </SignInGate>
                  </div>
                )}
              </section>
              <section aria-labelledby="awarded-h">
                <h2 id="awarded-h">Awards</h2>
                {(v.awards ?? []).length === 0 ? (
                  <p className="muted">Nothing awarded yet.</p>
                ) : (
                  <ul className="plain" data-testid="awards">
                    {(v.awards ?? []).map((a) => (
                      <li key={a.tx_hash + a.submission_id}>
                        <Amount value={a.amount} token={v.token} /> to entry {a.submission_id} (<Addr value={a.submitter} />), decided by <Addr value={a.decided_by} />
                      </li>
                    ))}
                  </ul>
                )}
              </section>
            </>
          );
        }}
      </Loadable>
      <div className="design-status">
        <StepNotice step={step.step} onDismiss={step.clear} />
        <TxStatus state={tx.state} onDismiss={tx.reset} />
      </div>
      <AwardBalances heading="Your awards to withdraw" />
    </>
  );
}
