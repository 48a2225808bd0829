// Mint a design: the model file stored by CID (POST /v1/content), its metadata document built as the SDK's
// `design_metadata` and stored too, then DesignNFT.mint(cid, metadata cid, royalty) from the wallet. The design's
// id is the sha-256 digest inside the model's CID, known before anything is sent.
import { lazy, Suspense, useState, type FormEvent } from "react";
import { Link, navigate } from "../../app/router";
import { TxStatus } from "../../components/TxStatus";
import { readChain } from "../../components/design/chain";
import { cidHex, cidToBytes, designIdOf } from "../../components/design/cid";
import { designMetadata, uploadContent, uploadJson } from "../../components/design/content";
import { Field, SignInGate, StepNotice, errorText, useStep } from "../../components/design/ui";
import "../../components/design/design.css";
import { useTx } from "../../chain/tx";
import { useConfig } from "../../lib/config";
import { useFetch } from "../../lib/useFetch";

const ModelPreview = lazy(() => import("../../components/design/ModelPreview"));

export default function MintDesign() {
  const cfg = useConfig();
  const tx = useTx();
  const step = useStep();
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [licence, setLicence] = useState("");
  const [royalty, setRoyalty] = useState("5");
  const [preview, setPreview] = useState("");
  const cap = useFetch(() => readChain<number>(cfg, "DesignNFT", "maxRoyaltyBps"), [cfg]);
  const working = step.step.kind === "busy" || ["checking", "signing", "pending"].includes(tx.state.phase);

  async function mint(e: FormEvent) {
    e.preventDefault();
    tx.reset();
    try {
      if (!file) throw new Error("choose the design's model file (STL or 3MF)");
      if (!name.trim()) throw new Error("give the design a name");
      const bps = Math.round(Number(royalty) * 100);
      if (!/^[0-9]+(\.[0-9]{1,2})?$/.test(royalty.trim()) || bps > 10_000) throw new Error("the royalty is a percentage from 0 to 100 with at most two decimals (5 = 5 %)");
      if (cap.data !== null && bps > cap.data) throw new Error(`the DAO caps design royalties at ${cap.data / 100} %: lower the royalty`);
      if (preview.trim()) cidToBytes(preview.trim()); // a typo is refused before anything is stored
      step.busy(`Storing ${file.name}…`);
      const model = await uploadContent(file, file.name);
      if (model.kind !== "stl" && model.kind !== "3mf") throw new Error(`${file.name} is ${model.kind}, not a model: a design is an STL or 3MF file`);
      const id = designIdOf(model.cid);
      if (await readChain<boolean>(cfg, "DesignNFT", "exists", [id])) {
        step.fail(`This file is design ${id} already (the same file is one design, whoever minted it).`);
        return;
      }
      step.busy("Storing the design's metadata…");
      const meta = await uploadJson(designMetadata({ name, modelCid: model.cid, description, licence, previewCid: preview.trim() || undefined }), "metadata.json");
      step.clear();
      const receipt = await tx.run({
        contract: "DesignNFT", functionName: "mint", args: [cidHex(model.cid), cidHex(meta.cid), bps], label: "Mint the design",
      });
      if (receipt) navigate(`/designs/${id}`, { minted: 1 });
    } catch (err) {
      step.fail(`Minting stopped: ${errorText(err)}`);
    }
  }

  return (
    <>
      <p className="crumbs">
        <Link to="/designs">Designs</Link> / Mint
      </p>
      <h1>Mint a design</h1>
      <p className="lead">
        One token per model file: you are its creator and first owner, and a royalty on every resale and every job that
        fabricates it is paid to you.
      </p>
      <SignInGate why="store your model and mint it">
        <form className="design-form" onSubmit={(e) => void mint(e)} aria-describedby="mint-note">
          <Field id="mint-file" label="Model file (STL or 3MF)">
            <input id="mint-file" type="file" accept=".stl,.3mf,model/stl,model/3mf" required onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
          </Field>
          {file && (
            <Suspense fallback={<p className="muted small">Loading the preview…</p>}>
              <ModelPreview file={file} label={`Preview of ${file.name}`} />
            </Suspense>
          )}
          <Field id="mint-name" label="Name">
            <input id="mint-name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
          </Field>
          <Field id="mint-description" label="Description" hint="What it is and what it is for.">
            <textarea id="mint-description" value={description} onChange={(e) => setDescription(e.target.value)} aria-describedby="mint-description-hint" />
          </Field>
          <Field id="mint-licence" label="Licence in words" hint="For example CC-BY-4.0 or “personal use”; fabrication licences are sold separately.">
            <input id="mint-licence" value={licence} onChange={(e) => setLicence(e.target.value)} aria-describedby="mint-licence-hint" />
          </Field>
          <Field id="mint-royalty" label="Royalty (%)" hint={cap.data !== null ? `Up to ${cap.data / 100} % (the DAO's cap).` : undefined}>
            <input id="mint-royalty" inputMode="decimal" value={royalty} onChange={(e) => setRoyalty(e.target.value)} required aria-describedby="mint-royalty-hint" />
          </Field>
          <Field id="mint-preview" label="Preview image CID (optional)" hint="An image already stored by CID; the dApp draws STL models itself.">
            <input id="mint-preview" className="mono" value={preview} onChange={(e) => setPreview(e.target.value)} aria-describedby="mint-preview-hint" />
          </Field>
          <p id="mint-note" className="small muted">
            The file and its metadata are stored by the gateway first; then your wallet signs the mint.
          </p>
          <div className="design-actions">
            <button type="submit" className="button" disabled={working}>
              Mint design
            </button>
          </div>
        </form>
      </SignInGate>
      <div className="design-status">
        <StepNotice step={step.step} onDismiss={step.clear} />
        <TxStatus state={tx.state} onDismiss={tx.reset} />
      </div>
    </>
  );
}
