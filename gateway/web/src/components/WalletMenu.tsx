// The header's wallet control: pick one of the discovered wallets (EIP-6963), then sign in with Ethereum.
import { useEffect, useId, useRef, useState } from "react";
import { shortAddress } from "../lib/format";
import { useWallet } from "../wallet/WalletContext";

/** Connect / account / sign-in control. */
export function WalletMenu() {
  const w = useWallet();
  const [open, setOpen] = useState(false);
  const listId = useId();
  const rootRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && setOpen(false);
    const onClick = (e: MouseEvent) => !rootRef.current?.contains(e.target as Node) && setOpen(false);
    document.addEventListener("keydown", onKey);
    document.addEventListener("mousedown", onClick);
    return () => {
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("mousedown", onClick);
    };
  }, [open]);

  if (!w.account) {
    return (
      <div className="wallet" ref={rootRef}>
        <button type="button" className="button" aria-expanded={open} aria-controls={listId} onClick={() => setOpen(!open)} disabled={w.busy === "connect"}>
          {w.busy === "connect" ? "Connecting…" : "Connect wallet"}
        </button>
        {open && (
          <div id={listId} className="wallet-list" role="group" aria-label="Wallets found in this browser">
            {w.wallets.length === 0 ? (
              <p>No wallet found. Install a browser wallet (any EIP-1193 wallet works), then reload.</p>
            ) : (
              <ul>
                {w.wallets.map((x) => (
                  <li key={x.info.uuid}>
                    <button
                      type="button"
                      className="wallet-option"
                      data-rdns={x.info.rdns}
                      onClick={() => {
                        setOpen(false);
                        void w.connect(x.info.uuid);
                      }}
                    >
                      {x.info.icon && <img src={x.info.icon} alt="" width={24} height={24} />}
                      <span>{x.info.name}</span>
                    </button>
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
      </div>
    );
  }
  return (
    <div className="wallet connected">
      <span className="account" title={w.account}>
        {w.wallet?.info.icon && <img src={w.wallet.info.icon} alt="" width={20} height={20} />}
        <span className="mono" aria-label={`Connected account ${w.account}`}>{shortAddress(w.account)}</span>
      </span>
      {w.signedIn ? (
        <>
          <span className="signed-in">Signed in</span>
          <button type="button" className="link-button" onClick={() => void w.signOut()}>
            Sign out
          </button>
        </>
      ) : (
        <button type="button" className="button" onClick={() => void w.signIn()} disabled={w.busy === "sign in" || w.wrongNetwork}>
          {w.busy === "sign in" ? "Check your wallet…" : "Sign in"}
        </button>
      )}
      <button type="button" className="link-button" onClick={w.disconnect}>
        Disconnect
      </button>
    </div>
  );
}
