// The wallet state every page shares: discovered wallets, the connected one, its account and chain, the network
// check (with the switch prompt) and the gateway session. Components read it with useWallet().
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { getAddress, numberToHex, type Address } from "viem";
import { useConfig, type AppConfig } from "../lib/config";
import { CHAIN_NOT_ADDED, errorCode, walletMessage, type Eip1193Provider } from "./eip1193";
import { discoverWallets, offeredWallets, type DiscoveredWallet } from "./eip6963";
import { currentSession, signIn as siweSignIn, signOut as siweSignOut, type Session } from "./siwe";

export interface WalletState {
  wallets: DiscoveredWallet[];
  wallet: DiscoveredWallet | null; // the connected one
  account: Address | null;
  chainId: number | null;
  wrongNetwork: boolean;
  session: Session | null; // the gateway session, whatever account the wallet shows now
  signedIn: boolean; // a session for the connected account
  busy: string | null; // what the wallet is being asked for right now
  message: { kind: "error" | "info"; text: string } | null;
  connect(uuid: string): Promise<void>;
  disconnect(): void;
  switchNetwork(): Promise<boolean>;
  signIn(): Promise<void>;
  signOut(): Promise<void>;
  dismiss(): void;
  provider(): Eip1193Provider; // the connected provider, or an error saying to connect
}

const WalletContext = createContext<WalletState | null>(null);
const REMEMBER = "fabrica.wallet"; // the rdns of the wallet last connected, to reconnect silently

function chainParams(cfg: AppConfig) {
  return {
    chainId: numberToHex(cfg.chain_id),
    chainName: cfg.chain_id === 31337 ? "Fabrica devnet" : `Fabrica (chain ${cfg.chain_id})`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: [cfg.rpc_url],
  };
}

/** Provides useWallet() to the tree. */
export function WalletProvider({ children }: { children: ReactNode }) {
  const cfg = useConfig();
  const [announced, setAnnounced] = useState<DiscoveredWallet[]>([]);
  const [wallet, setWallet] = useState<DiscoveredWallet | null>(null);
  const [account, setAccount] = useState<Address | null>(null);
  const [chainId, setChainId] = useState<number | null>(null);
  const [session, setSession] = useState<Session | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [message, setMessage] = useState<WalletState["message"]>(null);
  const walletRef = useRef<DiscoveredWallet | null>(null);
  walletRef.current = wallet;

  useEffect(() => discoverWallets(setAnnounced), []);
  useEffect(() => {
    currentSession().then(setSession);
  }, []);
  const wallets = useMemo(() => offeredWallets(announced), [announced]);

  // Follow the connected wallet's account and network as the person changes them in the wallet.
  useEffect(() => {
    const p = wallet?.provider;
    if (!p?.on) return;
    const onAccounts = (accounts: string[]) => setAccount(accounts[0] ? getAddress(accounts[0]) : null);
    const onChain = (id: string) => setChainId(Number(id));
    const onDisconnect = () => {
      setWallet(null);
      setAccount(null);
    };
    p.on("accountsChanged", onAccounts as never);
    p.on("chainChanged", onChain as never);
    p.on("disconnect", onDisconnect as never);
    return () => {
      p.removeListener?.("accountsChanged", onAccounts as never);
      p.removeListener?.("chainChanged", onChain as never);
      p.removeListener?.("disconnect", onDisconnect as never);
    };
  }, [wallet]);

  const switchNetwork = useCallback(async (): Promise<boolean> => {
    const p = walletRef.current?.provider;
    if (!p) return false;
    setBusy("switch network");
    try {
      try {
        await p.request({ method: "wallet_switchEthereumChain", params: [{ chainId: numberToHex(cfg.chain_id) }] });
      } catch (e) {
        if (errorCode(e) !== CHAIN_NOT_ADDED) throw e;
        // The wallet does not know this chain yet: add it (the wallet switches to it as it adds it).
        await p.request({ method: "wallet_addEthereumChain", params: [chainParams(cfg)] });
      }
      setChainId(Number(await p.request({ method: "eth_chainId" })));
      setMessage(null);
      return true;
    } catch (e) {
      setMessage({ kind: "error", text: walletMessage(e, "the network switch") });
      return false;
    } finally {
      setBusy(null);
    }
  }, [cfg]);

  const connect = useCallback(
    async (uuid: string) => {
      const w = wallets.find((x) => x.info.uuid === uuid);
      if (!w) return;
      setBusy("connect");
      setMessage(null);
      try {
        const accounts = (await w.provider.request({ method: "eth_requestAccounts" })) as string[];
        if (!accounts?.length) throw new Error("the wallet shared no account");
        const id = Number(await w.provider.request({ method: "eth_chainId" }));
        walletRef.current = w;
        setWallet(w);
        setAccount(getAddress(accounts[0]));
        setChainId(id);
        localStorage.setItem(REMEMBER, w.info.rdns);
        if (id !== cfg.chain_id) {
          setBusy(null);
          await switchNetwork(); // the prompt; refusing it leaves the banner with its button
        }
      } catch (e) {
        setMessage({ kind: "error", text: walletMessage(e, "the connection") });
      } finally {
        setBusy(null);
      }
    },
    [wallets, cfg, switchNetwork],
  );

  // Reconnect without a prompt to the wallet used last time, when it still has this site's permission.
  useEffect(() => {
    const rdns = localStorage.getItem(REMEMBER);
    const w = rdns && !wallet ? wallets.find((x) => x.info.rdns === rdns) : undefined;
    if (!w) return;
    w.provider
      .request({ method: "eth_accounts" })
      .then(async (accounts) => {
        const list = accounts as string[];
        if (!list?.length || walletRef.current) return;
        const id = Number(await w.provider.request({ method: "eth_chainId" }));
        setWallet(w);
        setAccount(getAddress(list[0]));
        setChainId(id);
      })
      .catch(() => undefined);
  }, [wallets, wallet]);

  const disconnect = useCallback(() => {
    localStorage.removeItem(REMEMBER);
    setWallet(null);
    setAccount(null);
    setChainId(null);
  }, []);

  const signIn = useCallback(async () => {
    const p = walletRef.current?.provider;
    if (!p || !account) return;
    setBusy("sign in");
    setMessage(null);
    try {
      setSession(await siweSignIn(p, account));
    } catch (e) {
      const text = errorCode(e) !== undefined ? walletMessage(e, "the sign-in signature") : `Sign-in failed: ${(e as Error).message}`;
      setMessage({ kind: "error", text });
    } finally {
      setBusy(null);
    }
  }, [account]);

  const signOut = useCallback(async () => {
    await siweSignOut();
    setSession(null);
  }, []);

  const value: WalletState = {
    wallets,
    wallet,
    account,
    chainId,
    wrongNetwork: wallet !== null && chainId !== null && chainId !== cfg.chain_id,
    session,
    signedIn: !!session && !!account && session.address.toLowerCase() === account.toLowerCase(),
    busy,
    message,
    connect,
    disconnect,
    switchNetwork,
    signIn,
    signOut,
    dismiss: () => setMessage(null),
    provider: () => {
      if (!walletRef.current) throw new Error("connect a wallet first");
      return walletRef.current.provider;
    },
  };
  return <WalletContext.Provider value={value}>{children}</WalletContext.Provider>;
}

/** The shared wallet state and actions. */
export function useWallet(): WalletState {
  const w = useContext(WalletContext);
  if (!w) throw new Error("useWallet outside WalletProvider");
  return w;
}
