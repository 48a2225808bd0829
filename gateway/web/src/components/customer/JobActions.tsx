// The customer's decision on a delivered job: accept it (JobMarket.accept pays the shop, the protocol and any
// royalty) or dispute it with evidence — the evidence files and the written reason are stored through the
// gateway as one JSON document whose CID goes on chain with JobMarket.dispute, which posts the job's bond
// (from the market credit first, then the wallet: approved first only when the allowance is short, as the
// SDK's dispute_job does).
import { useState, type FormEvent } from "react";
import { formatUnits, type Address } from "viem";
import type { useTx } from "../../chain/tx";
import { useConfig, tokenAt } from "../../lib/config";
import { formatAmount, formatTime } from "../../lib/format";
import type { Job } from "../../lib/types";
import { useWallet } from "../../wallet/WalletContext";
import { Notice } from "../bits";
import { cidToBytes } from "./cid";
import { upload, uploadJson } from "./content";
import { jobStruct, shortfall } from "./job";

const KINDS: Record<string, "stl" | "3mf" | "gcode" | "json"> = { stl: "stl", "3mf": "3mf", gcode: "gcode", gco: "gcode", g: "gcode", json: "json" };

/** The accept and dispute controls; `tx` is the panel's transaction runner, whose status the panel shows (it
 * outlives these controls, which go once the job is settled or disputed). */
export function JobActions({ job, tx, onDone }: { job: Job; tx: ReturnType<typeof useTx>; onDone: () => void }) {
  const cfg = useConfig();
  const w = useWallet();
  const [reason, setReason] = useState("");
  const [files, setFiles] = useState<File[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [step, setStep] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const token = tokenAt(cfg, job.token);
  const running = busy || tx.state.phase === "checking" || tx.state.phase === "signing" || tx.state.phase === "pending";

  const accept = async () => {
    setProblem(null);
    setBusy(true);
    try {
      const r = await tx.run({ contract: "JobMarket", functionName: "accept", args: [BigInt(job.job_id), jobStruct(job)], label: "Accept the delivery" });
      if (r) onDone();
    } finally {
      setBusy(false);
    }
  };

  const dispute = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(null);
    if (!reason.trim()) {
      setProblem("Say what is wrong with the delivery: the arbiter reads it.");
      return;
    }
    if (!w.account) {
      setProblem("Connect a wallet first (top right).");
      return;
    }
    if (!w.signedIn) {
      setProblem("Sign in first: storing your evidence needs a gateway session.");
      return;
    }
    setBusy(true);
    try {
      const evidence = [];
      for (const f of files) {
        setStep(`Storing ${f.name}…`);
        const ext = f.name.split(".").pop()?.toLowerCase() ?? "";
        const stored = await upload(f, f.name, KINDS[ext]);
        evidence.push({ cid: stored.cid, name: f.name, kind: stored.kind, size: stored.size });
      }
      setStep("Storing the dispute's reason…");
      const doc = {
        type: "fabrica.dispute-reason",
        job_id: job.job_id,
        customer: w.account,
        proof_cid: job.proof_cid,
        reason: reason.trim(),
        evidence,
        written_at: new Date().toISOString(),
      };
      const reasonCid = (await uploadJson(doc, "dispute-reason.json")).cid;
      const bond = BigInt(job.bond);
      const pay = await shortfall(cfg, job.token as Address, w.account, bond);
      if (pay.fromWallet > pay.balance) {
        setProblem(`The dispute bond needs ${formatAmount(cfg, pay.fromWallet, job.token)} from your wallet, which holds ${formatAmount(cfg, pay.balance, job.token)}.`);
        return;
      }
      if (pay.approve) {
        setStep(`Approving the market to take the ${formatUnits(pay.fromWallet, token?.decimals ?? 0)} ${token?.symbol ?? ""} bond…`);
        const ok = await tx.run({ contract: "FabToken", address: job.token as Address, functionName: "approve", args: [pay.market, pay.fromWallet], label: `Approve ${token?.symbol ?? "the token"}` });
        if (!ok) return;
      }
      setStep("Opening the dispute…");
      const r = await tx.run({ contract: "JobMarket", functionName: "dispute", args: [BigInt(job.job_id), jobStruct(job), cidToBytes(reasonCid)], label: "Dispute the delivery" });
      if (r) {
        setReason("");
        setFiles([]);
        onDone();
      }
    } catch (err) {
      setProblem((err as Error).message);
    } finally {
      setBusy(false);
      setStep(null);
    }
  };

  return (
    <section aria-labelledby="decide-h" className="cu-panel" data-testid="customer-actions">
      <h2 id="decide-h">Your decision</h2>
      <p>
        The shop delivered. Check the proof below, then accept the delivery or dispute it before{" "}
        <strong>{formatTime(job.review_until ?? job.deadline)}</strong>; after that the shop can settle the job without you.
      </p>
      <div className="cu-actions">
        <button type="button" className="button" onClick={() => void accept()} disabled={running}>
          Accept the delivery
        </button>
      </div>
      <form onSubmit={(e) => void dispute(e)} className="cu-dispute" aria-labelledby="dispute-h">
        <h3 id="dispute-h">Or dispute it</h3>
        <p className="small muted">
          Disputing posts a bond of {formatAmount(cfg, job.bond, job.token)}; the arbiter reads your reason and evidence and rules on the payment and the shop's collateral.
        </p>
        <label className="cu-wide">
          What is wrong
          <textarea value={reason} onChange={(e) => setReason(e.target.value)} rows={4} maxLength={5000} />
        </label>
        <label className="cu-wide">
          Evidence files (optional: STL, 3MF, G-code or JSON, e.g. a measured scan)
          <input type="file" multiple onChange={(e) => setFiles(Array.from(e.target.files ?? []))} />
        </label>
        {files.length > 0 && <p className="small">{files.map((f) => f.name).join(", ")}</p>}
        <div aria-live="polite">
          {problem && (
            <Notice kind="error" onDismiss={() => setProblem(null)}>
              {problem}
            </Notice>
          )}
        </div>
        {step && <p role="status" className="muted">{step}</p>}
        <p>
          <button type="submit" className="button secondary" disabled={running}>
            Dispute with this evidence
          </button>
        </p>
      </form>
      {!w.signedIn && <p className="small muted">Disputing stores your evidence with the gateway: sign in first.</p>}
    </section>
  );
}
