// Small display components every page uses.
import type { ReactNode } from "react";
import { formatAmount, humanize, shortAddress } from "../lib/format";
import { useConfig } from "../lib/config";

/** An address, shortened, the full one in its title and for screen readers. */
export function Address({ value }: { value: string | null | undefined }) {
  if (!value || /^0x0{40}$/.test(value)) return <span className="muted">none</span>;
  return (
    <span className="mono" title={value} aria-label={value}>
      {shortAddress(value)}
    </span>
  );
}

/** An amount in the token's units. */
export function Amount({ value, token }: { value: string | number | null | undefined; token?: string | null }) {
  return <span className="amount">{formatAmount(useConfig(), value, token)}</span>;
}

/** A job's status as a labelled badge (the colour is decoration: the word carries the meaning). */
export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status}`}>{humanize(status)}</span>;
}

/** An error (role=alert, read out at once) or information (role=status), optionally dismissible. */
export function Notice({ kind = "info", children, onDismiss }: { kind?: "error" | "info" | "success"; children: ReactNode; onDismiss?: () => void }) {
  return (
    <div className={`notice notice-${kind}`} role={kind === "error" ? "alert" : "status"}>
      <div>{children}</div>
      {onDismiss && (
        <button type="button" className="link-button" onClick={onDismiss}>
          Dismiss
        </button>
      )}
    </div>
  );
}

/** Loading and error states around a page's data. */
export function Loadable<T>({ data, error, loading, children }: { data: T | null; error: string | null; loading: boolean; children: (d: T) => ReactNode }) {
  if (error) return <Notice kind="error">Could not load this: {error}</Notice>;
  if (data === null) return loading ? <p className="muted" aria-busy="true">Loading…</p> : null;
  return <>{children(data)}</>;
}

/** A label/value list (a <dl>), laid out as a grid. */
export function Facts({ items }: { items: [string, ReactNode][] }) {
  return (
    <dl className="facts">
      {items.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}
