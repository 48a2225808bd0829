"""The design economy's part of the derived read model: designs (DesignNFT), design-market fills, orders and
royalties (DesignMarket), fabrication licences (FabricationLicences) and bounties (BountyBoard).

`DesignDeriving` is mixed into `fabrica.indexer.derive.Deriver`, whose row cache, undo records and append-only
buffers it writes through; its `_on_<Contract>_<Event>` methods are handlers like the Deriver's own. The rules
mirror contracts/src/DesignNFT.sol and contracts/src/design/*.sol:

- a design's owner is its creator at mint and follows `Transfer`; takedowns move its state;
- a fill pays the fee and the royalty from the buyer, the rest to the seller; a royalty whose receiver is the
  seller is folded into the seller's proceeds by the market (no royalty payment: no `royalties` row);
- licence units follow the ERC-1155 transfer events (a job consuming a licence burns it, a release mints it);
- a bounty's pot: `contributed` grows with funding and shrinks with an early refund (before any submission),
  awards add to `paid`, refunds after the award window to `refunded`; awards are credited to the submitter and
  pulled with `Withdrawn`.
"""
from __future__ import annotations

from typing import Any

from fabrica.protocol.storage.cid import Cid

ZERO = "0x" + "00" * 20
SIDES = ("listing", "offer")
ASSETS = ("design", "licence")
DESIGN_STATES = ("none", "active", "taken_down", "appealed")  # IDesignNFT.DesignState by value
E = dict[str, Any]


def cid_text(hexbytes: str) -> str:
    """A binary CID (0x hex, as decoded) as its text form; bytes that are no CID the SDK knows stay hex."""
    raw = bytes.fromhex(hexbytes[2:])
    try:
        return str(Cid.parse(raw))
    except Exception:
        return hexbytes


class DesignDeriving:
    """Handlers of the design-economy contracts' events (needs the row access of `Deriver`)."""

    block: int

    # Supplied by Deriver.
    def _get(self, tbl: str, key: tuple) -> dict[str, Any] | None:  # pragma: no cover - Deriver's
        raise NotImplementedError

    def _put(self, tbl: str, key: tuple, row: dict[str, Any] | None) -> None:  # pragma: no cover - Deriver's
        raise NotImplementedError

    def _update(self, tbl: str, key: tuple, **changes: Any) -> None:  # pragma: no cover - Deriver's
        raise NotImplementedError

    def _append(self, tbl: str, row: dict[str, Any]) -> None:  # pragma: no cover - Deriver's
        raise NotImplementedError

    def _setting(self, name: str, value: Any) -> None:  # pragma: no cover - Deriver's
        raise NotImplementedError

    # ---------------------------------------------------------------- shared
    def _currency(self, e: E, token: str, allowed: bool) -> None:
        self._put("currencies", (e["contract"], token), {"contract": e["contract"], "token": token,
                                                         "allowed": allowed, "updated_block": self.block})

    def _member(self, name: str, account: str, allowed: bool) -> None:
        """Add `account` to, or remove it from, the sorted address list kept in setting `name`."""
        row = self._get("settings", (name,))
        members = set(row["value"] or []) if row else set()
        if allowed:
            members.add(account)
        else:
            members.discard(account)
        self._setting(name, sorted(members))

    def _add(self, tbl: str, key: tuple, column: str, amount: int, base: dict[str, Any]) -> None:
        """Add `amount` to `column` of row `key` (created from `base` when missing); a row left at 0 is dropped."""
        row = self._get(tbl, key)
        total = (row[column] if row else 0) + amount
        self._put(tbl, key, None if total == 0 else {**(row or base), column: total, "updated_block": self.block})

    def _royalty(self, e: E, source: str, design_id: int, receiver: str, token: str, amount: int,
                 order_hash: str | None = None, job_id: int | None = None) -> None:
        self._append("royalties", {"block_number": e["block_number"], "log_index": e["log_index"], "source": source,
                                   "design_id": design_id, "receiver": receiver, "token": token, "amount": amount,
                                   "order_hash": order_hash, "job_id": job_id, "tx_hash": e["tx_hash"]})

    # ---------------------------------------------------------------- DesignNFT
    def _on_DesignNFT_DesignMinted(self, e: E, a: E) -> None:
        # `mint` emits Transfer first: the row is made here, owned by its creator.
        tid = a["tokenId"]
        self._put("designs", (tid,), {
            "token_id": tid, "creator": a["creator"], "owner": a["creator"], "royalty_receiver": a["royaltyReceiver"],
            "royalty_bps": a["royaltyBps"], "cid": cid_text(a["cid"]), "metadata_cid": cid_text(a["metadataCid"]),
            "state": "active", "licensed": False, "takedown_reason_cid": None, "appeal_evidence_cid": None,
            "minted_block": self.block, "minted_tx": e["tx_hash"], "updated_block": self.block})

    def _on_DesignNFT_Transfer(self, e: E, a: E) -> None:
        self._update("designs", (a["tokenId"],), owner=a["to"])

    def _on_DesignNFT_DesignTakenDown(self, e: E, a: E) -> None:
        self._update("designs", (a["tokenId"],), state="taken_down", takedown_reason_cid=cid_text(a["reasonCid"]),
                     appeal_evidence_cid=None)

    def _on_DesignNFT_DesignAppealed(self, e: E, a: E) -> None:
        self._update("designs", (a["tokenId"],), state="appealed", appeal_evidence_cid=cid_text(a["evidenceCid"]))

    def _on_DesignNFT_DesignRestored(self, e: E, a: E) -> None:
        self._update("designs", (a["tokenId"],), state="active", takedown_reason_cid=None, appeal_evidence_cid=None)

    def _on_DesignNFT_TakedownUpheld(self, e: E, a: E) -> None:
        self._update("designs", (a["tokenId"],), state="taken_down")  # final: no second appeal

    def _on_DesignNFT_DesignLicensed(self, e: E, a: E) -> None:
        self._update("designs", (a["tokenId"],), licensed=True)

    def _on_DesignNFT_MinterSet(self, e: E, a: E) -> None:
        self._member("DesignNFT.minters", a["minter"], a["allowed"])

    def _on_DesignNFT_MaxRoyaltySet(self, e: E, a: E) -> None:
        self._setting("DesignNFT.max_royalty_bps", a["maxRoyaltyBps"])

    def _on_DesignNFT_ModeratorSet(self, e: E, a: E) -> None:
        self._setting("DesignNFT.moderator", a["moderator"])

    def _on_DesignNFT_LicencesSet(self, e: E, a: E) -> None:
        self._setting("DesignNFT.licences", a["licences"])

    def _base_uri(self, e: E, a: E) -> None:
        self._setting(f"{e['contract']}.base_uri", a["baseURI"])

    _on_DesignNFT_BaseURISet = _base_uri
    _on_FabricationLicences_BaseURISet = _base_uri

    # ---------------------------------------------------------------- FabricationLicences
    def _on_FabricationLicences_TermsSet(self, e: E, a: E) -> None:
        did = a["designId"]
        old = self._get("licence_terms", (did,))
        self._put("licence_terms", (did,), {
            "design_id": did, "setter": a["setter"], "token": a["token"], "price_per_print": a["pricePerPrint"],
            "block_size": a["blockSize"], "block_price": a["blockPrice"], "max_prints": a["maxPrints"],
            "sold": old["sold"] if old else 0, "updated_block": self.block})

    def _on_FabricationLicences_TermsCleared(self, e: E, a: E) -> None:
        # The contract zeroes the terms but keeps `sold` (the cap on prints ever sold outlives them).
        self._update("licence_terms", (a["designId"],), setter=ZERO, token=ZERO, price_per_print=0, block_size=0,
                     block_price=0, max_prints=0)

    def _on_FabricationLicences_LicencesBought(self, e: E, a: E) -> None:
        did = a["designId"]
        self._append("licence_purchases", {
            "block_number": e["block_number"], "log_index": e["log_index"], "design_id": did, "buyer": a["buyer"],
            "recipient": a["to"], "prints": a["prints"], "token": a["token"], "cost": a["cost"], "fee": a["fee"],
            "seller": a["seller"], "tx_hash": e["tx_hash"]})
        terms = self._get("licence_terms", (did,))
        if terms is not None:
            self._update("licence_terms", (did,), sold=terms["sold"] + a["prints"])

    def _on_FabricationLicences_LicenceUsed(self, e: E, a: E) -> None:
        self._put("licence_uses", (a["jobId"],), {
            "job_id": a["jobId"], "customer": a["customer"], "design_id": a["designId"], "used_block": self.block,
            "released": False, "released_block": None, "updated_block": self.block})

    def _on_FabricationLicences_LicenceReleased(self, e: E, a: E) -> None:
        self._update("licence_uses", (a["jobId"],), released=True, released_block=self.block)

    def _licence_moved(self, source: str, to: str, design_id: int, value: int) -> None:
        if value == 0 or source == to:
            return
        base = {"design_id": design_id, "amount": 0}
        if source != ZERO:
            self._add("licence_balances", (design_id, source), "amount", -value, {**base, "holder": source})
        if to != ZERO:
            self._add("licence_balances", (design_id, to), "amount", value, {**base, "holder": to})

    def _on_FabricationLicences_TransferSingle(self, e: E, a: E) -> None:
        self._licence_moved(a["from"], a["to"], a["id"], a["value"])

    def _on_FabricationLicences_TransferBatch(self, e: E, a: E) -> None:
        for design_id, value in zip(a["ids"], a["values"]):
            self._licence_moved(a["from"], a["to"], design_id, value)

    def _on_FabricationLicences_CurrencySet(self, e: E, a: E) -> None:
        self._currency(e, a["token"], a["allowed"])

    def _fee_set(self, e: E, a: E) -> None:
        self._setting(f"{e['contract']}.fee_bps", a["feeBps"])

    def _treasury_set(self, e: E, a: E) -> None:
        self._setting(f"{e['contract']}.treasury", a["treasury"])

    _on_FabricationLicences_FeeSet = _fee_set
    _on_FabricationLicences_TreasurySet = _treasury_set
    _on_DesignMarket_FeeSet = _fee_set
    _on_DesignMarket_TreasurySet = _treasury_set

    # ---------------------------------------------------------------- DesignMarket
    def _on_DesignMarket_OrderFilled(self, e: E, a: E) -> None:
        side, asset = SIDES[a["side"]], ASSETS[a["asset"]]
        maker, taker = a["maker"], a["taker"]
        seller, buyer = (maker, taker) if side == "listing" else (taker, maker)
        receiver, royalty = a["royaltyReceiver"], a["royalty"]
        paid_royalty = 0 if receiver == seller else royalty  # the market folds a seller's own royalty into its pay
        self._append("design_sales", {
            "block_number": e["block_number"], "log_index": e["log_index"], "order_hash": a["orderHash"],
            "maker": maker, "taker": taker, "side": side, "asset": asset, "token_id": a["tokenId"],
            "units": a["units"], "seller": seller, "buyer": buyer, "currency": a["currency"], "total": a["total"],
            "fee": a["fee"], "royalty_receiver": receiver, "royalty": royalty,
            "proceeds": a["total"] - a["fee"] - paid_royalty, "tx_hash": e["tx_hash"]})
        order = self._get("design_orders", (a["orderHash"],))
        self._put("design_orders", (a["orderHash"],), {
            "order_hash": a["orderHash"], "maker": maker, "side": side, "asset": asset, "currency": a["currency"],
            "filled": (order["filled"] if order else 0) + a["units"], "fills": (order["fills"] if order else 0) + 1,
            "first_block": order["first_block"] if order else self.block, "updated_block": self.block})
        if paid_royalty:
            self._royalty(e, "sale", a["tokenId"], receiver, a["currency"], paid_royalty, order_hash=a["orderHash"])

    def _on_DesignMarket_OrderCancelled(self, e: E, a: E) -> None:
        self._put("design_cancelled_orders", (a["maker"], a["nonce"]), {
            "maker": a["maker"], "nonce": a["nonce"], "cancelled_block": self.block, "updated_block": self.block})

    def _on_DesignMarket_CounterIncremented(self, e: E, a: E) -> None:
        self._put("design_order_counters", (a["maker"],), {"maker": a["maker"], "counter": a["counter"],
                                                           "updated_block": self.block})

    def _on_DesignMarket_CurrencySet(self, e: E, a: E) -> None:
        self._currency(e, a["currency"], a["allowed"])

    # ---------------------------------------------------------------- BountyBoard
    def _on_BountyBoard_TokenSet(self, e: E, a: E) -> None:
        self._currency(e, a["token"], a["allowed"])

    def _on_BountyBoard_BountyPosted(self, e: E, a: E) -> None:
        t = a["terms"]
        bid = a["id"]
        self._put("bounties", (bid,), {
            "bounty_id": bid, "poster": a["poster"], "token": t["token"], "brief_cid": cid_text(t["briefCid"]),
            "deadline": t["deadline"], "approvers": list(t["approvers"]), "quorum": t["quorum"],
            "evaluator": t["evaluator"], "sponsor_royalty_bps": t["sponsorRoyaltyBps"],
            "design_royalty_bps": t["designRoyaltyBps"], "terms_hash": a["termsHash"], "contributed": 0, "paid": 0,
            "refunded": 0, "sponsors": 0, "refunds": 0, "submissions": 0, "posted_block": self.block,
            "posted_tx": e["tx_hash"], "updated_block": self.block})

    def _on_BountyBoard_BountyFunded(self, e: E, a: E) -> None:
        bid, sponsor = a["id"], a["sponsor"]
        bounty = self._get("bounties", (bid,))
        if bounty is None:
            return
        row = self._get("bounty_contributions", (bid, sponsor))
        fresh = row is None or row["contribution"] == 0
        self._put("bounty_contributions", (bid, sponsor), {
            "bounty_id": bid, "sponsor": sponsor, "contribution": a["contribution"],
            "funded": (row["funded"] if row else 0) + a["amount"], "refund": row["refund"] if row else 0,
            "refunded": row["refunded"] if row else False, "updated_block": self.block})
        self._update("bounties", (bid,), contributed=bounty["contributed"] + a["amount"],
                     sponsors=bounty["sponsors"] + (1 if fresh else 0))

    def _on_BountyBoard_DeadlineExtended(self, e: E, a: E) -> None:
        self._update("bounties", (a["id"],), deadline=a["deadline"], terms_hash=a["termsHash"])

    def _on_BountyBoard_ContributionRefunded(self, e: E, a: E) -> None:
        bid, sponsor, amount = a["id"], a["sponsor"], a["amount"]
        bounty = self._get("bounties", (bid,))
        row = self._get("bounty_contributions", (bid, sponsor))
        if bounty is None or row is None:
            return
        if a["early"]:  # before any submission: the whole contribution leaves the pot
            self._update("bounty_contributions", (bid, sponsor), contribution=0, refund=row["refund"] + amount)
            self._update("bounties", (bid,), contributed=bounty["contributed"] - row["contribution"],
                         sponsors=bounty["sponsors"] - 1)
        else:  # after the award window: a pro-rata share of what was not paid out, once
            self._update("bounty_contributions", (bid, sponsor), refunded=True, refund=row["refund"] + amount)
            self._update("bounties", (bid,), refunded=bounty["refunded"] + amount, refunds=bounty["refunds"] + 1)

    def _on_BountyBoard_SubmissionAdded(self, e: E, a: E) -> None:
        bid, sid = a["id"], a["submissionId"]
        self._put("bounty_submissions", (bid, sid), {
            "bounty_id": bid, "submission_id": sid, "submitter": a["submitter"], "cid": cid_text(a["cid"]),
            "awarded": 0, "minted": False, "design_id": None, "royalty_receiver": None, "submitted_block": self.block,
            "updated_block": self.block})
        self._update("bounties", (bid,), submissions=sid)  # ids count up from 1

    def _on_BountyBoard_AwardApproved(self, e: E, a: E) -> None:
        key = (a["id"], a["submissionId"], a["amount"])
        row = self._get("bounty_approvals", key)
        approvers = [*(row["approvers"] if row else []), a["approver"]]
        self._put("bounty_approvals", key, {"bounty_id": key[0], "submission_id": key[1], "amount": key[2],
                                            "approvers": approvers, "updated_block": self.block})

    def _on_BountyBoard_AwardApprovalRevoked(self, e: E, a: E) -> None:
        key = (a["id"], a["submissionId"], a["amount"])
        row = self._get("bounty_approvals", key)
        if row is None:
            return
        approvers = [x for x in row["approvers"] if x != a["approver"]]
        self._put("bounty_approvals", key, {**row, "approvers": approvers, "updated_block": self.block}
                  if approvers else None)

    def _on_BountyBoard_BountyAwarded(self, e: E, a: E) -> None:
        bid, sid, amount = a["id"], a["submissionId"], a["amount"]
        bounty = self._get("bounties", (bid,))
        if bounty is None:
            return
        self._update("bounties", (bid,), paid=bounty["paid"] + amount)
        sub = self._get("bounty_submissions", (bid, sid))
        if sub is not None:
            self._update("bounty_submissions", (bid, sid), awarded=sub["awarded"] + amount)
        if self._get("bounty_approvals", (bid, sid, amount)) is not None:  # the quorum executed: approvals cleared
            self._put("bounty_approvals", (bid, sid, amount), None)
        token, submitter = bounty["token"], a["submitter"]
        self._add("bounty_balances", (token, submitter), "amount", amount,
                  {"token": token, "account": submitter, "amount": 0})
        self._append("bounty_awards", {
            "block_number": e["block_number"], "log_index": e["log_index"], "bounty_id": bid, "submission_id": sid,
            "submitter": submitter, "amount": amount, "decided_by": a["decidedBy"], "tx_hash": e["tx_hash"]})

    def _on_BountyBoard_Withdrawn(self, e: E, a: E) -> None:
        if self._get("bounty_balances", (a["token"], a["account"])) is not None:
            self._put("bounty_balances", (a["token"], a["account"]), None)

    def _on_BountyBoard_WinnerMinted(self, e: E, a: E) -> None:
        self._update("bounty_submissions", (a["id"], a["submissionId"]), minted=True, design_id=a["tokenId"],
                     royalty_receiver=a["royaltyReceiver"])

    # ---------------------------------------------------------------- ValidatorScoreEvaluator
    def _on_ValidatorScoreEvaluator_ValidatorSet(self, e: E, a: E) -> None:
        self._member("ValidatorScoreEvaluator.validators", a["validator"], a["allowed"])

    def _on_ValidatorScoreEvaluator_ThresholdSet(self, e: E, a: E) -> None:
        self._setting("ValidatorScoreEvaluator.threshold", a["threshold"])
