// Jobs: filters (status, material, process) in the URL, cursor paging through /v1/jobs.
import { useState, type FormEvent } from "react";
import { navigate, type RouteProps } from "../app/router";
import { Loadable } from "../components/bits";
import { JobTable } from "../components/JobTable";
import { get } from "../lib/api";
import { useConfig } from "../lib/config";
import { humanize } from "../lib/format";
import type { JobRow, Page } from "../lib/types";
import { useFetch } from "../lib/useFetch";

const PAGE = 20;

export default function Jobs({ query }: RouteProps) {
  const cfg = useConfig();
  const status = query.get("status") ?? "";
  const material = query.get("material") ?? "";
  const process = query.get("process") ?? "";
  const cursor = query.get("cursor") ?? "";
  const [trail, setTrail] = useState<string[]>([]); // cursors of the pages before this one, for "Previous"
  const page = useFetch(
    () => get<Page<JobRow>>("/v1/jobs", { status, material, process, cursor, limit: PAGE }),
    [status, material, process, cursor],
  );

  const apply = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    setTrail([]);
    navigate("/jobs", { status: String(f.get("status") ?? ""), material: String(f.get("material") ?? ""), process: String(f.get("process") ?? "") });
  };
  const filters = { status, material, process };

  return (
    <>
      <h1>Jobs</h1>
      <form className="filters" onSubmit={apply} aria-label="Filter jobs">
        <div className="field">
          <label htmlFor="filter-status">Status</label>
          <select id="filter-status" name="status" defaultValue={status}>
            <option value="">Any</option>
            {cfg.job_statuses.map((s) => (
              <option key={s} value={s}>
                {humanize(s)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="filter-material">Material</label>
          <select id="filter-material" name="material" defaultValue={material}>
            <option value="">Any</option>
            {cfg.materials.map((m) => (
              <option key={m} value={m}>
                {m.replace(/_/g, " ")}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="filter-process">Process</label>
          <select id="filter-process" name="process" defaultValue={process}>
            <option value="">Any</option>
            {cfg.processes.map((m) => (
              <option key={m} value={m}>
                {m.replace(/_/g, " ")}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="button">
          Apply
        </button>
      </form>
      <Loadable {...page}>
        {(p) => (
          <>
            <JobTable jobs={p.items} caption="Jobs, newest first" />
            <nav className="pager" aria-label="Pages of jobs">
              <button
                type="button"
                className="button secondary"
                disabled={!cursor}
                onClick={() => {
                  const prev = trail.slice(0, -1);
                  navigate("/jobs", { ...filters, cursor: trail[trail.length - 1] });
                  setTrail(prev);
                }}
              >
                Previous
              </button>
              <button
                type="button"
                className="button secondary"
                disabled={!p.next_cursor}
                onClick={() => {
                  setTrail([...trail, cursor]);
                  navigate("/jobs", { ...filters, cursor: p.next_cursor });
                }}
              >
                Next
              </button>
            </nav>
          </>
        )}
      </Loadable>
    </>
  );
}
