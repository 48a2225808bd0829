// Post a bounty: the brief stored as JSON (protocol/bounties.py `bounty_brief`), the terms built as
// BountyTerms (token, brief CID, deadline, approvers and quorum, no evaluator, royalty shares) and checked like
// the SDK's `check_post`, the first funding approved, then BountyBoard.post(terms, amount).
import { useState, type FormEvent } from "react";
import { getAddress, isAddress, parseEventLogs, type Address } from "viem";
import { Link, navigate } from "../../app/router";
import { TxStatus } from "../../components/TxStatus";
import { paymentTokens, readChain, toBaseUnits, ZERO_ADDRESS } from "../../components/design/chain";
import { cidHex } from "../../components/design/cid";
import { bountyBrief, uploadJson } from "../../components/design/content";
import { payAndRun } from "../../components/design/pay";
import { Field, SignInGate, StepNotice, errorText, useStep } from "../../components/design/ui";
import "../../components/design/design.css";
import { publicClient } from "../../chain/clients";
import { loadAbis, useTx } from "../../chain/tx";
import { contractAddress, useConfig } from "../../lib/config";
import { useWallet } from "../../wallet/WalletContext";

export default function NewBounty() {
  const cfg = useConfig();
  const w = useWallet();
  const tx = useTx();
  const step = useStep();
  const tokens = paymentTokens(cfg);
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [material, setMaterial] = useState("");
  const [process, setProcess] = useState("");
  const [box, setBox] = useState(["", "", ""]);
  const [constraints, setConstraints] = useState("");
  const [token, setToken] = useState<string>(tokens[0]?.address ?? "");
  const [amount, setAmount] = useState("");
  const [days, setDays] = useState("14");
  const [approvers, setApprovers] = useState("");
  const [quorum, setQuorum] = useState("1");
  const [sponsorBps, setSponsorBps] = useState("0");
  const [designBps, setDesignBps] = useState("0");
  const working = step.step.kind === "busy" || ["checking", "signing", "pending"].includes(tx.state.phase);

  async function postBounty(e: FormEvent) {
    e.preventDefault();
    tx.reset();
    step.clear();
    const me = w.account;
    if (!me) return step.fail("Connect a wallet first.");
    try {
      const funding = amount.trim() ? toBaseUnits(cfg, token, amount, "the funding") : 0n;
      const d = Number(days);
      if (!Number.isInteger(d) || d < 1) throw new Error("give designers at least a day: the deadline is in whole days from now");
      const list = (approvers.trim() ? approvers : me).split(/[\s,]+/).filter(Boolean);
      const bad = list.find((a) => !isAddress(a));
      if (bad) throw new Error(`approver ${bad} is not an address`);
      const approverList = [...new Set(list.map((a) => getAddress(a)))] as Address[];
      const q = Number(quorum);
      if (!Number.isInteger(q) || q < 1 || q > approverList.length) throw new Error(`the quorum is from 1 to the ${approverList.length} approver(s)`);
      const sBps = Number(sponsorBps), dBps = Number(designBps);
      if (![sBps, dBps].every((b) => Number.isInteger(b) && b >= 0 && b <= 10_000)) throw new Error("royalty shares are basis points from 0 to 10000");
      const sizes = box.map((v) => v.trim());
      const bbox = sizes.every((v) => v === "") ? null : (sizes.map(Number) as [number, number, number]);
      if (!(await readChain<boolean>(cfg, "BountyBoard", "isTokenAllowed", [token]))) throw new Error("the bounty board does not accept this token: fund bounties in a token the DAO allows");
      const text = bountyBrief({ title, description, material, process, boundingBoxMm: bbox, constraints: constraints.split("\n").map((c) => c.trim()).filter(Boolean) });
      step.busy("Storing the brief…");
      const brief = await uploadJson(text, "brief.json");
      const block = await publicClient(cfg).getBlock();
      const terms = {
        token: token as Address, briefCid: cidHex(brief.cid), deadline: block.timestamp + BigInt(d * 86400), approvers: approverList, quorum: q,
        evaluator: ZERO_ADDRESS, sponsorRoyaltyBps: sBps, designRoyaltyBps: dBps,
      };
      step.clear();
      const receipt = await payAndRun({
        cfg, run: tx.run, account: me, token: token as Address, spender: contractAddress(cfg, "BountyBoard"), amount: funding,
        what: "the bounty's first funding", fail: step.fail,
        call: { contract: "BountyBoard", functionName: "post", args: [terms, funding], label: "Post the bounty" },
      });
      if (!receipt) return;
      const { ABIS } = await loadAbis();
      const posted = parseEventLogs({ abi: ABIS.BountyBoard, logs: receipt.logs, eventName: "BountyPosted" }) as unknown as { args: { id: bigint } }[];
      if (posted[0]) navigate(`/bounties/${posted[0].args.id}`);
    } catch (err) {
      step.fail(`Posting stopped: ${errorText(err)}`);
    }
  }

  return (
    <>
      <p className="crumbs">
        <Link to="/bounties">Bounties</Link> / New
      </p>
      <h1>Post a bounty</h1>
      <SignInGate why="store the brief and post the bounty">
        <form className="design-form" onSubmit={(e) => void postBounty(e)}>
          <fieldset className="design-form">
            <legend>The brief</legend>
            <Field id="b-title" label="Title">
              <input id="b-title" value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={200} />
            </Field>
            <Field id="b-description" label="What the design must do">
              <textarea id="b-description" value={description} onChange={(e) => setDescription(e.target.value)} />
            </Field>
            <div className="row-3">
              <Field id="b-material" label="Material">
                <select id="b-material" value={material} onChange={(e) => setMaterial(e.target.value)}>
                  <option value="">any</option>
                  {cfg.materials.map((m) => <option key={m} value={m}>{m}</option>)}
                </select>
              </Field>
              <Field id="b-process" label="Process">
                <select id="b-process" value={process} onChange={(e) => setProcess(e.target.value)}>
                  <option value="">any</option>
                  {cfg.processes.map((p) => <option key={p} value={p}>{p}</option>)}
                </select>
              </Field>
            </div>
            <div className="row-3" role="group" aria-label="Bounding box in mm (optional)">
              {["x", "y", "z"].map((axis, i) => (
                <Field key={axis} id={`b-box-${axis}`} label={`Size ${axis} (mm)`}>
                  <input id={`b-box-${axis}`} inputMode="decimal" value={box[i]} onChange={(e) => setBox(box.map((v, k) => (k === i ? e.target.value : v)))} />
                </Field>
              ))}
            </div>
            <Field id="b-constraints" label="Constraints (one a line)">
              <textarea id="b-constraints" value={constraints} onChange={(e) => setConstraints(e.target.value)} />
            </Field>
          </fieldset>
          <fieldset className="design-form">
            <legend>The terms</legend>
            <div className="row-3">
              <Field id="b-token" label="Token">
                <select id="b-token" value={token} onChange={(e) => setToken(e.target.value)}>
                  {tokens.map((t) => <option key={t.address} value={t.address}>{t.symbol}</option>)}
                </select>
              </Field>
              <Field id="b-amount" label="Funding now">
                <input id="b-amount" inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} />
              </Field>
              <Field id="b-days" label="Open for (days)">
                <input id="b-days" type="number" min={1} value={days} onChange={(e) => setDays(e.target.value)} required />
              </Field>
            </div>
            <Field id="b-approvers" label="Approvers" hint="Addresses that award the pot, separated by spaces or new lines (empty: you).">
              <textarea id="b-approvers" className="mono" value={approvers} onChange={(e) => setApprovers(e.target.value)} aria-describedby="b-approvers-hint" />
            </Field>
            <div className="row-3">
              <Field id="b-quorum" label="Approvals needed">
                <input id="b-quorum" type="number" min={1} value={quorum} onChange={(e) => setQuorum(e.target.value)} required />
              </Field>
              <Field id="b-sponsor-bps" label="Sponsors' royalty share (bps)">
                <input id="b-sponsor-bps" type="number" min={0} max={10000} value={sponsorBps} onChange={(e) => setSponsorBps(e.target.value)} />
              </Field>
              <Field id="b-design-bps" label="Winner's design royalty (bps)">
                <input id="b-design-bps" type="number" min={0} max={10000} value={designBps} onChange={(e) => setDesignBps(e.target.value)} />
              </Field>
            </div>
          </fieldset>
          <div className="design-actions">
            <button type="submit" className="button" disabled={working}>Post bounty</button>
          </div>
        </form>
      </SignInGate>
      <div className="design-status">
        <StepNotice step={step.step} onDismiss={step.clear} />
        <TxStatus state={tx.state} onDismiss={tx.reset} />
      </div>
    </>
  );
}
