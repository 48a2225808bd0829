// What the job page adds for the job's customer: the print's telemetry once a shop claimed it, and the
// decision (accept or dispute) once it is delivered. Anyone else sees nothing here.
import { useTx } from "../../chain/tx";
import type { Job } from "../../lib/types";
import { useWallet } from "../../wallet/WalletContext";
import { Notice } from "../bits";
import { TxStatus } from "../TxStatus";
import { JobActions } from "./JobActions";
import { Telemetry } from "./Telemetry";
import "../../pages/customer/customer.css";

export function CustomerPanel({ job, tick, onChanged }: { job: Job; tick: number; onChanged: () => void }) {
  const w = useWallet();
  const tx = useTx(); // here, not in the actions: its confirmation stays on screen when the job moves on
  if (!w.account || w.account.toLowerCase() !== job.customer.toLowerCase()) return null;
  const claimedOnce = job.node_id !== null || job.history.some((e) => e.event === "JobClaimed" || e.event === "OrderTaken");
  return (
    <>
      {claimedOnce &&
        (w.signedIn ? (
          <Telemetry jobId={String(job.job_id)} tick={tick} making={job.status === "claimed"} />
        ) : (
          <Notice>
            Sign in to follow the print's progress and temperatures.{" "}
            <button type="button" className="button secondary" onClick={() => void w.signIn()} disabled={!!w.busy}>
              Sign in
            </button>
          </Notice>
        ))}
      {job.status === "delivered" && <JobActions job={job} tx={tx} onDone={onChanged} />}
      <TxStatus state={tx.state} onDismiss={tx.reset} />
    </>
  );
}
