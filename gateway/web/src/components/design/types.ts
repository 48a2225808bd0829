// Shapes of the gateway's design-economy answers (GET /v1/designs/{id}, /v1/sales, /v1/bounties/{id}, …), as
// indexer/read_design.py's views serialise (uint256 values as decimal strings, small integers as numbers).
export type Big = string | number;

export interface Sale {
  block_number: number;
  log_index: number;
  order_hash: string;
  maker: string;
  taker: string;
  side: string;
  asset: string;
  token_id: Big;
  units: Big;
  seller: string;
  buyer: string;
  currency: string;
  total: Big;
  fee: Big;
  royalty_receiver: string;
  royalty: Big;
  proceeds: Big;
  tx_hash: string;
}

export interface Royalty {
  block_number: number;
  log_index: number;
  source: string;
  design_id: Big;
  receiver: string;
  token: string;
  amount: Big;
  order_hash: string | null;
  job_id: number | null;
  tx_hash: string;
}

export interface Terms {
  design_id: Big;
  setter: string;
  token: string;
  price_per_print: Big;
  block_size: number;
  block_price: Big;
  max_prints: number;
  sold: Big;
  updated_block: number;
}

export interface Holding {
  design_id: Big;
  holder: string;
  amount: Big;
}

export interface Purchase {
  block_number: number;
  design_id: Big;
  buyer: string;
  recipient: string;
  prints: Big;
  token: string;
  cost: Big;
  fee: Big;
  seller: string;
  tx_hash: string;
}

export interface DesignView {
  token_id: Big;
  creator: string;
  owner: string;
  royalty_receiver: string;
  royalty_bps: number;
  cid: string;
  metadata_cid: string;
  state: string;
  licensed: boolean;
  minted_block: number;
  minted_tx: string;
  terms: Terms | null;
  holders: Holding[];
  purchases: Purchase[];
  sales: Sale[];
  royalties: Royalty[];
  block: number | null;
}

export interface DesignMeta {
  schema?: string;
  name?: string;
  description?: string;
  licence?: string;
  model?: string;
  model_cid?: string;
  image?: string;
  attributes?: { trait_type: string; value: unknown }[];
}

/** A design-market order as the gateway relays it (snake_case, integers as decimal strings). */
export interface OrderJson {
  maker: string;
  side: string;
  asset: string;
  scope: string;
  token_id: string;
  creator: string;
  currency: string;
  price: string;
  amount: string;
  expiry: string;
  nonce: string;
  counter: string;
}

export interface Listing {
  order_hash: string;
  maker: string;
  order: OrderJson;
  signature: string;
}

export interface Contribution {
  sponsor: string;
  contribution: Big;
  funded: Big;
  refund: Big;
  refunded: boolean;
}

export interface Entry {
  bounty_id: number;
  submission_id: number;
  submitter: string;
  cid: string;
  awarded: Big;
  minted: boolean;
  design_id: Big | null;
  submitted_block: number;
}

export interface Approval {
  submission_id: number;
  amount: Big;
  approvers: string[];
}

export interface Award {
  block_number: number;
  submission_id: number;
  submitter: string;
  amount: Big;
  decided_by: string;
  tx_hash: string;
}

export interface BountyView {
  bounty_id: number;
  poster: string;
  token: string;
  brief_cid: string;
  deadline: number;
  approvers: string[];
  quorum: number;
  evaluator: string;
  sponsor_royalty_bps: number;
  design_royalty_bps: number;
  terms_hash: string;
  contributed: Big;
  paid: Big;
  refunded: Big;
  sponsors: number;
  submissions: number;
  posted_block: number;
  pot: Big;
  contributions?: Contribution[];
  entries?: Entry[];
  approvals?: Approval[];
  awards?: Award[];
}

export interface Brief {
  schema?: string;
  title?: string;
  description?: string;
  material?: string;
  process?: string;
  bounding_box_mm?: number[];
  constraints?: string[];
}

export interface AccountView {
  address: string;
  bounty_balances: Record<string, Big>;
  royalties: Record<string, Big>;
  designs_owned: number;
  wallet: Record<string, string> | null;
}
