// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Governor} from "@openzeppelin/contracts/governance/Governor.sol";
import {GovernorSettings} from "@openzeppelin/contracts/governance/extensions/GovernorSettings.sol";
import {GovernorCountingSimple} from "@openzeppelin/contracts/governance/extensions/GovernorCountingSimple.sol";
import {GovernorVotes} from "@openzeppelin/contracts/governance/extensions/GovernorVotes.sol";
import {GovernorVotesQuorumFraction} from
    "@openzeppelin/contracts/governance/extensions/GovernorVotesQuorumFraction.sol";
import {GovernorTimelockControl} from "@openzeppelin/contracts/governance/extensions/GovernorTimelockControl.sol";
import {GovernorPreventLateQuorum} from "@openzeppelin/contracts/governance/extensions/GovernorPreventLateQuorum.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IJobMarketModule} from "../interfaces/IJobMarketModule.sol";
import {IJobMarketTypes} from "../interfaces/IJobMarketTypes.sol";
import {Job, JobStatus} from "../types/Job.sol";

/// @title FabGovernor
/// @notice Fabrica's DAO: OpenZeppelin's Governor with settings, simple counting, votes, a quorum fraction,
/// timelock control and late-quorum protection, on FabToken's timestamp clock. Two things are Fabrica's own:
/// - a holder's voting power is its FAB votes plus the votes of the FAB it has staked in the NodeRegistry
///   (both checkpointed, read at the proposal's snapshot, so tokens bought or borrowed later never vote);
/// - a party to an appealed dispute may propose the appeal's ruling without the proposal threshold (the DAO is
///   the market's appeal court, and a shop or customer must be able to bring its case to it).
contract FabGovernor is
    Governor,
    GovernorSettings,
    GovernorCountingSimple,
    GovernorVotes,
    GovernorVotesQuorumFraction,
    GovernorTimelockControl,
    GovernorPreventLateQuorum
{
    /// @notice The registry whose staked FAB votes beside FabToken's.
    IVotes public immutable stakeVotes;
    /// @notice The market whose appeals this DAO judges.
    address public immutable market;

    struct Settings {
        uint48 votingDelay;
        uint32 votingPeriod;
        uint256 proposalThreshold;
        uint256 quorumNumerator; // percent of FAB's total supply at the snapshot
        uint48 voteExtension; // late-quorum protection: voting stays open this long after quorum is reached
    }

    constructor(
        IVotes token_,
        IVotes stakeVotes_,
        TimelockController timelock_,
        address market_,
        Settings memory s
    )
        Governor("Fabrica DAO")
        GovernorSettings(s.votingDelay, s.votingPeriod, s.proposalThreshold)
        GovernorVotes(token_)
        GovernorVotesQuorumFraction(s.quorumNumerator)
        GovernorTimelockControl(timelock_)
        GovernorPreventLateQuorum(s.voteExtension)
    {
        stakeVotes = stakeVotes_;
        // slither-disable-next-line missing-zero-check (see contracts/SLITHER.md)
        market = market_;
    }

    /// @notice Creates a proposal. The threshold applies, except to a party of an appealed dispute proposing
    /// that dispute's ruling (one call: `rule` on the market, for a dispute the DAO judges).
    function propose(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        string memory description
    ) public override returns (uint256) {
        address proposer = _msgSender();
        if (!_isAppealRuling(proposer, targets, values, calldatas)) {
            uint256 threshold = proposalThreshold();
            uint256 timepoint = clock() - 1;
            // Liquid FAB votes usually suffice: read the registry only when they do not.
            if (token().getPastVotes(proposer, timepoint) < threshold) {
                uint256 votes = getVotes(proposer, timepoint);
                if (votes < threshold) revert GovernorInsufficientProposerVotes(proposer, votes, threshold);
            }
        }
        if (!_isValidDescriptionForProposer(proposer, description)) revert GovernorRestrictedProposer(proposer);
        return _propose(targets, values, calldatas, description, proposer);
    }

    /// @dev FAB votes plus staked-FAB votes at `timepoint`.
    function _getVotes(address account, uint256 timepoint, bytes memory params)
        internal
        view
        override(Governor, GovernorVotes)
        returns (uint256)
    {
        return super._getVotes(account, timepoint, params) + stakeVotes.getPastVotes(account, timepoint);
    }

    /// @dev Whether the proposal is exactly one `rule` call on the market for an appealed dispute the timelock
    /// judges, proposed by one of its parties.
    function _isAppealRuling(
        address proposer,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas
    ) private view returns (bool) {
        if (targets.length != 1 || values.length != 1 || calldatas.length != 1) return false;
        if (targets[0] != market || values[0] != 0) return false;
        bytes memory data = calldatas[0];
        if (data.length < 4 || bytes4(data) != IJobMarketModule.rule.selector) return false;
        (uint256 jobId, Job memory job,,) = abi.decode(_args(data), (uint256, Job, uint16, uint16));
        if (proposer != job.customer && proposer != job.node) return false;
        if (IJobMarket(market).statusOf(jobId, job) != JobStatus.Disputed) return false;
        IJobMarketTypes.Dispute memory d = IJobMarketModule(market).disputeOf(jobId);
        return d.stage == IJobMarketTypes.DisputeStage.Appealed && d.judge == timelock();
    }

    /// @dev `data` without its 4-byte selector.
    function _args(bytes memory data) private pure returns (bytes memory args) {
        args = new bytes(data.length - 4);
        for (uint256 i = 0; i < args.length; ++i) {
            args[i] = data[i + 4];
        }
    }

    // The overrides Solidity requires where the stock extensions meet.

    function votingDelay() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.votingDelay();
    }

    function votingPeriod() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.votingPeriod();
    }

    function quorum(uint256 timepoint) public view override(Governor, GovernorVotesQuorumFraction) returns (uint256) {
        return super.quorum(timepoint);
    }

    function proposalThreshold() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.proposalThreshold();
    }

    function state(uint256 proposalId)
        public
        view
        override(Governor, GovernorTimelockControl)
        returns (ProposalState)
    {
        return super.state(proposalId);
    }

    function proposalNeedsQueuing(uint256 proposalId)
        public
        view
        override(Governor, GovernorTimelockControl)
        returns (bool)
    {
        return super.proposalNeedsQueuing(proposalId);
    }

    function proposalDeadline(uint256 proposalId)
        public
        view
        override(Governor, GovernorPreventLateQuorum)
        returns (uint256)
    {
        return super.proposalDeadline(proposalId);
    }

    function _tallyUpdated(uint256 proposalId) internal override(Governor, GovernorPreventLateQuorum) {
        super._tallyUpdated(proposalId);
    }

    function _queueOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint48) {
        return super._queueOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _executeOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) {
        super._executeOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _cancel(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint256) {
        return super._cancel(targets, values, calldatas, descriptionHash);
    }

    function _executor() internal view override(Governor, GovernorTimelockControl) returns (address) {
        return super._executor();
    }
}
