"""Helpers for the dApp's browser tests: an EIP-1193 wallet injected into the page (announced through EIP-6963)
whose keys stay in Python, screenshots, and the axe-core accessibility check.

The wallet's JavaScript half only forwards: every `request` goes to Python through Playwright's
`expose_function`, where eth_account signs with anvil's dev keys, transactions are sent to anvil as raw signed
transactions and reads (`eth_call`, `eth_estimateGas`, receipts, …) are proxied to anvil. The dApp's own
discovery, SIWE and transaction code run unchanged against it.

    wallet = InjectedWallet(rpc_url, chain_id=31337, accounts=[dev_account(3)])
    wallet.install(context)            # before the page loads
    wallet.reject_next("personal_sign")  # the next signature request answers 4001
    wallet.use_account(1)              # accountsChanged in the page
"""
from __future__ import annotations

import json
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from web3 import Web3

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "gateway" / "web"
DIST = WEB / "dist"
AXE = WEB / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / ".build" / "test-output" / "dapp"
ICON = ("data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAyNCAy"
        "NCI+PGNpcmNsZSBjeD0iMTIiIGN5PSIxMiIgcj0iMTAiIGZpbGw9IiMwYjVjYWQiLz48L3N2Zz4=")
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}
WAIT_MS = 15_000  # what a page waits for an element before the test fails
USER_REJECTED = 4001
CHAIN_NOT_ADDED = 4902
# Methods the wallet answers itself (keys, permissions, network); everything else is a read proxied to anvil.
_SIGNING = {"personal_sign", "eth_sign", "eth_signTypedData_v4", "eth_sendTransaction"}


class WalletError(Exception):
    """An EIP-1193 error the wallet answers with (code, message)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data  # revert data from the node, passed on as EIP-1193 errors do


def chromium_path() -> str:
    """Debian's Chromium (installed by `make install` through scripts/chromium-setup.sh)."""
    path = shutil.which("chromium")
    if path is None:
        raise RuntimeError("no `chromium` on PATH: run `bash scripts/chromium-setup.sh` (part of `make install`)")
    return path


def wait_indexed(gateway_url: str, path: str, check: Callable[[dict[str, Any]], bool], timeout: float = 20.0) -> dict[str, Any]:
    """Poll a gateway path until its JSON satisfies `check` (the indexer follows the chain in the background)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        r = httpx.get(gateway_url + path, timeout=5)
        if r.status_code == 200:
            last = r.json()
            if check(last):
                return last
        time.sleep(0.1)
    raise AssertionError(f"{path} did not reach the expected state in {timeout} s; last answer {last}")


def page_errors(d: Any) -> list[str]:
    """A page's uncaught exceptions and console errors, less the browser's notes about answered HTTP errors (a
    401 from /v1/auth/me is how the page learns it is signed out)."""
    return [e for e in d.errors if "Failed to load resource" not in e]


def shot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as .build/test-output/dapp/<name>.png (the key states of each test)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page: Any, impacts: Iterable[str] = ("serious", "critical")) -> list[dict[str, Any]]:
    """axe-core's violations on the current page at the given impacts (id, impact, help, the nodes' targets)."""
    if not AXE.is_file():
        raise RuntimeError(f"{AXE} is missing: run `npm ci --prefix gateway/web` (part of `make install`)")
    # Through the DevTools protocol, not a <script> tag: the gateway's CSP (script-src 'self') stays enforced.
    page.evaluate(AXE.read_text() + "\n;undefined")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    wanted = set(impacts)
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in wanted]


class InjectedWallet:
    """An EIP-1193 provider in the page, announced with EIP-6963, signing in Python with `accounts`' keys."""

    def __init__(self, rpc_url: str, chain_id: int, accounts: list[LocalAccount], *, name: str = "Fabrica Test Wallet",
                 rdns: str = "org.fabrica.testwallet", set_window_ethereum: bool = True,
                 known_chains: Iterable[int] | None = None) -> None:
        self.rpc_url = rpc_url
        self.anvil_chain = chain_id  # the chain the wallet's node really is
        self.chain_id = chain_id  # the chain the wallet says it is on (wrong-network tests change it)
        self.known_chains = set(known_chains) if known_chains is not None else {chain_id}
        self.accounts = list(accounts)
        self.active = 0
        self.connected = False  # whether the site was granted the accounts (eth_requestAccounts)
        self.name, self.rdns, self.uuid = name, rdns, str(uuid.uuid4())
        self.set_window_ethereum = set_window_ethereum
        self.requests: list[tuple[str, Any]] = []  # every request the page made, in order
        self.sent: list[str] = []  # hashes of transactions sent
        self._reject: list[set[str] | None] = []  # pending rejections: methods (None: any signing request)
        self._lock = threading.Lock()
        self._pages: list[Any] = []
        self._fn = f"__fabricaWallet_{re.sub(r'[^A-Za-z0-9]', '', self.uuid)}"
        self._http = httpx.Client(timeout=30)

    # ------------------------------------------------------------------ installing
    def install(self, context: Any) -> InjectedWallet:
        """Expose the Python half and add the provider script to every page of `context` (before it loads)."""
        context.expose_function(self._fn, self._handle)
        context.add_init_script(self.script())
        context.on("page", lambda page: self._pages.append(page))
        return self

    def script(self) -> str:
        """The page half: an EIP-1193 provider forwarding requests to Python, announced through EIP-6963."""
        info = {"uuid": self.uuid, "name": self.name, "icon": ICON, "rdns": self.rdns}
        return f"""(() => {{
  const info = Object.freeze({json.dumps(info)});
  const listeners = {{}};
  const call = window[{json.dumps(self._fn)}];
  const provider = {{
    isFabricaTestWallet: true,
    async request(args) {{
      if (!args || typeof args.method !== "string") throw Object.assign(new Error("invalid request"), {{ code: -32600 }});
      const answer = JSON.parse(await call(args.method, JSON.stringify(args.params ?? [])));
      if (answer.error) throw Object.assign(new Error(answer.error.message), answer.error);
      return answer.result;
    }},
    on(event, fn) {{ (listeners[event] ??= new Set()).add(fn); return provider; }},
    removeListener(event, fn) {{ listeners[event]?.delete(fn); return provider; }},
  }};
  window[{json.dumps(self._fn + "_emit")}] = (event, payload) => listeners[event]?.forEach((fn) => fn(payload));
  const detail = Object.freeze({{ info, provider }});
  const announce = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider", {{ detail }}));
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
  if ({json.dumps(self.set_window_ethereum)} && !window.ethereum) window.ethereum = provider;
}})();"""

    # ------------------------------------------------------------------ controls for tests
    @property
    def address(self) -> str:
        """The active account's address."""
        return self.accounts[self.active].address

    def reject_next(self, *methods: str) -> None:
        """Answer the next request for one of `methods` (default: any signing request) with 4001."""
        with self._lock:
            self._reject.append(set(methods) if methods else None)

    def use_account(self, index: int) -> None:
        """Switch the active account (as a person does in the wallet); the page gets accountsChanged."""
        self.active = index
        if self.connected:
            self._emit("accountsChanged", [self.address])

    def set_chain(self, chain_id: int) -> None:
        """Put the wallet on another chain (it says so; its node stays anvil); the page gets chainChanged."""
        self.chain_id = chain_id
        self._emit("chainChanged", hex(chain_id))

    def methods(self) -> list[str]:
        """The methods the page requested, in order."""
        return [m for m, _ in self.requests]

    def _emit(self, event: str, payload: Any) -> None:
        for page in list(self._pages):
            if not page.is_closed():
                page.evaluate(f"([e, p]) => window[{json.dumps(self._fn + '_emit')}]?.(e, p)", [event, payload])

    # ------------------------------------------------------------------ the Python half
    def _handle(self, method: str, params_json: str) -> str:
        """One EIP-1193 request from the page: a JSON answer {"result": …} or {"error": {code, message}}."""
        params = json.loads(params_json) if params_json else []
        self.requests.append((method, params))
        try:
            return json.dumps({"result": self._answer(method, params)})
        except WalletError as exc:
            error: dict[str, Any] = {"code": exc.code, "message": exc.message}
            if exc.data is not None:
                error["data"] = exc.data
            return json.dumps({"error": error})

    def _take_rejection(self, method: str) -> bool:
        with self._lock:
            for i, methods in enumerate(self._reject):
                if (methods is None and method in _SIGNING) or (methods is not None and method in methods):
                    del self._reject[i]
                    return True
        return False

    def _answer(self, method: str, params: Any) -> Any:
        if self._take_rejection(method):
            raise WalletError(USER_REJECTED, "User rejected the request.")
        if method == "eth_chainId":
            return hex(self.chain_id)
        if method == "net_version":
            return str(self.chain_id)
        if method == "eth_accounts":
            return [self.address] if self.connected else []
        if method == "eth_requestAccounts":
            self.connected = True
            return [self.address]
        if method == "wallet_switchEthereumChain":
            target = int(params[0]["chainId"], 16)
            if target not in self.known_chains:
                raise WalletError(CHAIN_NOT_ADDED, f"Unrecognized chain ID {hex(target)}. Try adding the chain first.")
            self.set_chain(target)
            return None
        if method == "wallet_addEthereumChain":
            target = int(params[0]["chainId"], 16)
            self.known_chains.add(target)
            self.set_chain(target)
            return None
        if method in _SIGNING or method.startswith("eth_signTypedData"):
            self._need_connected()
            return self._sign(method, params)
        if method.startswith("wallet_"):
            raise WalletError(4200, f"this wallet does not support {method}")
        return self._proxy(method, params)

    def _need_connected(self) -> None:
        if not self.connected:
            raise WalletError(4100, "The requested account has not been authorized by the user.")

    def _key_for(self, address: str) -> LocalAccount:
        for a in self.accounts:
            if a.address.lower() == str(address).lower():
                return a
        raise WalletError(4100, f"this wallet holds no key for {address}")

    def _sign(self, method: str, params: list[Any]) -> str:
        if method == "personal_sign":
            data, address = params[0], params[1]
            message = encode_defunct(hexstr=data) if str(data).startswith("0x") else encode_defunct(text=data)
            return "0x" + bytes(self._key_for(address).sign_message(message).signature).hex()
        if method == "eth_sign":
            address, data = params[0], params[1]
            return "0x" + bytes(self._key_for(address).sign_message(encode_defunct(hexstr=data)).signature).hex()
        if method.startswith("eth_signTypedData"):
            address, typed = params[0], params[1]
            full = json.loads(typed) if isinstance(typed, str) else typed
            signed = Account.sign_typed_data(self._key_for(address).key, full_message=full)
            return "0x" + bytes(signed.signature).hex()
        return self._send_transaction(params[0])

    def _send_transaction(self, tx: dict[str, Any]) -> str:
        """Fill in what the dApp left out (nonce, gas, fees), sign with the sender's key and send it raw."""
        if self.chain_id != self.anvil_chain:
            raise WalletError(4901, f"the wallet is on chain {self.chain_id}, not the chain it can send to")
        sender = self._key_for(tx.get("from") or self.address)
        out: dict[str, Any] = {"chainId": self.anvil_chain, "from": sender.address,
                               "value": int(tx.get("value", "0x0"), 16), "data": tx.get("data") or tx.get("input") or "0x"}
        if tx.get("to"):
            out["to"] = Web3.to_checksum_address(tx["to"])  # wallets take any case; eth_account wants EIP-55
        out["nonce"] = int(self._proxy("eth_getTransactionCount", [sender.address, "pending"]), 16)
        call = {k: v for k, v in {"from": sender.address, "to": tx.get("to"), "data": out["data"],
                                  "value": hex(out["value"])}.items() if v is not None}
        out["gas"] = int(tx["gas"], 16) if tx.get("gas") else int(self._proxy("eth_estimateGas", [call]), 16) * 12 // 10
        base = int(self._proxy("eth_getBlockByNumber", ["latest", False])["baseFeePerGas"], 16)
        tip = int(tx["maxPriorityFeePerGas"], 16) if tx.get("maxPriorityFeePerGas") else 10**9
        out["maxPriorityFeePerGas"] = tip
        out["maxFeePerGas"] = int(tx["maxFeePerGas"], 16) if tx.get("maxFeePerGas") else 2 * base + tip
        del out["from"]
        signed = sender.sign_transaction(out)
        tx_hash = self._proxy("eth_sendRawTransaction", ["0x" + bytes(signed.raw_transaction).hex()])
        self.sent.append(tx_hash)
        return tx_hash

    def _proxy(self, method: str, params: Any) -> Any:
        """A read (or a raw send) answered by anvil; its JSON-RPC error becomes the wallet's error, data kept."""
        r = self._http.post(self.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        body = r.json()
        if "error" in body:
            err = body["error"]
            # Revert data travels on in `data`: the dApp decodes the contract's custom error from it.
            raise WalletError(int(err.get("code", -32603)), str(err.get("message", "node error")), err.get("data"))
        return body["result"]

    def close(self) -> None:
        self._http.close()

