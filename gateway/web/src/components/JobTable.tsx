// A table of jobs (the jobs list and the home page's newest jobs).
import { Link } from "../app/router";
import type { JobRow } from "../lib/types";
import { Address, Amount, StatusBadge } from "./bits";

/** Jobs as rows: id (link), title, status, price, material, customer. */
export function JobTable({ jobs, caption }: { jobs: JobRow[]; caption: string }) {
  if (jobs.length === 0) return <p className="muted">No jobs match.</p>;
  return (
    <div className="table-wrap">
      <table className="table">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">Status</th>
            <th scope="col">Price</th>
            <th scope="col" className="wide">Process · material</th>
            <th scope="col" className="wide">Customer</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((j) => (
            <tr key={j.job_id} data-job-id={j.job_id}>
              <td>
                <Link to={`/jobs/${j.job_id}`}>
                  #{j.job_id}
                  {j.title ? ` ${j.title}` : ""}
                </Link>
              </td>
              <td>
                <StatusBadge status={j.status} />
              </td>
              <td>
                <Amount value={j.amount} token={j.token} />
              </td>
              <td className="wide">{[j.process, j.material].filter(Boolean).join(" · ") || "—"}</td>
              <td className="wide">
                <Address value={j.customer} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
