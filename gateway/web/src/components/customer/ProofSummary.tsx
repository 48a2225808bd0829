// The proof a shop delivered, read and summarised in the page: a print log (schema fabrica.print-log/1, signed
// by the node's operator) lists what was made, on which machine, how it was sliced and every attempt.
import { useEffect, useState } from "react";
import { Address, Facts, Notice } from "../bits";

type Doc = Record<string, unknown>;

const obj = (v: unknown): Doc => (v && typeof v === "object" && !Array.isArray(v) ? (v as Doc) : {});
const str = (v: unknown) => (v === null || v === undefined || v === "" ? "—" : String(v));

export function ProofSummary({ cid, operator }: { cid: string; operator?: string | null }) {
  const [doc, setDoc] = useState<Doc | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    setDoc(null);
    setError(null);
    fetch(`/v1/content/${cid}`)
      .then(async (r) => {
        if (!r.ok) throw new Error(`the gateway answered ${r.status}`);
        const text = await r.text();
        try {
          return JSON.parse(text) as Doc;
        } catch {
          throw new Error("the proof is not a JSON document (open it to see what it is)");
        }
      })
      .then((d) => live && setDoc(obj(d)), (e) => live && setError((e as Error).message));
    return () => {
      live = false;
    };
  }, [cid]);

  if (error) return <Notice>The proof cannot be summarised here: {error}.</Notice>;
  if (!doc) return <p className="muted" aria-busy="true">Reading the proof…</p>;
  const sig = obj(doc.signature);
  const machine = obj(doc.machine);
  const slicing = obj(doc.slicing);
  const attempts = Array.isArray(doc.attempts) ? (doc.attempts as Doc[]) : [];
  const lastAttempt = obj(attempts[attempts.length - 1]);
  const signer = typeof sig.signer === "string" ? sig.signer : null;
  const byOperator = signer && operator ? signer.toLowerCase() === operator.toLowerCase() : null;
  return (
    <div className="cu-proof" data-testid="proof-summary">
      <Facts
        items={[
          ["Document", str(doc.schema)],
          ["Result", <strong data-testid="proof-result">{str(doc.result)}</strong>],
          ["Signed by", signer ? <><Address value={signer} />{byOperator === null ? "" : byOperator ? " (the node's operator)" : " (not the node's operator!)"}</> : <span className="muted">unsigned</span>],
          ["Machine", <span data-testid="proof-machine">{[machine.name, machine.profile, machine.firmware].filter(Boolean).map(String).join(" · ") || "—"}</span>],
          ["Slicing", [slicing.slicer, slicing.profile, slicing.material].filter(Boolean).map(String).join(" · ") || "—"],
          ["G-code", slicing.gcode_cid ? <a href={`/v1/content/${String(slicing.gcode_cid)}`}>{String(slicing.gcode_cid).slice(0, 12)}…</a> : str(slicing.gcode_sha256).slice(0, 16)],
          ["G-code lines", str(doc.gcode_lines)],
          ["Attempts", <span data-testid="proof-attempts">{attempts.length ? `${attempts.length}; the last ${lastAttempt.ok === true ? "finished" : `ended ${str(lastAttempt.state)}`}${Array.isArray(lastAttempt.telemetry) ? ` with ${lastAttempt.telemetry.length} telemetry samples` : ""}` : "—"}</span>],
        ]}
      />
    </div>
  );
}
