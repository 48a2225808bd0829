// A design: its metadata (name, description, licence in words), owner, creator, royalty, preview, listings and
// licences, its sales and the royalties it paid; live through the stream (its owner's and creator's account
// topics): a sale, new terms or a licence bought reload it.
import { lazy, Suspense, useState } from "react";
import { Link, type RouteProps } from "../../app/router";
import { Address, Amount, Facts, Loadable, Notice } from "../../components/bits";
import { sameAddress } from "../../components/design/chain";
import { Licences } from "../../components/design/Licences";
import { Listings } from "../../components/design/Listings";
import type { DesignMeta, DesignView } from "../../components/design/types";
import { TopicWatch, isChange } from "../../components/design/ui";
import "../../components/design/design.css";
import { get } from "../../lib/api";
import { humanize, shortAddress } from "../../lib/format";
import type { StreamMessage } from "../../lib/stream";
import { useFetch } from "../../lib/useFetch";
import { useWallet } from "../../wallet/WalletContext";

const ModelPreview = lazy(() => import("../../components/design/ModelPreview"));

export default function Design({ params, query }: RouteProps) {
  const w = useWallet();
  const id = params.id;
  const valid = /^[0-9]{1,78}$/.test(id);
  const design = useFetch(() => (valid ? get<DesignView>(`/v1/designs/${id}`) : Promise.reject(new Error(`${id} is not a design id`))), [id]);
  const metaCid = design.data?.metadata_cid;
  const meta = useFetch(() => (metaCid ? get<DesignMeta>(`/v1/content/${metaCid}`) : Promise.resolve(null)), [metaCid]);
  const [live, setLive] = useState<string | null>(null);
  const topics = [...new Set([design.data?.owner, design.data?.creator, w.account].filter((a): a is string => !!a).map((a) => a.toLowerCase()))];

  const onMessage = (m: StreamMessage) => {
    if (m.type === "event") setLive(`${humanize(m.event)} in block ${m.block}`);
    if (isChange(m)) void design.reload();
  };
  const title = meta.data?.name || `Design ${shortAddress(id)}`;

  return (
    <>
      <p className="crumbs">
        <Link to="/designs">Designs</Link> / {shortAddress(id)}
      </p>
      <h1>{title}</h1>
      {topics.map((t) => (
        <TopicWatch key={t} topic={`account:${t}`} onMessage={onMessage} />
      ))}
      <div aria-live="polite">{live && <Notice>Update: {live}.</Notice>}</div>
      {query.get("minted") && design.data && sameAddress(design.data.owner, w.account) && <Notice kind="success">Minted: this design is yours.</Notice>}
      <Loadable {...design}>
        {(d) => (
          <>
            <div className="design-head">
              <div>
                {meta.data?.description && <p className="lead">{meta.data.description}</p>}
                <Facts
                  items={[
                    ["Design id", <span className="mono design-id" data-testid="design-id">{String(d.token_id)}</span>],
                    ["Owner", <span data-testid="design-owner"><Address value={d.owner} /></span>],
                    ["Creator", <Address value={d.creator} />],
                    ["Royalty", <span data-testid="design-royalty">{(d.royalty_bps / 100).toFixed(2)} % to <Address value={d.royalty_receiver} /></span>],
                    ["Licence", meta.data?.licence || <span className="muted">not stated</span>],
                    ["State", humanize(d.state) + (d.licensed ? " · licensed" : "")],
                    ["Model", <a className="mono" href={`/v1/content/${d.cid}`}>{shortAddress(d.cid)}</a>],
                    ["Metadata", <a className="mono" href={`/v1/content/${d.metadata_cid}`}>{shortAddress(d.metadata_cid)}</a>],
                    ["Minted in block", String(d.minted_block)],
                  ]}
                />
              </div>
              <Suspense fallback={<p className="muted small">Loading the preview…</p>}>
                <ModelPreview cid={d.cid} label={`Preview of ${title}`} />
              </Suspense>
            </div>
            {d.state !== "active" && <Notice kind="error">This design was {humanize(d.state).toLowerCase()}: it cannot be sold, licensed or fabricated.</Notice>}
            <Listings design={d} />
            <Licences design={d} />
            <section aria-labelledby="sales-h">
              <h2 id="sales-h">Sales</h2>
              {d.sales.length === 0 ? (
                <p className="muted">No sales yet.</p>
              ) : (
                <div className="table-wrap">
                  <table className="table" data-testid="sales">
                    <caption className="visually-hidden">Sales of this design, newest first</caption>
                    <thead>
                      <tr>
                        <th scope="col">Block</th>
                        <th scope="col">What</th>
                        <th scope="col">Seller</th>
                        <th scope="col">Buyer</th>
                        <th scope="col">Price</th>
                        <th scope="col">Royalty</th>
                        <th scope="col">Seller got</th>
                      </tr>
                    </thead>
                    <tbody>
                      {d.sales.map((s) => (
                        <tr key={`${s.block_number}-${s.log_index}`}>
                          <td>{s.block_number}</td>
                          <td>{s.asset === "design" ? "the design" : `${String(s.units)} licence(s)`}</td>
                          <td><Address value={s.seller} /></td>
                          <td><Address value={s.buyer} /></td>
                          <td><Amount value={s.total} token={s.currency} /></td>
                          <td><Amount value={s.royalty} token={s.currency} /></td>
                          <td><Amount value={s.proceeds} token={s.currency} /></td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </section>
            <section aria-labelledby="royalties-h">
              <h2 id="royalties-h">Royalties paid</h2>
              {d.royalties.length === 0 ? (
                <p className="muted">No royalties paid yet.</p>
              ) : (
                <ul className="plain" data-testid="royalties">
                  {d.royalties.map((r) => (
                    <li key={`${r.block_number}-${r.log_index}`}>
                      <Amount value={r.amount} token={r.token} /> to <Address value={r.receiver} /> from {r.source === "sale" ? "a sale" : `job ${r.job_id}`} (block {r.block_number})
                    </li>
                  ))}
                </ul>
              )}
            </section>
            {d.purchases.length > 0 && (
              <section aria-labelledby="purchases-h">
                <h2 id="purchases-h">Licence purchases</h2>
                <ul className="plain">
                  {d.purchases.map((p) => (
                    <li key={p.tx_hash}>
                      {String(p.prints)} print(s) for <Amount value={p.cost} token={p.token} /> by <Address value={p.buyer} /> (block {p.block_number})
                    </li>
                  ))}
                </ul>
              </section>
            )}
          </>
        )}
      </Loadable>
    </>
  );
}
