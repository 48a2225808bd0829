"""`fabrica account …`: addresses, wallet and market balances, deposits and withdrawals."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..errors import FabricaValueError
from ..types import format_units, to_units
from .common import AccountOpt, HomeOpt, JsonOpt, RpcOpt, client, console, print_tx, run

app = typer.Typer(help="Accounts: balances in wallets and in the market, deposits, withdrawals.", no_args_is_help=True)
TokenOpt = Annotated[str, typer.Option(help="payment token symbol or address")]


@app.command()
def new(keystore: Annotated[Path, typer.Argument(help="where to write the encrypted keystore (JSON)")],
        password_file: Annotated[str | None, typer.Option(
            "--password-file", help="file whose first line is the password [env FABRICA_PASSWORD_FILE]")] = None,
        json_out: JsonOpt = False) -> None:
    """Create a new account as an encrypted keystore (password from a file, FABRICA_PASSWORD or a prompt)."""

    def body() -> None:
        from ..accounts import check_new_keystore, keystore_password, read_password_file

        check_new_keystore(keystore)  # before asking for a password that would be typed in vain
        password = read_password_file(password_file) if password_file is not None else keystore_password()
        if not password:
            if not sys.stdin.isatty():
                raise FabricaValueError("no keystore password: pass --password-file FILE, set FABRICA_PASSWORD, "
                                        "or run in a terminal to be asked")
            password = typer.prompt("Keystore password", hide_input=True, confirmation_prompt=True)
        if len(password) < 8:
            raise FabricaValueError("the keystore password must have at least 8 characters")
        from ..accounts import create_keystore  # eth_account: imported by the commands that sign

        account = create_keystore(keystore, password)
        if json_out:
            print(json.dumps({"address": account.address, "keystore": str(keystore)}))
        else:
            console.print(f"created {account.address} in {keystore}; use it with --account {keystore}")

    run(body)


@app.command()
def balance(rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, token: TokenOpt = "fUSD",
            json_out: JsonOpt = False) -> None:
    """Wallet and market balances of an account (default: every dev role)."""

    def body() -> None:
        fab = client(rpc_url, home, None, need_account=False)
        token_address = fab.deployment.token(token)
        dec = fab.token_decimals(token_address)
        if account is not None:  # an empty --account is an error, not "every role"
            from ..accounts import resolve_account

            who = {account: resolve_account(account).address}
        else:
            from ..accounts import DEV_ROLES, dev_account

            who = {role: dev_account(i).address for role, i in DEV_ROLES.items()}
        rows = []
        for name, address in who.items():
            rows.append({
                "account": name, "address": address,
                "wallet": format_units(fab.token_balance(token_address, address), dec),
                "market": format_units(fab.market_balance(token_address, address), dec),
                "fab": format_units(fab.token_balance(fab.fab.address, address), 18),
                "staked": format_units(fab.stake_of(address).staked, 18),
            })
        if json_out:
            print(json.dumps({"token": token_address, "fees": format_units(fab.fees(token_address), dec),
                              "balances": rows}))
            return
        table = Table("account", "address", f"wallet {token}", f"market {token}", "FAB", "staked FAB")
        for r in rows:
            table.add_row(r["account"], r["address"], r["wallet"], r["market"], r["fab"], r["staked"])
        console.print(table)

    run(body)


@app.command()
def deposit(amount: Annotated[str, typer.Argument(help="token units to deposit")], token: TokenOpt = "fUSD",
            rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False) -> None:
    """Deposit tokens into your market balance (new jobs draw from it first)."""

    def body() -> None:
        fab = client(rpc_url, home, account)
        addr = fab.deployment.token(token)
        print_tx("deposited", fab.deposit(addr, to_units(amount, fab.token_decimals(addr))), json_out)

    run(body)


@app.command()
def withdraw(token: TokenOpt = "fUSD", to: Annotated[str | None, typer.Option(help="recipient")] = None,
             rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False) -> None:
    """Withdraw your whole market balance (payouts, refunds, deposits)."""

    def body() -> None:
        fab = client(rpc_url, home, account)
        print_tx("withdrawn", fab.withdraw(fab.deployment.token(token), to), json_out)

    run(body)


@app.command("withdraw-fees")
def withdraw_fees(token: TokenOpt = "fUSD", rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None,
                  json_out: JsonOpt = False) -> None:
    """Send accrued protocol fees to the treasury."""

    def body() -> None:
        fab = client(rpc_url, home, account)
        print_tx("fees withdrawn", fab.withdraw_fees(fab.deployment.token(token)), json_out)

    run(body)
