// Pieces the design and bounty pages share: the sign-in prompt uploads need, the state of steps that are not
// transactions (storing a file, signing an order, relaying it), a live-topic watcher, a labelled field.
import { useCallback, useState, type ReactNode } from "react";
import { Notice } from "../bits";
import { useTopic, type StreamMessage } from "../../lib/stream";
import { useWallet } from "../../wallet/WalletContext";

/** Children once a wallet is connected and signed in (uploads need a session); otherwise the way there. */
export function SignInGate({ children, why }: { children: ReactNode; why: string }) {
  const w = useWallet();
  if (!w.account) return <p className="muted">Connect a wallet (top right) to {why}.</p>;
  if (!w.signedIn) {
    return (
      <div className="design-signin">
        <p>Sign in with your wallet to {why}: storing files needs a session (one signature, no transaction).</p>
        <button type="button" className="button" disabled={w.busy !== null} onClick={() => void w.signIn()}>
          Sign in to upload
        </button>
      </div>
    );
  }
  return <>{children}</>;
}

export type Step = { kind: "idle" } | { kind: "busy" | "done" | "error"; text: string };

/** A non-transaction step's state: `busy("Storing the file")`, `done(...)`, `fail(...)`, `clear()`. */
export function useStep() {
  const [step, setStep] = useState<Step>({ kind: "idle" });
  const busy = useCallback((text: string) => setStep({ kind: "busy", text }), []);
  const done = useCallback((text: string) => setStep({ kind: "done", text }), []);
  const fail = useCallback((text: string) => setStep({ kind: "error", text }), []);
  const clear = useCallback(() => setStep({ kind: "idle" }), []);
  return { step, busy, done, fail, clear };
}

/** Shows a useStep() state (errors as alerts, with a dismiss button). */
export function StepNotice({ step, onDismiss }: { step: Step; onDismiss?: () => void }) {
  if (step.kind === "idle") return <div aria-live="polite" />;
  const kind = step.kind === "error" ? "error" : step.kind === "done" ? "success" : "info";
  return (
    <div aria-live="polite">
      <Notice kind={kind} onDismiss={step.kind === "busy" ? undefined : onDismiss}>
        {step.text}
      </Notice>
    </div>
  );
}

/** Subscribes to one stream topic while mounted (render one per topic: the list of topics may change). */
export function TopicWatch({ topic, onMessage }: { topic: string; onMessage: (m: StreamMessage) => void }) {
  useTopic(topic, onMessage);
  return null;
}

/** The messages after which a page reads its data again. */
export function isChange(m: StreamMessage): boolean {
  return m.type === "event" || m.type === "reorg" || m.type === "state" || m.type === "subscribed";
}

/** A label above its control, with an optional hint tied to it. */
export function Field({ id, label, hint, children }: { id: string; label: string; hint?: string; children: ReactNode }) {
  return (
    <div className="design-field">
      <label htmlFor={id}>{label}</label>
      {children}
      {hint && (
        <span id={`${id}-hint`} className="small muted">
          {hint}
        </span>
      )}
    </div>
  );
}

/** An error as a sentence. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
