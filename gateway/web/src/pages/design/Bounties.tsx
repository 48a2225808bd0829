// Design bounties: newest first, with their briefs' titles, pots, deadlines and entries; live through the
// stream: a new bounty names its token in its terms (the payment tokens' topics carry every post), and the
// connected account's topic carries what it funds, submits and is awarded.
import { Link, type RouteProps } from "../../app/router";
import { Address, Amount, Loadable } from "../../components/bits";
import { loadBrief } from "../../components/design/brief";
import { paymentTokens } from "../../components/design/chain";
import type { BountyView } from "../../components/design/types";
import { TopicWatch, isChange } from "../../components/design/ui";
import "../../components/design/design.css";
import { get } from "../../lib/api";
import { useConfig } from "../../lib/config";
import { formatTime } from "../../lib/format";
import { useFetch } from "../../lib/useFetch";
import { useWallet } from "../../wallet/WalletContext";

const PAGE = 20;

function BriefTitle({ cid, id }: { cid: string; id: number }) {
  const brief = useFetch(() => loadBrief(cid), [cid]);
  return <Link to={`/bounties/${id}`}>{brief.data?.title || `Bounty ${id}`}</Link>;
}

export default function Bounties({ query }: RouteProps) {
  const cfg = useConfig();
  const w = useWallet();
  const offset = Math.max(0, Number(query.get("offset") ?? 0) || 0);
  const page = useFetch(() => get<{ items: BountyView[] }>("/v1/bounties", { limit: PAGE, offset }), [offset]);
  const topics = [...paymentTokens(cfg).map((t) => t.address), ...(w.account ? [w.account] : [])].map((a) => `account:${a.toLowerCase()}`);
  const now = Date.now() / 1000;
  return (
    <>
      <h1>Bounties</h1>
      {topics.map((t) => (
        <TopicWatch key={t} topic={t} onMessage={(m) => isChange(m) && void page.reload()} />
      ))}
      <p className="lead">Sponsors fund a brief; designers submit; the bounty's approvers award the pot.</p>
      <p className="design-actions">
        <Link className="button" to="/bounties/new">Post a bounty</Link>
      </p>
      <Loadable {...page}>
        {(p) =>
          p.items.length === 0 ? (
            <p className="muted">No bounties yet.</p>
          ) : (
            <>
              <div className="table-wrap">
                <table className="table" data-testid="bounties">
                  <caption className="visually-hidden">Bounties, newest first</caption>
                  <thead>
                    <tr>
                      <th scope="col">Bounty</th>
                      <th scope="col">Pot</th>
                      <th scope="col">Submissions until</th>
                      <th scope="col">Entries</th>
                      <th scope="col" className="wide">Poster</th>
                    </tr>
                  </thead>
                  <tbody>
                    {p.items.map((b) => (
                      <tr key={b.bounty_id}>
                        <td><BriefTitle cid={b.brief_cid} id={b.bounty_id} /></td>
                        <td><Amount value={b.pot} token={b.token} /></td>
                        <td>{formatTime(b.deadline)}{b.deadline < now ? " (closed)" : ""}</td>
                        <td>{b.submissions}</td>
                        <td className="wide"><Address value={b.poster} /></td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <nav className="pager" aria-label="Pages of bounties">
                {offset > 0 ? <Link to="/bounties" query={{ offset: Math.max(0, offset - PAGE) }}>Previous</Link> : <span />}
                {p.items.length === PAGE && <Link to="/bounties" query={{ offset: offset + PAGE }}>Next</Link>}
              </nav>
            </>
          )
        }
      </Loadable>
    </>
  );
}
