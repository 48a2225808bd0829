// Overview: protocol statistics and the newest jobs, live (an account-free page: no wallet needed).
import { Link } from "../app/router";
import { Amount, Loadable } from "../components/bits";
import { JobTable } from "../components/JobTable";
import { get } from "../lib/api";
import { useConfig } from "../lib/config";
import { humanize } from "../lib/format";
import type { JobRow, Page, Stats } from "../lib/types";
import { useFetch } from "../lib/useFetch";

export default function Home() {
  const cfg = useConfig();
  const stats = useFetch(() => get<Stats>("/v1/stats"), []);
  const jobs = useFetch(() => get<Page<JobRow>>("/v1/jobs", { limit: 5 }), []);
  return (
    <>
      <h1>Fabrica</h1>
      <p className="lead">Post a part, and a verified machine near you makes it. Payment waits in escrow until you accept the print.</p>
      <section aria-labelledby="stats-h">
        <h2 id="stats-h">Protocol at a glance</h2>
        <Loadable {...stats}>
          {(s) => (
            <>
              <ul className="cards">
                <li className="card">
                  <span className="card-value">{s.jobs.total}</span> <span className="card-label">jobs</span>
                </li>
                <li className="card">
                  <span className="card-value">{s.nodes_active}</span> <span className="card-label">active nodes</span>
                </li>
                <li className="card">
                  <span className="card-value">{s.designs}</span> <span className="card-label">designs</span>
                </li>
                <li className="card">
                  <span className="card-value">{s.bounties}</span> <span className="card-label">bounties</span>
                </li>
                <li className="card">
                  <span className="card-value">{s.proposals}</span> <span className="card-label">proposals</span>
                </li>
              </ul>
              <div className="two-col">
                <div>
                  <h3>Jobs by status</h3>
                  {Object.keys(s.jobs.by_status).length === 0 ? (
                    <p className="muted">No jobs yet.</p>
                  ) : (
                    <ul className="plain">
                      {Object.entries(s.jobs.by_status).map(([k, n]) => (
                        <li key={k}>
                          <Link to="/jobs" query={{ status: k }}>
                            {humanize(k)}
                          </Link>
                          : {n}
                        </li>
                      ))}
                    </ul>
                  )}
                </div>
                <div>
                  <h3>Settled volume</h3>
                  {Object.keys(s.volume).length === 0 ? (
                    <p className="muted">Nothing settled yet.</p>
                  ) : (
                    <ul className="plain">
                      {Object.entries(s.volume).map(([token, v]) => (
                        <li key={token}>
                          <Amount value={v} token={token} />
                          {s.fees[token] !== undefined && (
                            <>
                              {" "}
                              (fees <Amount value={s.fees[token]} token={token} />)
                            </>
                          )}
                        </li>
                      ))}
                    </ul>
                  )}
                </div>
              </div>
              <p className="muted small">Indexed to block {s.block ?? "—"} on chain {cfg.chain_id}.</p>
            </>
          )}
        </Loadable>
      </section>
      <section aria-labelledby="newest-h">
        <h2 id="newest-h">Newest jobs</h2>
        <Loadable {...jobs}>{(p) => <JobTable jobs={p.items} caption="Newest jobs" />}</Loadable>
        <p>
          <Link to="/jobs">All jobs</Link>
        </p>
      </section>
    </>
  );
}
