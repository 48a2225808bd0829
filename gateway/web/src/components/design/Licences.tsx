// A design's fabrication licences (FabricationLicences): the owner's terms (per print, per block of prints, a
// cap), buying prints at those terms (cost quoted by the contract, the price approved, then `buy`), and who
// holds how many. Terms set by a former owner are void: the chain's `termsOf` says whether they are in force.
import { useState, type FormEvent } from "react";
import type { Address } from "viem";
import { useTx } from "../../chain/tx";
import { contractAddress, useConfig } from "../../lib/config";
import { formatAmount } from "../../lib/format";
import { useWallet } from "../../wallet/WalletContext";
import { Address as Addr, Amount, Facts } from "../bits";
import { TxStatus } from "../TxStatus";
import { big, paymentTokens, readChain, sameAddress, toBaseUnits } from "./chain";
import { payAndRun } from "./pay";
import type { DesignView, Terms } from "./types";
import { Field, StepNotice, errorText, useStep } from "./ui";

/** What `prints` licences cost under `terms` (protocol/designs.py LicenceTerms.cost), or an error in words. */
export function licenceCost(terms: Terms, prints: number): bigint {
  if (!Number.isInteger(prints) || prints <= 0) throw new Error("buy at least one licence");
  const perPrint = big(terms.price_per_print);
  if (terms.block_size) {
    const blocks = Math.floor(prints / terms.block_size);
    const rest = prints % terms.block_size;
    if (rest && !perPrint) throw new Error(`these licences are sold only in blocks of ${terms.block_size}`);
    return BigInt(blocks) * big(terms.block_price) + BigInt(rest) * perPrint;
  }
  return BigInt(prints) * perPrint;
}

export function Licences({ design }: { design: DesignView }) {
  const cfg = useConfig();
  const w = useWallet();
  const tx = useTx();
  const step = useStep();
  const tokens = paymentTokens(cfg);
  const me = w.account;
  const owner = sameAddress(me, design.owner);
  const terms = design.terms && !/^0x0{40}$/i.test(design.terms.setter) ? design.terms : null;
  const inForce = terms !== null && sameAddress(terms.setter, design.owner) && design.state === "active";
  const [prints, setPrints] = useState("1");
  const [token, setToken] = useState<string>(tokens[0]?.address ?? "");
  const [perPrint, setPerPrint] = useState("");
  const [blockSize, setBlockSize] = useState("0");
  const [blockPrice, setBlockPrice] = useState("0");
  const [maxPrints, setMaxPrints] = useState("0");
  const working = step.step.kind === "busy" || ["checking", "signing", "pending"].includes(tx.state.phase);
  const held = design.holders.find((h) => sameAddress(h.holder, me));

  let quote: string | null = null;
  if (inForce && terms) {
    try {
      quote = formatAmount(cfg, licenceCost(terms, Number(prints)), terms.token);
    } catch (e) {
      quote = errorText(e);
    }
  }

  async function setTerms(e: FormEvent) {
    e.preventDefault();
    tx.reset();
    step.clear();
    try {
      const per = perPrint.trim() ? toBaseUnits(cfg, token, perPrint, "the price per print") : 0n;
      const size = Number(blockSize || "0");
      const bprice = toBaseUnits(cfg, token, blockPrice || "0", "the block price");
      const cap = Number(maxPrints || "0");
      if (!Number.isInteger(size) || size < 0 || !Number.isInteger(cap) || cap < 0) throw new Error("the block size and the print cap are whole numbers (0: none)");
      if (!per && !(size && bprice)) throw new Error("set a price per print, or a block size with a block price");
      await tx.run({
        contract: "FabricationLicences", functionName: "setTerms", args: [BigInt(design.token_id), token, per, size, bprice, cap], label: "Set licence terms",
      });
    } catch (err) {
      step.fail(`Licence terms not set: ${errorText(err)}`);
    }
  }

  async function buy(e: FormEvent) {
    e.preventDefault();
    tx.reset();
    step.clear();
    if (!me) return step.fail("Connect a wallet first.");
    try {
      const n = Number(prints);
      if (!Number.isInteger(n) || n <= 0) throw new Error("buy at least one licence");
      // The contract's own quote: what `buy` will charge now (the index may be a block behind).
      const [currency, cost] = await readChain<[Address, bigint, bigint]>(cfg, "FabricationLicences", "quote", [BigInt(design.token_id), BigInt(n)]);
      await payAndRun({
        cfg, run: tx.run, account: me, token: currency, spender: contractAddress(cfg, "FabricationLicences"), amount: cost,
        what: `${n} licence${n === 1 ? "" : "s"}`, fail: step.fail,
        call: { contract: "FabricationLicences", functionName: "buy", args: [BigInt(design.token_id), BigInt(n), me, currency, cost], label: "Buy licences" },
      });
    } catch (err) {
      step.fail(`Buying licences failed: ${errorText(err)}`);
    }
  }

  return (
    <section aria-labelledby="licences-h">
      <h2 id="licences-h">Fabrication licences</h2>
      <p className="small muted">A licence lets one job fabricate this design without paying the per-job royalty.</p>
      {terms ? (
        <div data-testid="licence-terms">
          <Facts
            items={[
              ["Per print", big(terms.price_per_print) ? <Amount value={terms.price_per_print} token={terms.token} /> : "blocks only"],
              ["Blocks", terms.block_size ? <>{terms.block_size} prints for <Amount value={terms.block_price} token={terms.token} /></> : "none"],
              ["Cap", terms.max_prints ? `${terms.max_prints} prints` : "unlimited"],
              ["Sold", String(terms.sold)],
              ["In force", inForce ? "yes" : "no: set by a former owner, or the design is not active"],
            ]}
          />
        </div>
      ) : (
        <p className="muted">Its owner sells no licences.</p>
      )}
      {held && <p>You hold {String(held.amount)} licence{String(held.amount) === "1" ? "" : "s"} of this design.</p>}
      {inForce && !owner && (
        <form className="design-form design-panel" onSubmit={(e) => void buy(e)} aria-labelledby="buy-lic-h">
          <h3 id="buy-lic-h">Buy licences</h3>
          <Field id="lic-prints" label="Prints" hint={quote ? `Cost: ${quote}` : undefined}>
            <input id="lic-prints" type="number" min={1} value={prints} onChange={(e) => setPrints(e.target.value)} required aria-describedby="lic-prints-hint" />
          </Field>
          <div className="design-actions">
            <button type="submit" className="button" disabled={working}>Buy licences</button>
          </div>
        </form>
      )}
      {owner && design.state === "active" && (
        <form className="design-form design-panel" onSubmit={(e) => void setTerms(e)} aria-labelledby="terms-set-h">
          <h3 id="terms-set-h">{terms ? "Change the licence terms" : "Sell fabrication licences"}</h3>
          <div className="row-3">
            <Field id="terms-token" label="Currency">
              <select id="terms-token" value={token} onChange={(e) => setToken(e.target.value)}>
                {tokens.map((t) => (
                  <option key={t.address} value={t.address}>{t.symbol}</option>
                ))}
              </select>
            </Field>
            <Field id="terms-per-print" label="Price per print">
              <input id="terms-per-print" inputMode="decimal" value={perPrint} onChange={(e) => setPerPrint(e.target.value)} />
            </Field>
            <Field id="terms-max" label="Print cap (0: none)">
              <input id="terms-max" type="number" min={0} value={maxPrints} onChange={(e) => setMaxPrints(e.target.value)} />
            </Field>
            <Field id="terms-block-size" label="Block size (0: none)">
              <input id="terms-block-size" type="number" min={0} value={blockSize} onChange={(e) => setBlockSize(e.target.value)} />
            </Field>
            <Field id="terms-block-price" label="Block price">
              <input id="terms-block-price" inputMode="decimal" value={blockPrice} onChange={(e) => setBlockPrice(e.target.value)} />
            </Field>
          </div>
          <div className="design-actions">
            <button type="submit" className="button" disabled={working}>Set licence terms</button>
          </div>
        </form>
      )}
      {design.holders.length > 0 && (
        <>
          <h3>Holders</h3>
          <ul className="plain">
            {design.holders.map((h) => (
              <li key={h.holder}>
                <Addr value={h.holder} />: {String(h.amount)}
              </li>
            ))}
          </ul>
        </>
      )}
      <div className="design-status">
        <StepNotice step={step.step} onDismiss={step.clear} />
        <TxStatus state={tx.state} onDismiss={tx.reset} />
      </div>
    </section>
  );
}
