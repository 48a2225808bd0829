// The part's interactive 3D preview: a small canvas renderer (flat-shaded triangles drawn far to near, the
// bounding box as a wire frame). Loaded as its own chunk by the post page. Drag (mouse or touch) to turn it;
// with focus, the arrow keys turn it, + and − zoom, 0 resets.
import { useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent, type PointerEvent } from "react";
import type { Mesh } from "./mesh";
import { boxText } from "./mesh";

interface View {
  yaw: number; // degrees around the part's Z axis
  pitch: number; // degrees the view tilts down onto the part
  zoom: number;
}

const START: View = { yaw: -35, pitch: 25, zoom: 1 };
const STEP = 15;

/** +1 when the mesh's triangles wind counter-clockwise seen from outside (its signed volume is positive), -1
 * when they wind the other way, 0 when it encloses nothing (an open surface: draw both sides). */
function winding(mesh: Mesh): number {
  const p = mesh.positions;
  let v = 0;
  for (let o = 0; o < p.length; o += 9) {
    v += p[o] * (p[o + 4] * p[o + 8] - p[o + 5] * p[o + 7]) - p[o + 1] * (p[o + 3] * p[o + 8] - p[o + 5] * p[o + 6]) + p[o + 2] * (p[o + 3] * p[o + 7] - p[o + 4] * p[o + 6]);
  }
  const { size } = mesh.box;
  return Math.abs(v) < 1e-6 * (size[0] * size[1] * size[2] || 1) ? 0 : Math.sign(v);
}

/** Draw `mesh` on `canvas` as seen from `view`: faces turned away are skipped (closed meshes), the rest are
 * painted far to near. */
function draw(canvas: HTMLCanvasElement, mesh: Mesh, view: View, facing: number): void {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);

  const { min, max, size } = mesh.box;
  const c = [(min[0] + max[0]) / 2, (min[1] + max[1]) / 2, (min[2] + max[2]) / 2];
  const diag = Math.hypot(size[0], size[1], size[2]) || 1;
  const s = (Math.min(w, h) * 0.85 * view.zoom) / diag;
  const yaw = (view.yaw * Math.PI) / 180;
  const pitch = (view.pitch * Math.PI) / 180;
  const cy = Math.cos(yaw), sy = Math.sin(yaw), cp = Math.cos(pitch), sp = Math.sin(pitch);
  // Rotate about Z (yaw), then tilt about X (pitch); screen x = x', screen up = z', depth = y' (away).
  const project = (x: number, y: number, z: number): [number, number, number] => {
    const dx = x - c[0], dy = y - c[1], dz = z - c[2];
    const rx = dx * cy - dy * sy;
    const ry = dx * sy + dy * cy;
    const py = ry * cp - dz * sp;
    const pz = ry * sp + dz * cp;
    return [w / 2 + rx * s, h / 2 - pz * s, py * s]; // depth in the same scale: normals stay true
  };

  const p = mesh.positions;
  const n = mesh.triangles;
  const screen = new Float32Array(n * 9);
  const depth = new Float32Array(n);
  for (let t = 0; t < n; t++) {
    let d = 0;
    for (let k = 0; k < 3; k++) {
      const q = project(p[t * 9 + k * 3], p[t * 9 + k * 3 + 1], p[t * 9 + k * 3 + 2]);
      screen[t * 9 + k * 3] = q[0];
      screen[t * 9 + k * 3 + 1] = q[1];
      screen[t * 9 + k * 3 + 2] = q[2];
      d += q[2];
    }
    depth[t] = d;
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => depth[b] - depth[a]); // far first
  for (const t of order) {
    const o = t * 9;
    const ax = screen[o + 3] - screen[o], ay = screen[o + 4] - screen[o + 1], az = screen[o + 5] - screen[o + 2];
    const bx = screen[o + 6] - screen[o], by = screen[o + 7] - screen[o + 1], bz = screen[o + 8] - screen[o + 2];
    // The normal in view space (screen y points down): how squarely the face looks at the viewer.
    const nx = ay * bz - az * by, ny = az * bx - ax * bz, nz = ax * by - ay * bx;
    if (facing * nz > 0) continue; // the outside of this face looks away from the viewer: hidden
    const len = Math.hypot(nx, ny, nz) || 1;
    // The face's normal turned towards the viewer, lit from above, a little left and in front (screen y points
    // down, depth away): faces turned to the light are brighter, the others keep an ambient share.
    const out = facing !== 0 ? facing : nz > 0 ? -1 : 1; // outward, or the side the viewer sees
    const lit = Math.max(0, (out * (nx * -0.5 + ny * -0.8 + nz * -0.35)) / (len * 1.0062));
    const light = 0.3 + 0.7 * lit;
    const shade = `rgb(${Math.round(40 + 120 * light)} ${Math.round(70 + 120 * light)} ${Math.round(110 + 130 * light)})`;
    ctx.beginPath();
    ctx.moveTo(screen[o], screen[o + 1]);
    ctx.lineTo(screen[o + 3], screen[o + 4]);
    ctx.lineTo(screen[o + 6], screen[o + 7]);
    ctx.closePath();
    ctx.fillStyle = shade;
    ctx.strokeStyle = shade;
    ctx.lineWidth = 0.5;
    ctx.fill();
    ctx.stroke();
  }
  // The bounding box, dashed, over the part.
  const corners = [0, 1, 2, 3, 4, 5, 6, 7].map((i) =>
    project(i & 1 ? max[0] : min[0], i & 2 ? max[1] : min[1], i & 4 ? max[2] : min[2]),
  );
  ctx.setLineDash([4, 4]);
  ctx.strokeStyle = "#a4161a";
  ctx.lineWidth = 1;
  for (const [a, b] of [[0, 1], [2, 3], [4, 5], [6, 7], [0, 2], [1, 3], [4, 6], [5, 7], [0, 4], [1, 5], [2, 6], [3, 7]]) {
    ctx.beginPath();
    ctx.moveTo(corners[a][0], corners[a][1]);
    ctx.lineTo(corners[b][0], corners[b][1]);
    ctx.stroke();
  }
  ctx.setLineDash([]);
}

/** The part's 3D view with its controls. */
export default function PartPreview({ mesh, name }: { mesh: Mesh; name: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [view, setView] = useState<View>(START);
  const drag = useRef<{ x: number; y: number; view: View } | null>(null);
  const facing = useMemo(() => winding(mesh), [mesh]);

  useEffect(() => {
    const el = canvas.current;
    if (!el) return;
    const frame = requestAnimationFrame(() => draw(el, mesh, view, facing));
    return () => cancelAnimationFrame(frame);
  }, [mesh, view, facing]);

  useEffect(() => {
    const el = canvas.current;
    if (!el || typeof ResizeObserver === "undefined") return;
    const ro = new ResizeObserver(() => draw(el, mesh, view, facing));
    ro.observe(el);
    return () => ro.disconnect();
  }, [mesh, view, facing]);

  const turn = useCallback((dyaw: number, dpitch: number, zoom = 1) => {
    setView((v) => ({
      yaw: (((v.yaw + dyaw) % 360) + 360) % 360,
      pitch: Math.max(-89, Math.min(89, v.pitch + dpitch)),
      zoom: Math.max(0.3, Math.min(5, v.zoom * zoom)),
    }));
  }, []);

  const onKey = (e: KeyboardEvent<HTMLCanvasElement>) => {
    const moves: Record<string, () => void> = {
      ArrowLeft: () => turn(-STEP, 0),
      ArrowRight: () => turn(STEP, 0),
      ArrowUp: () => turn(0, STEP),
      ArrowDown: () => turn(0, -STEP),
      "+": () => turn(0, 0, 1.2),
      "=": () => turn(0, 0, 1.2),
      "-": () => turn(0, 0, 1 / 1.2),
      "0": () => setView(START),
    };
    const move = moves[e.key];
    if (move) {
      e.preventDefault();
      move();
    }
  };
  const onDown = (e: PointerEvent<HTMLCanvasElement>) => {
    e.currentTarget.setPointerCapture(e.pointerId);
    drag.current = { x: e.clientX, y: e.clientY, view };
  };
  const onMove = (e: PointerEvent<HTMLCanvasElement>) => {
    const d = drag.current;
    if (!d) return;
    setView({
      ...d.view,
      yaw: d.view.yaw + (e.clientX - d.x) * 0.5,
      pitch: Math.max(-89, Math.min(89, d.view.pitch + (e.clientY - d.y) * 0.5)),
    });
  };
  const onUp = () => {
    drag.current = null;
  };

  return (
    <figure className="cu-preview">
      <canvas
        ref={canvas}
        className="cu-canvas"
        tabIndex={0}
        role="img"
        aria-label={`3D preview of ${name}, ${boxText(mesh.box)}; drag or use the arrow keys to turn it, + and − to zoom, 0 to reset`}
        data-testid="part-preview"
        data-yaw={Math.round(view.yaw)}
        data-pitch={Math.round(view.pitch)}
        onKeyDown={onKey}
        onPointerDown={onDown}
        onPointerMove={onMove}
        onPointerUp={onUp}
        onPointerCancel={onUp}
      />
      <figcaption className="small muted">
        {mesh.triangles.toLocaleString("en-US")} triangles. Drag to turn; with focus, arrow keys turn, + / − zoom, 0 resets.{" "}
        <button type="button" className="link-button" onClick={() => setView(START)}>
          Reset view
        </button>
      </figcaption>
    </figure>
  );
}
