// Shapes of the gateway's answers the pages read (amounts and uint256 ids are decimal strings).

export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
  block: number | null;
}

export interface JobRow {
  job_id: number;
  status: string;
  customer: string;
  token: string;
  node: string;
  node_id: number | null;
  amount: string;
  collateral: string;
  royalty: string;
  fee_bps: number;
  deadline: number;
  target_node: string;
  spec_cid: string;
  design_id: string;
  posted_block: number;
  updated_block: number;
  title?: string | null;
  process?: string | null;
  material?: string | null;
}

export interface JobEvent {
  event: string;
  status: string;
  block_number: number;
  log_index: number;
  tx_hash: string;
  args: Record<string, unknown>;
}

export interface Job extends JobRow {
  royalty_receiver: string;
  bond: string;
  delivery_window: number;
  review_window: number;
  claim_by: number | null;
  deliver_by: number | null;
  review_until: number | null;
  claimed_at: number | null;
  hand_backs: number;
  proof_cid: string | null;
  reason_cid: string | null;
  accepted: boolean | null;
  posted_tx: string;
  expected_fee: string;
  history: JobEvent[];
  dispute: Record<string, unknown> | null;
  spec: Record<string, unknown> | null;
  proof: { cid: string; url: string } | null;
  block: number | null;
}

export interface NodeRow {
  node_id: number;
  operator: string;
  processes: number;
  materials: number;
  build_x: number;
  build_y: number;
  build_z: number;
  metadata_cid: string;
  active: boolean;
  registered_block: number;
  updated_block: number;
  process_names: string[];
  material_names: string[];
}

export interface Node extends NodeRow {
  stake: { staked: string; locked: string; free: string; slashed: string; unbonding: string; eligible: boolean } | null;
  reputation: Record<string, number>;
  block: number | null;
}

export interface DesignRow {
  token_id: string;
  creator: string;
  owner: string;
  royalty_bps: number;
  cid: string;
  metadata_cid: string;
  state: string;
  licensed: boolean;
  minted_block: number;
}

export interface Stats {
  jobs: { total: number; by_status: Record<string, number> };
  volume: Record<string, string>;
  fees: Record<string, string>;
  nodes_active: number;
  designs: number;
  bounties: number;
  proposals: number;
  block: number | null;
}
