// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {GovernanceFixture} from "./GovernanceFixture.sol";
import {TestStablecoin} from "../../src/devnet/TestStablecoin.sol";
import {IJobMarketTypes} from "../../src/interfaces/IJobMarketTypes.sol";
import {IJobMarketModule} from "../../src/interfaces/IJobMarketModule.sol";
import {Job, JobStatus} from "../../src/types/Job.sol";
import {IGovernor} from "@openzeppelin/contracts/governance/IGovernor.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

/// @notice Every action governance controls, each through propose -> vote -> queue -> execute; proposals that
/// fail (defeated, cancelled, too late); the timelock delay; late-quorum protection; the hand-over.
contract GovernanceTest is GovernanceFixture {
    bytes internal constant NEW_MANIFEST = hex"1220abababababababababababababababababababababababababababababababab";

    // --------------------------------------------------------------------------------- hand-over

    /// @notice After deployment the deployer holds no owner role, no pending ownership, no timelock role.
    function test_handOver_deployerHoldsNothing() public view {
        address t = address(timelock);
        Ownable2Step[4] memory owned = [
            Ownable2Step(address(market)),
            Ownable2Step(address(registry)),
            Ownable2Step(address(panel)),
            Ownable2Step(address(manifest))
        ];
        for (uint256 i; i < owned.length; ++i) {
            vm.assertEq(owned[i].owner(), t, "owner is the timelock");
            vm.assertEq(owned[i].pendingOwner(), address(0), "no pending owner");
        }
        bytes32[4] memory roles = [
            timelock.DEFAULT_ADMIN_ROLE(), timelock.PROPOSER_ROLE(), timelock.EXECUTOR_ROLE(), timelock.CANCELLER_ROLE()
        ];
        address[3] memory outsiders = [deployer, address(this), usdIssuer];
        for (uint256 r; r < roles.length; ++r) {
            for (uint256 o; o < outsiders.length; ++o) {
                vm.assertFalse(timelock.hasRole(roles[r], outsiders[o]), "outsider holds a timelock role");
            }
            // The governor proposes and cancels, nothing else; it is never the timelock's admin.
            bool governorHas = roles[r] == timelock.PROPOSER_ROLE() || roles[r] == timelock.CANCELLER_ROLE();
            vm.assertEq(timelock.hasRole(roles[r], address(governor)), governorHas, "governor's roles");
        }
        // The timelock administers itself (role changes are proposals too); execution is open to anyone.
        vm.assertTrue(timelock.hasRole(timelock.DEFAULT_ADMIN_ROLE(), t), "timelock self-admin");
        vm.assertTrue(timelock.hasRole(timelock.EXECUTOR_ROLE(), address(0)), "open execution");
        vm.assertEq(timelock.getMinDelay(), TIMELOCK_DELAY, "delay raised");
        vm.assertEq(governor.timelock(), t, "governor executes through the timelock");
        vm.assertEq(market.treasury(), t, "treasury");
        vm.assertEq(module.appealCourt(), t, "appeal court");
        vm.assertEq(module.arbiter(), address(panel), "arbiter: the panel");
        vm.assertEq(module.guardian(), address(0), "no guardian");
        vm.assertEq(fab.balanceOf(deployer), 0, "deployer FAB");
        vm.assertEq(fab.balanceOf(t), FAB_SUPPLY - ALICE_FAB - BOB_FAB - CAROL_FAB - SHOP_FAB, "treasury FAB");
    }

    /// @notice What the deployer could do before, it can no longer do.
    function test_handOver_deployerCannotAct() public {
        (address[] memory t, uint256[] memory v, bytes[] memory c) =
            _one(address(market), abi.encodeCall(IJobMarketModule.setTreasury, (deployer)));
        vm.startPrank(deployer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, deployer, timelock.PROPOSER_ROLE()
            )
        );
        timelock.scheduleBatch(t, v, c, bytes32(0), bytes32(uint256(1)), TIMELOCK_DELAY);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, deployer));
        module.setTreasury(deployer);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, deployer));
        registry.setMinStake(1);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, deployer));
        panel.appoint(deployer);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, deployer));
        manifest.publish(NEW_MANIFEST);
        vm.stopPrank();
    }

    /// @notice Tally-style front ends read the standard interface: check what they read.
    function test_standardInterface() public view {
        vm.assertEq(governor.name(), "Fabrica DAO", "name");
        vm.assertEq(governor.version(), "1", "version");
        vm.assertEq(governor.CLOCK_MODE(), "mode=timestamp", "clock mode");
        vm.assertEq(uint256(governor.clock()), block.timestamp, "clock");
        vm.assertEq(governor.COUNTING_MODE(), "support=bravo&quorum=for,abstain", "counting");
        vm.assertEq(governor.votingDelay(), VOTING_DELAY, "delay");
        vm.assertEq(governor.votingPeriod(), VOTING_PERIOD, "period");
        vm.assertEq(governor.proposalThreshold(), PROPOSAL_THRESHOLD, "threshold");
        vm.assertEq(governor.quorum(block.timestamp - 1), QUORUM, "quorum: 4 % of the supply");
        vm.assertEq(governor.lateQuorumVoteExtension(), VOTE_EXTENSION, "extension");
        vm.assertTrue(governor.supportsInterface(type(IGovernor).interfaceId), "IGovernor");
    }

    // --------------------------------------------------------------------------- controlled actions

    /// @notice A fee change, voted and executed; the next job pays the new fee.
    function test_setParams_feeChange() public {
        IJobMarketTypes.Params memory p = module.params();
        p.feeBps = 300;
        bytes memory data = abi.encodeCall(IJobMarketModule.setParams, (p));
        _pass(address(market), data, "Raise the fee to 3 %");
        vm.assertEq(module.params().feeBps, 300, "fee");

        (uint256 id, Job memory job) = postJob(100e6, 0);
        vm.assertEq(job.feeBps, 300, "the next job snapshots the new fee");
        job = deliverJob(id, claimJob(id, job));
        vm.prank(customer);
        market.accept(id, job);
        vm.assertEq(market.feesOf(address(usd)), 3e6, "3 % of 100 USD");
    }

    /// @notice The payment-token allowlist: a token the DAO allows can pay for jobs.
    function test_setTokenTerms_allowToken() public {
        vm.prank(usdIssuer);
        TestStablecoin eur = new TestStablecoin(usdIssuer);
        vm.assertFalse(market.isTokenAllowed(address(eur)), "not yet allowed");
        _pass(address(market), abi.encodeCall(IJobMarketModule.setTokenTerms, (address(eur), usdTerms())), "Allow EUR");
        vm.assertTrue(market.isTokenAllowed(address(eur)), "allowed");
        vm.prank(usdIssuer);
        eur.mint(customer, 100e6);
        vm.startPrank(customer);
        eur.approve(address(market), type(uint256).max);
        market.post(address(eur), 100e6, SPEC_CID, 0, uint40(block.timestamp + 1 days), 7 days, MIN_COLLATERAL, 0, 0);
        vm.stopPrank();
        vm.assertEq(eur.balanceOf(address(market)), 100e6, "paid in the new token");
    }

    /// @notice Treasury spending: market fees reach the timelock, and only a proposal moves them.
    function test_treasurySpend_erc20() public {
        (uint256 id, Job memory job) = postJob(1_000e6, 0);
        job = deliverJob(id, claimJob(id, job));
        vm.prank(customer);
        market.accept(id, job);
        market.withdrawFees(address(usd));
        uint256 fees = 25e6; // 2.5 % of 1 000 USD
        vm.assertEq(usd.balanceOf(address(timelock)), fees, "fees in the treasury");

        address grantee = address(0x6A47);
        _pass(address(usd), abi.encodeCall(usd.transfer, (grantee, fees)), "Grant the fees");
        vm.assertEq(usd.balanceOf(grantee), fees, "grantee paid");
        vm.assertEq(usd.balanceOf(address(timelock)), 0, "treasury spent");

        uint256 grant = 1_000_000e18;
        uint256 before = fab.balanceOf(address(timelock));
        _pass(address(fab), abi.encodeCall(fab.transfer, (grantee, grant)), "Grant 1 M FAB");
        vm.assertEq(fab.balanceOf(grantee), grant, "FAB grant");
        vm.assertEq(fab.balanceOf(address(timelock)), before - grant, "FAB treasury");
    }

    /// @notice The arbiter panel: governance appoints and removes members; new disputes go to the members.
    function test_panel_appointAndRemove() public {
        address arbiter3 = address(0xA4B3);
        _pass(address(panel), abi.encodeCall(panel.appoint, (arbiter3)), "Appoint arbiter 3");
        vm.assertTrue(panel.isArbiter(arbiter3), "appointed");
        _pass(address(panel), abi.encodeCall(panel.remove, (arbiter)), "Remove arbiter 1");
        vm.assertFalse(panel.isArbiter(arbiter), "removed");
        address[] memory members = panel.arbiters();
        vm.assertEq(members.length, 2, "two members");
        for (uint256 i; i < 2; ++i) {
            (uint256 id, Job memory job) = _delivered();
            vm.prank(customer);
            module.dispute(id, job, PROOF_CID);
            address judge = module.disputeOf(id).judge;
            vm.assertTrue(judge == arbiter2 || judge == arbiter3, "a current member judges");
        }
    }

    /// @notice Pausing: governance names a guardian; the guardian pauses new jobs; only governance resumes.
    function test_pause_guardianAndGovernance() public {
        address guardian = address(0x6A4D);
        _pass(address(market), abi.encodeCall(IJobMarketModule.setGuardian, (guardian)), "Name a guardian");
        vm.assertEq(module.guardian(), guardian, "guardian");

        vm.prank(guardian);
        module.setPaused(true);
        vm.assertTrue(module.paused(), "paused");
        vm.prank(customer);
        vm.expectRevert(IJobMarketTypes.JobMarket__Paused.selector);
        market.post(address(usd), 100e6, SPEC_CID, 0, uint40(block.timestamp + 1 days), 7 days, MIN_COLLATERAL, 0, 0);
        // The guardian brakes; it cannot release.
        vm.prank(guardian);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotGuardian.selector, guardian));
        module.setPaused(false);

        _pass(address(market), abi.encodeCall(IJobMarketModule.setPaused, (false)), "Resume new jobs");
        vm.assertFalse(module.paused(), "resumed");
        postJob(100e6, 0);

        // Governance pauses directly too.
        _pass(address(market), abi.encodeCall(IJobMarketModule.setPaused, (true)), "Pause new jobs");
        vm.assertTrue(module.paused(), "paused by governance");
    }

    /// @notice A deployment upgrade is a manifest published by vote.
    function test_manifest_publish() public {
        _pass(address(manifest), abi.encodeCall(manifest.publish, (NEW_MANIFEST)), "Manifest v1");
        vm.assertEq(manifest.version(), 1, "version");
        vm.assertEq(manifest.manifestCid(), NEW_MANIFEST, "cid");
    }

    /// @notice Changing the market's arbiter: governance proposes, anyone activates after the market's delay.
    function test_proposeArbiter_activate() public {
        address next = address(0xA4B9);
        _pass(address(market), abi.encodeCall(IJobMarketModule.proposeArbiter, (next)), "New arbiter");
        (address pending, uint256 due,,) = module.pendingJudges();
        vm.assertEq(pending, next, "pending arbiter");
        vm.warp(due);
        vm.prank(stranger);
        module.activateArbiter();
        vm.assertEq(module.arbiter(), next, "activated");
    }

    /// @notice Registry parameters are governance's too.
    function test_registry_setMinStake() public {
        _pass(address(registry), abi.encodeCall(registry.setMinStake, (2_000e18)), "Raise the minimum stake");
        vm.assertEq(registry.minStake(), 2_000e18, "min stake");
    }

    // ---------------------------------------------------------------------------- failed proposals

    /// @notice More against than for: defeated, and it can be neither queued nor executed.
    function test_defeated_majorityAgainst() public {
        bytes memory data = abi.encodeCall(IJobMarketModule.setTreasury, (alice));
        uint256 id = _propose(alice, address(market), data, "Pay me");
        _toVoting(id);
        _vote(alice, id, 1); // 30 M for
        _vote(bob, id, 0); // 25 M against
        _vote(carol, id, 0); // 10 M against
        _toEnd(id);
        vm.assertEq(uint256(governor.state(id)), uint256(IGovernor.ProposalState.Defeated), "defeated");
        (address[] memory t, uint256[] memory v, bytes[] memory c) = _one(address(market), data);
        vm.expectRevert(
            abi.encodeWithSelector(
                IGovernor.GovernorUnexpectedProposalState.selector,
                id,
                IGovernor.ProposalState.Defeated,
                bytes32(1 << uint8(IGovernor.ProposalState.Succeeded))
            )
        );
        governor.queue(t, v, c, keccak256("Pay me"));
        vm.expectRevert();
        governor.execute(t, v, c, keccak256("Pay me"));
        vm.assertEq(market.treasury(), address(timelock), "treasury unchanged");
    }

    /// @notice Unanimous but below quorum (10 M of the 40 M needed): defeated.
    function test_defeated_noQuorum() public {
        uint256 id = _propose(alice, address(manifest), abi.encodeCall(manifest.publish, (NEW_MANIFEST)), "m");
        _toVoting(id);
        _vote(carol, id, 1);
        _toEnd(id);
        (, uint256 forVotes,) = governor.proposalVotes(id);
        vm.assertEq(forVotes, CAROL_FAB, "for");
        vm.assertLt(forVotes, governor.quorum(governor.proposalSnapshot(id)), "below quorum");
        vm.assertEq(uint256(governor.state(id)), uint256(IGovernor.ProposalState.Defeated), "defeated");
    }

    /// @notice Abstentions count toward quorum, not toward the outcome.
    function test_abstainCountsForQuorum() public {
        uint256 id = _propose(alice, address(manifest), abi.encodeCall(manifest.publish, (NEW_MANIFEST)), "m");
        _toVoting(id);
        _vote(carol, id, 1); // 10 M for
        _vote(alice, id, 2); // 30 M abstain: quorum (40 M) reached
        _toEnd(id);
        vm.assertEq(uint256(governor.state(id)), uint256(IGovernor.ProposalState.Succeeded), "succeeded");
    }

    /// @notice Nobody votes in time: the proposal is over (Defeated), and no vote is taken after the deadline.
    function test_expired_noVoteAfterDeadline() public {
        uint256 id = _propose(alice, address(manifest), abi.encodeCall(manifest.publish, (NEW_MANIFEST)), "m");
        _toEnd(id);
        vm.assertEq(uint256(governor.state(id)), uint256(IGovernor.ProposalState.Defeated), "over");
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(
                IGovernor.GovernorUnexpectedProposalState.selector,
                id,
                IGovernor.ProposalState.Defeated,
                bytes32(1 << uint8(IGovernor.ProposalState.Active))
            )
        );
        governor.castVote(id, 1);
    }

    /// @notice The proposer withdraws its proposal before voting opens; nobody else can, nor later.
    function test_cancelled() public {
        bytes memory data = abi.encodeCall(manifest.publish, (NEW_MANIFEST));
        (address[] memory t, uint256[] memory v, bytes[] memory c) = _one(address(manifest), data);
        uint256 id = _propose(alice, address(manifest), data, "m");
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorUnableToCancel.selector, id, bob));
        governor.cancel(t, v, c, keccak256("m"));
        vm.prank(alice);
        governor.cancel(t, v, c, keccak256("m"));
        vm.assertEq(uint256(governor.state(id)), uint256(IGovernor.ProposalState.Canceled), "cancelled");
        _toVoting(id);
        vm.prank(bob);
        vm.expectRevert(
            abi.encodeWithSelector(
                IGovernor.GovernorUnexpectedProposalState.selector,
                id,
                IGovernor.ProposalState.Canceled,
                bytes32(1 << uint8(IGovernor.ProposalState.Active))
            )
        );
        governor.castVote(id, 1);
        // Once voting opened the proposer cannot cancel either.
        uint256 id2 = _propose(alice, address(manifest), data, "m2");
        _toVoting(id2);
        (t, v, c) = _one(address(manifest), data);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorUnableToCancel.selector, id2, alice));
        governor.cancel(t, v, c, keccak256("m2"));
    }

    /// @notice Without the threshold (1 M FAB of votes) nobody proposes.
    function test_propose_belowThreshold() public {
        (address[] memory t, uint256[] memory v, bytes[] memory c) =
            _one(address(manifest), abi.encodeCall(manifest.publish, (NEW_MANIFEST)));
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(
                IGovernor.GovernorInsufficientProposerVotes.selector, stranger, 0, PROPOSAL_THRESHOLD
            )
        );
        governor.propose(t, v, c, "m");
    }

    // ------------------------------------------------------------------------------ timelock delay

    /// @notice A queued proposal waits the whole timelock delay; the timelock refuses it a second early.
    function test_cannotExecuteBeforeDelay() public {
        bytes memory data = abi.encodeCall(IJobMarketModule.setTreasury, (alice));
        uint256 id = _propose(alice, address(market), data, "t");
        _toVoting(id);
        _vote(alice, id, 1);
        _vote(bob, id, 1);
        _toEnd(id);
        _queue(address(market), data, "t");
        uint256 eta = governor.proposalEta(id);
        vm.assertEq(eta, block.timestamp + TIMELOCK_DELAY, "eta");
        (address[] memory t, uint256[] memory v, bytes[] memory c) = _one(address(market), data);
        // GovernorTimelockControl salts the operation with the governor's address.
        bytes32 opId = timelock.hashOperationBatch(t, v, c, bytes32(0), bytes20(address(governor)) ^ keccak256("t"));
        vm.warp(eta - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                TimelockController.TimelockUnexpectedOperationState.selector,
                opId,
                bytes32(1 << uint8(TimelockController.OperationState.Ready))
            )
        );
        governor.execute(t, v, c, keccak256("t"));
        vm.assertEq(market.treasury(), address(timelock), "not yet");
        vm.warp(eta);
        governor.execute(t, v, c, keccak256("t"));
        vm.assertEq(market.treasury(), alice, "executed at eta");
    }

    // ------------------------------------------------------------------------------- late quorum

    /// @notice Quorum reached at the last moment extends voting by VOTE_EXTENSION, so the other side can react.
    function test_lateQuorum_extendsDeadline() public {
        uint256 id = _propose(alice, address(manifest), abi.encodeCall(manifest.publish, (NEW_MANIFEST)), "m");
        uint256 deadline = governor.proposalDeadline(id);
        _toVoting(id);
        _vote(carol, id, 2); // 10 M abstain: counts toward quorum, not enough alone
        vm.warp(deadline - 60);
        vm.expectEmit(address(governor));
        emit ProposalExtended(id, uint64(block.timestamp + VOTE_EXTENSION));
        _vote(alice, id, 1); // 30 M for: 40 M toward quorum, reached a minute before the end
        vm.assertEq(governor.proposalDeadline(id), block.timestamp + VOTE_EXTENSION, "extended");
        vm.warp(deadline + 1);
        vm.assertEq(uint256(governor.state(id)), uint256(IGovernor.ProposalState.Active), "still open");
        _vote(bob, id, 0); // the other side still votes after the original deadline
        (uint256 against,,) = governor.proposalVotes(id);
        vm.assertEq(against, BOB_FAB, "late vote counted");
        _toEnd(id);
        vm.assertEq(uint256(governor.state(id)), uint256(IGovernor.ProposalState.Succeeded), "30 M for, 25 M against");
    }

    /// @notice Quorum reached early: no extension.
    function test_earlyQuorum_noExtension() public {
        uint256 id = _propose(alice, address(manifest), abi.encodeCall(manifest.publish, (NEW_MANIFEST)), "m");
        uint256 deadline = governor.proposalDeadline(id);
        _toVoting(id);
        _vote(alice, id, 1);
        _vote(bob, id, 1);
        vm.assertEq(governor.proposalDeadline(id), deadline, "unchanged");
    }

    /// @dev GovernorPreventLateQuorum's event, re-declared for expectEmit.
    event ProposalExtended(uint256 indexed proposalId, uint64 extendedDeadline);

    // ----------------------------------------------------------------------------------- helpers

    function _delivered() internal returns (uint256 id, Job memory job) {
        (id, job) = postJob(100e6, 0);
        job = deliverJob(id, claimJob(id, job));
        vm.assertEq(uint256(market.statusOf(id, job)), uint256(JobStatus.Delivered), "delivered");
    }
}
