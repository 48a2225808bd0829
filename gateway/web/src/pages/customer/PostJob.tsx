// Post a job (customer): pick a part (STL or 3MF; drag and drop or the file picker), see it in 3D with its
// bounding box, describe the job (process, material, quantity, notes) and its terms (token, price, claim-by
// deadline, delivery window, collateral within the market's bounds, an optional target node and design
// licence); then the part and the JobSpec document are stored through the gateway, the market is approved for
// what the wallet must pay (only when its allowance is short) and JobMarket.post is sent — as the SDK's
// post_job does. A refusal or a revert leaves the form as it was, ready to try again.
import { lazy, Suspense, useEffect, useMemo, useRef, useState, type DragEvent, type FormEvent } from "react";
import { formatUnits, parseEventLogs, parseUnits, type Address } from "viem";
import { navigate, type RouteProps } from "../../app/router";
import { Notice } from "../../components/bits";
import { TxStatus } from "../../components/TxStatus";
import { cidToBytes } from "../../components/customer/cid";
import { upload, uploadJson, type Stored } from "../../components/customer/content";
import { shortfall } from "../../components/customer/job";
import { boxText, mm, readMesh, type Mesh } from "../../components/customer/mesh";
import { publicClient } from "../../chain/clients";
import { loadAbis, useTx } from "../../chain/tx";
import { get } from "../../lib/api";
import { contractAddress, useConfig } from "../../lib/config";
import { useWallet } from "../../wallet/WalletContext";
import "./customer.css";

const PartPreview = lazy(() => import("../../components/customer/PartPreview"));
const HOUR = 3600;
const FAB_DECIMALS = 18;

interface Part {
  file: File;
  mesh: Mesh | null;
  error: string | null;
  stored: Stored | null; // uploaded already (kept across retries)
}

/** "12.5" in a token with `decimals` → base units, or null when it is no positive amount of that token. */
function units(text: string, decimals: number): bigint | null {
  if (!/^\d+(\.\d+)?$/.test(text.trim())) return null;
  try {
    const v = parseUnits(text.trim(), decimals);
    return v > 0n ? v : null;
  } catch {
    return null;
  }
}

export default function PostJob(_props: RouteProps) {
  const cfg = useConfig();
  const w = useWallet();
  const tx = useTx();
  const payment = cfg.tokens.filter((t) => t.kind === "payment");
  const [part, setPart] = useState<Part | null>(null);
  const [dragging, setDragging] = useState(false);
  const [title, setTitle] = useState("");
  const [process, setProcess] = useState(cfg.processes.includes("FDM") ? "FDM" : cfg.processes[0]);
  const [material, setMaterial] = useState(cfg.materials.includes("PLA") ? "PLA" : cfg.materials[0]);
  const [quantity, setQuantity] = useState("1");
  const [notes, setNotes] = useState("");
  const [token, setToken] = useState<string>(payment[0]?.address ?? "");
  const [price, setPrice] = useState("");
  const [claimHours, setClaimHours] = useState("24");
  const [deliveryHours, setDeliveryHours] = useState("72");
  const [collateral, setCollateral] = useState("");
  const [targetNode, setTargetNode] = useState("");
  const [designId, setDesignId] = useState("");
  const [bounds, setBounds] = useState<{ min: bigint; max: bigint; forAmount: bigint } | null>(null);
  const [minWindow, setMinWindow] = useState<number | null>(null);
  const [step, setStep] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const collateralTouched = useRef(false);

  const tokenInfo = payment.find((t) => t.address === token);
  const decimals = tokenInfo?.decimals ?? 0;
  const amount = units(price, decimals);

  // The market's minimum delivery window, once.
  useEffect(() => {
    let live = true;
    void (async () => {
      const { ABIS } = await loadAbis();
      const p = (await publicClient(cfg).readContract({ address: contractAddress(cfg, "JobMarket"), abi: ABIS.JobMarket, functionName: "params" })) as { minDeliveryWindow: number | bigint };
      if (live) setMinWindow(Number(p.minDeliveryWindow));
    })().catch(() => undefined);
    return () => {
      live = false;
    };
  }, [cfg]);

  // The collateral bounds for this price (JobMarket.collateralBounds), read again as the price changes.
  useEffect(() => {
    if (!amount || !token) {
      setBounds(null);
      return;
    }
    let live = true;
    const timer = setTimeout(() => {
      void (async () => {
        const { ABIS } = await loadAbis();
        const [min, max] = (await publicClient(cfg).readContract({
          address: contractAddress(cfg, "JobMarket"), abi: ABIS.JobMarket, functionName: "collateralBounds", args: [token as Address, amount],
        })) as [bigint, bigint];
        if (!live) return;
        setBounds({ min, max, forAmount: amount });
        if (!collateralTouched.current) setCollateral(formatUnits(min, FAB_DECIMALS));
      })().catch((e) => live && setProblem(`Could not read the collateral bounds: ${(e as Error).message}`));
    }, 250);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [cfg, token, amount]);

  const choose = async (file: File | undefined) => {
    if (!file) return;
    setProblem(null);
    const entry: Part = { file, mesh: null, error: null, stored: null };
    setPart(entry);
    if (!title) setTitle(file.name.replace(/\.[^.]+$/, "").slice(0, 200));
    try {
      const mesh = await readMesh(file);
      setPart({ ...entry, mesh });
    } catch (e) {
      setPart({ ...entry, error: (e as Error).message });
    }
  };

  const onDrop = (e: DragEvent<HTMLDivElement>) => {
    e.preventDefault();
    setDragging(false);
    void choose(e.dataTransfer.files?.[0]);
  };

  const collateralUnits = useMemo(() => {
    if (!/^\d+(\.\d+)?$/.test(collateral.trim())) return null;
    try {
      return parseUnits(collateral.trim(), FAB_DECIMALS);
    } catch {
      return null;
    }
  }, [collateral]);

  /** Every reason the form cannot be posted yet, in words. */
  const problems = (): string[] => {
    const out: string[] = [];
    if (!part?.mesh) out.push(part?.error ? `the part cannot be read: ${part.error}` : "choose the part (an STL or 3MF file)");
    if (!title.trim()) out.push("give the job a title");
    const q = Number(quantity);
    if (!Number.isInteger(q) || q < 1 || q > 1_000_000) out.push("the quantity is a whole number from 1 to 1,000,000");
    if (!tokenInfo) out.push("choose the payment token");
    if (!amount) out.push(`the price is a positive amount of ${tokenInfo?.symbol ?? "the token"} (at most ${decimals} decimals)`);
    const ch = Number(claimHours);
    if (!(ch > 0) || ch > 365 * 24) out.push("shops must claim within 0 to 8,760 hours");
    const dh = Number(deliveryHours);
    if (!(dh > 0) || (minWindow !== null && dh * HOUR < minWindow) || dh > 365 * 24) {
      out.push(`the delivery window is ${minWindow ? `at least ${minWindow / HOUR} hours and ` : ""}at most 8,760 hours`);
    }
    if (collateralUnits === null) out.push("the collateral is an amount of FAB");
    else if (bounds && (collateralUnits < bounds.min || collateralUnits > bounds.max)) {
      out.push(`for this price the collateral is between ${formatUnits(bounds.min, FAB_DECIMALS)} and ${formatUnits(bounds.max, FAB_DECIMALS)} FAB`);
    }
    if (targetNode.trim() && !/^\d{1,19}$/.test(targetNode.trim())) out.push("the target node is a node id (a whole number), or empty for any node");
    if (designId.trim() && !/^\d{1,78}$/.test(designId.trim())) out.push("the design is a design id (a whole number), or empty for none");
    return out;
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(null);
    const missing = problems();
    if (missing.length) {
      setProblem(`Not yet: ${missing.join("; ")}.`);
      return;
    }
    if (!w.account) {
      setProblem("Connect a wallet first (top right).");
      return;
    }
    if (!w.signedIn) {
      setProblem("Sign in first: storing the part and its spec needs a gateway session.");
      return;
    }
    const account = w.account;
    setBusy(true);
    try {
      const p = part!;
      let stored = p.stored;
      if (!stored) {
        setStep("Storing the part…");
        stored = await upload(p.file, p.file.name, p.mesh!.kind);
        setPart({ ...p, stored });
      }
      setStep("Storing the job spec…");
      const spec = {
        version: 1,
        title: title.trim(),
        process,
        material,
        quantity: Number(quantity),
        files: [{ cid: stored.cid, name: p.file.name.slice(0, 255), role: "model", size: stored.size }],
        bounding_box_mm: p.mesh!.box.size.map((v) => Number(mm(v))),
        notes: notes.trim(),
      };
      const specCid = (await uploadJson(spec, "spec.json")).cid;

      const { ABIS } = await loadAbis();
      const now = Number((await publicClient(cfg).getBlock()).timestamp);
      const claimBy = BigInt(now + Math.round(Number(claimHours) * HOUR));
      const deliveryWindow = BigInt(Math.round(Number(deliveryHours) * HOUR));
      const pay = await shortfall(cfg, token as Address, account, amount!);
      if (pay.fromWallet > pay.balance) {
        setProblem(`Posting needs ${formatUnits(pay.fromWallet, decimals)} ${tokenInfo!.symbol} from your wallet (beyond ${formatUnits(pay.credit, decimals)} held by the market for you), which holds ${formatUnits(pay.balance, decimals)}.`);
        return;
      }
      if (pay.approve) {
        setStep(`Approving the market to take ${formatUnits(pay.fromWallet, decimals)} ${tokenInfo!.symbol}…`);
        const ok = await tx.run({ contract: "FabToken", address: token as Address, functionName: "approve", args: [pay.market, pay.fromWallet], label: `Approve ${tokenInfo!.symbol}` });
        if (!ok) return;
      }
      setStep("Posting the job…");
      const receipt = await tx.run({
        contract: "JobMarket",
        functionName: "post",
        args: [token, amount, cidToBytes(specCid), BigInt(designId.trim() || 0), claimBy, deliveryWindow, collateralUnits, BigInt(targetNode.trim() || 0), 0n],
        label: "Post the job",
      });
      if (!receipt) return;
      const posted = parseEventLogs({ abi: ABIS.JobMarket, logs: receipt.logs, eventName: "JobPosted" }) as unknown as { args: { jobId: bigint } }[];
      const jobId = posted[0]?.args.jobId;
      if (jobId === undefined) {
        setProblem("The post was confirmed but its JobPosted event is missing from the receipt.");
        return;
      }
      setStep(`Job ${jobId} posted; waiting for the gateway to index it…`);
      // The job page reads the gateway's index: wait (a few seconds at most) until it holds the job and has
      // read its spec, so the page opens on the whole job rather than filling in a moment later.
      for (let i = 0; i < 40; i++) {
        const seen = await get<{ spec: unknown }>(`/v1/jobs/${jobId}`).catch(() => null);
        if (seen?.spec) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      navigate(`/jobs/${jobId}`);
    } catch (err) {
      setProblem((err as Error).message);
    } finally {
      setBusy(false);
      setStep(null);
    }
  };

  if (payment.length === 0) {
    return (
      <>
        <h1>Post a job</h1>
        <Notice kind="error">This deployment accepts no payment token: no job can be posted.</Notice>
      </>
    );
  }
  const mesh = part?.mesh ?? null;
  return (
    <>
      <h1>Post a job</h1>
      <p className="muted">Upload a part, describe what to make and what you pay; shops that can make it claim it.</p>
      {!w.account && <Notice>Connect a wallet (top right) to post a job.</Notice>}
      {w.account && !w.signedIn && (
        <Notice>
          Sign in to store your part and its spec with the gateway.{" "}
          <button type="button" className="button secondary" onClick={() => void w.signIn()} disabled={!!w.busy}>
            Sign in
          </button>
        </Notice>
      )}
      <form className="cu-form" onSubmit={(e) => void submit(e)} noValidate aria-describedby="post-problem">
        <section aria-labelledby="part-h" className="cu-part">
          <h2 id="part-h">Part</h2>
          <div
            className={`cu-drop${dragging ? " cu-drop-over" : ""}`}
            onDragOver={(e) => {
              e.preventDefault();
              setDragging(true);
            }}
            onDragLeave={() => setDragging(false)}
            onDrop={onDrop}
            data-testid="drop-zone"
          >
            <label htmlFor="part-file">Part file (STL or 3MF): choose it, or drop it here</label>
            <input id="part-file" type="file" accept=".stl,.3mf,model/stl,model/3mf" onChange={(e) => void choose(e.target.files?.[0])} />
          </div>
          {part?.error && <Notice kind="error">{part.file.name} cannot be read: {part.error}</Notice>}
          {mesh && part && (
            <>
              <p>
                Bounding box: <strong data-testid="bbox">{boxText(mesh.box)}</strong>{" "}
                <span className="muted small">({part.file.name}, {(part.file.size / 1024).toFixed(1)} KiB{part.stored ? `, stored as ${part.stored.cid}` : ""})</span>
              </p>
              {mesh.note && <p className="small muted">Note: {mesh.note}.</p>}
              <Suspense fallback={<p className="muted" aria-busy="true">Loading the 3D preview…</p>}>
                <PartPreview mesh={mesh} name={part.file.name} />
              </Suspense>
            </>
          )}
        </section>

        <section aria-labelledby="what-h">
          <h2 id="what-h">What to make</h2>
          <div className="cu-grid">
            <label>
              Title
              <input value={title} onChange={(e) => setTitle(e.target.value)} maxLength={200} required />
            </label>
            <label>
              Process
              <select value={process} onChange={(e) => setProcess(e.target.value)}>
                {cfg.processes.map((p) => (
                  <option key={p}>{p}</option>
                ))}
              </select>
            </label>
            <label>
              Material
              <select value={material} onChange={(e) => setMaterial(e.target.value)}>
                {cfg.materials.map((m) => (
                  <option key={m}>{m}</option>
                ))}
              </select>
            </label>
            <label>
              Quantity
              <input type="number" min={1} step={1} value={quantity} onChange={(e) => setQuantity(e.target.value)} />
            </label>
          </div>
          <label className="cu-wide">
            Notes for the shop (optional)
            <textarea value={notes} onChange={(e) => setNotes(e.target.value)} maxLength={5000} rows={3} />
          </label>
        </section>

        <section aria-labelledby="terms-h">
          <h2 id="terms-h">Terms</h2>
          <div className="cu-grid">
            <label>
              Payment token
              <select value={token} onChange={(e) => setToken(e.target.value)}>
                {payment.map((t) => (
                  <option key={t.address} value={t.address}>
                    {t.symbol}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Price ({tokenInfo?.symbol})
              <input inputMode="decimal" value={price} onChange={(e) => setPrice(e.target.value)} placeholder="25" />
            </label>
            <label>
              Shops must claim within (hours)
              <input type="number" min={1} value={claimHours} onChange={(e) => setClaimHours(e.target.value)} />
            </label>
            <label>
              Delivery window after the claim (hours)
              <input type="number" min={1} value={deliveryHours} onChange={(e) => setDeliveryHours(e.target.value)} aria-describedby="window-hint" />
              <span id="window-hint" className="small muted">
                {minWindow !== null ? `at least ${minWindow / HOUR} hour${minWindow === HOUR ? "" : "s"}` : " "}
              </span>
            </label>
            <label>
              Shop's collateral (FAB)
              <input
                inputMode="decimal"
                value={collateral}
                onChange={(e) => {
                  collateralTouched.current = true;
                  setCollateral(e.target.value);
                }}
                aria-describedby="collateral-hint"
              />
              <span id="collateral-hint" className="small muted" data-testid="collateral-bounds">
                {bounds ? `between ${formatUnits(bounds.min, FAB_DECIMALS)} and ${formatUnits(bounds.max, FAB_DECIMALS)} FAB for this price` : "set a price to see the bounds"}
              </span>
            </label>
            <label>
              Only for node (optional)
              <input inputMode="numeric" value={targetNode} onChange={(e) => setTargetNode(e.target.value)} placeholder="any node" />
            </label>
            <label>
              Design licence: design id (optional)
              <input inputMode="numeric" value={designId} onChange={(e) => setDesignId(e.target.value)} placeholder="none" />
            </label>
          </div>
        </section>

        <div id="post-problem" aria-live="polite">
          {problem && (
            <Notice kind="error" onDismiss={() => setProblem(null)}>
              {problem}
            </Notice>
          )}
        </div>
        {step && (
          <p role="status" className="muted">
            {step}
          </p>
        )}
        <TxStatus state={tx.state} onDismiss={tx.reset} />
        <p>
          <button type="submit" className="button" disabled={busy}>
            {busy ? "Posting…" : "Post the job"}
          </button>
        </p>
      </form>
    </>
  );
}
