// A small SVG line chart (no chart library: the bundle stays small): one or more series over time, with the
// value range and the latest values written out, and a text summary for screen readers.
import { useId } from "react";

export interface Series {
  label: string; // "Hotend"
  className: string; // stroke colour class (shop.css): line-a, line-b, line-target
  points: { t: number; v: number }[]; // time (Unix seconds), value
  dashed?: boolean;
}

const W = 320;
const H = 120;
const PAD = { l: 36, r: 8, t: 8, b: 18 };

/** Series drawn over their shared time range; `unit` labels the values ("°C", "%"). */
export function LineChart({ title, series, unit, testId }: { title: string; series: Series[]; unit: string; testId?: string }) {
  const id = useId();
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) {
    return (
      <figure className="chart" data-testid={testId}>
        <figcaption>{title}</figcaption>
        <p className="small muted">No readings yet.</p>
      </figure>
    );
  }
  const t0 = Math.min(...all.map((p) => p.t));
  const t1 = Math.max(...all.map((p) => p.t));
  let lo = Math.min(...all.map((p) => p.v));
  let hi = Math.max(...all.map((p) => p.v));
  if (hi - lo < 1e-9) {
    lo -= 1;
    hi += 1;
  }
  const x = (t: number) => PAD.l + (t1 === t0 ? (W - PAD.l - PAD.r) / 2 : ((t - t0) / (t1 - t0)) * (W - PAD.l - PAD.r));
  const y = (v: number) => PAD.t + (1 - (v - lo) / (hi - lo)) * (H - PAD.t - PAD.b);
  const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1));
  const latest = series.filter((s) => s.points.length).map((s) => `${s.label} ${fmt(s.points[s.points.length - 1].v)} ${unit}`);
  const span = Math.round(t1 - t0);
  return (
    <figure className="chart" data-testid={testId} data-points={all.length}>
      <figcaption id={`${id}-cap`}>
        {title} <span className="small muted">— {latest.join(", ")}</span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={`${id}-cap ${id}-desc`} preserveAspectRatio="none">
        <desc id={`${id}-desc`}>
          {`${all.length} readings over ${span} seconds, from ${fmt(lo)} to ${fmt(hi)} ${unit}; latest: ${latest.join(", ")}.`}
        </desc>
        <line className="axis" x1={PAD.l} x2={W - PAD.r} y1={H - PAD.b} y2={H - PAD.b} />
        <line className="axis" x1={PAD.l} x2={PAD.l} y1={PAD.t} y2={H - PAD.b} />
        <text className="tick" x={PAD.l - 4} y={PAD.t + 8} textAnchor="end">
          {fmt(hi)}
        </text>
        <text className="tick" x={PAD.l - 4} y={H - PAD.b} textAnchor="end">
          {fmt(lo)}
        </text>
        <text className="tick" x={W - PAD.r} y={H - 4} textAnchor="end">
          {span > 0 ? `last ${span} s` : "now"}
        </text>
        {series.map((s) =>
          s.points.length === 1 ? (
            <circle key={s.label} className={s.className} cx={x(s.points[0].t)} cy={y(s.points[0].v)} r={2.5} />
          ) : (
            <polyline
              key={s.label}
              className={s.className}
              fill="none"
              strokeDasharray={s.dashed ? "4 3" : undefined}
              points={s.points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ")}
            />
          ),
        )}
      </svg>
      <ul className="legend small" aria-hidden="true">
        {series.map((s) => (
          <li key={s.label}>
            <span className={`swatch ${s.className}`} /> {s.label}
          </li>
        ))}
      </ul>
    </figure>
  );
}
