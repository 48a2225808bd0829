// EIP-6963 wallet discovery: every injected wallet announces itself with an event; several can coexist. A page
// with no announcing wallet falls back to the legacy `window.ethereum`.
import type { Eip1193Provider } from "./eip1193";

export interface WalletInfo {
  uuid: string;
  name: string;
  icon: string; // a data: URI
  rdns: string;
}

export interface DiscoveredWallet {
  info: WalletInfo;
  provider: Eip1193Provider;
}

interface AnnounceEvent extends Event {
  detail: DiscoveredWallet;
}

declare global {
  interface Window {
    ethereum?: Eip1193Provider;
  }
}

const LEGACY: WalletInfo = { uuid: "legacy-window-ethereum", name: "Browser wallet", icon: "", rdns: "window.ethereum" };

/** Listen for wallet announcements, ask wallets to announce, and call `onChange` with the list each time it
 * grows; returns the function that stops listening. */
export function discoverWallets(onChange: (wallets: DiscoveredWallet[]) => void): () => void {
  const byUuid = new Map<string, DiscoveredWallet>();
  const announce = (event: Event) => {
    const detail = (event as AnnounceEvent).detail;
    if (!detail?.info?.uuid || typeof detail.provider?.request !== "function") return; // malformed: ignore
    byUuid.set(detail.info.uuid, Object.freeze({ info: detail.info, provider: detail.provider }));
    onChange([...byUuid.values()]);
  };
  window.addEventListener("eip6963:announceProvider", announce);
  window.dispatchEvent(new Event("eip6963:requestProvider"));
  return () => window.removeEventListener("eip6963:announceProvider", announce);
}

/** The wallets to offer: the announced ones, else `window.ethereum` when a legacy wallet injected one. */
export function offeredWallets(announced: DiscoveredWallet[]): DiscoveredWallet[] {
  if (announced.length || typeof window === "undefined" || !window.ethereum) return announced;
  return [{ info: LEGACY, provider: window.ethereum }];
}
