// One of the shop's nodes on the dashboard: what it is, what it earned (its jobs, and the payout each settled
// one credited: price less protocol fee and royalty, as JobMarket._settle pays), the open jobs it could claim now
// (live: open-jobs:<id>), and its machines' telemetry (for the signed-in operator).
import { Link } from "../../app/router";
import { Loadable, Notice } from "../bits";
import { JobTable } from "../JobTable";
import { get } from "../../lib/api";
import { useConfig } from "../../lib/config";
import { formatAmount, humanize } from "../../lib/format";
import type { StreamClient } from "../../lib/stream";
import type { JobRow, NodeRow, Page } from "../../lib/types";
import { useFetch } from "../../lib/useFetch";
import { MachinePanel } from "./MachinePanel";
import { OpenJobs } from "./OpenJobs";
import { byMachine, useNodeTelemetry } from "./telemetry";

/** Earnings per token from a node's settled jobs. */
function earnings(jobs: JobRow[]): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const j of jobs) {
    if (j.status !== "settled") continue;
    const amount = BigInt(j.amount);
    const payout = amount - (amount * BigInt(j.fee_bps)) / 10_000n - BigInt(j.royalty);
    out.set(j.token, (out.get(j.token) ?? 0n) + payout);
  }
  return out;
}

/** A node: summary, earnings and claims, open jobs, telemetry. */
export function NodePanel({ node, stream, signedIn, onSignIn, busy }: { node: NodeRow; stream: StreamClient | null; signedIn: boolean; onSignIn: () => void; busy: boolean }) {
  const cfg = useConfig();
  const id = node.node_id;
  const jobs = useFetch(() => get<Page<JobRow>>("/v1/jobs", { node_id: id, limit: 100 }), [id]);
  const telemetry = useNodeTelemetry(id, signedIn ? stream : null);
  const byStatus = new Map<string, number>();
  for (const j of jobs.data?.items ?? []) byStatus.set(j.status, (byStatus.get(j.status) ?? 0) + 1);
  const earned = earnings(jobs.data?.items ?? []);

  return (
    <section className="node-panel" aria-labelledby={`node-${id}-h`} data-node-id={id}>
      <h2 id={`node-${id}-h`}>
        Node {id} <span className={`badge ${node.active ? "badge-settled" : "badge-expired"}`}>{node.active ? "Active" : "Out of service"}</span>
      </h2>
      <p className="small">
        {node.process_names.join(", ")} · {node.material_names.map((m) => m.replace(/_/g, " ")).join(", ")} · {node.build_x} × {node.build_y} × {node.build_z} mm ·{" "}
        <Link to={`/nodes/${id}`}>public page</Link>
      </p>

      <h3>Claims and earnings</h3>
      <Loadable {...jobs}>
        {(p) => (
          <>
            <p className="small" data-testid="claims-summary">
              {p.items.length === 0 ? "No jobs claimed yet." : [...byStatus.entries()].map(([s, n]) => `${n} ${humanize(s).toLowerCase()}`).join(" · ")}
            </p>
            {earned.size > 0 && (
              <p className="small" data-testid="earnings">
                Earned from settled jobs: {[...earned.entries()].map(([token, v]) => formatAmount(cfg, v, token)).join(", ")}
              </p>
            )}
            {p.items.length > 0 && <JobTable jobs={p.items.slice(0, 10)} caption={`Jobs claimed by node ${id}`} />}
          </>
        )}
      </Loadable>

      <h3>Jobs it could take</h3>
      <OpenJobs nodeId={id} onChange={() => void jobs.reload()} />

      <h3>Machines</h3>
      {!signedIn ? (
        <p className="small">
          Telemetry is private to the node's operator.{" "}
          <button type="button" className="button secondary" onClick={onSignIn} disabled={busy}>
            Sign in to see it
          </button>
        </p>
      ) : telemetry.error ? (
        <Notice kind="error">Telemetry cannot be read: {telemetry.error}</Notice>
      ) : telemetry.samples.length === 0 ? (
        <p className="muted small" data-testid={`no-telemetry-${id}`}>
          {telemetry.loading ? "Loading telemetry…" : "No telemetry in the last hour. Readings appear here as the node client pushes them."}
        </p>
      ) : (
        <div className="machines" data-testid={`machines-${id}`}>
          {byMachine(telemetry.samples).map(([name, samples]) => (
            <MachinePanel key={name} name={name} samples={samples} />
          ))}
        </div>
      )}
    </section>
  );
}
