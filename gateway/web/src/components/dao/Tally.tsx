// A proposal's tally: for, against and abstain, in FAB.
import { useConfig } from "../../lib/config";
import { formatAmount } from "../../lib/format";

/** For, against and abstain in FAB. */
export function Tally({ forVotes, against, abstain }: { forVotes: string | number | bigint; against: string | number | bigint; abstain: string | number | bigint }) {
  const cfg = useConfig();
  const fab = cfg.tokens.find((t) => t.kind === "fab")?.address;
  return (
    <dl className="tally small">
      <div>
        <dt>For</dt>
        <dd>{formatAmount(cfg, BigInt(forVotes), fab)}</dd>
      </div>
      <div>
        <dt>Against</dt>
        <dd>{formatAmount(cfg, BigInt(against), fab)}</dd>
      </div>
      <div>
        <dt>Abstain</dt>
        <dd>{formatAmount(cfg, BigInt(abstain), fab)}</dd>
      </div>
    </dl>
  );
}

