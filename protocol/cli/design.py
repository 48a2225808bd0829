"""`fabrica design …`: mint designs, sell them and their fabrication licences through signed orders, take copies down."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ..errors import FabricaValueError
from .common import AccountOpt, HomeOpt, JsonOpt, RpcOpt, client, console, print_tx, run, settings
from .inputs import NonceBook, check_out, duration, units, write_new

if TYPE_CHECKING:
    from ..designs import Designs

app = typer.Typer(help="Designs: mint, sell and license them (royalty on every sale), take copies down.",
                  no_args_is_help=True)
licence_app = typer.Typer(help="Fabrication licences: 'N prints of this design', sold by the design's owner.",
                          no_args_is_help=True)
app.add_typer(licence_app, name="licence")

DesignArg = Annotated[str, typer.Argument(help="the design: its id, or its content CID")]
TokenOpt = Annotated[str, typer.Option("--token", help="currency (symbol in the manifest, or address)")]
ExpiryOpt = Annotated[str, typer.Option(help="how long the order stays valid (e.g. 7d)")]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="where to write the order (JSON)")]
SignOpt = Annotated[bool, typer.Option("--sign", help="sign it now with --account's key")]
MAX_ORDER_SECONDS = 365 * 86_400


def _designs(rpc_url: str | None, home: str | None, account: str | None, *, need_account: bool = True) -> Designs:
    from ..designs import Designs

    return Designs(client(rpc_url, home, account, need_account=need_account))


@app.command()
def mint(
    cid: Annotated[str, typer.Argument(help="content CID of the design's model file (`fabrica content add FILE`)")],
    name: Annotated[str, typer.Option(help="the design's name")] = "",
    description: Annotated[str, typer.Option(help="what it is, what it is for")] = "",
    preview: Annotated[str | None, typer.Option(help="preview image: a file (stored now) or its CID")] = None,
    licence: Annotated[str, typer.Option(help="licence terms in words (e.g. CC-BY-4.0, or 'personal use')")] = "",
    royalty_bps: Annotated[int, typer.Option(help="royalty on every sale and job, basis points")] = 500,
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Mint a design: one token per file, its metadata stored by CID, a royalty paid to you on every resale."""

    def body() -> None:
        from ..designs import design_metadata
        from ..errors import FabricaLookupError
        from ..storage.cid import Cid
        from ..storage.errors import InvalidCidError
        from .job import _cid_or_file, _where

        try:
            parsed = Cid.parse(cid.strip())
        except InvalidCidError as exc:
            raise FabricaValueError(f"design CID {cid!r}: {exc}") from None
        if not 0 <= royalty_bps <= 10_000:
            raise FabricaValueError(f"--royalty-bps {royalty_bps}: basis points run from 0 to 10000 (500 = 5 %)")
        s = settings(rpc_url, home, account)
        store = s.content_store()
        # A design nobody can fetch earns royalties on jobs no node can make: mint only what is stored.
        if not store.has(parsed):
            raise FabricaLookupError(f"design CID {parsed}: no such content in {_where(store)}; add the design "
                                     "first with `fabrica content add FILE` and mint the CID it prints")
        designs = _designs(rpc_url, home, account)
        designs.check_mint(str(parsed), royalty_bps, store.get(parsed))  # refused before anything is stored or sent
        preview_cid = _cid_or_file("--preview", preview, s, "a preview image") if preview else None
        meta = design_metadata(name=name or f"design {parsed}", model_cid=str(parsed), description=description,
                               preview_cid=preview_cid, licence=licence)
        metadata_cid = str(store.add(meta))
        result = designs.mint(str(parsed), royalty_bps, metadata_cid)
        print_tx("design minted", result, json_out, {"design_id": str(result.value), "metadata_cid": metadata_cid})

    run(body)


@app.command()
def show(design: DesignArg, rpc_url: RpcOpt = None, home: HomeOpt = None, json_out: JsonOpt = False) -> None:
    """A design: content, owner, creator, royalty, state, licence terms and its sales."""

    def body() -> None:
        designs = _designs(rpc_url, home, None, need_account=False)
        token_id = designs.resolve(design)
        info = designs.info(token_id)
        terms = designs.licence_terms(token_id)
        sales = designs.sales(token_id)
        fab = designs.fab
        if json_out:
            print(json.dumps({**info.to_json(), "licence_terms": None if terms is None else {
                "token": terms.token, "price_per_print": str(terms.price_per_print), "block_size": terms.block_size,
                "block_price": str(terms.block_price), "max_prints": terms.max_prints, "sold": terms.sold,
                "valid": terms.valid}, "sales": len(sales)}))
            return
        console.print(f"design {info.id}")
        console.print(f"  content   {info.cid}   metadata {info.metadata_cid or '-'}")
        console.print(f"  owner     {info.owner}")
        console.print(f"  creator   {info.creator}  (royalty {info.royalty_bps / 100:g} % to {info.royalty_receiver})")
        console.print(f"  state     {info.state.name.lower().replace('_', ' ')}")
        if terms is None:
            console.print("  licences  none for sale")
        else:
            price = fab.format_amount(terms.token, terms.price_per_print)
            block = f", blocks of {terms.block_size} for {fab.format_amount(terms.token, terms.block_price)}" \
                if terms.block_size else ""
            cap = f", {terms.sold} of {terms.max_prints} sold" if terms.max_prints else f", {terms.sold} sold"
            console.print(f"  licences  {price} per print{block}{cap}{'' if terms.valid else ' (void: set by a former owner)'}")
        for sale in sales:
            console.print(f"  sale      block {sale['block']}: {sale['units']} for "
                          f"{fab.format_amount(sale['currency'], sale['total'])} (royalty "
                          f"{fab.format_amount(sale['currency'], sale['royalty'])})", style="dim")

    run(body)


@app.command("ls")
def list_designs(
    creator: Annotated[str | None, typer.Option(help="only this creator's designs")] = None,
    owner: Annotated[str | None, typer.Option(help="only designs this account holds")] = None,
    rpc_url: RpcOpt = None, home: HomeOpt = None, json_out: JsonOpt = False,
) -> None:
    """List minted designs."""

    def body() -> None:
        found = _designs(rpc_url, home, None, need_account=False).designs(creator=creator, owner=owner)
        if json_out:
            print(json.dumps([d.to_json() for d in found]))
            return
        table = Table("id", "content", "owner", "creator", "royalty", "state")
        for d in found:
            short = str(d.id)
            table.add_row(short[:10] + "…" if len(short) > 12 else short, d.cid, d.owner, d.creator,
                          f"{d.royalty_bps / 100:g} %", d.state.name.lower())
        console.print(table if found else "no designs minted yet")

    run(body)


def _write_order(designs: Designs, out: Path, *, side, asset, token_id: int, creator: str | None, price: str,
                 token: str, amount: int, expiry: str, sign: bool, home: str | None, json_out: bool) -> None:
    """Build, check, optionally sign and write an order file; approvals the maker needs are sent first."""
    from ..design_orders import DesignOrderFile
    from ..display import format_time

    fab = designs.fab
    seconds = duration("--expiry", expiry)
    if not 0 < seconds <= MAX_ORDER_SECONDS:
        raise FabricaValueError(f"--expiry {expiry}: an order is valid for up to 365 days")
    check_out(out)
    currency = fab.deployment.token(token)
    per_unit = units("--price", price, fab.token_decimals(currency))
    s = settings(None, home, None)
    nonces = NonceBook(s.home, fab.deployment.chain_id, designs.market.address, fab.address)
    order = designs.build_order(side=side, asset=asset, token_id=token_id, currency=currency, price=per_unit,
                                amount=amount, expiry=fab.now() + seconds, creator=creator,
                                nonce=designs.next_nonce(at_least=nonces.next()))
    approvals = designs.prepare_maker(order)
    signature = designs.sign(order) if sign else None
    file = DesignOrderFile.create(order, fab.deployment.chain_id, designs.market.address, signature)
    write_new(out, file.to_json())
    nonces.used(order.nonce)
    data = {"action": f"{order.kind} written", "out": str(out), "nonce": order.nonce, "digest": file.digest,
            "signed": signature is not None, "price": fab.format_amount(currency, per_unit), "units": amount,
            "expiry_utc": format_time(order.expiry), "approvals": [a.tx_hash for a in approvals]}
    if json_out:
        print(json.dumps(data))
        return
    console.print(f"[green]✓[/green] {order.kind} (nonce {order.nonce}) written to {out}: {amount} at "
                  f"{data['price']} each, valid until {data['expiry_utc']}")
    for a in approvals:
        console.print(f"    approved the design market first: tx {a.tx_hash}", style="dim")
    if signature is None:
        console.print("    sign it: rerun with --sign, or sign the file's typedData with eth_signTypedData_v4 in any "
                      "wallet and pass the signature along with the file")
    verb = "buy" if order.side == 0 else "sell"
    console.print(f"    it is filled with `fabrica design {verb} {out}{'' if signature else ' --signature 0x…'}`; "
                  f"cancel it with `fabrica design cancel {order.nonce}`")


@app.command("list")
def list_for_sale(
    design: DesignArg,
    price: Annotated[str, typer.Option(help="price per unit in token units (e.g. 50)")],
    out: OutOpt,
    token: TokenOpt = "fUSD", expiry: ExpiryOpt = "7d",
    licences: Annotated[int, typer.Option(help="list this many fabrication licences instead of the design")] = 0,
    sign: SignOpt = False,
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Write a signed listing of a design you own (or of N licences you hold); buyers fill it with `design buy`."""

    def body() -> None:
        from ..design_orders import Asset, Side

        if licences < 0:
            raise FabricaValueError(f"--licences {licences}: list a positive number of licences, or omit it")
        designs = _designs(rpc_url, home, account)
        _write_order(designs, out, side=Side.LISTING, asset=Asset.LICENCE if licences else Asset.DESIGN,
                     token_id=designs.resolve(design), creator=None, price=price, token=token,
                     amount=licences or 1, expiry=expiry, sign=sign, home=home, json_out=json_out)

    run(body)


@app.command()
def offer(
    price: Annotated[str, typer.Option(help="price per unit in token units")],
    out: OutOpt,
    design: Annotated[str | None, typer.Option(help="the design (id or CID) you offer for")] = None,
    creator: Annotated[str | None, typer.Option(help="offer for any design of this creator instead")] = None,
    licences: Annotated[int, typer.Option(help="offer for this many licences of --design instead")] = 0,
    token: TokenOpt = "fUSD", expiry: ExpiryOpt = "7d", sign: SignOpt = False,
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Write a signed offer for a design, any design of a creator, or licences; holders fill it with `design sell`."""

    def body() -> None:
        from ..design_orders import Asset, Side
        from ..orders import _checksum

        if (design is None) == (creator is None):
            raise FabricaValueError("pass either --design (one design) or --creator (any design of that creator)")
        if licences and creator:
            raise FabricaValueError("--licences needs --design: licences are of one design")
        designs = _designs(rpc_url, home, account)
        try:
            who = _checksum(creator) if creator else None
        except ValueError as exc:
            raise FabricaValueError(f"--creator: {exc}") from None
        _write_order(designs, out, side=Side.OFFER, asset=Asset.LICENCE if licences else Asset.DESIGN,
                     token_id=designs.resolve(design) if design else 0, creator=who, price=price, token=token,
                     amount=licences or 1, expiry=expiry, sign=sign, home=home, json_out=json_out)

    run(body)


def _fill(order_file: Path, signature: str | None, units_: int | None, design: str | None, rpc_url, home, account,
          json_out: bool, side: int) -> None:
    from ..design_orders import DesignOrderFile

    file = DesignOrderFile.read(order_file)
    if file.order.side != side:
        right = "buy" if file.order.side == 0 else "sell"
        raise FabricaValueError(f"{order_file} is {file.order.kind}: fill it with `fabrica design {right}`")
    given = signature if signature is not None else file.signature
    if given is None:
        raise FabricaValueError(f"order file {order_file} is not signed: pass the maker's --signature 0x…")
    designs = _designs(rpc_url, home, account)
    if (file.chain_id, file.market) != (designs.fab.deployment.chain_id, designs.market.address):
        raise FabricaValueError(f"order file {order_file} is for market {file.market} on chain {file.chain_id}, not "
                                f"this market {designs.market.address} on chain {designs.fab.deployment.chain_id}")
    token_id = designs.resolve(design) if design else None
    result = designs.fill(file.order, given, units=units_, token_id=token_id)
    filled = result.event("OrderFilled").args
    fab = designs.fab
    print_tx("order filled", result, json_out, {
        "design_id": str(filled["tokenId"]), "units": filled["units"],
        "paid": fab.format_amount(filled["currency"], filled["total"]),
        "fee": fab.format_amount(filled["currency"], filled["fee"]),
        "royalty": fab.format_amount(filled["currency"], filled["royalty"])})


@app.command()
def buy(
    listing: Annotated[Path, typer.Argument(help="the listing file `fabrica design list` wrote")],
    signature: Annotated[str | None, typer.Option(help="the seller's signature (0x…) [default: the file's]")] = None,
    units_: Annotated[int | None, typer.Option("--units", help="licences to buy (default: all left)")] = None,
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Fill a listing: pay the seller, the protocol fee and the creator's royalty; receive the design or licences."""
    run(lambda: _fill(listing, signature, units_, None, rpc_url, home, account, json_out, side=0))


@app.command()
def sell(
    offer_file: Annotated[Path, typer.Argument(help="the offer file `fabrica design offer` wrote")],
    design: Annotated[str | None, typer.Option(help="which design you sell into a creator-wide offer")] = None,
    signature: Annotated[str | None, typer.Option(help="the buyer's signature (0x…) [default: the file's]")] = None,
    units_: Annotated[int | None, typer.Option("--units", help="licences to sell (default: all asked)")] = None,
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Fill an offer with a design (or licences) you hold."""
    run(lambda: _fill(offer_file, signature, units_, design, rpc_url, home, account, json_out, side=1))


@app.command()
def cancel(
    nonces: Annotated[list[int], typer.Argument(help="nonces of your orders (in their files)")],
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Cancel your listings and offers with these nonces."""
    run(lambda: print_tx("orders cancelled", _designs(rpc_url, home, account).cancel(nonces), json_out,
                         {"nonces": nonces}))


@app.command("cancel-all")
def cancel_all(rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None,
               json_out: JsonOpt = False) -> None:
    """Invalidate every listing and offer you signed so far (raises your counter)."""
    run(lambda: print_tx("all design orders cancelled", _designs(rpc_url, home, account).cancel_all(), json_out))


@app.command()
def takedown(
    design: DesignArg,
    reason: Annotated[str, typer.Option(help="the evidence that it is a copy: a file (stored now) or its CID")],
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Take a copied design down (moderator or DAO); its owner may appeal to the DAO."""

    def body() -> None:
        from .job import _cid_or_file

        designs = _designs(rpc_url, home, account)
        cid = _cid_or_file("--reason", reason, settings(rpc_url, home, account), "the evidence")
        print_tx("design taken down", designs.takedown(designs.resolve(design), cid), json_out, {"reason_cid": cid})

    run(body)


@app.command()
def appeal(
    design: DesignArg,
    evidence: Annotated[str, typer.Option(help="your evidence: a file (stored now) or its CID")],
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Appeal a takedown of your design; the DAO restores it by a proposal (`fabrica dao propose`)."""

    def body() -> None:
        from .job import _cid_or_file

        designs = _designs(rpc_url, home, account)
        cid = _cid_or_file("--evidence", evidence, settings(rpc_url, home, account), "your evidence")
        print_tx("takedown appealed", designs.appeal(designs.resolve(design), cid), json_out, {"evidence_cid": cid})

    run(body)


@licence_app.command("terms")
def licence_terms(
    design: DesignArg,
    price_per_print: Annotated[str, typer.Option(help="price of one print in token units (0: blocks only)")] = "0",
    block_size: Annotated[int, typer.Option(help="prints per block (0: no blocks)")] = 0,
    block_price: Annotated[str, typer.Option(help="price of a block in token units")] = "0",
    max_prints: Annotated[int, typer.Option(help="the most prints ever licensed (0: unlimited)")] = 0,
    token: TokenOpt = "fUSD",
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Sell fabrication licences of a design you own: per print, per block of prints, or both."""

    def body() -> None:
        designs = _designs(rpc_url, home, account)
        fab = designs.fab
        currency = fab.deployment.token(token)
        decimals = fab.token_decimals(currency)
        result = designs.set_licence_terms(
            designs.resolve(design), currency, price_per_print=units("--price-per-print", price_per_print, decimals),
            block_size=block_size, block_price=units("--block-price", block_price, decimals), max_prints=max_prints)
        print_tx("licence terms set", result, json_out)

    run(body)


@licence_app.command("buy")
def licence_buy(
    design: DesignArg,
    prints: Annotated[int, typer.Argument(help="how many prints to license")],
    to: Annotated[str | None, typer.Option(help="who receives the licences [default: you]")] = None,
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Buy fabrication licences: each one lets a job fabricate the design without paying its per-job royalty."""

    def body() -> None:
        designs = _designs(rpc_url, home, account)
        token_id = designs.resolve(design)
        result = designs.buy_licences(token_id, prints, to=to)
        terms = designs.licence_terms(token_id)
        paid = designs.fab.format_amount(terms.token, result.value) if terms else str(result.value)
        print_tx("licences bought", result, json_out, {"prints": prints, "paid": paid})

    run(body)


@licence_app.command("show")
def licence_show(
    design: DesignArg,
    holder: Annotated[str | None, typer.Option(help="whose licences to count [default: --account]")] = None,
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """How many licences of a design an account holds."""

    def body() -> None:
        designs = _designs(rpc_url, home, account, need_account=holder is None)
        token_id = designs.resolve(design)
        who = holder or designs.fab.address
        held = designs.licences_held(token_id, who)
        if json_out:
            print(json.dumps({"design_id": str(token_id), "holder": who, "licences": held}))
            return
        console.print(f"{who} holds {held} fabrication licence(s) of design {token_id}")

    run(body)
