// The connected account: wallet balances, credit held by the market (withdrawable), stake and activity, live
// through the stream (topic account:<address>). Withdrawing is a transaction through chain/tx.ts.
import { Loadable, Facts, Amount, Notice } from "../components/bits";
import { TxStatus } from "../components/TxStatus";
import { useTx } from "../chain/tx";
import { get } from "../lib/api";
import { useConfig } from "../lib/config";
import { useTopic } from "../lib/stream";
import { useFetch } from "../lib/useFetch";
import { useWallet } from "../wallet/WalletContext";

interface AccountView {
  address: string;
  market_balances: { token: string; amount: string }[];
  wallet: Record<string, string> | null;
  jobs_as_customer: number;
  designs_owned: number;
  block: number | null;
}

export default function Account() {
  const cfg = useConfig();
  const w = useWallet();
  const tx = useTx();
  const account = w.account;
  const view = useFetch(() => (account ? get<AccountView>(`/v1/accounts/${account}`) : Promise.resolve(null)), [account]);
  useTopic(account ? `account:${account.toLowerCase()}` : null, (m) => {
    if (m.type === "event" || m.type === "reorg" || m.type === "subscribed") void view.reload();
  });

  if (!account) {
    return (
      <>
        <h1>Your account</h1>
        <p>Connect a wallet (top right) to see your balances and withdraw what the market holds for you.</p>
      </>
    );
  }
  const symbolAddress = (symbol: string) => cfg.tokens.find((t) => t.symbol === symbol)?.address;
  const credits = (view.data?.market_balances ?? []).filter((b) => BigInt(b.amount) > 0n);
  return (
    <>
      <h1>Your account</h1>
      <p className="mono small">{account}</p>
      <TxStatus state={tx.state} onDismiss={tx.reset} />
      <Loadable {...view}>
        {(v) =>
          v && (
            <>
              <section aria-labelledby="credit-h">
                <h2 id="credit-h">Held by the market for you</h2>
                {credits.length === 0 ? (
                  <p className="muted">Nothing to withdraw.</p>
                ) : (
                  <ul className="plain" data-testid="market-balances">
                    {credits.map((b) => (
                      <li key={b.token} className="row">
                        <Amount value={b.amount} token={b.token} />{" "}
                        <button
                          type="button"
                          className="button"
                          disabled={tx.state.phase === "checking" || tx.state.phase === "signing" || tx.state.phase === "pending"}
                          onClick={() => void tx.run({ contract: "JobMarket", functionName: "withdraw", args: [b.token, account], label: "Withdraw" })}
                        >
                          Withdraw
                        </button>
                      </li>
                    ))}
                  </ul>
                )}
              </section>
              <section aria-labelledby="wallet-h">
                <h2 id="wallet-h">In your wallet</h2>
                {v.wallet ? (
                  <Facts items={Object.entries(v.wallet).map(([sym, amount]) => [sym, sym === "ETH" ? `${(Number(BigInt(amount) / 10n ** 14n) / 1e4).toString()} ETH` : <Amount value={amount} token={symbolAddress(sym)} />])} />
                ) : (
                  <Notice>The gateway cannot read the chain right now.</Notice>
                )}
              </section>
              <section aria-labelledby="activity-h">
                <h2 id="activity-h">Activity</h2>
                <Facts items={[["Jobs posted", String(v.jobs_as_customer)], ["Designs owned", String(v.designs_owned)]]} />
              </section>
            </>
          )
        }
      </Loadable>
    </>
  );
}
