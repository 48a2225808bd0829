// The open jobs a node could claim now (stake, target, process, material and size checked by the gateway), kept
// current by the stream's open-jobs:<node id> topic: a job posted that fits appears, one claimed goes.
import { Link } from "../../app/router";
import { Amount, Loadable } from "../bits";
import { get } from "../../lib/api";
import { useConfig } from "../../lib/config";
import { formatTime } from "../../lib/format";
import { useTopic } from "../../lib/stream";
import type { JobRow, Page } from "../../lib/types";
import { useFetch } from "../../lib/useFetch";

interface OpenJob extends JobRow {
  spec: Record<string, unknown> | null;
}

/** A table of the jobs node `nodeId` could take; `onChange` hears of every change (a claim, say). */
export function OpenJobs({ nodeId, onChange }: { nodeId: number; onChange?: () => void }) {
  const cfg = useConfig();
  const fab = cfg.tokens.find((t) => t.kind === "fab")?.address;
  const open = useFetch(() => get<Page<OpenJob>>(`/v1/nodes/${nodeId}/open-jobs`, { limit: 20 }), [nodeId]);
  useTopic(`open-jobs:${nodeId}`, (m) => {
    if (m.type === "event" || m.type === "reorg" || m.type === "subscribed") {
      void open.reload();
      onChange?.();
    }
  });
  return (
    <Loadable {...open}>
      {(p) =>
        p.items.length === 0 ? (
          <p className="muted small">No open job fits this node right now; new ones appear here as they are posted.</p>
        ) : (
          <div className="table-wrap">
            <table className="table" data-testid={`open-jobs-${nodeId}`}>
              <caption className="visually-hidden">Open jobs node {nodeId} could claim</caption>
              <thead>
                <tr>
                  <th scope="col">Job</th>
                  <th scope="col">Price</th>
                  <th scope="col">Collateral</th>
                  <th scope="col" className="wide">
                    Claim by
                  </th>
                </tr>
              </thead>
              <tbody>
                {p.items.map((j) => (
                  <tr key={j.job_id} data-job-id={j.job_id}>
                    <td>
                      <Link to={`/jobs/${j.job_id}`}>
                        #{j.job_id}
                        {j.spec?.title ? ` ${String(j.spec.title)}` : ""}
                      </Link>
                    </td>
                    <td>
                      <Amount value={j.amount} token={j.token} />
                    </td>
                    <td>
                      <Amount value={j.collateral} token={fab} />
                    </td>
                    <td className="wide">{formatTime(j.deadline)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      }
    </Loadable>
  );
}
