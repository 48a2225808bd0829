"""The end-to-end demo: a customer pays for a part and a shop is paid for making it, on the devnet."""
from __future__ import annotations

import json
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .accounts import DEV_ROLES, dev_account
from .client import Fabrica, TxResult
from .devnet import Devnet, advance_clock
from .display import format_time
from .bounties import Bounties, BountyTerms, bounty_brief
from .designs import Designs, design_metadata
from .designs import design_id as design_id_for
from .design_orders import Asset, Side
from .governance import Dao
from .storage.sealing import generate_keypair
from .storage.store import LocalContentStore
from .types import Job, JobSpec, JobStatus, Material, ProcessKind, SpecFile, Tolerance, format_units


def box_stl(width: float, depth: float, height: float, name: str = "fabrica-demo-part") -> bytes:
    """A binary STL of an axis-aligned box (12 triangles, outward normals)."""
    w, d, h = width, depth, height
    v = [(0, 0, 0), (w, 0, 0), (w, d, 0), (0, d, 0), (0, 0, h), (w, 0, h), (w, d, h), (0, d, h)]
    faces = [  # (normal, triangle vertex indices), counter-clockwise seen from outside
        ((0, 0, -1), (0, 2, 1)), ((0, 0, -1), (0, 3, 2)), ((0, 0, 1), (4, 5, 6)), ((0, 0, 1), (4, 6, 7)),
        ((0, -1, 0), (0, 1, 5)), ((0, -1, 0), (0, 5, 4)), ((0, 1, 0), (3, 7, 6)), ((0, 1, 0), (3, 6, 2)),
        ((-1, 0, 0), (0, 4, 7)), ((-1, 0, 0), (0, 7, 3)), ((1, 0, 0), (1, 2, 6)), ((1, 0, 0), (1, 6, 5)),
    ]
    header = name.encode()[:80].ljust(80, b"\0")
    body = b"".join(
        struct.pack("<3f", *n) + b"".join(struct.pack("<3f", *v[i]) for i in tri) + b"\0\0" for n, tri in faces
    )
    return header + struct.pack("<I", len(faces)) + body


@dataclass
class DemoReport:
    """What the demo did: each step's transaction and the final balances."""

    rpc_url: str
    job_id: int = 0
    steps: list[dict] = field(default_factory=list)
    balances: dict[str, dict[str, str]] = field(default_factory=dict)
    lifecycle_gas: int = 0
    order_job_id: int = 0
    order_gas: int = 0
    proposal_id: int = 0
    fee_bps_before: int = 0
    fee_bps_after: int = 0
    next_job_id: int = 0
    next_job_fee: str = ""
    design_id: int = 0
    sale: dict = field(default_factory=dict)
    bounty: dict = field(default_factory=dict)


def run_demo(home: Path, port: int = 8545, say: Callable[[str], None] = print) -> DemoReport:
    """Devnet up, then post → claim → deliver → accept, a signed order taken → deliver → accept, withdrawals,
    and final balances; then token holders vote a lower fee through the DAO and the next job pays it."""
    devnet = Devnet(home, port=port)
    deployment = devnet.up(lambda m: say(f"    {m}"))
    base = Fabrica.connect(devnet.rpc_url, deployment=deployment)
    as_role = {role: base.with_account(dev_account(i)) for role, i in DEV_ROLES.items()}
    customer, shop, designer = (as_role[r] for r in ("customer", "shop", "designer"))
    usd = deployment.payment_tokens["fUSD"]
    store = LocalContentStore(home / "content")
    report = DemoReport(rpc_url=devnet.rpc_url)
    # The treasury is the DAO's timelock: fees are paid to it, and only a vote spends them.
    payees = {"customer": customer.address, "shop": shop.address, "treasury": deployment.treasury,
              "designer": designer.address}
    before = {r: customer.token_balance(usd, a) for r, a in payees.items()}

    def step(name: str, result: TxResult, lifecycle: bool = False, order: bool = False) -> TxResult:
        report.steps.append({"step": name, "tx_hash": result.tx_hash, "gas_used": result.gas_used,
                             "value": result.value})
        if lifecycle:
            report.lifecycle_gas += result.gas_used
        if order:
            report.order_gas += result.gas_used
        value = f" -> {result.value}" if result.value is not None else ""
        say(f"  {name:<38}{value:<8} gas {result.gas_used:>9,}  tx {result.tx_hash}")
        return result

    say("1. The designer publishes a part and mints it as a design NFT (5 % royalty)")
    stl = box_stl(40, 20, 10)
    part_cid = str(store.add(stl))
    say(f"    part.stl ({len(stl)} bytes) stored as {part_cid}")
    design_id = design_id_for(part_cid)
    if designer.design_id_for_cid(part_cid) is None:
        meta_doc = design_metadata(name="Sensor bracket", model_cid=part_cid, licence="CC-BY-4.0",
                                   description="A 40 x 20 x 10 mm bracket for a sensor")
        design_id = step("designer mints design", designer.mint_design(part_cid, 500, str(store.add(meta_doc)))).value
    else:
        say(f"    design {design_id} was minted by an earlier run")
    report.design_id = design_id

    say("2. The customer writes a job spec and posts the job with 25 fUSD escrowed")
    spec = JobSpec(title="Sensor bracket", process=ProcessKind.FDM, material=Material.PETG, quantity=2,
                   tolerance=Tolerance(linear_mm=0.2),
                   files=[SpecFile(cid=part_cid, name="bracket.stl", role="model", size=len(stl))])
    spec_cid = str(store.add(spec.to_json_bytes()))
    say(f"    spec stored as {spec_cid}")
    # The collateral is the minimum the market asks for 25 fUSD; the job reuses the slot of one of the customer's
    # finished jobs when an earlier run left one (cheaper than a fresh slot).
    posted = step("customer posts job", customer.post_job(
        usd, 25_000_000, spec_cid, design_id=design_id, claim_by=customer.now() + 86_400,
        delivery_window=3 * 86_400), lifecycle=True)
    job_id = posted.value
    key = Job.from_event(posted.event("JobPosted").args["job"]).key
    say(f"    stored in slot {key}" + (" (recycled from a finished job)" if key != job_id else " (a fresh slot)"))
    report.job_id = job_id

    say("3. A shop stakes FAB, registers a printer and claims the job")
    if shop.stake_of(shop.address).staked < 1_000 * 10**18:
        step("shop stakes 1000 FAB", shop.stake(1_000 * 10**18))
    keys = generate_keypair()
    meta_cid = str(store.add(json.dumps({"name": "Prusa MK4 #1", "location": "Lisbon"}).encode()))
    node_id = step("shop registers node", shop.register_node(
        processes=ProcessKind.FDM, materials=Material.PLA | Material.PETG, build_volume_mm=(250, 210, 220),
        encryption_key=keys.public_key, metadata_cid=meta_cid)).value
    step("shop claims job", shop.claim_job(job_id, node_id), lifecycle=True)

    say("4. The shop fabricates and delivers a proof (its print log)")
    fetched = JobSpec.from_json_bytes(store.get(shop.job(job_id).spec_cid))
    model = store.get(fetched.files[0].cid)  # verified against its CID on read
    log = {"job_id": job_id, "node_id": node_id, "model_bytes": len(model), "quantity": fetched.quantity,
           "result": "ok", "layers": 50, "duration_s": 5400}
    proof_cid = str(store.add(json.dumps(log, sort_keys=True).encode()))
    say(f"    print log stored as {proof_cid}")
    step("shop delivers proof", shop.deliver_job(job_id, proof_cid), lifecycle=True)

    say("5. The customer accepts: node, treasury and the design's holder are credited")
    step("customer accepts", customer.accept_job(job_id), lifecycle=True)
    assert customer.job(job_id).status == JobStatus.SETTLED

    say("6. The customer signs an order off-chain (with a permit for the payment); the shop takes it in one step")
    order = customer.build_order(usd, 12_000_000, spec_cid, delivery_window=86_400, expiry=customer.now() + 3_600)
    signature = customer.sign_order(order)
    permit = customer.sign_permit(usd, order.amount, order.expiry)
    say(f"    order {order.nonce} signed: digest 0x{order.digest(deployment.chain_id, customer.market.address).hex()}")
    order_job = step("shop takes signed order", shop.take_order(order, signature, node_id, permit=permit),
                     order=True).value
    report.order_job_id = order_job
    step("shop delivers order proof", shop.deliver_job(order_job, proof_cid), order=True)
    step("customer accepts order job", customer.accept_job(order_job), order=True)

    say("7. Everyone withdraws what they earned")
    step("shop withdraws payout", shop.withdraw(usd))
    # The per-job royalty goes to whoever held the design when the job was posted (the collector, once step 9 of
    # an earlier run sold it the design).
    holder = customer.job(job_id).job.royalty_receiver
    earner = next((r for r in ("designer", "collector") if as_role[r].address == holder), None)
    if earner is not None:
        step(f"{earner} withdraws royalty", as_role[earner].withdraw(usd))
    step("fees paid to the treasury", customer.withdraw_fees(usd))

    say("8. Token holders lower the protocol fee through the DAO; the next job pays the new fee")
    _vote_fee_change(as_role["deployer"], customer, report, step, say)
    next_job = step("customer posts next job", customer.post_job(
        usd, 12_000_000, spec_cid, claim_by=customer.now() + 86_400, delivery_window=86_400)).value
    fee_bps = customer.job(next_job).job.fee_bps
    step("shop claims next job", shop.claim_job(next_job, node_id))
    step("shop delivers next job", shop.deliver_job(next_job, proof_cid))
    step("customer accepts next job", customer.accept_job(next_job))
    report.next_job_id = next_job
    report.next_job_fee = format_units(12_000_000 * fee_bps // 10_000, 6)
    say(f"    job {next_job} was posted at a {fee_bps / 100:g} % fee: {report.next_job_fee} fUSD of its 12 fUSD "
        "go to the treasury")
    if fee_bps != report.fee_bps_after:
        raise AssertionError(f"job {next_job} charges {fee_bps} bps, the DAO set {report.fee_bps_after}")
    step("shop withdraws next payout", shop.withdraw(usd))
    step("fees paid to the treasury", customer.withdraw_fees(usd))

    say("9. The design changes hands on the design market: a signed listing, filled with the royalty paid")
    _sell_design(as_role, design_id, usd, report, step, say)

    say("10. Sponsors fund a design bounty; the designer submits, wins the award and mints the winner")
    _bounty(as_role, store, usd, report, step, say)

    for role, address in payees.items():
        now = customer.token_balance(usd, address)
        report.balances[role] = {
            "address": address,
            "fUSD": format_units(now, 6),
            "change": format_units(now - before[role], 6) if now >= before[role] else "-" + format_units(before[role] - now, 6),
        }
    say("Final fUSD balances (change in this run):")
    for role, b in report.balances.items():
        say(f"  {role:<9} {b['address']}  {b['fUSD']:>12}  ({b['change']})")
    say(f"Job {job_id} lifecycle gas (post+claim+deliver+accept): {report.lifecycle_gas:,}"
        " (a first job creates the payees' balances; `python bench/gas.py` measures the steady state)")
    say(f"Order job {order_job} gas (take+deliver+accept): {report.order_gas:,}")
    return report


def _vote_fee_change(holder: Fabrica, relayer: Fabrica, report: DemoReport, step: Callable[..., TxResult],
                     say: Callable[[str], None]) -> None:
    """A FAB holder proposes a lower fee (2.5 % -> 2 %, or back on a second run), votes it through, and the
    timelock executes it after its delay; the devnet's clock is moved past each wait."""
    dao, w3 = Dao(holder), holder.w3
    settings = holder.deployment.governance
    assert settings is not None  # the devnet always deploys the DAO
    delegated = dao.delegate()  # voting power counts from the proposal's snapshot: delegate first
    for result in delegated:  # FAB and staked FAB are two vote sources, each delegated
        step("holder delegates its votes to itself", result)
    if delegated:  # proposing reads the proposer's votes at the previous second
        advance_clock(w3, 1)
    before = holder.market_params()["feeBps"]
    after = 200 if before != 200 else 250
    report.fee_bps_before, report.fee_bps_after = before, after
    proposal = dao.propose([dao.fee_action(after)],
                           f"Set the protocol fee to {after / 100:g} %\n\nProposed by the demo at "
                           f"{format_time(holder.now())}.")
    report.proposal_id = proposal.id
    gas = int(w3.eth.get_transaction_receipt(proposal.tx_hash)["gasUsed"])
    report.steps.append({"step": "holder proposes the fee", "tx_hash": proposal.tx_hash, "gas_used": gas,
                         "value": None})
    say(f"  {'holder proposes the fee':<46} gas {gas:>9,}  tx {proposal.tx_hash}")
    say(f"    proposal {proposal.id}")
    say(f"    fee {before / 100:g} % -> {after / 100:g} %; voting {format_time(proposal.vote_start)} to "
        f"{format_time(proposal.vote_end)}")
    advance_clock(w3, settings.voting_delay + 1)
    step("holder votes for", dao.vote(proposal.id, "for", "cheaper jobs bring more of them"))
    status = dao.status(proposal.id)
    say(f"    for {format_units(status.votes_for, 18)} FAB, quorum {format_units(status.quorum, 18)} FAB")
    advance_clock(w3, max(status.deadline - holder.now(), 0) + 1)
    step("anyone queues it in the timelock", Dao(relayer).queue(proposal.id))
    advance_clock(w3, settings.timelock_delay + 1)
    step("anyone executes it", Dao(relayer).execute(proposal.id))
    now = holder.market_params()["feeBps"]
    if now != after:
        raise AssertionError(f"the executed proposal left the fee at {now} bps, not {after}")
    say(f"    the timelock set the fee to {now / 100:g} %")


def _sell_design(as_role: dict[str, Fabrica], design_id: int, usd: str, report: DemoReport,
                 step: Callable[..., TxResult], say: Callable[[str], None]) -> None:
    """The design's holder lists it for 50 fUSD; the collector (or, once it holds it, the designer) buys it."""
    nft = Designs(as_role["designer"])
    owner = nft.info(design_id).owner
    seller_role = next(r for r in ("designer", "collector") if as_role[r].address == owner)
    buyer_role = "collector" if seller_role == "designer" else "designer"
    seller, buyer = Designs(as_role[seller_role]), Designs(as_role[buyer_role])
    order = seller.build_order(side=Side.LISTING, asset=Asset.DESIGN, token_id=design_id, currency=usd,
                               price=50_000_000, expiry=seller.fab.now() + 86_400, nonce=seller.next_nonce())
    for result in seller.prepare_maker(order):
        step(f"{seller_role} approves the design market", result)
    signature = seller.sign(order)
    say(f"    {seller_role} signed listing {order.nonce} (eth_signTypedData_v4): 50 fUSD")
    filled = step(f"{buyer_role} buys the design", buyer.fill(order, signature))
    args = filled.event("OrderFilled").args
    report.sale = {"seller": seller_role, "buyer": buyer_role, "gas_used": filled.gas_used,
                   "price": format_units(args["total"], 6), "fee": format_units(args["fee"], 6),
                   "royalty": format_units(args["royalty"], 6), "royalty_receiver": args["royaltyReceiver"]}
    say(f"    seller got {format_units(args['total'] - args['fee'] - args['royalty'], 6)} fUSD, treasury "
        f"{report.sale['fee']}, creator royalty {report.sale['royalty']}")


def _bounty(as_role: dict[str, Fabrica], store: LocalContentStore, usd: str, report: DemoReport,
            step: Callable[..., TxResult], say: Callable[[str], None]) -> None:
    """The sponsor posts a 100 fUSD bounty decided by itself, the customer adds 50, the designer submits a part,
    the sponsor awards 120 of the 150 and the designer withdraws it and mints its design."""
    sponsor, customer, designer = (Bounties(as_role[r]) for r in ("sponsor", "customer", "designer"))
    brief = bounty_brief(title="Cable clip for 6 mm cable", material="PETG", bounding_box_mm=(30, 15, 10),
                         constraints=["printable without supports"])
    terms = BountyTerms(token=usd, brief_cid=str(store.add(brief)), deadline=sponsor.fab.now() + 7 * 86_400,
                        approvers=(sponsor.fab.address,), quorum=1, sponsor_royalty_bps=2_000,
                        design_royalty_bps=500)
    bounty_id = step("sponsor posts a 100 fUSD bounty", sponsor.post(terms, 100_000_000)).value
    step("customer adds 50 fUSD", customer.fund(bounty_id, 50_000_000))
    # Each run's winning part is a new file (its STL header names the bounty), so each run mints a new design.
    clip = box_stl(30, 15, 10, name=f"fabrica-bounty-{bounty_id}-clip")
    clip_cid = str(store.add(clip))
    submission = step("designer submits a design", designer.submit(bounty_id, clip_cid)).value
    award = step("sponsor awards 120 fUSD", sponsor.award(bounty_id, submission, 120_000_000))
    step("designer withdraws the award", designer.withdraw(usd))
    meta = design_metadata(name="Cable clip", model_cid=clip_cid, description=f"Winner of bounty {bounty_id}")
    minted = step("designer mints the winner", designer.mint_winner(bounty_id, submission, str(store.add(meta))))
    event = minted.event("WinnerMinted").args
    info = sponsor.bounty(bounty_id)
    report.bounty = {"id": bounty_id, "award_gas": award.gas_used, "pot_left": format_units(info.pot, 6),
                     "design_id": str(event["tokenId"]), "royalty_receiver": event["royaltyReceiver"]}
    say(f"    design {event['tokenId']} minted; its royalty goes to {event['royaltyReceiver']} (a split: 80 % designer, "
        f"20 % sponsors by contribution); {report.bounty['pot_left']} fUSD stay refundable after the deadline")
