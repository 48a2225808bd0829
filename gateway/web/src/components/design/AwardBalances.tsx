// Bounty awards credited to the connected account (GET /v1/accounts/{addr} `bounty_balances`), each withdrawn
// with BountyBoard.withdraw(token); live through the account's topic.
import { getAddress } from "viem";
import { useTx } from "../../chain/tx";
import { get } from "../../lib/api";
import { useFetch } from "../../lib/useFetch";
import { useWallet } from "../../wallet/WalletContext";
import { Amount, Loadable } from "../bits";
import { TxStatus } from "../TxStatus";
import { big } from "./chain";
import type { AccountView } from "./types";
import { TopicWatch, isChange } from "./ui";

export function AwardBalances({ heading = "Bounty awards to withdraw" }: { heading?: string }) {
  const w = useWallet();
  const tx = useTx();
  const me = w.account;
  const view = useFetch(() => (me ? get<AccountView>(`/v1/accounts/${me}`) : Promise.resolve(null)), [me]);
  if (!me) return null;
  const working = ["checking", "signing", "pending"].includes(tx.state.phase);
  return (
    <section aria-labelledby="awards-h">
      <h2 id="awards-h">{heading}</h2>
      <TopicWatch topic={`account:${me.toLowerCase()}`} onMessage={(m) => isChange(m) && void view.reload()} />
      <Loadable {...view}>
        {(v) => {
          const due = Object.entries(v?.bounty_balances ?? {}).filter(([, a]) => big(a) > 0n);
          return due.length === 0 ? (
            <p className="muted">No bounty awards waiting for you.</p>
          ) : (
            <ul className="design-list" data-testid="award-balances">
              {due.map(([token, amount]) => (
                <li key={token}>
                  <span className="grow"><Amount value={amount} token={token} /> awarded to you</span>
                  <button type="button" className="button" disabled={working}
                    onClick={() => void tx.run({ contract: "BountyBoard", functionName: "withdraw", args: [getAddress(token)], label: "Withdraw awards" })}>
                    Withdraw awards
                  </button>
                </li>
              ))}
            </ul>
          );
        }}
      </Loadable>
      <TxStatus state={tx.state} onDismiss={tx.reset} />
    </section>
  );
}
