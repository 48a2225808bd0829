// The designer's studio: designs created and owned, sales (as seller and buyer), royalties earned and bounty
// awards to withdraw; live through the account's topic.
import { Link } from "../../app/router";
import { Address, Amount, Facts, Loadable } from "../../components/bits";
import { AwardBalances } from "../../components/design/AwardBalances";
import { big, sameAddress } from "../../components/design/chain";
import type { AccountView, Sale } from "../../components/design/types";
import { TopicWatch, isChange } from "../../components/design/ui";
import "../../components/design/design.css";
import { get } from "../../lib/api";
import { humanize, shortAddress } from "../../lib/format";
import type { DesignRow } from "../../lib/types";
import { useFetch } from "../../lib/useFetch";
import { useWallet } from "../../wallet/WalletContext";

interface StudioData {
  created: DesignRow[];
  owned: DesignRow[];
  sales: Sale[];
  account: AccountView;
}

async function load(me: string): Promise<StudioData> {
  const [created, owned, sales, account] = await Promise.all([
    get<{ items: DesignRow[] }>("/v1/designs", { creator: me, limit: 100 }),
    get<{ items: DesignRow[] }>("/v1/designs", { owner: me, limit: 100 }),
    get<{ items: Sale[] }>("/v1/sales", { account: me, limit: 100 }),
    get<AccountView>(`/v1/accounts/${me}`),
  ]);
  return { created: created.items, owned: owned.items, sales: sales.items, account };
}

/** Per-token sums of `pick(sale)` over `sales`. */
function totals(sales: Sale[], pick: (s: Sale) => bigint): [string, bigint][] {
  const out = new Map<string, bigint>();
  for (const s of sales) out.set(s.currency, (out.get(s.currency) ?? 0n) + pick(s));
  return [...out.entries()].filter(([, v]) => v > 0n);
}

export default function Studio() {
  const w = useWallet();
  const me = w.account;
  const data = useFetch(() => (me ? load(me) : Promise.resolve(null)), [me]);

  if (!me) {
    return (
      <>
        <h1>Studio</h1>
        <p>Connect a wallet (top right) to see your designs, sales and royalties.</p>
      </>
    );
  }
  return (
    <>
      <h1>Studio</h1>
      <TopicWatch topic={`account:${me.toLowerCase()}`} onMessage={(m) => isChange(m) && void data.reload()} />
      <p className="design-actions">
        <Link className="button" to="/designs/new">Mint a design</Link>
        <Link to="/bounties">Browse bounties</Link>
      </p>
      <Loadable {...data}>
        {(d) => {
          if (!d) return null;
          const all = [...d.created, ...d.owned.filter((o) => !d.created.some((c) => c.token_id === o.token_id))];
          const sold = d.sales.filter((s) => sameAddress(s.seller, me));
          const proceeds = totals(sold, (s) => big(s.proceeds));
          const royalties = Object.entries(d.account.royalties ?? {}).filter(([, v]) => big(v) > 0n);
          return (
            <>
              <section aria-labelledby="earned-h">
                <h2 id="earned-h">Earnings</h2>
                <Facts
                  items={[
                    ["Royalties earned", royalties.length ? <span data-testid="royalties-earned">{royalties.map(([t, v], i) => <span key={t}>{i ? ", " : ""}<Amount value={String(v)} token={t} /></span>)}</span> : "none yet"],
                    ["Sales proceeds", proceeds.length ? <span data-testid="sales-proceeds">{proceeds.map(([t, v], i) => <span key={t}>{i ? ", " : ""}<Amount value={v.toString()} token={t} /></span>)}</span> : "none yet"],
                    ["Designs sold", String(sold.length)],
                    ["Designs owned", String(d.account.designs_owned)],
                  ]}
                />
              </section>
              <section aria-labelledby="mine-h">
                <h2 id="mine-h">Your designs</h2>
                {all.length === 0 ? (
                  <p className="muted">You have not minted or bought a design yet.</p>
                ) : (
                  <div className="table-wrap">
                    <table className="table" data-testid="my-designs">
                      <caption className="visually-hidden">Designs you created or own</caption>
                      <thead>
                        <tr>
                          <th scope="col">Design</th>
                          <th scope="col">You</th>
                          <th scope="col">Owner</th>
                          <th scope="col">Royalty</th>
                          <th scope="col">State</th>
                        </tr>
                      </thead>
                      <tbody>
                        {all.map((r) => (
                          <tr key={r.token_id}>
                            <td><Link className="mono" to={`/designs/${r.token_id}`}>{shortAddress(r.token_id)}</Link></td>
                            <td>{[sameAddress(r.creator, me) && "created", sameAddress(r.owner, me) && "own"].filter(Boolean).join(", ")}</td>
                            <td><Address value={r.owner} /></td>
                            <td>{(r.royalty_bps / 100).toFixed(2)} %</td>
                            <td>{humanize(r.state)}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                )}
              </section>
              <section aria-labelledby="my-sales-h">
                <h2 id="my-sales-h">Sales and purchases</h2>
                {d.sales.length === 0 ? (
                  <p className="muted">No sales yet.</p>
                ) : (
                  <ul className="plain" data-testid="my-sales">
                    {d.sales.map((s) => (
                      <li key={`${s.block_number}-${s.log_index}`}>
                        {sameAddress(s.seller, me) ? "Sold" : "Bought"} <Link to={`/designs/${s.token_id}`}>{s.asset === "design" ? "design" : "licences of"} {shortAddress(String(s.token_id))}</Link>{" "}
                        for <Amount value={s.total} token={s.currency} /> {sameAddress(s.seller, me) ? "to" : "from"} <Address value={sameAddress(s.seller, me) ? s.buyer : s.seller} />
                        {sameAddress(s.seller, me) && <> (you got <Amount value={s.proceeds} token={s.currency} />)</>}
                      </li>
                    ))}
                  </ul>
                )}
              </section>
            </>
          );
        }}
      </Loadable>
      <AwardBalances />
    </>
  );
}
