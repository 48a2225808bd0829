// A transaction's progress, announced to screen readers as it changes.
import type { TxState } from "../chain/tx";
import { shortAddress } from "../lib/format";

/** Shows a useTx() state: checking, waiting for the wallet, pending, confirmed or failed with the reason. */
export function TxStatus({ state, onDismiss }: { state: TxState; onDismiss?: () => void }) {
  if (state.phase === "idle") return <div aria-live="polite" />;
  const text = {
    checking: `${state.label}: checking the transaction…`,
    signing: `${state.label}: confirm in your wallet…`,
    pending: `${state.label}: pending (${"hash" in state ? shortAddress(state.hash) : ""})…`,
    confirmed: `${state.label}: confirmed in block ${"receipt" in state ? state.receipt.blockNumber.toString() : ""}.`,
    failed: `${state.label} failed: ${"message" in state ? state.message : ""}`,
  }[state.phase];
  const kind = state.phase === "failed" ? "error" : state.phase === "confirmed" ? "success" : "info";
  return (
    <div className={`notice notice-${kind} tx tx-${state.phase}`} role={state.phase === "failed" ? "alert" : "status"} aria-live="polite">
      <div>{text}</div>
      {onDismiss && (state.phase === "failed" || state.phase === "confirmed") && (
        <button type="button" className="link-button" onClick={onDismiss}>
          Dismiss
        </button>
      )}
    </div>
  );
}
