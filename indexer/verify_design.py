"""The design economy's chain checks for `fabrica.indexer.verify.check_chain`: what the index says of designs,
licences, design-market orders and bounties, asked of the contracts' own views at the index's block.

- designs: `designOf` (owner, creator, royalty receiver, royalty, state), `rightsOf`'s licensed flag, `cidOf`;
- licences: `balanceOf` of every holder, `termsOf` (terms, sold, and whether they are in force), `licenceOf`
  of every job that used one;
- design market: `filled` of every filled order (a licence order filled completely in one call records nothing
  there: its nonce is used instead; the fill event does not carry the nonce), `nonceUsed` of every cancelled
  nonce, `counterOf` of every maker that raised its counter;
- bounties: `bountyOf` (the whole pot: contributed, paid, refunded, sponsors, refunds, submissions, terms hash),
  `bountyCount`, `contributionOf` of every sponsor, `submissionOf`, pending approvals (`approvalsOf`,
  `hasApproved`) and awarded balances (`balanceOf`);
- the allowlisted currencies, fees, treasuries, royalty cap, moderator, minters, owners and the score evaluator's
  validators and threshold.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .derive_design import DESIGN_STATES, cid_text
from .onchain import Call
from .schema import (bounties, bounty_approvals, bounty_balances, bounty_contributions, bounty_submissions,
                     currencies, design_cancelled_orders, design_order_counters, design_orders, designs,
                     licence_balances, licence_terms, licence_uses)

if TYPE_CHECKING:
    from .verify import _Checks

ZERO = "0x" + "00" * 20
TABLES = (designs, licence_balances, licence_terms, licence_uses, design_orders, design_cancelled_orders,
          design_order_counters, currencies, bounties, bounty_contributions, bounty_submissions, bounty_approvals,
          bounty_balances)
OWNED = ("DesignNFT", "FabricationLicences", "DesignMarket", "BountyBoard", "ValidatorScoreEvaluator")
ADDRESS_VIEWS = frozenset({"moderator", "licences", "treasury", "owner", "pendingOwner"})
# Which view says whether a contract accepts a currency.
CURRENCY_VIEWS = {"DesignMarket": "isCurrencyAllowed", "FabricationLicences": "isCurrencyAllowed",
                  "BountyBoard": "isTokenAllowed"}


def _lower(v: Any) -> Any:
    if isinstance(v, str):
        return v.lower()
    if isinstance(v, (list, tuple)):
        return tuple(_lower(x) for x in v)
    return v


def _hex(v: bytes) -> str:
    return "0x" + bytes(v).hex()


def check_design_economy(checks: _Checks, t: dict[str, list[dict[str, Any]]], named: dict[str, Any],
                         contracts: dict[str, str]) -> None:
    """Queue the design economy's checks for the contracts the deployment has."""
    if "DesignNFT" in contracts:
        _check_designs(checks, t["designs"])
    if "FabricationLicences" in contracts:
        _check_licences(checks, t)
    if "DesignMarket" in contracts:
        _check_orders(checks, t)
    if "BountyBoard" in contracts:
        _check_bounties(checks, t)
    for c in t["currencies"]:
        if c["contract"] in contracts:
            checks.add("currencies", (c["contract"], c["token"]), CURRENCY_VIEWS[c["contract"]],
                       Call(c["contract"], CURRENCY_VIEWS[c["contract"]], (c["token"],)), c["allowed"])
    _check_settings(checks, named, contracts)


def _check_designs(checks: _Checks, rows: list[dict[str, Any]]) -> None:
    for d in rows:
        tid = d["token_id"]
        checks.add("designs", (tid,), "designOf (owner, creator, royalty receiver, royalty, state)",
                   Call("DesignNFT", "designOf", (tid,)),
                   (d["owner"], d["creator"], d["royalty_receiver"], d["royalty_bps"], d["state"]),
                   lambda v: (*_lower(v[:3]), v[3], DESIGN_STATES[v[4]]))
        checks.add("designs", (tid,), "rightsOf licensed", Call("DesignNFT", "rightsOf", (tid,)), d["licensed"],
                   lambda v: bool(v[3]))
        checks.add("designs", (tid,), "cidOf", Call("DesignNFT", "cidOf", (tid,)), d["cid"],
                   lambda v: cid_text(_hex(v)))


def _check_licences(checks: _Checks, t: dict[str, list[dict[str, Any]]]) -> None:
    for b in t["licence_balances"]:
        checks.add("licence_balances", (b["design_id"], b["holder"]), "balanceOf",
                   Call("FabricationLicences", "balanceOf", (b["holder"], b["design_id"])), b["amount"])
    owners = {d["token_id"]: d for d in t["designs"]}
    allowed = {c["token"] for c in t["currencies"] if c["contract"] == "FabricationLicences" and c["allowed"]}
    for r in t["licence_terms"]:
        design = owners.get(r["design_id"])
        # In force while set by the design's current owner, in an allowed token, the design Active.
        valid = (r["setter"] != ZERO and design is not None and r["setter"] == design["owner"]
                 and r["token"] in allowed and design["state"] == "active")
        terms = (r["token"], r["price_per_print"], r["setter"], r["block_size"], r["max_prints"], r["block_price"],
                 r["sold"])
        checks.add("licence_terms", (r["design_id"],), "termsOf (terms, valid)",
                   Call("FabricationLicences", "termsOf", (r["design_id"],)), (terms, valid),
                   lambda v: (_lower(tuple(v[0])), bool(v[1])))
    for u in t["licence_uses"]:
        expected = (ZERO, 0) if u["released"] else (u["customer"], u["design_id"])
        checks.add("licence_uses", (u["job_id"],), "licenceOf", Call("FabricationLicences", "licenceOf", (u["job_id"],)),
                   expected, _lower)


def _check_orders(checks: _Checks, t: dict[str, list[dict[str, Any]]]) -> None:
    for o in t["design_orders"]:
        digest = bytes.fromhex(o["order_hash"][2:])
        if o["asset"] == "design":  # one unit: the fill used the nonce and recorded nothing
            expected, normalise = 0, None
        elif o["fills"] == 1:  # partial (recorded) or complete in one call (nothing recorded): either is right
            expected, normalise = o["filled"], (lambda v, filled=o["filled"]: filled if v == 0 else v)
        else:  # the first fill was partial: every fill since is recorded
            expected, normalise = o["filled"], None
        checks.add("design_orders", (o["order_hash"],), "filled", Call("DesignMarket", "filled", (digest,)),
                   expected, normalise)
    for c in t["design_cancelled_orders"]:
        checks.add("design_cancelled_orders", (c["maker"], c["nonce"]), "nonceUsed",
                   Call("DesignMarket", "nonceUsed", (c["maker"], c["nonce"])), True)
    for c in t["design_order_counters"]:
        checks.add("design_order_counters", (c["maker"],), "counterOf",
                   Call("DesignMarket", "counterOf", (c["maker"],)), c["counter"])


def _check_bounties(checks: _Checks, t: dict[str, list[dict[str, Any]]]) -> None:
    rows = t["bounties"]
    checks.add("bounties", (), "bountyCount", Call("BountyBoard", "bountyCount"),
               max((b["bounty_id"] for b in rows), default=0))
    for b in rows:
        expected = (b["poster"], b["token"], b["deadline"], b["quorum"], b["evaluator"], b["sponsor_royalty_bps"],
                    b["design_royalty_bps"], b["submissions"], b["sponsors"], b["refunds"], b["contributed"],
                    b["paid"], b["refunded"], b["terms_hash"])
        checks.add("bounties", (b["bounty_id"],), "bountyOf", Call("BountyBoard", "bountyOf", (b["bounty_id"],)),
                   expected, lambda v: (*_lower(tuple(v[:13])), _hex(v[13])))
    for c in t["bounty_contributions"]:
        checks.add("bounty_contributions", (c["bounty_id"], c["sponsor"]), "contributionOf",
                   Call("BountyBoard", "contributionOf", (c["bounty_id"], c["sponsor"])),
                   (c["contribution"], c["refunded"]), tuple)
    for s in t["bounty_submissions"]:
        checks.add("bounty_submissions", (s["bounty_id"], s["submission_id"]), "submissionOf",
                   Call("BountyBoard", "submissionOf", (s["bounty_id"], s["submission_id"])),
                   (s["submitter"], s["awarded"] > 0, s["minted"], s["cid"]),
                   lambda v: (v[0].lower(), v[1], v[2], cid_text(_hex(v[3]))))
    for a in t["bounty_approvals"]:
        key = (a["bounty_id"], a["submission_id"], a["amount"])
        checks.add("bounty_approvals", key, "approvalsOf", Call("BountyBoard", "approvalsOf", key), len(a["approvers"]))
        for approver in a["approvers"]:
            checks.add("bounty_approvals", (*key, approver), "hasApproved",
                       Call("BountyBoard", "hasApproved", (*key, approver)), True)
    for b in t["bounty_balances"]:
        checks.add("bounty_balances", (b["token"], b["account"]), "balanceOf",
                   Call("BountyBoard", "balanceOf", (b["token"], b["account"])), b["amount"])


def _check_settings(checks: _Checks, named: dict[str, Any], contracts: dict[str, str]) -> None:
    views = {"DesignNFT.max_royalty_bps": ("DesignNFT", "maxRoyaltyBps"),
             "DesignNFT.moderator": ("DesignNFT", "moderator"),
             "DesignNFT.licences": ("DesignNFT", "licences"),
             "DesignNFT.base_uri": ("DesignNFT", "baseURI"),
             "FabricationLicences.fee_bps": ("FabricationLicences", "feeBps"),
             "FabricationLicences.treasury": ("FabricationLicences", "treasury"),
             "FabricationLicences.base_uri": ("FabricationLicences", "baseURI"),
             "DesignMarket.fee_bps": ("DesignMarket", "feeBps"),
             "DesignMarket.treasury": ("DesignMarket", "treasury"),
             "ValidatorScoreEvaluator.threshold": ("ValidatorScoreEvaluator", "threshold")}
    views |= {f"{c}.owner": (c, "owner") for c in OWNED}
    views |= {f"{c}.pending_owner": (c, "pendingOwner") for c in OWNED}
    for name, (contract, fn) in views.items():
        if name in named and contract in contracts:
            value = named[name]
            if fn in ADDRESS_VIEWS:  # an address (a cleared pending owner reads as zero)
                checks.add("settings", (name,), fn, Call(contract, fn), value or ZERO, _lower)
            else:
                checks.add("settings", (name,), fn, Call(contract, fn), value)
    for name, contract, fn in (("DesignNFT.minters", "DesignNFT", "isMinter"),
                               ("ValidatorScoreEvaluator.validators", "ValidatorScoreEvaluator", "isValidator")):
        if contract in contracts:
            for account in named.get(name) or ():
                checks.add("settings", (name, account), fn, Call(contract, fn, (account,)), True)


def load(conn: sa.Connection) -> dict[str, list[dict[str, Any]]]:
    """The rows the checks read, by table name."""
    return {t.name: [dict(r) for r in conn.execute(sa.select(t)).mappings()] for t in TABLES}
