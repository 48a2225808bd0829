// One machine of a node: its latest state (printing, idle, error…), job and progress, and charts of its hotend
// and bed temperatures against their targets, and of print progress.
import { Link } from "../../app/router";
import { formatTime, humanize } from "../../lib/format";
import { LineChart } from "./LineChart";
import type { Sample } from "./telemetry";

const series = (samples: Sample[], field: keyof Sample, scale = 1) =>
  samples.filter((s) => typeof s[field] === "number").map((s) => ({ t: s.at, v: (s[field] as number) * scale }));

/** Status and charts of one machine. */
export function MachinePanel({ name, samples }: { name: string; samples: Sample[] }) {
  const last = samples[samples.length - 1];
  const state = last?.state ?? "unknown";
  return (
    <article className="machine" data-machine={name} aria-labelledby={`machine-${name}`}>
      <h4 id={`machine-${name}`}>
        Machine {name} <span className={`badge machine-${state}`}>{humanize(state)}</span>
      </h4>
      <p className="small" data-testid="machine-status">
        {last?.job_id !== null && last?.job_id !== undefined ? (
          <>
            Job <Link to={`/jobs/${last.job_id}`}>#{String(last.job_id)}</Link>
            {last.progress !== null && ` · ${Math.round(last.progress * 100)} % done`} ·{" "}
          </>
        ) : null}
        last reading {last ? formatTime(Math.floor(last.at)) : "—"}
        {last?.error && <span className="error-text"> · error: {last.error}</span>}
      </p>
      <div className="charts">
        <LineChart
          title="Hotend"
          unit="°C"
          testId="chart-hotend"
          series={[
            { label: "Hotend", className: "line-a", points: series(samples, "hotend") },
            { label: "Target", className: "line-target", points: series(samples, "hotend_target"), dashed: true },
          ]}
        />
        <LineChart
          title="Bed"
          unit="°C"
          testId="chart-bed"
          series={[
            { label: "Bed", className: "line-b", points: series(samples, "bed") },
            { label: "Target", className: "line-target", points: series(samples, "bed_target"), dashed: true },
          ]}
        />
        <LineChart title="Progress" unit="%" testId="chart-progress" series={[{ label: "Progress", className: "line-c", points: series(samples, "progress", 100) }]} />
      </div>
    </article>
  );
}
