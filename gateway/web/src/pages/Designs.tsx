// Designs: newest first, offset paging through /v1/designs; each links to its page (pages/design/Design.tsx).
import { Link, type RouteProps } from "../app/router";
import { Address, Loadable } from "../components/bits";
import { get } from "../lib/api";
import { humanize } from "../lib/format";
import type { DesignRow, Page } from "../lib/types";
import { useFetch } from "../lib/useFetch";

const PAGE = 20;

export default function Designs({ query }: RouteProps) {
  const offset = Math.max(0, Number(query.get("offset") ?? 0) || 0);
  const page = useFetch(() => get<Page<DesignRow>>("/v1/designs", { limit: PAGE, offset }), [offset]);
  return (
    <>
      <h1>Designs</h1>
      <p>
        <Link className="button" to="/designs/new">Mint a design</Link>
      </p>
      <Loadable {...page}>
        {(p) =>
          p.items.length === 0 ? (
            <p className="muted">No designs minted yet.</p>
          ) : (
            <>
              <div className="table-wrap">
                <table className="table">
                  <caption className="visually-hidden">Designs, newest first</caption>
                  <thead>
                    <tr>
                      <th scope="col">Design</th>
                      <th scope="col">State</th>
                      <th scope="col">Royalty</th>
                      <th scope="col" className="wide">Creator</th>
                      <th scope="col" className="wide">Owner</th>
                    </tr>
                  </thead>
                  <tbody>
                    {p.items.map((d) => (
                      <tr key={d.token_id}>
                        <td className="mono" title={d.token_id}>
                          <Link to={`/designs/${d.token_id}`} aria-label={`Design ${d.token_id}`}>
                            {d.token_id.length > 12 ? `${d.token_id.slice(0, 10)}…` : d.token_id}
                          </Link>
                        </td>
                        <td>{humanize(d.state)}{d.licensed ? " · licensed" : ""}</td>
                        <td>{(d.royalty_bps / 100).toFixed(2)} %</td>
                        <td className="wide"><Address value={d.creator} /></td>
                        <td className="wide"><Address value={d.owner} /></td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <nav className="pager" aria-label="Pages of designs">
                {offset > 0 ? <Link to="/designs" query={{ offset: Math.max(0, offset - PAGE) }}>Previous</Link> : <span />}
                {p.items.length === PAGE && <Link to="/designs" query={{ offset: offset + PAGE }}>Next</Link>}
              </nav>
            </>
          )
        }
      </Loadable>
    </>
  );
}
