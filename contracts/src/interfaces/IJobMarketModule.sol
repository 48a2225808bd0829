// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Job} from "../types/Job.sol";
import {IJobMarketTypes} from "./IJobMarketTypes.sol";

/// @title The job market's disputes and governance.
/// @notice Served at the market's address (the market delegates these calls to its immutable module).
interface IJobMarketModule is IJobMarketTypes {
    // ------------------------------------------------------------------------------------ disputes

    /// @notice Customer disputes a delivery during the review window, posting the bond fixed at post.
    function dispute(uint256 jobId, Job calldata job, bytes calldata reasonCid) external;
    /// @notice The dispute's judge rules: `refundBps` of the payment back to the customer, `slashBps` of the collateral slashed.
    /// The arbiter's ruling can be appealed; the appeal court's is final.
    function rule(uint256 jobId, Job calldata job, uint16 refundBps, uint16 slashBps) external;
    /// @notice Customer or node appeals the arbiter's ruling to the appeal court, posting the job's bond.
    function appeal(uint256 jobId, Job calldata job) external;
    /// @notice Anyone moves a dispute whose deadline passed: a silent arbiter's dispute to the default ruling
    /// (appealable), an unappealed ruling or one the court left unanswered to its payout.
    function finalize(uint256 jobId, Job calldata job) external;
    /// @notice Anyone gives a dispute whose assigned arbiter has left the panel a new arbiter and deadline
    /// (before the arbiter's deadline; after it, `finalize` applies the default ruling). A removed arbiter may
    /// no longer rule.
    function reassign(uint256 jobId, Job calldata job) external;

    // ---------------------------------------------------------------------------------- governance

    /// @notice Sets the protocol parameters, each within its constant bounds (owner: governance).
    function setParams(Params calldata p) external;
    /// @notice Allows (with collateral rates) or forbids an ERC-20 for new payments.
    function setTokenTerms(address token, TokenTerms calldata terms) external;
    /// @notice Proposes a new arbiter for disputes opened once `JUDGE_CHANGE_DELAY` has passed; open disputes keep theirs.
    function proposeArbiter(address newArbiter) external;
    /// @notice Anyone installs the proposed arbiter once its delay has passed.
    function activateArbiter() external;
    /// @notice Proposes a new appeal court for appeals opened once `JUDGE_CHANGE_DELAY` has passed.
    function proposeAppealCourt(address newCourt) external;
    /// @notice Anyone installs the proposed appeal court once its delay has passed.
    function activateAppealCourt() external;
    /// @notice Names the treasury that receives protocol fees and the non-compensating part of slashes.
    function setTreasury(address treasury) external;
    /// @notice Refuses (or accepts again) new jobs: the owner both ways, the guardian only to pause.
    /// Withdrawals and every transition of existing jobs keep working.
    function setPaused(bool pause) external;
    /// @notice Names the account that may pause new jobs in an emergency (zero: none).
    function setGuardian(address newGuardian) external;

    // --------------------------------------------------------------------------------------- views

    /// @notice A dispute's state.
    function disputeOf(uint256 jobId) external view returns (Dispute memory);
    /// @notice A payment token's terms.
    function tokenTerms(address token) external view returns (TokenTerms memory);
    /// @notice Current protocol parameters.
    function params() external view returns (Params memory);
    /// @notice The arbiter new disputes are assigned to.
    function arbiter() external view returns (address);
    /// @notice The appeal court new appeals go to.
    function appealCourt() external view returns (address);
    /// @notice Whether new jobs are refused.
    function paused() external view returns (bool);
    /// @notice The account that may pause new jobs.
    function guardian() external view returns (address);
    /// @notice A proposed arbiter or appeal court and when it may take effect (zero when none is pending).
    function pendingJudges()
        external
        view
        returns (address nextArbiter, uint256 arbiterAt, address nextCourt, uint256 courtAt);
}
