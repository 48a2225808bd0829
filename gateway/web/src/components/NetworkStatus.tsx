// Which chain the dApp serves, whether the wallet is on it, and whether live updates flow.
import { useConfig } from "../lib/config";
import { useStreamStatus } from "../lib/stream";
import { useWallet } from "../wallet/WalletContext";

const STREAM_TEXT = { connecting: "connecting", live: "live", reconnecting: "reconnecting", offline: "offline (retrying)" } as const;

/** The header's network line. */
export function NetworkStatus() {
  const cfg = useConfig();
  const w = useWallet();
  const stream = useStreamStatus();
  const chain = cfg.chain_id === 31337 ? "Devnet" : `Chain ${cfg.chain_id}`;
  return (
    <div className="network" role="group" aria-label="Network status">
      <span className={`dot ${w.wrongNetwork ? "bad" : "good"}`} aria-hidden="true" />
      <span>
        {chain}
        {w.wrongNetwork ? ` — wallet on chain ${w.chainId}` : ""}
      </span>
      {stream !== "idle" && (
        <span className="stream" data-state={stream}>
          Live updates: {STREAM_TEXT[stream]}
        </span>
      )}
    </div>
  );
}
