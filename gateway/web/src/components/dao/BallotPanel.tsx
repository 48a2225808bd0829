// Voting by signature: the voter signs an EIP-712 Ballot (the gateway builds the payload with the voter's
// nonce), which costs no gas; any account may then submit it with castVoteBySig — the voter itself, or someone
// relaying it for them (paste the ballot, submit from the account connected now).
import { useState } from "react";
import type { Address, Hex } from "viem";
import { TxStatus } from "../TxStatus";
import { Notice } from "../bits";
import { useTx } from "../../chain/tx";
import { post } from "../../lib/api";
import { errorCode, walletMessage } from "../../wallet/eip1193";
import { useWallet } from "../../wallet/WalletContext";
import { SUPPORT } from "./governance";

interface Ballot {
  proposal_id: string;
  support: string; // for, against, abstain (as `fabrica dao vote --sign-only` writes it)
  voter: string;
  nonce: string;
  signature: Hex;
}

const SUPPORT_WORDS = ["against", "for", "abstain"];

/** Sign a ballot, and submit one (yours or someone else's). */
export function BallotPanel({ proposalId, account, hasVoted, onSubmitted }: { proposalId: string; account: Address | null; hasVoted: boolean; onSubmitted: () => void }) {
  const w = useWallet();
  const tx = useTx();
  const [support, setSupport] = useState(1);
  const [signing, setSigning] = useState(false);
  const [message, setMessage] = useState<{ kind: "error" | "success"; text: string } | null>(null);
  const [text, setText] = useState("");
  const busy = signing || tx.state.phase === "checking" || tx.state.phase === "signing" || tx.state.phase === "pending";

  const sign = async () => {
    if (!account) return;
    setSigning(true);
    setMessage(null);
    try {
      const { typed_data } = await post<{ typed_data: { message: { nonce: string } } }>("/v1/eip712/ballot", {
        proposal_id: proposalId, support: SUPPORT_WORDS[support], voter: account,
      });
      const signature = (await w.provider().request({ method: "eth_signTypedData_v4", params: [account, JSON.stringify(typed_data)] })) as Hex;
      const ballot: Ballot = { proposal_id: proposalId, support: SUPPORT_WORDS[support], voter: account, nonce: String(typed_data.message.nonce), signature };
      setText(JSON.stringify(ballot, null, 2));
      setMessage({ kind: "success", text: "Ballot signed. Submit it below from any account, or hand the text to someone who will." });
    } catch (e) {
      setMessage({ kind: "error", text: errorCode(e) === undefined ? `Signing the ballot failed: ${(e as Error).message}` : walletMessage(e, "the ballot signature") });
    } finally {
      setSigning(false);
    }
  };

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    let b: Ballot;
    try {
      b = JSON.parse(text) as Ballot;
      if (!b.voter || !b.signature || !b.proposal_id) throw new Error("missing fields");
    } catch {
      setMessage({ kind: "error", text: "That is not a ballot: paste the JSON a signed ballot shows (proposal_id, support, voter, nonce, signature)." });
      return;
    }
    const choice = SUPPORT_WORDS.indexOf(String(b.support).toLowerCase());
    const value = choice >= 0 ? choice : Number(b.support);
    const receipt = await tx.run({
      contract: "FabGovernor", functionName: "castVoteBySig", args: [BigInt(b.proposal_id), value, b.voter, b.signature],
      label: "Submit ballot",
    });
    if (receipt) {
      setText("");
      setMessage(null);
      onSubmitted();
    }
  };

  return (
    <div className="ballot" aria-labelledby="ballot-h">
      <h3 id="ballot-h">Vote by signature</h3>
      <p className="small muted">Sign a ballot without paying gas; anyone can submit it for you.</p>
      {account && !hasVoted && (
        <div className="row">
          <label htmlFor="ballot-support">Ballot</label>
          <select id="ballot-support" value={support} onChange={(e) => setSupport(Number(e.target.value))}>
            {SUPPORT.map((label, i) => (
              <option key={label} value={i}>
                {label}
              </option>
            ))}
          </select>
          <button type="button" className="button secondary" disabled={busy} onClick={() => void sign()}>
            {signing ? "Signing…" : "Sign ballot"}
          </button>
        </div>
      )}
      {message && (
        <Notice kind={message.kind} onDismiss={() => setMessage(null)}>
          {message.text}
        </Notice>
      )}
      <form onSubmit={submit}>
        <div className="field">
          <label htmlFor="ballot-text">Signed ballot (JSON)</label>
          <textarea id="ballot-text" className="mono small" rows={6} value={text} onChange={(e) => setText(e.target.value)} spellCheck={false} />
        </div>
        <button type="submit" className="button" disabled={busy || !text.trim() || !account}>
          Submit ballot
        </button>
      </form>
      <TxStatus state={tx.state} onDismiss={tx.reset} />
    </div>
  );
}
