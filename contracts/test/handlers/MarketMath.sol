// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @notice The market's payout arithmetic written out plainly from the rules in docs/README (not copied
/// from the contracts): the handler's reference model and the fuzz tests compare the market against it.
library MarketMath {
    uint256 internal constant BPS = 10_000;
    uint256 internal constant RATE_ONE = 1e18;

    /// @notice Who gets what when a delivery is paid out (accepted or settled).
    struct Settlement {
        uint256 fee;
        uint256 royalty;
        uint256 node;
    }

    /// @notice Who gets what when a dispute ends (bond of the dispute included; appeal bonds are separate).
    struct Resolution {
        uint256 refund; // the customer's share of the payment
        uint256 customer; // refund + the dispute bond when the customer got at least half back
        uint256 node; // the node's share of the payment after fee and royalty (+ the bond when it won)
        uint256 royalty;
        uint256 fee;
    }

    /// @notice A slash split into the customer's compensation and the treasury's share.
    struct Slash {
        uint256 compensation;
        uint256 treasury;
    }

    function settlement(uint256 amount, uint256 feeBps, uint256 royalty) internal pure returns (Settlement memory s) {
        s.fee = amount * feeBps / BPS;
        s.royalty = royalty;
        s.node = amount - s.fee - royalty;
    }

    function resolution(uint256 amount, uint256 royalty, uint256 feeBps, uint256 bond, uint256 refundBps)
        internal
        pure
        returns (Resolution memory r)
    {
        r.refund = amount * refundBps / BPS;
        uint256 rest = amount - r.refund;
        r.fee = rest * feeBps / BPS;
        // The royalty shrinks with the node's share of the payment.
        r.royalty = amount == 0 ? 0 : royalty * rest / amount;
        r.node = rest - r.fee - r.royalty;
        r.customer = r.refund;
        if (2 * refundBps >= BPS) r.customer += bond;
        else r.node += bond;
    }

    function slash(uint256 amount, uint256 compensationBps) internal pure returns (Slash memory s) {
        s.compensation = amount * compensationBps / BPS;
        s.treasury = amount - s.compensation;
    }

    /// @notice [max(floor, amount * minRate), max(that min, amount * maxRate)] with rates in 1e18 fixed point.
    function collateralBounds(uint256 amount, uint256 minRate, uint256 maxRate, uint256 floor)
        internal
        pure
        returns (uint256 min, uint256 max)
    {
        min = amount * minRate / RATE_ONE;
        if (min < floor) min = floor;
        max = amount * maxRate / RATE_ONE;
        if (max < min) max = min;
    }

    /// @notice The royalty a post fixes: the design's ERC-2981 share, capped by the market's maximum.
    function cappedRoyalty(uint256 amount, uint256 designBps, uint256 capBps) internal pure returns (uint256) {
        uint256 r = amount * designBps / BPS;
        uint256 cap = amount * capBps / BPS;
        return r < cap ? r : cap;
    }

    /// @notice A lost appeal bond: `arbiterFeeBps` of it to the arbiter whose ruling stood (none when nobody
    /// ruled: the default ruling), the rest to the treasury; never anything to the other side.
    function lostAppealBond(uint256 bond, uint256 arbiterFeeBps, bool arbiterRuled)
        internal
        pure
        returns (uint256 arbiterFee, uint256 treasury)
    {
        arbiterFee = arbiterRuled ? bond * arbiterFeeBps / BPS : 0;
        treasury = bond - arbiterFee;
    }

    /// @notice Whether the appellant won its appeal: the court moved the ruling its way.
    function appealWon(bool customerAppealed, uint256 ruledRefund, uint256 ruledSlash, uint256 refund, uint256 slashBps)
        internal
        pure
        returns (bool)
    {
        if (customerAppealed) return refund > ruledRefund || (refund == ruledRefund && slashBps > ruledSlash);
        return refund < ruledRefund || (refund == ruledRefund && slashBps < ruledSlash);
    }
}
