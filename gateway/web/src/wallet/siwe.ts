// Sign-In with Ethereum (EIP-4361) against the gateway: nonce, the message exactly as gateway/siwe.py's
// SiweMessage.text() writes it, personal_sign, verify — the session is an HTTP-only cookie.
import { getAddress, toHex, type Address } from "viem";
import { get, post } from "../lib/api";
import type { Eip1193Provider } from "./eip1193";

export const STATEMENT = "Sign in to Fabrica";

export interface Nonce {
  nonce: string;
  expires_at: number;
  domain: string;
  uri: string;
  chain_id: number;
  version: string;
}

export interface Session {
  address: Address;
  roles: string[];
  staff: string | null;
}

/** The EIP-4361 message text for these fields (a statement line, no optional fields). */
export function siweMessage(f: { domain: string; address: Address; uri: string; chainId: number; nonce: string; issuedAt: Date; statement?: string }): string {
  const lines = [
    `${f.domain} wants you to sign in with your Ethereum account:`,
    getAddress(f.address), // EIP-55: the gateway refuses any other spelling
    "",
    f.statement ?? STATEMENT,
    "",
    `URI: ${f.uri}`,
    "Version: 1",
    `Chain ID: ${f.chainId}`,
    `Nonce: ${f.nonce}`,
    `Issued At: ${f.issuedAt.toISOString()}`,
  ];
  return lines.join("\n");
}

/** Sign in as `address` through `provider`: throws the wallet's error (4001 when rejected) or the gateway's. */
export async function signIn(provider: Eip1193Provider, address: Address): Promise<Session> {
  const n = await get<Nonce>("/v1/auth/nonce");
  const message = siweMessage({ domain: n.domain, address, uri: n.uri, chainId: n.chain_id, nonce: n.nonce, issuedAt: new Date() });
  const signature = (await provider.request({ method: "personal_sign", params: [toHex(message), getAddress(address)] })) as string;
  await post("/v1/auth/verify", { message, signature });
  return currentSession() as Promise<Session>;
}

/** The gateway session of this browser (null when not signed in). */
export async function currentSession(): Promise<Session | null> {
  try {
    return await get<Session>("/v1/auth/me");
  } catch {
    // The access token lives 15 minutes; a refresh cookie (a week) renews it without a new signature.
    const renewed = await post("/v1/auth/refresh").then(() => true, () => false);
    return renewed ? get<Session>("/v1/auth/me").catch(() => null) : null;
  }
}

/** End the gateway session. */
export async function signOut(): Promise<void> {
  await post("/v1/auth/logout").catch(() => undefined);
}
