// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IBountyBoard} from "../interfaces/IBountyBoard.sol";

/// @title RoyaltySplit
/// @notice Receives a bounty winner's royalty (any ERC-20, or ETH as `token` zero) and lets each party pull its
/// share: the designer `1e4 - sponsorRoyaltyBps` of every unit received, the sponsors `sponsorRoyaltyBps` pro
/// rata to their contributions to the bounty. One clone (OpenZeppelin Clones, with immutable arguments: bounty
/// id, designer, sponsor share) per minted winner; the implementation is deployed by, and bound to, its board.
/// Shares are weights `w`: designer `(1e4 - s) * C`, sponsor `s * c` (plus the designer's part if the designer
/// also sponsored), where `c` is a contribution and `C` their sum, so they add up to exactly `1e4 * C`.
/// Contributions only grow between the first submission and the deadline (no early withdrawal once a submission
/// exists, no funding after the deadline), so a sponsor's share is final once the deadline has passed: until
/// then sponsors wait; a designer that did not sponsor may release any time (its fraction does not depend on
/// `C`). Each account is released `floor(received * w / total)` in all, `received` = balance + released, so
/// the sum of releases never exceeds what arrived.
contract RoyaltySplit {
    using SafeERC20 for IERC20;

    uint256 private constant BPS = 10_000;

    /// @notice The bounty board whose contributions weigh the sponsors' shares.
    IBountyBoard public immutable board;
    address private immutable _self;

    mapping(address token => uint256) private _totalReleased;
    mapping(address token => mapping(address account => uint256)) private _released;

    /// @notice `amount` of `token` (zero: ETH) was paid to `account`.
    event Released(address indexed token, address indexed account, uint256 amount);
    /// @notice ETH arrived (a marketplace paying the royalty in ETH).
    event EthReceived(address indexed from, uint256 amount);

    error RoyaltySplit__NotAClone();
    error RoyaltySplit__NothingDue(address token, address account);
    error RoyaltySplit__SharesNotFinal(uint256 bountyId, uint64 deadline);

    constructor() {
        board = IBountyBoard(msg.sender);
        _self = address(this);
    }

    /// @notice Accepts ETH royalties.
    receive() external payable {
        emit EthReceived(msg.sender, msg.value);
    }

    /// @notice Pays `account` what it is due of `token` (zero: ETH). Anyone may call it for anyone.
    /// Reverts `RoyaltySplit__SharesNotFinal` for a sponsor before the bounty's deadline and
    /// `RoyaltySplit__NothingDue` when nothing is due.
    function release(address token, address account) external returns (uint256 amount) {
        (uint256 weight, uint256 total, bool final_, uint256 id, uint64 deadline) = _share(account);
        if (!final_) revert RoyaltySplit__SharesNotFinal(id, deadline);
        amount = _due(token, account, weight, total);
        // slither-disable-next-line incorrect-equality,timestamp (nothing due; see contracts/SLITHER.md)
        if (amount == 0) revert RoyaltySplit__NothingDue(token, account);
        _released[token][account] += amount;
        _totalReleased[token] += amount;
        emit Released(token, account, amount);
        if (token == address(0)) {
            Address.sendValue(payable(account), amount);
        } else {
            IERC20(token).safeTransfer(account, amount);
        }
    }

    /// @notice What `release(token, account)` would pay now (0 while the account's share is not final).
    function releasable(address token, address account) external view returns (uint256) {
        (uint256 weight, uint256 total, bool final_,,) = _share(account);
        return final_ ? _due(token, account, weight, total) : 0;
    }

    /// @notice `account`'s share as a weight out of `total` (`weight / total` of every unit received), and
    /// whether it is final (a sponsor's becomes final at the bounty's deadline).
    function shareOf(address account) external view returns (uint256 weight, uint256 total, bool final_) {
        (weight, total, final_,,) = _share(account);
    }

    /// @notice How much of `token` was released to `account`.
    function released(address token, address account) external view returns (uint256) {
        return _released[token][account];
    }

    /// @notice How much of `token` was released in all.
    function totalReleased(address token) external view returns (uint256) {
        return _totalReleased[token];
    }

    /// @notice The bounty, its winning designer and the sponsors' share of the royalty (basis points).
    function terms() public view returns (uint256 bountyId, address designer, uint16 sponsorRoyaltyBps) {
        if (address(this) == _self) revert RoyaltySplit__NotAClone();
        return abi.decode(Clones.fetchCloneArgs(address(this)), (uint256, address, uint16));
    }

    function _share(address account)
        private
        view
        returns (uint256 weight, uint256 total, bool final_, uint256 id, uint64 deadline)
    {
        address designer;
        uint256 sponsorBps;
        (id, designer, sponsorBps) = terms();
        uint256 contribution;
        uint256 contributed;
        (contribution, contributed, deadline) = board.royaltyWeights(id, account);
        total = BPS * contributed;
        weight = sponsorBps * contribution;
        if (account == designer) weight += (BPS - sponsorBps) * contributed;
        // slither-disable-next-line timestamp (the bounty's deadline; see contracts/SLITHER.md)
        final_ = contribution == 0 || block.timestamp > deadline;
    }

    function _due(address token, address account, uint256 weight, uint256 total) private view returns (uint256) {
        // slither-disable-next-line incorrect-equality,timestamp (a zero weight is owed nothing; see contracts/SLITHER.md)
        if (weight == 0) return 0;
        uint256 balance = token == address(0) ? address(this).balance : IERC20(token).balanceOf(address(this));
        uint256 entitled = Math.mulDiv(balance + _totalReleased[token], weight, total);
        uint256 done = _released[token][account];
        return entitled > done ? entitled - done : 0;
    }
}
