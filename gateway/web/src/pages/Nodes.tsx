// Nodes: every registered machine with what it can make.
import { Link } from "../app/router";
import { Address, Loadable } from "../components/bits";
import { get } from "../lib/api";
import type { NodeRow, Page } from "../lib/types";
import { useFetch } from "../lib/useFetch";

export default function Nodes() {
  const nodes = useFetch(() => get<Page<NodeRow>>("/v1/nodes"), []);
  return (
    <>
      <h1>Nodes</h1>
      <Loadable {...nodes}>
        {(p) =>
          p.items.length === 0 ? (
            <p className="muted">No nodes registered yet.</p>
          ) : (
            <div className="table-wrap">
              <table className="table">
                <caption className="visually-hidden">Registered nodes</caption>
                <thead>
                  <tr>
                    <th scope="col">Node</th>
                    <th scope="col">State</th>
                    <th scope="col">Processes</th>
                    <th scope="col" className="wide">Build volume (mm)</th>
                    <th scope="col" className="wide">Operator</th>
                  </tr>
                </thead>
                <tbody>
                  {p.items.map((n) => (
                    <tr key={n.node_id}>
                      <td>
                        <Link to={`/nodes/${n.node_id}`}>Node {n.node_id}</Link>
                      </td>
                      <td>{n.active ? "Active" : "Inactive"}</td>
                      <td>{n.process_names.join(", ") || "—"}</td>
                      <td className="wide">
                        {n.build_x} × {n.build_y} × {n.build_z}
                      </td>
                      <td className="wide">
                        <Address value={n.operator} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loadable>
    </>
  );
}
