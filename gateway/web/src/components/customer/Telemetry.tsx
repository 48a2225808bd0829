// A job's print while it runs, for its customer: the newest telemetry sample (state, progress, hotend and bed
// temperatures against their targets) and the hotend's recent curve. The node's telemetry topic is its
// operator's alone, so this reads GET /v1/jobs/{id}/telemetry (the customer may) on every stream message of
// the job (`tick`) and every few seconds while the job is being made.
import { useEffect, useState } from "react";
import { get } from "../../lib/api";
import { Facts, Notice } from "../bits";

interface Sample {
  at: number;
  at_iso: string;
  machine: string;
  state: string | null;
  hotend: number | null;
  hotend_target: number | null;
  bed: number | null;
  bed_target: number | null;
  progress: number | null;
  error: string | null;
}

const POLL_MS = 2000;
const WINDOW_S = 3600; // the curve shows the last hour

/** The job's samples of the last hour (every page), oldest first. */
async function recent(jobId: string): Promise<Sample[]> {
  const out: Sample[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 10; page++) {
    const r = await get<{ items: Sample[]; next_cursor: string | null }>(`/v1/jobs/${jobId}/telemetry`, {
      since: Math.floor(Date.now() / 1000 - WINDOW_S), limit: 1000, cursor,
    });
    out.push(...r.items);
    if (!r.next_cursor) break;
    cursor = r.next_cursor;
  }
  return out;
}

const temp = (v: number | null, target: number | null) =>
  v === null ? "—" : `${v.toFixed(1)} °C${target !== null && target !== undefined ? ` (target ${target.toFixed(0)} °C)` : ""}`;

/** The hotend temperature (and its target, dashed) over time as an SVG chart scaled to the readings. */
function Curve({ samples }: { samples: Sample[] }) {
  const pts = samples.filter((s) => s.hotend !== null);
  if (pts.length < 2) return null;
  const t0 = pts[0].at;
  const span = pts[pts.length - 1].at - t0 || 1;
  const values = pts.flatMap((s) => (s.hotend_target !== null ? [s.hotend!, s.hotend_target] : [s.hotend!]));
  const lo = Math.floor(Math.min(...values) - 2);
  const hi = Math.ceil(Math.max(...values) + 2);
  const x = (at: number) => (((at - t0) / span) * 300).toFixed(1);
  const y = (v: number) => (76 - ((v - lo) / (hi - lo)) * 72).toFixed(1);
  const line = pts.map((s) => `${x(s.at)},${y(s.hotend!)}`).join(" ");
  const target = pts.filter((s) => s.hotend_target !== null).map((s) => `${x(s.at)},${y(s.hotend_target!)}`).join(" ");
  return (
    <figure className="cu-chart">
      <svg className="cu-spark" viewBox="0 0 300 80" preserveAspectRatio="none" role="img"
        aria-label={`Hotend temperature over ${pts.length} readings, between ${lo} and ${hi} °C`}>
        {target && <polyline points={target} fill="none" stroke="#555d66" strokeDasharray="4 3" strokeWidth="1" vectorEffect="non-scaling-stroke" />}
        <polyline points={line} fill="none" stroke="#a4161a" strokeWidth="2" vectorEffect="non-scaling-stroke" />
      </svg>
      <figcaption className="small muted">Hotend, {lo}–{hi} °C (dashed: target), over the last {Math.max(1, Math.round(span))} s</figcaption>
    </figure>
  );
}

export function Telemetry({ jobId, tick, making }: { jobId: string; tick: number; making: boolean }) {
  const [samples, setSamples] = useState<Sample[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    const load = () =>
      recent(jobId).then(
        (s) => live && (setSamples(s), setError(null)),
        (e) => live && setError((e as Error).message),
      );
    void load();
    const timer = making ? setInterval(() => void load(), POLL_MS) : undefined;
    return () => {
      live = false;
      if (timer) clearInterval(timer);
    };
  }, [jobId, tick, making]);

  const last = samples?.[samples.length - 1];
  return (
    <section aria-labelledby="telemetry-h" className="cu-panel" data-testid="job-telemetry">
      <h2 id="telemetry-h">The print</h2>
      {error && <Notice kind="error">Could not read the print's telemetry: {error}</Notice>}
      {samples && !last && <p className="muted">No telemetry from the shop's machine yet{making ? "; it appears here as the print runs" : ""}.</p>}
      {last && (
        <>
          <p>
            <label htmlFor="print-progress">Progress: </label>
            <progress id="print-progress" className="cu-progress" max={1} value={last.progress ?? 0} />{" "}
            <strong data-testid="print-progress">{last.progress !== null ? `${Math.round(last.progress * 100)} %` : "—"}</strong>
          </p>
          <Facts
            items={[
              ["State", <span data-testid="print-state">{last.state ?? "—"}</span>],
              ["Hotend", <span data-testid="print-hotend">{temp(last.hotend, last.hotend_target)}</span>],
              ["Bed", <span data-testid="print-bed">{temp(last.bed, last.bed_target)}</span>],
              ["Machine", last.machine],
              ["Last reading", new Date(last.at * 1000).toLocaleTimeString("en-GB")],
            ]}
          />
          {last.error && <Notice kind="error">The machine reports: {last.error}</Notice>}
          <Curve samples={samples!} />
        </>
      )}
    </section>
  );
}
