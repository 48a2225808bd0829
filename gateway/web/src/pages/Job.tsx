// A job: its terms, spec, history and proof, kept current by the stream (topic job:<id>): each new event
// reloads the job and is announced; a reorg reloads it too (the history after the ancestor is gone).
import { useState } from "react";
import { Link, type RouteProps } from "../app/router";
import { Address, Amount, Facts, Loadable, Notice, StatusBadge } from "../components/bits";
import { get } from "../lib/api";
import { useConfig } from "../lib/config";
import { formatTime, humanize } from "../lib/format";
import { useTopic } from "../lib/stream";
import type { Job as JobT } from "../lib/types";
import { useFetch } from "../lib/useFetch";
import { CustomerPanel } from "../components/customer/CustomerPanel";
import { ProofSummary } from "../components/customer/ProofSummary";

export default function Job({ params }: RouteProps) {
  const cfg = useConfig();
  const fab = cfg.tokens.find((t) => t.kind === "fab")?.address; // collateral is the node's staked FAB
  const id = params.id;
  const valid = /^[0-9]{1,19}$/.test(id);
  const job = useFetch(() => (valid ? get<JobT>(`/v1/jobs/${id}`) : Promise.reject(new Error(`${id} is not a job id`))), [id]);
  const [live, setLive] = useState<string | null>(null);
  const [tick, setTick] = useState(0); // every stream message: the customer's panel reads the telemetry again

  useTopic(valid ? `job:${id}` : null, (m) => {
    setTick((t) => t + 1);
    if (m.type === "event") {
      setLive(`${humanize(m.event)} in block ${m.block}`);
      void job.reload();
    } else if (m.type === "reorg") {
      setLive(`The chain reorganised after block ${m.block}; the job was read again`);
      void job.reload();
    } else if (m.type === "state" || m.type === "subscribed") {
      void job.reload(); // subscribed: nothing is missed from here, so read the state once more
    }
  });

  return (
    <>
      <p className="crumbs">
        <Link to="/jobs">Jobs</Link> / Job {id}
      </p>
      <h1>
        Job {id}
        {job.data?.spec?.title ? `: ${String(job.data.spec.title)}` : ""}
      </h1>
      <div aria-live="polite" className="live-region">
        {live && <Notice kind="info">Update: {live}.</Notice>}
      </div>
      <Loadable {...job}>
        {(j) => (
          <>
            <p data-testid="job-status">
              <StatusBadge status={j.status} />
            </p>
            <CustomerPanel job={j} tick={tick} onChanged={() => void job.reload()} />
            <section aria-labelledby="terms-h">
              <h2 id="terms-h">Terms</h2>
              <Facts
                items={[
                  ["Price", <Amount value={j.amount} token={j.token} />],
                  ["Collateral", <Amount value={j.collateral} token={fab} />],
                  ["Protocol fee", <Amount value={j.expected_fee} token={j.token} />],
                  ["Customer", <Address value={j.customer} />],
                  ["Node", j.node_id !== null ? <Link to={`/nodes/${j.node_id}`}>Node {j.node_id}</Link> : <span className="muted">not claimed</span>],
                  ["Claim by", formatTime(j.claim_by ?? j.deadline)],
                  ["Deliver by", formatTime(j.deliver_by)],
                  ["Review until", formatTime(j.review_until)],
                  ["Design", j.design_id && j.design_id !== "0" ? j.design_id : "none"],
                ]}
              />
            </section>
            {j.spec && (
              <section aria-labelledby="spec-h">
                <h2 id="spec-h">Part</h2>
                <Facts
                  items={[
                    ["Process", String(j.spec.process ?? "—")],
                    ["Material", String(j.spec.material ?? "—")],
                    ["Size (mm)", [j.spec.size_x, j.spec.size_y, j.spec.size_z].every((v) => v !== null && v !== undefined) ? `${j.spec.size_x} × ${j.spec.size_y} × ${j.spec.size_z}` : "—"],
                    ["Spec", <a href={`/v1/content/${j.spec_cid}`}>{j.spec_cid.slice(0, 12)}…</a>],
                  ]}
                />
              </section>
            )}
            <section aria-labelledby="proof-h">
              <h2 id="proof-h">Proof of fabrication</h2>
              {j.proof ? (
                <>
                  <p>
                    <a href={j.proof.url}>Open the proof bundle ({j.proof.cid.slice(0, 12)}…)</a>
                  </p>
                  <ProofSummary cid={j.proof.cid} operator={j.node} />
                </>
              ) : (
                <p className="muted">No proof delivered yet.</p>
              )}
            </section>
            <section aria-labelledby="history-h">
              <h2 id="history-h">History</h2>
              <ol className="history" data-testid="job-history">
                {j.history.map((e) => (
                  <li key={`${e.block_number}.${e.log_index}`} data-event={e.event}>
                    <strong>{humanize(e.event)}</strong> <span className="muted">block {e.block_number}</span>{" "}
                    <span className="mono small" title={e.tx_hash}>
                      tx {e.tx_hash.slice(0, 10)}…
                    </span>
                  </li>
                ))}
              </ol>
              <p className="muted small">Indexed to block {j.block ?? "—"}.</p>
            </section>
          </>
        )}
      </Loadable>
    </>
  );
}
