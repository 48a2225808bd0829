// A node: capabilities, its operator's stake, reputation, the jobs it has claimed and the open jobs it could
// take (live); its operator is pointed to the shop dashboard (stake, telemetry).
import { Link, type RouteProps } from "../app/router";
import { Address, Facts, Loadable } from "../components/bits";
import { JobTable } from "../components/JobTable";
import { OpenJobs } from "../components/shop/OpenJobs";
import { get } from "../lib/api";
import { formatAmount } from "../lib/format";
import { useConfig } from "../lib/config";
import type { JobRow, Node as NodeT, Page } from "../lib/types";
import { useFetch } from "../lib/useFetch";
import { useWallet } from "../wallet/WalletContext";

export default function Node({ params }: RouteProps) {
  const cfg = useConfig();
  const id = params.id;
  const valid = /^[0-9]{1,19}$/.test(id);
  const node = useFetch(() => (valid ? get<NodeT>(`/v1/nodes/${id}`) : Promise.reject(new Error(`${id} is not a node id`))), [id]);
  const jobs = useFetch(() => (valid ? get<Page<JobRow>>("/v1/jobs", { node_id: id, limit: 20 }) : Promise.resolve({ items: [], block: null })), [id]);
  const fab = cfg.tokens.find((t) => t.kind === "fab")?.address;
  const me = useWallet().account;
  const mine = !!me && node.data?.operator.toLowerCase() === me.toLowerCase();
  return (
    <>
      <p className="crumbs">
        <Link to="/nodes">Nodes</Link> / Node {id}
      </p>
      <h1>Node {id}</h1>
      {mine && (
        <p className="notice notice-info" data-testid="your-node">
          <span>
            You operate this node: <Link to="/shop">open your shop dashboard</Link> for its stake, earnings and machines.
          </span>
        </p>
      )}
      <Loadable {...node}>
        {(n) => (
          <>
            <section aria-labelledby="caps-h">
              <h2 id="caps-h">Capabilities</h2>
              <Facts
                items={[
                  ["State", n.active ? "Active" : "Inactive"],
                  ["Operator", <Address value={n.operator} />],
                  ["Processes", n.process_names.join(", ") || "—"],
                  ["Materials", n.material_names.map((m) => m.replace(/_/g, " ")).join(", ") || "—"],
                  ["Build volume", `${n.build_x} × ${n.build_y} × ${n.build_z} mm`],
                ]}
              />
            </section>
            <section aria-labelledby="stake-h">
              <h2 id="stake-h">Stake and reputation</h2>
              <Facts
                items={[
                  ["Bonded", n.stake ? formatAmount(cfg, n.stake.staked, fab) : "—"],
                  ["Locked in jobs", n.stake ? formatAmount(cfg, n.stake.locked, fab) : "—"],
                  ["Free", n.stake ? formatAmount(cfg, n.stake.free, fab) : "—"],
                  ["Slashed", n.stake ? formatAmount(cfg, n.stake.slashed, fab) : "—"],
                  ...Object.entries(n.reputation).map(([k, v]) => [k.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase()), String(v)] as [string, string]),
                ]}
              />
            </section>
          </>
        )}
      </Loadable>
      <section aria-labelledby="node-jobs-h">
        <h2 id="node-jobs-h">Jobs claimed</h2>
        <Loadable {...jobs}>{(p) => <JobTable jobs={p.items} caption={`Jobs claimed by node ${id}`} />}</Loadable>
      </section>
      {valid && node.data && (
        <section aria-labelledby="node-open-h">
          <h2 id="node-open-h">Jobs it could take</h2>
          <OpenJobs nodeId={Number(id)} onChange={() => void jobs.reload()} />
        </section>
      )}
    </>
  );
}
