// A design's listings on the design market: signed orders (protocol/design_orders.py DesignOrder) relayed by the
// gateway, each checked on chain (`remaining`) before it is shown. The owner lists (approve the market for the
// collection once, sign the EIP-712 order, relay it); anyone else buys (approve the price, DesignMarket.fill).
import { useState, type FormEvent } from "react";
import type { Address, Hex } from "viem";
import { publicClient } from "../../chain/clients";
import { useTx } from "../../chain/tx";
import { get, post } from "../../lib/api";
import { contractAddress, useConfig } from "../../lib/config";
import { formatAmount, formatTime } from "../../lib/format";
import { useFetch } from "../../lib/useFetch";
import { walletMessage } from "../../wallet/eip1193";
import { useWallet } from "../../wallet/WalletContext";
import { Address as Addr, Amount, Loadable } from "../bits";
import { TxStatus } from "../TxStatus";
import { paymentTokens, readChain, sameAddress, toBaseUnits, ZERO_ADDRESS } from "./chain";
import { payAndRun } from "./pay";
import type { DesignView, Listing, OrderJson } from "./types";
import { Field, StepNotice, TopicWatch, errorText, isChange, useStep } from "./ui";

const MAX_NONCE_PROBES = 256;

/** A relayed order as the struct DesignMarket takes (viem: uint8 as numbers, wider integers as bigints). */
export function orderStruct(o: OrderJson) {
  return {
    maker: o.maker as Address, side: Number(o.side), asset: Number(o.asset), scope: Number(o.scope), tokenId: BigInt(o.token_id),
    creator: o.creator as Address, currency: o.currency as Address, price: BigInt(o.price), amount: BigInt(o.amount),
    expiry: BigInt(o.expiry), nonce: BigInt(o.nonce), counter: BigInt(o.counter),
  };
}

async function openListings(cfg: ReturnType<typeof useConfig>, design: DesignView): Promise<(Listing & { left: bigint })[]> {
  const page = await get<{ items: Listing[] }>("/v1/listings", { maker: design.owner, limit: 100 });
  const mine = page.items.filter((l) => l.order.side === "0" && l.order.asset === "0" && l.order.scope === "0" && l.order.token_id === String(design.token_id));
  const out = [];
  for (const l of mine) {
    // Filled or superseded orders stay relayed until they expire: the chain says what can still fill.
    const left = await readChain<bigint>(cfg, "DesignMarket", "remaining", [orderStruct(l.order)]);
    if (left > 0n) out.push({ ...l, left });
  }
  return out;
}

/** The maker's next order nonce: above every nonce it relayed, and unused on chain. */
async function nextNonce(cfg: ReturnType<typeof useConfig>, maker: Address): Promise<bigint> {
  const relayed = await get<{ items: { order: OrderJson }[] }>("/v1/orders", { kind: "design", maker, limit: 100 });
  let nonce = relayed.items.reduce((n, r) => (BigInt(r.order.nonce) >= n ? BigInt(r.order.nonce) + 1n : n), 0n);
  for (let i = 0; i < MAX_NONCE_PROBES; i++, nonce++) {
    if (!(await readChain<boolean>(cfg, "DesignMarket", "nonceUsed", [maker, nonce]))) return nonce;
  }
  throw new Error(`no unused order nonce among ${MAX_NONCE_PROBES}; cancel old orders first`);
}

export function Listings({ design }: { design: DesignView }) {
  const cfg = useConfig();
  const w = useWallet();
  const tx = useTx();
  const step = useStep();
  const tokens = paymentTokens(cfg);
  const [price, setPrice] = useState("");
  const [currency, setCurrency] = useState<string>(tokens[0]?.address ?? "");
  const [days, setDays] = useState("7");
  const listings = useFetch(() => openListings(cfg, design), [cfg, design.owner, design.token_id]);
  const me = w.account;
  const owner = sameAddress(me, design.owner);
  const market = contractAddress(cfg, "DesignMarket");
  const working = step.step.kind === "busy" || ["checking", "signing", "pending"].includes(tx.state.phase);

  async function list(e: FormEvent) {
    e.preventDefault();
    tx.reset();
    step.clear();
    if (!me) return step.fail("Connect a wallet first.");
    try {
      const amount = toBaseUnits(cfg, currency, price, "the price");
      if (amount <= 0n) throw new Error("the price must be above zero");
      const d = Number(days);
      if (!Number.isInteger(d) || d < 1 || d > 365) throw new Error("a listing is valid for 1 to 365 days");
      if (!(await readChain<boolean>(cfg, "DesignMarket", "isCurrencyAllowed", [currency]))) throw new Error("the market does not accept this currency");
      // The market moves the design when a buyer fills: it needs the owner's approval for the collection once.
      if (!(await readChain<boolean>(cfg, "DesignNFT", "isApprovedForAll", [me, market]))) {
        const ok = await tx.run({ contract: "DesignNFT", functionName: "setApprovalForAll", args: [market, true], label: "Let the design market transfer your designs" });
        if (!ok) return;
      }
      step.busy("Preparing the listing…");
      const [counter, nonce, block] = await Promise.all([
        readChain<bigint>(cfg, "DesignMarket", "counterOf", [me]), nextNonce(cfg, me), publicClient(cfg).getBlock(),
      ]);
      const order: OrderJson = {
        maker: me, side: "0", asset: "0", scope: "0", token_id: String(design.token_id), creator: ZERO_ADDRESS, currency,
        price: amount.toString(), amount: "1", expiry: String(block.timestamp + BigInt(d * 86400)), nonce: nonce.toString(), counter: counter.toString(),
      };
      const payload = await post<{ typed_data: unknown; digest: string }>("/v1/eip712/design-order", order);
      step.busy("Sign the listing in your wallet…");
      let signature: Hex;
      try {
        signature = (await w.provider().request({ method: "eth_signTypedData_v4", params: [me, JSON.stringify(payload.typed_data)] })) as Hex;
      } catch (err) {
        step.fail(walletMessage(err, "the listing's signature"));
        return;
      }
      step.busy("Publishing the listing…");
      await post("/v1/orders", { kind: "design", order, signature });
      step.done(`Listed for ${formatAmount(cfg, amount, currency)} until ${formatTime(Number(order.expiry))}.`);
      setPrice("");
      void listings.reload();
    } catch (err) {
      step.fail(`Listing failed: ${errorText(err)}`);
    }
  }

  async function buy(l: Listing) {
    tx.reset();
    step.clear();
    if (!me) return step.fail("Connect a wallet first.");
    const total = BigInt(l.order.price);
    try {
      const receipt = await payAndRun({
        cfg, run: tx.run, account: me, token: l.order.currency as Address, spender: market, amount: total, what: "buying this design", fail: step.fail,
        call: { contract: "DesignMarket", functionName: "fill", args: [orderStruct(l.order), l.signature, 1n, BigInt(l.order.token_id)], label: "Buy the design" },
      });
      if (receipt) void listings.reload();
    } catch (err) {
      step.fail(`Buying failed: ${errorText(err)}`);
    }
  }

  return (
    <section aria-labelledby="sale-h">
      <h2 id="sale-h">For sale</h2>
      {[design.owner, me].filter((a): a is string => !!a).map((a) => (
        <TopicWatch key={a} topic={`account:${a.toLowerCase()}`} onMessage={(m) => isChange(m) && void listings.reload()} />
      ))}
      <Loadable {...listings}>
        {(items) =>
          items.length === 0 ? (
            <p className="muted">Not listed for sale.</p>
          ) : (
            <ul className="design-list" data-testid="listings">
              {items.map((l) => (
                <li key={l.order_hash}>
                  <span className="grow">
                    <strong><Amount value={l.order.price} token={l.order.currency} /></strong> from <Addr value={l.maker} />, until {formatTime(Number(l.order.expiry))}
                  </span>
                  {!sameAddress(me, l.maker) && (
                    <button type="button" className="button" disabled={working} onClick={() => void buy(l)}>
                      Buy for {formatAmount(cfg, l.order.price, l.order.currency)}
                    </button>
                  )}
                </li>
              ))}
            </ul>
          )
        }
      </Loadable>
      {owner && design.state === "active" && (
        <form className="design-form design-panel" onSubmit={(e) => void list(e)} aria-labelledby="list-h">
          <h3 id="list-h">List it for sale</h3>
          <div className="row-3">
            <Field id="list-price" label="Price">
              <input id="list-price" inputMode="decimal" value={price} onChange={(e) => setPrice(e.target.value)} required />
            </Field>
            <Field id="list-currency" label="Currency">
              <select id="list-currency" value={currency} onChange={(e) => setCurrency(e.target.value)}>
                {tokens.map((t) => (
                  <option key={t.address} value={t.address}>{t.symbol}</option>
                ))}
              </select>
            </Field>
            <Field id="list-days" label="Valid (days)">
              <input id="list-days" type="number" min={1} max={365} value={days} onChange={(e) => setDays(e.target.value)} required />
            </Field>
          </div>
          <p className="small muted">You sign the listing (no transaction); a buyer's purchase moves the design and pays you, less the market fee.</p>
          <div className="design-actions">
            <button type="submit" className="button" disabled={working}>List for sale</button>
          </div>
        </form>
      )}
      <div className="design-status">
        <StepNotice step={step.step} onDismiss={step.clear} />
        <TxStatus state={tx.state} onDismiss={tx.reset} />
      </div>
    </section>
  );
}
