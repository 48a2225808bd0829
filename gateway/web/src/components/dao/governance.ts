// What the DAO pages read: proposals as the gateway indexes them (actions decoded), and what only the chain
// knows now — a proposal's state (it moves with the clock, without an event), tallies, quorum, an account's
// votes and delegates — read from FabGovernor, FabToken and NodeRegistry with viem.
import { useEffect, useState } from "react";
import { keccak256, toBytes, type Abi, type Address, type Hex } from "viem";
import { publicClient } from "../../chain/clients";
import { loadAbis } from "../../chain/tx";
import { contractAddress, type AppConfig } from "../../lib/config";

/** OpenZeppelin's IGovernor.ProposalState, by its number. */
export const STATES = ["Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed"] as const;
export type StateName = (typeof STATES)[number];
export const SUPPORT = ["Against", "For", "Abstain"] as const;

export interface DecodedAction {
  target: string;
  value: string;
  calldata: Hex;
  contract?: string;
  function?: string;
  args?: Record<string, unknown>;
}

export interface VoteRow {
  voter: string;
  support: number;
  weight: string | number;
  reason: string;
  block_number: number;
  tx_hash: string;
}

export interface ProposalRow {
  proposal_id: string;
  proposer: string;
  targets: string[];
  call_values: (string | number)[];
  calldatas: Hex[];
  description: string;
  title: string;
  snapshot: number;
  deadline: number;
  eta: number | null;
  status: string; // the index's lifecycle: created, queued, executed, canceled
  for_votes: string | number;
  against_votes: string | number;
  abstain_votes: string | number;
  created_block: number;
  created_tx: string;
  actions: DecodedAction[];
  votes?: VoteRow[];
  history?: { event: string; block_number: number; tx_hash: string }[];
}

export interface ChainProposal {
  state: StateName;
  snapshot: bigint;
  deadline: bigint;
  eta: bigint;
  against: bigint;
  for: bigint;
  abstain: bigint;
  quorum: bigint | null; // null while the snapshot is ahead of the clock
  clock: bigint;
  hasVoted: boolean | null;
  weight: bigint | null; // the account's votes at the snapshot (null: no account, or snapshot ahead)
}

export interface Power {
  fabVotes: bigint;
  stakeVotes: bigint;
  fabBalance: bigint;
  staked: bigint;
  fabDelegate: Address;
  stakeDelegate: Address;
}

export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

async function reader(cfg: AppConfig) {
  const { ABIS } = await loadAbis();
  const client = publicClient(cfg);
  const read = <T>(contract: string, functionName: string, args: readonly unknown[] = [], blockNumber?: bigint) =>
    client.readContract({ address: contractAddress(cfg, contract), abi: ABIS[contract] as Abi, functionName, args, blockNumber }) as Promise<T>;
  return { read, ABIS };
}

/** An account's votes from each source, its FAB balance and stake, and whom each source is delegated to. */
export async function readPower(cfg: AppConfig, account: Address): Promise<Power> {
  const { read } = await reader(cfg);
  const [fabVotes, stakeVotes, fabBalance, stake, fabDelegate, stakeDelegate] = await Promise.all([
    read<bigint>("FabToken", "getVotes", [account]),
    read<bigint>("NodeRegistry", "getVotes", [account]),
    read<bigint>("FabToken", "balanceOf", [account]),
    read<readonly bigint[] | { staked: bigint }>("NodeRegistry", "stakeOf", [account]),
    read<Address>("FabToken", "delegates", [account]),
    read<Address>("NodeRegistry", "delegates", [account]),
  ]);
  const staked = Array.isArray(stake) ? (stake as bigint[])[0] : (stake as { staked: bigint }).staked;
  return { fabVotes, stakeVotes, fabBalance, staked, fabDelegate, stakeDelegate };
}

/** A proposal's state, dates, tally and quorum from the governor now (and `account`'s ballot, if given). */
export async function readProposal(cfg: AppConfig, id: bigint, account: Address | null): Promise<ChainProposal> {
  const { read } = await reader(cfg);
  const [state, snapshot, deadline, eta, votes, clock] = await Promise.all([
    read<number>("FabGovernor", "state", [id]),
    read<bigint>("FabGovernor", "proposalSnapshot", [id]),
    read<bigint>("FabGovernor", "proposalDeadline", [id]),
    read<bigint>("FabGovernor", "proposalEta", [id]),
    read<readonly [bigint, bigint, bigint]>("FabGovernor", "proposalVotes", [id]),
    read<number | bigint>("FabGovernor", "clock"),
  ]);
  const now = BigInt(clock);
  const past = snapshot < now; // votes and quorum are known only for past timepoints
  const [quorum, hasVoted, weight] = await Promise.all([
    past ? read<bigint>("FabGovernor", "quorum", [snapshot]) : Promise.resolve(null),
    account ? read<boolean>("FabGovernor", "hasVoted", [id, account]) : Promise.resolve(null),
    account && past ? read<bigint>("FabGovernor", "getVotes", [account, snapshot]) : Promise.resolve(null),
  ]);
  return {
    state: STATES[Number(state)] ?? "Pending", snapshot, deadline, eta, against: votes[0], for: votes[1], abstain: votes[2],
    quorum, clock: now, hasVoted, weight,
  };
}

/** The arguments queue, execute and cancel take: targets, values, calldatas and the description's hash. */
export function lifecycleArgs(p: ProposalRow): readonly unknown[] {
  return [p.targets, p.call_values.map((v) => BigInt(v)), p.calldatas, keccak256(toBytes(p.description))];
}

/** The market parameters' names (JobMarket.params' struct), read with the ABI. */
async function marketParams(cfg: AppConfig, block?: bigint): Promise<Record<string, bigint | number> | null> {
  try {
    const { read } = await reader(cfg);
    return await read<Record<string, bigint | number>>("JobMarket", "params", [], block);
  } catch {
    return null;
  }
}

/** One action in words, from the gateway's decoding and the ABI's names; setParams lists what changes. */
export async function describeAction(cfg: AppConfig, a: DecodedAction, createdBlock: number): Promise<string[]> {
  const { ABIS } = await reader(cfg);
  if (!a.contract || !a.function) return [`call ${a.target} with ${a.calldata.slice(0, 10)}…${a.value !== "0" ? ` sending ${a.value} wei` : ""}`];
  const fn = (ABIS[a.contract] ?? []).find((x) => x.type === "function" && x.name === a.function) as
    | { inputs: { name: string; type: string; components?: { name: string }[] }[] }
    | undefined;
  const args = a.args ?? {};
  if (a.contract === "JobMarket" && a.function === "setParams" && fn?.inputs[0]?.components) {
    const names = fn.inputs[0].components.map((c) => c.name);
    const raw = Object.values(args)[0];
    const next: Record<string, string> = {};
    names.forEach((n, i) => (next[n] = String(Array.isArray(raw) ? raw[i] : (raw as Record<string, unknown>)?.[n])));
    const before = await marketParams(cfg, BigInt(Math.max(createdBlock - 1, 0)));
    const changed = names.filter((n) => !before || String(before[n]) !== next[n]);
    if (!changed.length) return ["JobMarket.setParams: parameters unchanged"];
    return changed.map((n) => `JobMarket.setParams: ${n} ${before ? `${formatParam(n, String(before[n]))} → ` : ""}${formatParam(n, next[n])}`);
  }
  const shown = Object.entries(args).map(([k, v]) => `${k} = ${typeof v === "object" ? JSON.stringify(v) : String(v)}`);
  return [`${a.contract}.${a.function}(${shown.join(", ")})`];
}

function formatParam(name: string, value: string): string {
  if (name.endsWith("Bps")) return `${value} bps (${Number(value) / 100} %)`;
  if (name.endsWith("Window")) return `${value} s`;
  return value;
}

/** The chain's latest block number, polled every second (anvil mines on demand: a new block is news). */
export function useBlockNumber(cfg: AppConfig): bigint | null {
  const [block, setBlock] = useState<bigint | null>(null);
  useEffect(() => {
    let stop = false;
    const client = publicClient(cfg);
    const tick = async () => {
      try {
        const n = await client.getBlockNumber({ cacheTime: 0 });
        if (!stop) setBlock((old) => (old === n ? old : n));
      } catch {
        /* the RPC is unreachable for a moment: the next tick tries again */
      }
    };
    void tick();
    const timer = setInterval(tick, 1000);
    return () => {
      stop = true;
      clearInterval(timer);
    };
  }, [cfg]);
  return block;
}

/** Seconds as "2 min 5 s" (durations until a deadline). */
export function duration(seconds: bigint): string {
  let s = Number(seconds < 0n ? -seconds : seconds);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return [d && `${d} d`, h && `${h} h`, m && `${m} min`, `${s} s`].filter(Boolean).slice(0, 2).join(" ");
}
