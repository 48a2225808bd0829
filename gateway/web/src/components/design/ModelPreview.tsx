// A still preview of an STL model drawn on a canvas: triangles projected isometrically, sorted back to front and
// shaded by their facing (no 3D library: the chunk stays small and loads only on pages that show a model).
import { useEffect, useRef, useState } from "react";

interface Mesh {
  triangles: Float32Array; // 9 numbers per triangle
  count: number;
  size: [number, number, number];
}

const MAX_TRIANGLES = 200_000; // beyond this the preview draws a sample, not every facet

/** Triangles of a binary or ASCII STL, or null when the bytes are neither. */
export function parseStl(buffer: ArrayBuffer): Mesh | null {
  const view = new DataView(buffer);
  let tris: Float32Array;
  let count: number;
  if (buffer.byteLength >= 84 && 84 + 50 * view.getUint32(80, true) === buffer.byteLength && view.getUint32(80, true) > 0) {
    count = view.getUint32(80, true);
    tris = new Float32Array(count * 9);
    for (let i = 0; i < count; i++) {
      const at = 84 + i * 50 + 12; // skip the stored normal
      for (let k = 0; k < 9; k++) tris[i * 9 + k] = view.getFloat32(at + k * 4, true);
    }
  } else {
    const text = new TextDecoder().decode(buffer);
    if (!/^\s*solid/i.test(text)) return null;
    const nums = [...text.matchAll(/vertex\s+(\S+)\s+(\S+)\s+(\S+)/gi)].flatMap((m) => [Number(m[1]), Number(m[2]), Number(m[3])]);
    count = Math.floor(nums.length / 9);
    if (count === 0 || nums.some((n) => !Number.isFinite(n))) return null;
    tris = Float32Array.from(nums.slice(0, count * 9));
  }
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < count * 9; i++) {
    const a = i % 3;
    lo[a] = Math.min(lo[a], tris[i]);
    hi[a] = Math.max(hi[a], tris[i]);
  }
  return { triangles: tris, count, size: [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]] };
}

function draw(canvas: HTMLCanvasElement, mesh: Mesh): void {
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  const w = canvas.width;
  const h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  // Isometric view: rotate 45° about z, then tilt 35° about x.
  const cz = Math.cos(Math.PI / 4), sz = Math.sin(Math.PI / 4);
  const cx = Math.cos(0.6155), sx = Math.sin(0.6155);
  const step = Math.max(1, Math.ceil(mesh.count / MAX_TRIANGLES));
  const faces: { pts: number[]; depth: number; shade: number }[] = [];
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  const t = mesh.triangles;
  for (let i = 0; i < mesh.count; i += step) {
    const pts: number[] = [];
    const world: number[] = [];
    let depth = 0;
    for (let v = 0; v < 3; v++) {
      const x = t[i * 9 + v * 3], y = t[i * 9 + v * 3 + 1], z = t[i * 9 + v * 3 + 2];
      const rx = x * cz - y * sz;
      const ry = x * sz + y * cz;
      const py = ry * sx + z * cx; // up on screen
      const pz = ry * cx - z * sx; // into the screen
      pts.push(rx, py);
      world.push(rx, py, pz);
      depth += pz;
      minX = Math.min(minX, rx); maxX = Math.max(maxX, rx);
      minY = Math.min(minY, py); maxY = Math.max(maxY, py);
    }
    // Facing: the normal of the projected triangle against a light from the viewer, up and left.
    const ux = world[3] - world[0], uy = world[4] - world[1], uz = world[5] - world[2];
    const vx = world[6] - world[0], vy = world[7] - world[1], vz = world[8] - world[2];
    const nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
    const len = Math.hypot(nx, ny, nz) || 1;
    const shade = Math.abs((-0.3 * nx + 0.5 * ny - 0.8 * nz) / len);
    faces.push({ pts, depth: depth / 3, shade });
  }
  faces.sort((a, b) => b.depth - a.depth); // far first
  const scale = 0.9 * Math.min(w / (maxX - minX || 1), h / (maxY - minY || 1));
  const ox = w / 2 - ((minX + maxX) / 2) * scale;
  const oy = h / 2 + ((minY + maxY) / 2) * scale;
  for (const f of faces) {
    const l = Math.round(60 + 150 * f.shade);
    ctx.fillStyle = `rgb(${Math.round(l * 0.55)}, ${Math.round(l * 0.75)}, ${l})`;
    ctx.strokeStyle = ctx.fillStyle;
    ctx.beginPath();
    ctx.moveTo(ox + f.pts[0] * scale, oy - f.pts[1] * scale);
    ctx.lineTo(ox + f.pts[2] * scale, oy - f.pts[3] * scale);
    ctx.lineTo(ox + f.pts[4] * scale, oy - f.pts[5] * scale);
    ctx.closePath();
    ctx.fill();
    ctx.stroke();
  }
}

/** A preview of the model in `source` (a picked File, or a CID fetched from the gateway). */
export default function ModelPreview({ file, cid, label }: { file?: File | null; cid?: string; label: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [mesh, setMesh] = useState<Mesh | null>(null);
  const [note, setNote] = useState<string>("Loading the preview…");

  useEffect(() => {
    let gone = false;
    setMesh(null);
    setNote("Loading the preview…");
    const load = file ? file.arrayBuffer() : cid ? fetch(`/v1/content/${cid}`).then((r) => (r.ok ? r.arrayBuffer() : Promise.reject(new Error(`the gateway answered ${r.status}`)))) : null;
    if (!load) {
      setNote("No model to preview.");
      return;
    }
    load
      .then((buffer) => {
        if (gone) return;
        const m = parseStl(buffer);
        if (!m) setNote("No preview for this file: the preview draws STL models only.");
        setMesh(m);
      })
      .catch((e) => !gone && setNote(`No preview: ${e instanceof Error ? e.message : String(e)}`));
    return () => {
      gone = true;
    };
  }, [file, cid]);

  useEffect(() => {
    if (mesh && canvas.current) draw(canvas.current, mesh);
  }, [mesh]);

  if (!mesh) return <p className="muted small design-preview-note">{note}</p>;
  const [x, y, z] = mesh.size.map((v) => v.toFixed(1));
  return (
    <figure className="design-preview">
      <canvas ref={canvas} width={320} height={240} role="img" aria-label={`${label}: ${mesh.count} triangles, ${x} × ${y} × ${z} mm`} />
      <figcaption className="small muted">
        {mesh.count.toLocaleString("en-US")} triangles · {x} × {y} × {z} mm
      </figcaption>
    </figure>
  );
}
