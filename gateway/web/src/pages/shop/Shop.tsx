// The shop dashboard for the connected operator: its stake (with stake, unbond and withdraw), what the market
// holds for it, and per node: claims and earnings, the open jobs it could take (live), and its machines'
// status and telemetry charts (live, once signed in: telemetry is private to the operator).
import { Link } from "../../app/router";
import { Amount, Loadable, Notice } from "../../components/bits";
import { NodePanel } from "../../components/shop/NodePanel";
import { StakePanel, type StakeView } from "../../components/shop/StakePanel";
import { usePrivateStream } from "../../components/shop/telemetry";
import { get } from "../../lib/api";
import { useTopic } from "../../lib/stream";
import type { NodeRow, Page } from "../../lib/types";
import { useFetch } from "../../lib/useFetch";
import { useWallet } from "../../wallet/WalletContext";
import "../../components/shop/shop.css";

interface AccountView {
  stake: StakeView | null;
  market_balances: { token: string; amount: string }[];
}

export default function Shop() {
  const w = useWallet();
  const account = w.account;
  const nodes = useFetch(() => (account ? get<Page<NodeRow>>("/v1/nodes", { operator: account }) : Promise.resolve(null)), [account]);
  const view = useFetch(() => (account ? get<AccountView>(`/v1/accounts/${account}`) : Promise.resolve(null)), [account]);
  useTopic(account ? `account:${account.toLowerCase()}` : null, (m) => {
    if (m.type === "event" || m.type === "reorg" || m.type === "subscribed") {
      void view.reload();
      void nodes.reload();
    }
  });
  const stream = usePrivateStream(w.signedIn);

  if (!account) {
    return (
      <div className="shop-page">
        <h1>Your shop</h1>
        <p>Connect the wallet of your shop's operator account (top right) to see its nodes, stake, claims and machines.</p>
      </div>
    );
  }
  const credits = (view.data?.market_balances ?? []).filter((b) => BigInt(b.amount) > 0n);
  return (
    <div className="shop-page">
      <h1>Your shop</h1>
      <p className="mono small">{account}</p>
      <Loadable {...view}>{(v) => v && <StakePanel account={account} stake={v.stake} onChange={() => void view.reload()} />}</Loadable>
      <section aria-labelledby="payouts-h">
        <h2 id="payouts-h">Payouts held for you</h2>
        {credits.length === 0 ? (
          <p className="muted small">Nothing to withdraw.</p>
        ) : (
          <p data-testid="payouts">
            {credits.map((b, i) => (
              <span key={b.token}>
                {i > 0 && ", "}
                <Amount value={b.amount} token={b.token} />
              </span>
            ))}{" "}
            — <Link to="/account">withdraw on your account page</Link>
          </p>
        )}
      </section>
      <Loadable {...nodes}>
        {(p) =>
          p &&
          (p.items.length === 0 ? (
            <Notice>
              This account operates no node. Register one with the node client (<span className="mono">fabrica node register</span>) after staking.
            </Notice>
          ) : (
            <div data-testid="shop-nodes">
              {p.items.map((n) => (
                <NodePanel key={n.node_id} node={n} stream={stream} signedIn={w.signedIn} onSignIn={() => void w.signIn()} busy={w.busy !== null} />
              ))}
            </div>
          ))
        }
      </Loadable>
    </div>
  );
}
