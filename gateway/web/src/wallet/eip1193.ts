// EIP-1193 provider types and the wallet errors people meet, in words.

export interface RequestArguments {
  method: string;
  params?: unknown[] | Record<string, unknown>;
}

export interface Eip1193Provider {
  request(args: RequestArguments): Promise<unknown>;
  on?(event: string, listener: (...args: never[]) => void): void;
  removeListener?(event: string, listener: (...args: never[]) => void): void;
}

/** EIP-1193 / EIP-1474 error codes the dApp reacts to. */
export const USER_REJECTED = 4001;
export const UNAUTHORIZED = 4100;
export const UNSUPPORTED_METHOD = 4200;
export const CHAIN_NOT_ADDED = 4902;

/** The error's EIP-1193 code (also when a library wrapped it), if any. */
export function errorCode(e: unknown): number | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 5 && cur && typeof cur === "object"; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "number") return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** A wallet error as a sentence for the page. */
export function walletMessage(e: unknown, what = "the request"): string {
  const code = errorCode(e);
  if (code === USER_REJECTED) return `You rejected ${what} in your wallet. Nothing was signed or sent; try again when ready.`;
  if (code === UNAUTHORIZED) return "The wallet has not authorised this site: connect it first.";
  if (code === UNSUPPORTED_METHOD) return `Your wallet does not support ${what}.`;
  if (code === -32002) return "Your wallet already has a request waiting: open it to answer.";
  const message = e instanceof Error ? e.message : String(e);
  return `The wallet refused ${what}: ${message.split("\n")[0]}`;
}
