"""`Designs`: the SDK for Fabrica's design economy — mint designs (DesignNFT), sell them and their fabrication
licences through signed orders (DesignMarket), sell licences directly (FabricationLicences), take down copies.

Built on a `Fabrica` client (its connection, account and `_send`), so errors, gas and receipts behave as in the
rest of the SDK. A design's id is the sha-256 digest inside its content CID read as a number: `design_id(cid)`
computes it off chain, and every input that names a design accepts the id or the CID.
"""
from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address
from web3.contract import Contract

from .chain_errors import make_error
from .client import Fabrica, TxResult
from .design_orders import ZERO_ADDRESS, Asset, DesignOrder, Scope, Side
from .display import format_time
from .errors import FabricaError, FabricaLookupError, FabricaValueError
from .orders import parse_signature
from .storage.cid import SHA2_256, Cid

MAX_NONCE_PROBES = 4096
METADATA_SCHEMA = "fabrica.design-metadata/1"


class DesignState(enum.IntEnum):
    """Mirror of `IDesignNFT.DesignState`."""

    NONE = 0
    ACTIVE = 1
    TAKEN_DOWN = 2
    APPEALED = 3


def design_id(cid: str | bytes | Cid) -> int:
    """The DesignNFT token id of content `cid`: its sha-256 digest as a number (the same for every CID form)."""
    parsed = Cid.parse(cid)
    if parsed.hash_code != SHA2_256:
        raise FabricaValueError(f"CID {parsed}: designs are minted by sha2-256 CIDs (Kubo's default), not "
                                f"{parsed.hash_name}")
    return int.from_bytes(parsed.digest, "big")


def design_metadata(*, name: str, model_cid: str, description: str = "", preview_cid: str | None = None,
                    licence: str = "", attributes: dict[str, Any] | None = None) -> bytes:
    """A design's metadata document (ERC-721 metadata JSON plus Fabrica fields), canonical bytes to store by CID."""
    if not name.strip():
        raise FabricaValueError("a design needs a name (its metadata's `name`)")
    model = str(Cid.parse(model_cid))
    doc: dict[str, Any] = {"schema": METADATA_SCHEMA, "name": name.strip(), "description": description,
                           "model": f"ipfs://{model}", "model_cid": model, "licence": licence}
    if preview_cid:
        doc["image"] = f"ipfs://{Cid.parse(preview_cid)}"
    if attributes:
        doc["attributes"] = [{"trait_type": k, "value": v} for k, v in sorted(attributes.items())]
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def parse_design(text: str | int, *, allow_none: bool = False) -> int:
    """A design id from a decimal id, a 0x hex id, or the design's content CID (0 only with `allow_none`)."""
    if isinstance(text, int):
        value = text
    else:
        word = str(text).strip()
        try:
            value = int(word, 16) if word.lower().startswith("0x") else int(word)
        except ValueError:
            try:
                value = design_id(word)
            except Exception:
                raise FabricaValueError(f"design {text!r}: pass the design's id (a number) or its content "
                                        "CID") from None
    if value == 0 and allow_none:
        return 0
    if not 0 < value < 1 << 256:
        raise FabricaValueError(f"design {text!r}: a design id is a positive 256-bit number"
                                + (", or 0 for none" if allow_none else ""))
    return value


@dataclass(frozen=True)
class LicenceTerms:
    """What a design's owner asks for fabrication licences (FabricationLicences terms)."""

    token: str
    price_per_print: int
    block_size: int
    block_price: int
    max_prints: int  # 0 = unlimited
    sold: int
    valid: bool  # set by the design's current owner (terms of a former owner are void)

    def cost(self, prints: int) -> int:
        """What `prints` licences cost under these terms (whole blocks at the block price, the rest per print)."""
        if prints <= 0:
            raise FabricaValueError(f"prints {prints}: buy at least one licence")
        if self.block_size:
            blocks, rest = divmod(prints, self.block_size)
            if rest and not self.price_per_print:
                raise FabricaValueError(f"prints {prints}: these licences are sold only in blocks of {self.block_size}")
            return blocks * self.block_price + rest * self.price_per_print
        return prints * self.price_per_print


@dataclass(frozen=True)
class DesignInfo:
    """A design as the chain knows it."""

    id: int
    cid: str
    owner: str
    creator: str
    royalty_receiver: str
    royalty_bps: int
    state: DesignState
    metadata_cid: str | None
    minted_block: int | None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready fields (the id as a decimal string: it is a 256-bit number)."""
        return {"id": str(self.id), "cid": self.cid, "owner": self.owner, "creator": self.creator,
                "royalty_receiver": self.royalty_receiver, "royalty_bps": self.royalty_bps,
                "state": self.state.name.lower(), "metadata_cid": self.metadata_cid, "minted_block": self.minted_block}


class Designs:
    """Fabrica's design economy through a `Fabrica` client."""

    def __init__(self, fab: Fabrica) -> None:
        self.fab = fab
        self.w3 = fab.w3
        missing = [n for n in ("DesignNFT", "FabricationLicences", "DesignMarket") if n not in fab.deployment.contracts]
        if missing:
            raise FabricaLookupError(f"the deployment on chain {fab.deployment.chain_id} has no {', '.join(missing)}: "
                                     "redeploy with `fabrica devnet up`")
        self.nft = fab.contracts["DesignNFT"]
        self.licences = fab.contracts["FabricationLicences"]
        self.market = fab.contracts["DesignMarket"]

    def with_account(self, account) -> Designs:
        """The same handle signing as `account`."""
        return Designs(self.fab.with_account(account))

    # ------------------------------------------------------------------------------ designs

    def resolve(self, text: str | int) -> int:
        """A design id from a decimal id, a 0x hex id, or the design's content CID."""
        return parse_design(text)

    def mint(self, cid: str, royalty_bps: int, metadata_cid: str) -> TxResult:
        """Mint the design with content `cid` and metadata document `metadata_cid`; value = its id."""
        self.check_mint(cid, royalty_bps)
        return self.fab._send(self.nft, "mint", Cid.parse(cid).to_bytes(), Cid.parse(metadata_cid).to_bytes(),
                              royalty_bps, value_from="DesignMinted.tokenId")

    def check_mint(self, cid: str, royalty_bps: int, data: bytes | None = None) -> None:
        """Raise what the contract would (royalty over the cap, content minted already) before anything is sent;
        with the file's `data`, also refuse a file minted under its other `ipfs add` CID (v0 dag-pb or v1 raw
        leaves hash different bytes, so the chain sees two digests)."""
        if not 0 <= royalty_bps <= 10_000:
            raise FabricaValueError(f"royalty {royalty_bps} bps: basis points run from 0 to 10000 (500 = 5 %)")
        cap = self.max_royalty_bps()
        if royalty_bps > cap:
            raise make_error("DesignNFT__RoyaltyTooHigh", (royalty_bps, cap),
                             f"the DAO caps design royalties at {cap / 100:g} %; mint with --royalty-bps {cap} or less")
        token_id = design_id(cid)
        if self.exists(token_id):
            raise make_error("DesignNFT__AlreadyMinted", (token_id,),
                             f"content {cid} is design {token_id} already (the same file in any CID form is one "
                             f"design); see `fabrica design show {cid}`")
        if data is not None:
            from .proof import plaintext_cids

            for other in plaintext_cids(data):
                other_id = design_id(other)
                if other_id != token_id and self.exists(other_id):
                    raise make_error("DesignNFT__AlreadyMinted", (other_id,),
                                     f"this file is design {other_id} already, minted as {other}; see "
                                     f"`fabrica design show {other}`")

    def max_royalty_bps(self) -> int:
        """The royalty cap the DAO set for new designs."""
        return self.nft.functions.maxRoyaltyBps().call()

    def exists(self, token_id: int) -> bool:
        """True when design `token_id` was minted."""
        return bool(self.nft.functions.exists(token_id).call())

    def require(self, token_id: int) -> None:
        """Raise a clear lookup error unless design `token_id` exists."""
        if not self.exists(token_id):
            raise FabricaLookupError(f"no design {token_id} on chain {self.fab.deployment.chain_id}; mint it with "
                                     "`fabrica design mint CID`, or list designs with `fabrica design ls`")

    def info(self, token_id: int) -> DesignInfo:
        """Design `token_id`: content CID, owner, creator, royalty and state."""
        self.require(token_id)
        minted = self._minted_logs(token_id)
        if not minted:  # minted before the logs this node serves: the chain's views still say the rest
            cid = str(Cid.parse(bytes(self.nft.functions.cidOf(token_id).call())))
            return self._info(token_id, cid, None, None)
        return self._from_event(minted[0])

    def _from_event(self, e: Any) -> DesignInfo:
        """The design a DesignMinted log names: CID and metadata from the log, the rest from the chain now."""
        return self._info(e.args["tokenId"], str(Cid.parse(bytes(e.args["cid"]))),
                          str(Cid.parse(bytes(e.args["metadataCid"]))), e.block_number)

    def _info(self, token_id: int, cid: str, metadata: str | None, block: int | None) -> DesignInfo:
        owner, creator, receiver, bps, state = self.nft.functions.designOf(token_id).call()
        return DesignInfo(id=token_id, cid=cid, owner=owner, creator=creator, royalty_receiver=receiver,
                          royalty_bps=bps, state=DesignState(state), metadata_cid=metadata, minted_block=block)

    def _minted_logs(self, token_id: int | None = None, creator: str | None = None) -> list[Any]:
        topics: list[Any] = [self.fab._topic("DesignNFT", "DesignMinted")]
        topics.append(None if token_id is None else "0x" + token_id.to_bytes(32, "big").hex())
        if creator is not None:
            topics.append("0x" + bytes(12).hex() + to_checksum_address(creator)[2:].lower())
        return self.fab._logs(self.nft, topics)

    def designs(self, *, creator: str | None = None, owner: str | None = None) -> list[DesignInfo]:
        """Designs minted on this deployment (optionally only one creator's, or those `owner` holds now): one log
        query, then one view call per design."""
        out = [self._from_event(e) for e in self._minted_logs(creator=creator)]
        if owner is not None:
            out = [d for d in out if d.owner == to_checksum_address(owner)]
        return out

    def takedown(self, token_id: int, reason_cid: str) -> TxResult:
        """Take a copied design down (moderator or DAO): it can no longer be sold, licensed or fabricated."""
        return self.fab._send(self.nft, "takedown", token_id, Cid.parse(reason_cid).to_bytes())

    def appeal(self, token_id: int, evidence_cid: str) -> TxResult:
        """Appeal a takedown (the design's owner or creator) with evidence stored by CID; the DAO decides."""
        return self.fab._send(self.nft, "appeal", token_id, Cid.parse(evidence_cid).to_bytes())

    # ------------------------------------------------------------------------------ licences

    def licence_terms(self, token_id: int) -> LicenceTerms | None:
        """The licence terms of design `token_id`, or None when its owner sells none."""
        terms, valid = self.licences.functions.termsOf(token_id).call()
        token, per_print, _setter, block_size, max_prints, block_price, sold = terms
        if int(token, 16) == 0:
            return None
        return LicenceTerms(token=token, price_per_print=per_print, block_size=block_size, block_price=block_price,
                            max_prints=max_prints, sold=sold, valid=bool(valid))

    def set_licence_terms(self, token_id: int, token: str, *, price_per_print: int, block_size: int = 0,
                          block_price: int = 0, max_prints: int = 0) -> TxResult:
        """Offer fabrication licences of your design: per print, per block of prints, or both."""
        if price_per_print < 0 or block_price < 0 or block_size < 0 or max_prints < 0:
            raise FabricaValueError("licence prices, block size and the print cap cannot be negative")
        if not price_per_print and not (block_size and block_price):
            raise FabricaValueError("set a price per print, or a block size with a block price")
        return self.fab._send(self.licences, "setTerms", token_id, to_checksum_address(token), price_per_print,
                              block_size, block_price, max_prints)

    def buy_licences(self, token_id: int, prints: int, *, to: str | None = None,
                     max_cost: int | None = None) -> TxResult:
        """Buy `prints` fabrication licences of design `token_id` at its owner's terms; value = the cost paid."""
        terms = self.licence_terms(token_id)
        if terms is None or not terms.valid:
            raise FabricaLookupError(f"design {token_id} has no licences for sale: its owner sets terms with "
                                     "`fabrica design licence terms`")
        cost = terms.cost(prints)
        limit = cost if max_cost is None else max_cost
        recipient = to_checksum_address(to) if to else self.fab.address
        return self.fab.pay_from_wallet(
            terms.token, self.licences.address, cost,
            lambda: self.fab._send(self.licences, "buy", token_id, prints, recipient, terms.token, limit,
                                   value_from="LicencesBought.cost"),
            what=f"{prints} licence(s) of design {token_id}")

    def licences_held(self, token_id: int, account: str | None = None) -> int:
        """How many fabrication licences of design `token_id` `account` holds."""
        return self.licences.functions.balanceOf(to_checksum_address(account or self.fab.address), token_id).call()

    # ------------------------------------------------------------------------------ orders

    def _collection(self, asset: int) -> Contract:
        return self.nft if asset == Asset.DESIGN else self.licences

    def counter(self, maker: str | None = None) -> int:
        """The maker's current order counter (orders signed with another counter never fill)."""
        return self.market.functions.counterOf(to_checksum_address(maker or self.fab.address)).call()

    def nonce_used(self, maker: str, nonce: int) -> bool:
        """True when the maker's order nonce was filled in full or cancelled."""
        return bool(self.market.functions.nonceUsed(to_checksum_address(maker), nonce).call())

    def next_nonce(self, at_least: int = 0) -> int:
        """The lowest unused order nonce of the account at or above `at_least` (counting up keeps the market's
        nonce bitmap in few words, so fills stay cheap)."""
        nonce = at_least
        for _ in range(MAX_NONCE_PROBES):
            if not self.nonce_used(self.fab.address, nonce):
                return nonce
            nonce += 1
        raise FabricaError(f"no unused order nonce among {MAX_NONCE_PROBES} from {at_least}; pass a nonce explicitly")

    def currency_allowed(self, token: str) -> bool:
        """True when the market accepts payment in `token`."""
        return bool(self.market.functions.isCurrencyAllowed(to_checksum_address(token)).call())

    def build_order(self, *, side: Side, asset: Asset, token_id: int, currency: str, price: int, amount: int = 1,
                    expiry: int, nonce: int, creator: str | None = None) -> DesignOrder:
        """An order of this account, checked against the chain (currency, ownership, terms) before anyone signs it."""
        currency = to_checksum_address(currency)
        if not self.currency_allowed(currency):
            raise make_error("DesignMarket__CurrencyNotAllowed", (currency,),
                             "price it in a currency the DAO allows (fUSD on a devnet)")
        if price <= 0:
            raise FabricaValueError("an order's price must be above zero")
        if expiry <= self.fab.now():
            raise FabricaValueError(f"expiry {format_time(expiry)} is already past")
        scope = Scope.CREATOR if creator is not None else Scope.TOKEN
        if scope == Scope.CREATOR and (side != Side.OFFER or asset != Asset.DESIGN):
            raise FabricaValueError("an order on any design of a creator can only be an offer for a design")
        if asset == Asset.DESIGN and amount != 1:
            raise FabricaValueError(f"amount {amount}: a design is one token; editions are licences (--licences)")
        if scope == Scope.TOKEN:
            self.require(token_id)
        me = self.fab.address
        if side == Side.LISTING:
            held = (1 if self.nft.functions.ownerOf(token_id).call() == me else 0) if asset == Asset.DESIGN \
                else self.licences_held(token_id, me)
            if held < amount:
                raise FabricaValueError(f"{me} holds {held} of what it lists ({amount} of design {token_id}); list "
                                        "what you hold")
        return DesignOrder(maker=me, side=side, asset=asset, scope=scope,
                           token_id=0 if scope == Scope.CREATOR else token_id,
                           creator=to_checksum_address(creator) if creator else ZERO_ADDRESS, currency=currency,
                           price=price, amount=amount, expiry=expiry, nonce=nonce, counter=self.counter(me))

    def prepare_maker(self, order: DesignOrder) -> list[TxResult]:
        """What the maker must allow before its order can fill: sellers approve the market for the collection,
        buyers approve the market for the order's total (transactions sent only when missing)."""
        sent = []
        if order.side == Side.LISTING:
            collection = self._collection(order.asset)
            if not collection.functions.isApprovedForAll(order.maker, self.market.address).call():
                sent.append(self.fab._send(collection, "setApprovalForAll", self.market.address, True))
        else:
            total = order.price * order.amount
            self.fab.check_wallet(order.currency, total, what=f"an offer of {order.amount} at {order.price} each")
            result = self.fab.ensure_allowance(order.currency, self.market.address, total)
            if result is not None:
                sent.append(result)
        return sent

    def sign(self, order: DesignOrder) -> str:
        """The account's `eth_signTypedData_v4` signature of `order` (0x hex)."""
        from eth_account.messages import encode_typed_data

        if self.fab.account is None or self.fab.account.address != order.maker:
            raise FabricaValueError(f"only the maker {order.maker} can sign this order")
        chain_id = self.fab.deployment.chain_id
        signed = self.fab.account.sign_message(encode_typed_data(full_message=order.typed_data(chain_id,
                                                                                                self.market.address)))
        return "0x" + bytes(signed.signature).hex()

    def remaining(self, order: DesignOrder) -> int:
        """Units of `order` still fillable (0 once filled, cancelled, expired or out of counter)."""
        if order.expiry < self.fab.now():
            return 0
        return self.market.functions.remaining(order.to_abi()).call()

    def fill(self, order: DesignOrder, signature: str, *, units: int | None = None,
             token_id: int | None = None) -> TxResult:
        """Fill a listing (this account buys) or an offer (this account sells `token_id`); value = the order hash."""
        sig = parse_signature(signature)
        left = self.remaining(order)
        if left == 0:
            raise FabricaValueError(f"order nonce {order.nonce} of {order.maker} can no longer be filled (filled, "
                                    "cancelled, expired or invalidated by a counter increment)")
        units = left if units is None else units
        if not 0 < units <= left:
            raise FabricaValueError(f"units {units}: the order has {left} left")
        if order.scope == Scope.TOKEN:
            token_id = order.token_id if token_id is None else token_id
            if token_id != order.token_id:
                raise FabricaValueError(f"this order is for design {order.token_id}, not {token_id}")
        elif token_id is None:
            raise FabricaValueError("this offer takes any design of its creator: say which design you sell")
        me = self.fab.address
        if order.side == Side.LISTING:
            total = order.price * units
            return self.fab.pay_from_wallet(
                order.currency, self.market.address, total,
                lambda: self.fab._send(self.market, "fill", order.to_abi(), sig, units, token_id),
                what=f"buying {units} of design {token_id}")
        collection = self._collection(order.asset)
        if not collection.functions.isApprovedForAll(me, self.market.address).call():
            self.fab._send(collection, "setApprovalForAll", self.market.address, True)
        return self.fab._send(self.market, "fill", order.to_abi(), sig, units, token_id)

    def cancel(self, nonces: list[int]) -> TxResult:
        """Cancel this account's orders with these nonces."""
        if not nonces:
            raise FabricaValueError("name at least one order nonce to cancel")
        return self.fab._send(self.market, "cancel", nonces)

    def cancel_all(self) -> TxResult:
        """Invalidate every order this account signed so far (raises its counter)."""
        return self.fab._send(self.market, "incrementCounter")

    def sales(self, token_id: int | None = None) -> list[dict[str, Any]]:
        """Fills on the design market (optionally of one design), oldest first."""
        logs = self.fab._logs(self.market, [self.fab._topic("DesignMarket", "OrderFilled")])
        out = []
        for e in logs:
            a = dict(e.args)
            if token_id is not None and a["tokenId"] != token_id:
                continue
            out.append({"block": e.block_number, "tx": e.tx_hash,
                        "order_hash": "0x" + bytes(a.pop("orderHash")).hex(), **a})
        return out


__all__ = ["DesignInfo", "DesignState", "Designs", "LicenceTerms", "design_id", "design_metadata", "parse_design"]
