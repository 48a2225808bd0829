// A part's triangle mesh read in the browser, for the preview and the bounding box: binary and ASCII STL, and
// 3MF (a ZIP whose 3D/3dmodel.model XML lists vertices and triangles; inflated with the browser's own
// DecompressionStream). Coordinates are in millimetres.

export interface Box {
  min: [number, number, number];
  max: [number, number, number];
  size: [number, number, number];
}

export interface Mesh {
  kind: "stl" | "3mf";
  positions: Float32Array; // 9 numbers per triangle (three corners)
  triangles: number;
  box: Box;
  note?: string; // what the reading left out (3MF build transforms)
}

/** The bounding box of the corners in `positions`. */
export function boundingBox(positions: Float32Array): Box {
  const min: [number, number, number] = [Infinity, Infinity, Infinity];
  const max: [number, number, number] = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < positions.length; i += 3) {
    for (let k = 0; k < 3; k++) {
      const v = positions[i + k];
      if (v < min[k]) min[k] = v;
      if (v > max[k]) max[k] = v;
    }
  }
  if (!Number.isFinite(min[0])) throw new Error("the part has no triangles");
  return { min, max, size: [max[0] - min[0], max[1] - min[1], max[2] - min[2]] };
}

/** A length in mm as the page writes it: at most two decimals ("40", "12.35"). */
export function mm(v: number): string {
  return String(Number(v.toFixed(2)));
}

/** "40 × 20 × 30 mm" */
export function boxText(box: Box): string {
  return `${box.size.map(mm).join(" × ")} mm`;
}

function parseBinaryStl(buf: ArrayBuffer): Float32Array {
  const view = new DataView(buf);
  const n = view.getUint32(80, true);
  const out = new Float32Array(n * 9);
  for (let t = 0; t < n; t++) {
    const base = 84 + t * 50 + 12; // skip the facet normal: the preview computes its own
    for (let k = 0; k < 9; k++) out[t * 9 + k] = view.getFloat32(base + k * 4, true);
  }
  return out;
}

function parseAsciiStl(text: string): Float32Array {
  const values: number[] = [];
  const re = /vertex\s+(\S+)\s+(\S+)\s+(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) values.push(Number(m[1]), Number(m[2]), Number(m[3]));
  if (values.length === 0 || values.length % 9 !== 0 || values.some((v) => !Number.isFinite(v))) {
    throw new Error("this ASCII STL has no readable facets");
  }
  return Float32Array.from(values);
}

/** An STL file's triangles (binary when its size matches the triangle count, else ASCII). */
export function parseStl(buf: ArrayBuffer): Float32Array {
  if (buf.byteLength >= 84) {
    const n = new DataView(buf).getUint32(80, true);
    if (84 + n * 50 === buf.byteLength) return parseBinaryStl(buf);
  }
  const text = new TextDecoder().decode(buf);
  if (/^\s*solid/i.test(text) && /facet/i.test(text)) return parseAsciiStl(text);
  throw new Error("the file is neither a binary STL (its size does not match its triangle count) nor an ASCII STL");
}

/** The bytes of `name` (case-insensitive) in a ZIP archive, from its central directory. */
async function zipEntry(buf: ArrayBuffer, wanted: (name: string) => boolean): Promise<{ name: string; data: Uint8Array } | null> {
  const view = new DataView(buf);
  let eocd = -1;
  for (let i = buf.byteLength - 22; i >= Math.max(0, buf.byteLength - 65_557); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error("not a ZIP archive (a 3MF file is one)");
  const count = view.getUint16(eocd + 10, true);
  let p = view.getUint32(eocd + 16, true);
  const dec = new TextDecoder();
  for (let e = 0; e < count; e++) {
    if (view.getUint32(p, true) !== 0x02014b50) throw new Error("the ZIP's central directory is damaged");
    const method = view.getUint16(p + 10, true);
    const compressed = view.getUint32(p + 20, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    const local = view.getUint32(p + 42, true);
    const name = dec.decode(new Uint8Array(buf, p + 46, nameLen));
    p += 46 + nameLen + extraLen + commentLen;
    if (!wanted(name)) continue;
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const raw = new Uint8Array(buf, start, compressed);
    if (method === 0) return { name, data: raw };
    if (method !== 8) throw new Error(`${name} is compressed with method ${method}, which this page cannot read`);
    const stream = new Blob([raw]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
    return { name, data: new Uint8Array(await new Response(stream).arrayBuffer()) };
  }
  return null;
}

const UNIT_MM: Record<string, number> = { micron: 0.001, millimeter: 1, centimeter: 10, inch: 25.4, foot: 304.8, meter: 1000 };

/** A 3MF file's mesh triangles in mm (every object's mesh, build transforms not applied). */
export async function parse3mf(buf: ArrayBuffer): Promise<{ positions: Float32Array; note?: string }> {
  const entry = (await zipEntry(buf, (n) => n.toLowerCase() === "3d/3dmodel.model")) ??
    (await zipEntry(buf, (n) => /^3d\/.*\.model$/i.test(n)));
  if (!entry) throw new Error("this 3MF holds no 3D/3dmodel.model");
  const doc = new DOMParser().parseFromString(new TextDecoder().decode(entry.data), "application/xml");
  if (doc.getElementsByTagName("parsererror").length) throw new Error(`${entry.name} is not well-formed XML`);
  const model = doc.documentElement;
  const scale = UNIT_MM[model.getAttribute("unit") ?? "millimeter"] ?? 1;
  const values: number[] = [];
  for (const mesh of Array.from(doc.getElementsByTagNameNS("*", "mesh"))) {
    const verts = Array.from(mesh.getElementsByTagNameNS("*", "vertex")).map((v) => [
      Number(v.getAttribute("x")) * scale, Number(v.getAttribute("y")) * scale, Number(v.getAttribute("z")) * scale,
    ]);
    for (const t of Array.from(mesh.getElementsByTagNameNS("*", "triangle"))) {
      for (const a of ["v1", "v2", "v3"]) {
        const v = verts[Number(t.getAttribute(a))];
        if (!v) throw new Error(`${entry.name} names a vertex that does not exist`);
        values.push(v[0], v[1], v[2]);
      }
    }
  }
  if (values.length === 0) throw new Error(`${entry.name} holds no triangles`);
  const transformed = Array.from(doc.getElementsByTagNameNS("*", "item")).some((i) => i.getAttribute("transform"));
  return {
    positions: Float32Array.from(values),
    note: transformed ? "the file places its objects with build transforms; the box is of the meshes as drawn, before placement" : undefined,
  };
}

/** Read a part file: STL or 3MF (by its content: a 3MF is a ZIP, starting "PK"). */
export async function readMesh(file: Blob): Promise<Mesh> {
  const buf = await file.arrayBuffer();
  const head = new Uint8Array(buf, 0, Math.min(2, buf.byteLength));
  if (head[0] === 0x50 && head[1] === 0x4b) {
    const { positions, note } = await parse3mf(buf);
    return { kind: "3mf", positions, triangles: positions.length / 9, box: boundingBox(positions), note };
  }
  const positions = parseStl(buf);
  return { kind: "stl", positions, triangles: positions.length / 9, box: boundingBox(positions) };
}
