"""`fabrica dao …`: delegate, propose, vote, queue, execute, cancel and follow the DAO's proposals."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import FabricaValueError
from .common import AccountOpt, HomeOpt, JsonOpt, RpcOpt, client, console, print_tx, run, tx_json

if TYPE_CHECKING:  # web3 loads when a command connects, not for `fabrica dao --help`
    from ..governance import Action, Dao, Proposal

app = typer.Typer(help="The DAO: token holders delegate, propose, vote, queue and execute.", no_args_is_help=True)
ProposalArg = Annotated[str, typer.Argument(help="proposal id (decimal or 0x hex, as `fabrica dao proposals` prints)")]


def _dao(rpc_url: str | None, home: str | None, account: str | None, *, need_account: bool = True) -> Dao:
    from ..governance import Dao

    return Dao(client(rpc_url, home, account, need_account=need_account))


def _pid(text: str) -> int:
    from ..governance import parse_proposal_id

    return parse_proposal_id(text)


def _who(dao: Dao, text: str | None, what: str) -> str:
    """An address from 0x…, 'self' (the account), or a dev role name / index."""
    from ..accounts import DEV_ACCOUNTS, DEV_ROLES, dev_account
    from ..governance import address

    if text is None or text.strip().lower() in ("self", "me"):
        return dao.fab.address
    t = text.strip()
    if t in DEV_ROLES:
        return dev_account(DEV_ROLES[t]).address
    if t.isdecimal() and t.isascii() and int(t) < DEV_ACCOUNTS:
        return dev_account(int(t)).address
    return address(t, what)


def _proposal_json(p: Proposal, dao: Dao) -> dict[str, Any]:
    from ..display import format_time

    return {"proposal_id": str(p.id), "proposer": p.proposer, "title": p.title,
            "state": dao.state(p.id).name.lower(), "vote_start": p.vote_start, "vote_start_utc": format_time(p.vote_start),
            "vote_end": p.vote_end, "vote_end_utc": format_time(p.vote_end), "actions": dao.actions(p),
            "block": p.block_number, "tx_hash": p.tx_hash}


@app.command()
def delegate(
    to: Annotated[str | None, typer.Argument(help="address, dev role, or 'self' [default: self]")] = None,
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Delegate the account's FAB and staked-FAB votes (to itself by default: FAB votes only once delegated)."""

    def body() -> None:
        from ..display import format_fab

        dao = _dao(rpc_url, home, account)
        target = _who(dao, to, "delegate")
        results = dao.delegate(target)
        power = dao.voting_power(target)
        if json_out:
            print(json.dumps({"action": "delegated", "from": dao.fab.address, "to": target,
                              "txs": [tx_json(r) for r in results], "votes_of_delegate": _fab(power.total)}))
            return
        for r in results:
            print_tx(f"delegated to {target}", r, False)
        if not results:
            console.print(f"{dao.fab.address} already delegates its FAB and staked FAB to {target}")
        console.print(f"    {target} now has {format_fab(power.total)} of votes "
                      f"({format_fab(power.token_votes)} delegated + {format_fab(power.stake_votes)} staked)")

    run(body)


@app.command()
def power(
    who: Annotated[str | None, typer.Argument(help="address or dev role [default: the account]")] = None,
    at: Annotated[str | None, typer.Option(help="a past time: Unix seconds or 'YYYY-MM-DD HH:MM:SS' (UTC)")] = None,
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Show an account's voting power (FAB plus staked FAB, as delegated to it), now or at a past time."""

    def body() -> None:
        from ..display import format_fab, format_time

        dao = _dao(rpc_url, home, account, need_account=who is None)
        target = _who(dao, who, "account")
        vp = dao.voting_power(target, _timepoint(at) if at else None)
        fab_to, stake_to = dao.delegates(target)
        when = format_time(vp.timepoint) if vp.timepoint else "now"
        if json_out:
            print(json.dumps({"account": target, "at": vp.timepoint, "at_utc": when, "votes": _fab(vp.total),
                              "token_votes": _fab(vp.token_votes), "stake_votes": _fab(vp.stake_votes),
                              "delegates_fab_to": fab_to, "delegates_stake_to": stake_to}))
            return
        console.print(f"{target} votes with {format_fab(vp.total)} ({when}): {format_fab(vp.token_votes)} delegated "
                      f"FAB + {format_fab(vp.stake_votes)} staked")
        if int(fab_to, 16) == 0:
            console.print("    its own FAB is not delegated: it counts for nobody until `fabrica dao delegate`")

    run(body)


def _timepoint(text: str) -> int:
    from datetime import UTC, datetime

    t = text.strip()
    if t.isdigit():
        return int(t)
    try:
        return int(datetime.fromisoformat(t.removesuffix(" UTC")).replace(tzinfo=UTC).timestamp())
    except ValueError:
        raise FabricaValueError(f"--at {text!r}: give Unix seconds or a date like '2025-03-01 12:00:00'") from None


@app.command()
def propose(
    set_fee_bps: Annotated[int | None, typer.Option(help="new market fee in basis points (300 = 3 %)")] = None,
    set_param: Annotated[list[str] | None, typer.Option(
        help="NAME=VALUE market parameter (feeBps=300, reviewWindow=2d, minCollateral=10); repeatable")] = None,
    allow_token: Annotated[str | None, typer.Option(help="allow this payment token (address)")] = None,
    min_fab: Annotated[str | None, typer.Option(help="with --allow-token: least FAB collateral per whole token "
                                                     "[default 0.01]")] = None,
    max_fab: Annotated[str | None, typer.Option(help="with --allow-token: most FAB collateral per whole token "
                                                     "[default 10]")] = None,
    min_rate: Annotated[int | None, typer.Option(help="with --allow-token: raw minimum rate (1e18 fixed point)")] = None,
    max_rate: Annotated[int | None, typer.Option(help="with --allow-token: raw maximum rate (1e18 fixed point)")] = None,
    forbid_token: Annotated[list[str] | None, typer.Option(help="remove a payment token (address); repeatable")] = None,
    spend: Annotated[list[str] | None, typer.Option(
        help="'TOKEN AMOUNT TO': pay from the treasury (TOKEN: FAB, fUSD or an address; AMOUNT in token units); "
             "repeatable")] = None,
    appoint_arbiter: Annotated[list[str] | None, typer.Option(help="add an arbiter (address); repeatable")] = None,
    remove_arbiter: Annotated[list[str] | None, typer.Option(help="remove an arbiter (address); repeatable")] = None,
    pause: Annotated[bool, typer.Option("--pause", help="pause new jobs (withdrawals keep working)")] = False,
    unpause: Annotated[bool, typer.Option("--unpause", help="resume new jobs")] = False,
    set_guardian: Annotated[str | None, typer.Option(help="the account that may pause in an emergency")] = None,
    publish_manifest: Annotated[str | None, typer.Option(help="CID of a new deployment manifest")] = None,
    ruling: Annotated[str | None, typer.Option(
        help="'JOB REFUND_BPS SLASH_BPS': the DAO's ruling on an appealed dispute")] = None,
    call: Annotated[list[str] | None, typer.Option(
        help="'TARGET SIGNATURE ARG…' raw call, e.g. 'JobMarket setPaused(bool) true'; repeatable")] = None,
    calldata: Annotated[list[str] | None, typer.Option(help="'TARGET 0x…' raw call data; repeatable")] = None,
    description: Annotated[str | None, typer.Option(help="the proposal's text (first line: title) [default: "
                                                         "the actions in words]")] = None,
    check: Annotated[bool, typer.Option(help="simulate each action from the timelock first")] = True,
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Propose actions to the DAO; prints the proposal id and when voting opens and closes."""

    def body() -> None:
        from ..display import format_time
        from ..governance import split_call

        dao = _dao(rpc_url, home, account)
        actions: list[Action] = []
        changes: dict[str, str] = {}
        if set_fee_bps is not None:
            changes["feeBps"] = str(set_fee_bps)
        for item in set_param or []:
            name, eq, value = item.partition("=")
            if not eq or not name.strip():
                raise FabricaValueError(f"--set-param {item!r}: expected NAME=VALUE, e.g. feeBps=300")
            changes[name.strip()] = value.strip()
        if changes:
            actions.append(dao.params_action(changes))
        if allow_token:
            actions.append(dao.allow_token_action(allow_token, min_rate=min_rate, max_rate=max_rate,
                                                  min_fab=min_fab, max_fab=max_fab))
        elif any(v is not None for v in (min_fab, max_fab, min_rate, max_rate)):
            raise FabricaValueError("--min-fab/--max-fab/--min-rate/--max-rate go with --allow-token ADDR")
        actions += [dao.forbid_token_action(t) for t in forbid_token or []]
        for item in spend or []:
            parts = item.split()
            if len(parts) != 3:
                raise FabricaValueError(f"--spend {item!r}: expected 'TOKEN AMOUNT TO', e.g. 'FAB 1000 0xabc…'")
            actions.append(dao.spend_action(*parts))
        actions += [dao.appoint_arbiter_action(a) for a in appoint_arbiter or []]
        actions += [dao.remove_arbiter_action(a) for a in remove_arbiter or []]
        if pause and unpause:
            raise FabricaValueError("give --pause or --unpause, not both")
        if pause or unpause:
            actions.append(dao.pause_action(pause))
        if set_guardian:
            actions.append(dao.guardian_action(set_guardian))
        if publish_manifest:
            actions.append(dao.manifest_action(publish_manifest))
        if ruling:
            parts = ruling.split()
            if len(parts) != 3 or not all(p.isdigit() for p in parts):
                raise FabricaValueError(f"--ruling {ruling!r}: expected 'JOB REFUND_BPS SLASH_BPS', e.g. '7 5000 0'")
            actions.append(dao.ruling_action(*(int(p) for p in parts)))
        for item in call or []:
            actions.append(dao.call_action(*split_call(item)))
        for item in calldata or []:
            parts = item.split()
            if len(parts) != 2:
                raise FabricaValueError(f"--calldata {item!r}: expected 'TARGET 0x…'")
            actions.append(dao.calldata_action(*parts))
        if not actions:
            raise FabricaValueError("nothing to propose: give at least one action (--set-fee-bps, --set-param, "
                                    "--allow-token, --forbid-token, --spend, --appoint-arbiter, --remove-arbiter, "
                                    "--pause, --unpause, --set-guardian, --publish-manifest, --ruling, --call, "
                                    "--calldata)")
        p = dao.propose(actions, description, check=check)
        if json_out:
            print(json.dumps({"action": "proposed", "proposal_id": str(p.id), "proposer": p.proposer,
                              "vote_start": p.vote_start, "vote_start_utc": format_time(p.vote_start),
                              "vote_end": p.vote_end, "vote_end_utc": format_time(p.vote_end),
                              "actions": [a.summary for a in actions], "description": p.description,
                              "tx_hash": p.tx_hash, "block": p.block_number}))
            return
        console.print(f"[green]✓[/green] proposed {p.id}  tx {p.tx_hash}")
        for a in actions:
            console.print(f"    - {a.summary}")
        console.print(f"    voting opens {format_time(p.vote_start)} and closes {format_time(p.vote_end)}")

    run(body)


@app.command()
def vote(
    proposal: Annotated[str | None, typer.Argument(help="proposal id")] = None,
    support: Annotated[str | None, typer.Argument(help="for, against or abstain")] = None,
    reason: Annotated[str, typer.Option(help="why (recorded on chain with the vote)")] = "",
    sign_only: Annotated[bool, typer.Option("--sign-only", help="sign the ballot (EIP-712) and print it; send "
                                                                "nothing (anyone submits it with --ballot)")] = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="with --sign-only: write the ballot here")] = None,
    ballot: Annotated[Path | None, typer.Option(help="submit this signed ballot (castVoteBySig), paying the "
                                                     "gas from --account")] = None,
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Vote on a proposal, or sign a ballot for someone else to submit, or submit one."""

    def body() -> None:
        from ..governance import Ballot

        dao = _dao(rpc_url, home, account)
        if ballot is not None:
            if proposal is not None or support is not None or sign_only:
                raise FabricaValueError("--ballot FILE carries the proposal and the choice: give nothing else")
            try:
                data = json.loads(ballot.read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise FabricaValueError(f"--ballot {ballot}: not a readable ballot JSON ({exc})") from None
            b = Ballot.from_json(data)
            result = dao.cast_ballot(b)
            print_tx(f"ballot of {b.voter} cast ({b.support.name.lower()})", result, json_out,
                     {"proposal_id": str(b.proposal_id), "voter": b.voter, "support": b.support.name.lower()})
            return
        if proposal is None or support is None:
            raise FabricaValueError("give the proposal id and for/against/abstain (or --ballot FILE)")
        pid = _pid(proposal)
        if sign_only:
            if reason:
                raise FabricaValueError("--reason is not part of a signed ballot; vote directly to give one")
            b = dao.sign_ballot(pid, support)
            text = json.dumps(b.to_json())
            if out is not None:
                out.write_text(text + "\n")
            if json_out or out is None:
                print(text)
            else:
                console.print(f"ballot signed by {b.voter} written to {out}; anyone submits it with "
                              f"`fabrica dao vote --ballot {out}`")
            return
        from ..governance import Support

        choice = Support.parse(support)
        result = dao.vote(pid, choice, reason)
        weight = result.event("VoteCast").args["weight"]
        print_tx(f"voted {choice.name.lower()} with {_fab(weight)} FAB", result, json_out,
                 {"proposal_id": str(pid), "support": choice.name.lower(), "weight": _fab(weight)})

    run(body)


def _step(name: str, verb: str):
    def command(proposal: ProposalArg, rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None,
                json_out: JsonOpt = False) -> None:
        def body() -> None:
            from ..display import format_time

            dao = _dao(rpc_url, home, account)
            pid = _pid(proposal)
            result = getattr(dao, name)(pid)
            extra: dict[str, Any] = {"proposal_id": str(pid), "state": dao.state(pid).name.lower()}
            if name == "queue":
                eta = dao.governor.functions.proposalEta(pid).call()
                extra |= {"eta": eta, "eta_utc": format_time(eta)}
            print_tx(f"proposal {verb}", result, json_out, extra)
            if name == "queue" and not json_out:
                console.print(f"    executable from {extra['eta_utc']} (`fabrica dao execute {pid}`)")

        run(body)

    return command


queue = app.command("queue", help="Queue a succeeded proposal in the timelock (executable after its delay).")(
    _step("queue", "queued"))
execute = app.command("execute", help="Execute a queued proposal whose timelock delay has passed (anyone may).")(
    _step("execute", "executed"))
cancel = app.command("cancel", help="Cancel a proposal (its proposer, while it is still pending).")(
    _step("cancel", "cancelled"))


@app.command()
def status(
    proposal: ProposalArg,
    voter: Annotated[str | None, typer.Option(help="show this voter's weight [default: --account, if given]")] = None,
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Show a proposal: state, voting dates, votes and quorum in FAB, the voter's weight, ETA once queued."""

    def body() -> None:
        dao = _dao(rpc_url, home, account, need_account=False)
        who = _who(dao, voter, "voter") if voter else (dao.fab.address if dao.fab.account else None)
        s = dao.status(_pid(proposal), who)
        data = s.to_json()
        if json_out:
            print(json.dumps(data))
            return
        console.print(f"proposal {data['proposal_id']}: [bold]{data['state']}[/bold] — {data['title']}")
        console.print(f"    proposer {data['proposer']}")
        for a in data["actions"]:
            console.print(f"    - {a}")
        console.print(f"    voting {data['snapshot_utc']} → {data['deadline_utc']}")
        v = data["votes"]
        reached = "reached" if data["quorum_reached"] else "not reached"
        estimate = "" if data["quorum_final"] else " (estimate until voting opens)"
        console.print(f"    for {v['for']} FAB, against {v['against']} FAB, abstain {v['abstain']} FAB; quorum "
                      f"{data['quorum']} FAB{estimate}, {reached}")
        if data["eta_utc"]:
            console.print(f"    executable from {data['eta_utc']}")
        if "voter" in data:
            w = data["voter"]
            weight = f"{w['weight']} FAB" if w["weight"] is not None else "known once voting opens"
            console.print(f"    {w['address']}: weight {weight}, {'has voted' if w['has_voted'] else 'has not voted'}")

    run(body)


@app.command()
def proposals(
    state: Annotated[str | None, typer.Option(help="only proposals in this state (active, succeeded, queued…)")] = None,
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """List every proposal (from the governor's ProposalCreated events), with its actions in words."""

    def body() -> None:
        from ..governance import ProposalState

        wanted = None
        if state is not None:
            try:
                wanted = ProposalState[state.strip().upper().replace("CANCELLED", "CANCELED")]
            except KeyError:
                names = ", ".join(s.name.lower() for s in ProposalState)
                raise FabricaValueError(f"--state {state!r}: one of {names}") from None
        dao = _dao(rpc_url, home, account, need_account=False)
        rows = [_proposal_json(p, dao) for p in dao.proposals(wanted)]
        if json_out:
            print(json.dumps(rows))
            return
        if not rows:
            console.print("no proposals" + (f" in state {state}" if state else ""))
        for r in rows:
            console.print(f"{r['proposal_id']}  [bold]{r['state']}[/bold]  {r['title']}")
            console.print(f"    voting {r['vote_start_utc']} → {r['vote_end_utc']}, by {r['proposer']}", style="dim")
            for a in r["actions"]:
                console.print(f"    - {a}", style="dim")

    run(body)


def _fab(value: int) -> str:
    from ..types import format_units

    return format_units(value, 18)
