// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MarketFixture} from "./utils/MarketFixture.sol";
import {IJobMarketTypes} from "../src/interfaces/IJobMarketTypes.sol";
import {INodeRegistry} from "../src/interfaces/INodeRegistry.sol";
import {Job, JobStatus} from "../src/types/Job.sol";
import {FeeOnTransferToken} from "./mocks/FeeOnTransferToken.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @notice The attacks of issue 12 ("Job market v2") and issue 13 (DAO: silent arbiters, appeals, pause), one
/// test each: the attacker ends no richer and the
/// victim loses at most what the rules state. Wealth is compared before and after, in the payment token
/// (wallet + market balance) and in FAB (wallet + market balance + stake, bonded and unbonding).
contract JobMarketAttacksTest is MarketFixture {
    uint256 internal constant STAKED = 10_000e18;
    uint96 internal constant MAX_COLLATERAL_100USD = 1_000e18; // 100 USD at the 10 FAB/USD maximum rate

    struct Wealth {
        uint256 usd;
        uint256 fab;
    }

    function _wealth(address a) internal view returns (Wealth memory w) {
        w.usd = usd.balanceOf(a) + market.balanceOf(address(usd), a);
        INodeRegistry.Stake memory s = registry.stakeOf(a);
        w.fab = fab.balanceOf(a) + market.balanceOf(address(fab), a) + s.staked + s.unbonding;
    }

    /// @dev Posts a 100 USD job of the customer's with the given window and collateral (no design).
    function _postAs(address who, uint32 window, uint96 collateral) internal returns (uint256 id, Job memory job) {
        uint40 claimBy = uint40(block.timestamp + 1 days);
        vm.prank(who);
        id = market.post(address(usd), AMOUNT, SPEC_CID, 0, claimBy, window, collateral, 0, 0);
        job = withKey(openJob(AMOUNT, 0, claimBy, window, collateral), uint64(id));
        job.customer = who;
    }

    function _claimAs(address who, uint256 node, uint256 id, Job memory job) internal returns (Job memory) {
        vm.prank(who);
        market.claim(id, job, node);
        job.node = who;
        job.deadline = uint40(block.timestamp + job.deliveryWindow);
        return job;
    }

    /// @dev Every USD the market holds is owed to someone: credited balances, fees and live escrows.
    function _assertUsdBacked(uint256 liveEscrow) internal view {
        address[6] memory who = [customer, shop, shop2, designer, stranger, treasury];
        uint256 owed = market.feesOf(address(usd)) + liveEscrow;
        for (uint256 i; i < who.length; ++i) {
            owed += market.balanceOf(address(usd), who[i]);
        }
        vm.assertEq(usd.balanceOf(address(market)), owed, "market USD = what it owes");
    }

    // =========================================================================== collateral farming

    function test_collateralFarming_undeliverableJobHandedBackCostsShopNothing() public {
        // The customer asks the most collateral allowed with the shortest window, for a design "sealed" to a
        // throwaway key: no shop can make it. The shop finds out after claiming and hands it back in time.
        Wealth memory c0 = _wealth(customer);
        Wealth memory s0 = _wealth(shop);
        (uint256 id, Job memory job) = _postAs(customer, 1 hours, MAX_COLLATERAL_100USD);
        job = _claimAs(shop, nodeId, id, job);
        vm.warp(block.timestamp + HAND_BACK_WINDOW);
        vm.prank(shop);
        market.handBack(id, job);
        job = _handedBack(job);
        vm.prank(customer);
        market.cancel(id, job);
        Wealth memory c1 = _wealth(customer);
        Wealth memory s1 = _wealth(shop);
        vm.assertEq(c1.fab, c0.fab, "customer farmed no FAB");
        vm.assertEq(c1.usd, c0.usd, "customer's escrow back, nothing more");
        vm.assertEq(s1.fab, s0.fab, "shop lost no collateral");
        vm.assertEq(s1.usd, s0.usd, "shop USD unchanged");
    }

    function test_collateralFarming_windowBelowOneHourRefused() public {
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__InvalidDeliveryWindow.selector, 1 hours - 1, 1 hours, 365 days
            )
        );
        market.post(address(usd), AMOUNT, SPEC_CID, 0, uint40(block.timestamp + 1 days), 1 hours - 1, MIN_COLLATERAL, 0, 0);
        _assertNoFundsMoved(before);
    }

    function test_collateralFarming_collateralAboveMaxRateRefused() public {
        // 100 USD may ask at most 10 FAB per USD = 1 000 FAB; 1 wei more is refused.
        (, uint256 hi) = market.collateralBounds(address(usd), AMOUNT);
        vm.assertEq(hi, MAX_COLLATERAL_100USD, "max");
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__CollateralOutOfBounds.selector, hi + 1, MIN_COLLATERAL, hi
            )
        );
        market.post(address(usd), AMOUNT, SPEC_CID, 0, uint40(block.timestamp + 1 days), 7 days, uint96(hi + 1), 0, 0);
        _assertNoFundsMoved(before);
    }

    function test_collateralFarming_missedDeliveryCompensationIsBoundedShare() public {
        // A shop that fails to deliver a 100 USD job with 1 000 FAB collateral: 50 % expiry slash = 500 FAB.
        // The customer's compensation is 50 % of the slash = 250 FAB (at most compensationBps, capped at 50 %
        // by MAX_COMPENSATION_BPS); the other 250 FAB go to the treasury.
        Wealth memory c0 = _wealth(customer);
        Wealth memory s0 = _wealth(shop);
        (uint256 id, Job memory job) = _postAs(customer, 1 hours, MAX_COLLATERAL_100USD);
        job = _claimAs(shop, nodeId, id, job);
        vm.warp(job.deadline + 1);
        vm.prank(stranger);
        market.expire(id, job);
        uint256 slashed = 500e18;
        Wealth memory c1 = _wealth(customer);
        vm.assertEq(c1.usd, c0.usd, "escrow refunded, no USD profit");
        vm.assertEq(c1.fab - c0.fab, 250e18, "compensation = 50 % of the slash");
        vm.assertLe(c1.fab - c0.fab, slashed * market.MAX_COMPENSATION_BPS() / BPS, "never above half the slash");
        vm.assertEq(market.feesOf(address(fab)), 250e18, "treasury gets the rest");
        vm.assertEq(s0.fab - _wealth(shop).fab, slashed, "shop loses exactly the slash");
    }

    function test_collateralFarming_selfDealingLosesTheTreasuryShare() public {
        // Customer and shop are one actor (shop2 posts and claims its own job, then lets it expire): it cannot
        // farm the compensation, it pays the treasury's half of the slash: 1 000 FAB * 50 % * 50 % = 250 FAB.
        vm.prank(owner);
        usd.mint(shop2, 1_000e6);
        vm.prank(shop2);
        usd.approve(address(market), type(uint256).max);
        Wealth memory a0 = _wealth(shop2);
        (uint256 id, Job memory job) = _postAs(shop2, 1 hours, MAX_COLLATERAL_100USD);
        job = _claimAs(shop2, nodeId2, id, job);
        vm.warp(job.deadline + 1);
        market.expire(id, job);
        Wealth memory a1 = _wealth(shop2);
        vm.assertEq(a1.usd, a0.usd, "USD back");
        vm.assertEq(a0.fab - a1.fab, 250e18, "net loss: the treasury's share");
    }

    // ============================================================================ disputes, no exit

    function _silentJudgesEndDispute() internal returns (uint256 id, Job memory job) {
        (id, job) = _disputed(0);
        vm.warp(block.timestamp + DISPUTE_WINDOW + 1);
        vm.prank(stranger);
        module.finalize(id, job); // silent arbiter: the default ruling, appealable
        vm.warp(block.timestamp + APPEAL_WINDOW + 1);
        vm.prank(stranger);
        module.finalize(id, job); // nobody appealed: it applies
    }

    function test_noExit_silentArbiterStillEndsTheDispute() public {
        Wealth memory c0 = _wealth(customer);
        Wealth memory s0 = _wealth(shop);
        (uint256 id, Job memory job) = _silentJudgesEndDispute();
        vm.assertEq(_status(id, job), uint256(JobStatus.Resolved), "resolved");
        // Default: 50 USD back + the 10 USD bond (a half refund counts as a customer win); the other 50 USD
        // pay a 1.25 USD fee and 48.75 USD to the shop; no slash.
        vm.assertEq(c0.usd - _wealth(customer).usd, 50e6, "customer paid half");
        vm.assertEq(_wealth(shop).usd - s0.usd, 48_750_000, "shop paid the other half minus fee");
        vm.assertEq(_wealth(shop).fab, s0.fab, "no slash");
        vm.assertEq(market.lockedOf(shop), 0, "collateral released");
        _assertUsdBacked(0);
        // Everyone can take their money out: nothing stays stuck in the market.
        vm.prank(customer);
        market.withdraw(address(usd), customer);
        vm.prank(shop);
        market.withdraw(address(usd), shop);
        market.withdrawFees(address(usd));
        vm.assertEq(usd.balanceOf(address(market)), 0, "market empty");
    }

    function test_noExit_disputesEndAfterOwnerRenounced() public {
        (uint256 id, Job memory job) = _disputed(0);
        vm.prank(owner);
        market.renounceOwnership();
        vm.warp(block.timestamp + DISPUTE_WINDOW + 1);
        module.finalize(id, job);
        vm.warp(block.timestamp + APPEAL_WINDOW + 1);
        module.finalize(id, job);
        vm.assertEq(_status(id, job), uint256(JobStatus.Resolved), "resolved without an owner");
        vm.assertEq(market.lockedOf(shop), 0, "collateral released");
        // Also a ruled dispute and an ordinary job end without an owner.
        (uint256 id2, Job memory job2) = _disputed(0);
        vm.prank(arbiter);
        module.rule(id2, job2, 10_000, 0);
        vm.warp(block.timestamp + APPEAL_WINDOW + 1);
        module.finalize(id2, job2);
        vm.assertEq(_status(id2, job2), uint256(JobStatus.Resolved), "ruled dispute resolved");
        _assertUsdBacked(0);
        market.withdrawFees(address(usd));
        vm.assertEq(usd.balanceOf(treasury), 1_250_000, "fees still reach the treasury");
    }

    // ================================================================================ claim and sit

    function test_claimAndSit_expiryByAnyoneSlashesTheShop() public {
        Wealth memory c0 = _wealth(customer);
        Wealth memory s0 = _wealth(shop);
        Wealth memory x0 = _wealth(stranger);
        (uint256 id, Job memory job) = _claimed(0); // 10 FAB collateral, 7-day window
        vm.warp(job.deadline + 1);
        vm.prank(stranger); // not the customer: anyone ends it
        market.expire(id, job);
        // 50 % of 10 FAB slashed: the shop lost 5 FAB and earned nothing for sitting.
        vm.assertEq(s0.fab - _wealth(shop).fab, 5e18, "shop slashed");
        vm.assertEq(_wealth(shop).usd, s0.usd, "shop earned nothing");
        vm.assertEq(_wealth(customer).usd, c0.usd, "customer refunded");
        vm.assertEq(_wealth(customer).fab - c0.fab, 2.5e18, "customer compensated");
        vm.assertEq(_wealth(stranger).usd, x0.usd, "caller gains nothing");
        vm.assertEq(_wealth(stranger).fab, x0.fab, "caller gains no FAB");
    }

    function test_claimAndSit_handingBackLateStillCosts() public {
        Wealth memory s0 = _wealth(shop);
        (uint256 id, Job memory job) = _claimed(0);
        vm.warp(job.deadline); // sat on it for the whole window
        vm.prank(shop);
        market.handBack(id, job);
        vm.assertEq(s0.fab - _wealth(shop).fab, 1e18, "10 % hand-back penalty");
    }

    /// @notice Claim-and-sit by cycling: hand back inside the free window and re-claim in the same block, so the
    /// job is never Open at a block boundary and never expires. The operator that handed a job back may not
    /// claim it again, and nobody may for REOPEN_COOLDOWN: the customer always gets an hour to cancel, and
    /// does, losing nothing; the cycling shop gained nothing either.
    function test_claimAndSit_handBackCycleIsBrokenAndCustomerCancels() public {
        (uint256 id, Job memory job) = _claimed(0);
        uint256 customerUsd = usd.balanceOf(customer) + market.balanceOf(address(usd), customer);
        uint256 shopStake = registry.stakeOf(shop).staked;
        vm.warp(block.timestamp + HAND_BACK_WINDOW);
        vm.prank(shop);
        market.handBack(id, job);
        job = _handedBack(job);
        // The same operator cannot re-claim, in this block or later.
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__HandedBackByCaller.selector, id, shop));
        market.claim(id, job, nodeId);
        // An accomplice (another staked operator) must wait out the cooldown.
        uint256 claimableAt = block.timestamp + market.REOPEN_COOLDOWN();
        vm.prank(shop2);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__ReopenCooldown.selector, id, claimableAt, block.timestamp
            )
        );
        market.claim(id, job, nodeId2);
        // Meanwhile the customer cancels and has its whole escrow back.
        vm.prank(customer);
        market.cancel(id, job);
        vm.assertEq(
            usd.balanceOf(customer) + market.balanceOf(address(usd), customer), customerUsd + AMOUNT, "escrow back"
        );
        vm.assertEq(registry.stakeOf(shop).staked, shopStake, "free hand-back cost the shop nothing");
        vm.assertEq(market.lockedOf(shop), 0, "nothing left locked");
    }

    function test_claimAndSit_collateralCanNeverBeZero() public {
        IJobMarketTypes.Params memory p = defaultParams();
        p.minCollateral = 1e15 - 1;
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__ParameterOutOfBounds.selector,
                bytes32("minCollateral"),
                1e15 - 1,
                1e15,
                1_000_000e18
            )
        );
        module.setParams(p);
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__InvalidTokenTerms.selector, address(usd), 0, MAX_RATE)
        );
        module.setTokenTerms(address(usd), IJobMarketTypes.TokenTerms(true, 0, MAX_RATE));
        // Even at the lowest settings a job asks at least 0.001 FAB.
        p.minCollateral = 1e15;
        vm.prank(owner);
        module.setParams(p);
        vm.prank(owner);
        module.setTokenTerms(address(usd), IJobMarketTypes.TokenTerms(true, 1, 1));
        (uint256 lo,) = market.collateralBounds(address(usd), 1);
        vm.assertEq(lo, 1e15, "floor");
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__CollateralOutOfBounds.selector, 0, 1e15, 1e15)
        );
        market.post(address(usd), 1, SPEC_CID, 0, uint40(block.timestamp + 1 days), 7 days, 0, 0, 0);
    }

    // ==================================================================================== junk proofs

    function test_junkProof_disputedInTimeRefundsAndSlashes() public {
        Wealth memory c0 = _wealth(customer);
        Wealth memory s0 = _wealth(shop);
        (uint256 id, Job memory job) = _delivered(0); // the "proof" is junk
        vm.warp(job.deadline); // the last second of the review window
        vm.prank(customer);
        module.dispute(id, job, PROOF_CID);
        vm.prank(arbiter);
        module.rule(id, job, 10_000, 10_000);
        vm.warp(block.timestamp + APPEAL_WINDOW + 1);
        module.finalize(id, job);
        vm.assertEq(_wealth(customer).usd, c0.usd, "escrow and bond back");
        vm.assertEq(_wealth(customer).fab - c0.fab, 5e18, "half the 10 FAB slash");
        vm.assertEq(s0.fab - _wealth(shop).fab, 10e18, "shop fully slashed");
        vm.assertEq(_wealth(shop).usd, s0.usd, "shop paid nothing for junk");
    }

    function test_junkProof_cannotBeSettledDuringReview() public {
        (uint256 id, Job memory job) = _delivered(0);
        vm.warp(job.deadline);
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__DeadlineNotPassed.selector, id, job.deadline, job.deadline
            )
        );
        market.settle(id, job);
        // Documented: a customer who lets the review window pass pays for whatever was delivered.
        vm.warp(job.deadline + 1);
        vm.prank(shop);
        market.settle(id, job);
        vm.assertEq(market.balanceOf(address(usd), shop), AMOUNT - AMOUNT * FEE_BPS / BPS, "paid after the window");
    }

    // ============================================================================ instant arbiter swap

    function test_arbiterSwap_openDisputeKeepsItsJudge() public {
        address colluder = address(0xBAD);
        (uint256 id, Job memory job) = _disputed(0);
        vm.prank(owner);
        module.proposeArbiter(colluder);
        uint256 due = block.timestamp + market.JUDGE_CHANGE_DELAY();
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__ChangeNotDue.selector, bytes32("arbiter"), due, block.timestamp
            )
        );
        module.activateArbiter();
        vm.warp(due);
        module.activateArbiter();
        vm.assertEq(module.arbiter(), colluder, "active for new disputes");
        bytes32 before = _funds();
        vm.prank(colluder);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotJudge.selector, id, colluder, arbiter));
        module.rule(id, job, 10_000, 10_000);
        _assertNoFundsMoved(before);
        vm.assertEq(module.disputeOf(id).judge, arbiter, "judge fixed at opening");
    }

    function _colludingArbiterRuling() internal returns (uint256 id, Job memory job, address colluder) {
        colluder = address(0xBAD);
        vm.prank(owner);
        module.proposeArbiter(colluder);
        vm.warp(block.timestamp + market.JUDGE_CHANGE_DELAY());
        module.activateArbiter();
        (id, job) = _disputed(0);
        vm.prank(colluder);
        module.rule(id, job, 10_000, 10_000);
    }

    function test_arbiterSwap_colludingRulingGivesAtMostTheCompensationShare() public {
        Wealth memory c0 = _wealth(customer);
        (uint256 id, Job memory job,) = _colludingArbiterRuling();
        vm.warp(block.timestamp + APPEAL_WINDOW + 1);
        module.finalize(id, job); // the shop did not appeal
        // The worst case for the shop: the customer gets its escrow back and 50 % of the 10 FAB collateral.
        vm.assertEq(_wealth(customer).usd, c0.usd, "no USD profit");
        vm.assertEq(_wealth(customer).fab - c0.fab, MIN_COLLATERAL * COMPENSATION_BPS / BPS, "compensation share");
        vm.assertEq(market.feesOf(address(fab)), MIN_COLLATERAL / 2, "the rest to the treasury");
    }

    function test_arbiterSwap_shopAppealsAndCourtReverses() public {
        vm.prank(owner);
        usd.mint(shop, 100e6);
        vm.prank(shop);
        usd.approve(address(market), type(uint256).max);
        Wealth memory c0 = _wealth(customer);
        Wealth memory s0 = _wealth(shop);
        (uint256 id, Job memory job,) = _colludingArbiterRuling();
        vm.prank(shop);
        module.appeal(id, job);
        vm.prank(court);
        module.rule(id, job, 0, 0);
        // Reversed: the shop is paid (97.5 USD) and wins both the customer's dispute bond and its own appeal
        // bond back; the customer loses the escrow and its bond, gets no FAB.
        vm.assertEq(_wealth(shop).usd - s0.usd, 97_500_000 + 10e6, "shop paid + customer's bond");
        vm.assertEq(_wealth(shop).fab, s0.fab, "no slash");
        vm.assertEq(c0.usd - _wealth(customer).usd, AMOUNT + 10e6, "customer pays for the job and the bond");
        vm.assertEq(_wealth(customer).fab, c0.fab, "no FAB for the customer");
    }

    // ====================================================================== issue 13: arbiters, appeals

    function test_silentArbiter_earnsNothingEvenWhenTheDefaultIsAppealedAndStands() public {
        Wealth memory a0 = _wealth(arbiter);
        (uint256 id, Job memory job) = _disputed(0);
        vm.warp(block.timestamp + DISPUTE_WINDOW + 1);
        module.finalize(id, job); // the arbiter never ruled: the default ruling
        vm.prank(customer);
        module.appeal(id, job);
        vm.prank(court);
        module.rule(id, job, 5_000, 0); // the default stands: a lost appeal whose bond pays "the arbiter's fee"
        vm.assertEq(_wealth(arbiter).usd, a0.usd, "no fee for silence");
        vm.assertEq(market.feesOf(address(usd)), 1_250_000 + 10e6, "the whole lost bond to the treasury");
        _assertUsdBacked(0);
    }

    /// @dev A dispute the arbiter rules `refundBps` (no slash) that `appellant` appeals or not; the court
    /// confirms the ruling. Returns the customer's and the shop's USD wealth change (signed, as int).
    function _appealLost(bool appeal, address appellant, uint16 refundBps) internal returns (int256 dc, int256 ds) {
        vm.prank(owner);
        usd.mint(shop, 100e6);
        vm.prank(shop);
        usd.approve(address(market), type(uint256).max);
        Wealth memory c0 = _wealth(customer);
        Wealth memory s0 = _wealth(shop);
        (uint256 id, Job memory job) = _disputed(0);
        vm.prank(arbiter);
        module.rule(id, job, refundBps, 0);
        if (appeal) {
            vm.prank(appellant);
            module.appeal(id, job);
            vm.prank(court);
            module.rule(id, job, refundBps, 0);
        } else {
            vm.warp(block.timestamp + APPEAL_WINDOW + 1);
            module.finalize(id, job);
        }
        dc = int256(_wealth(customer).usd) - int256(c0.usd);
        ds = int256(_wealth(shop).usd) - int256(s0.usd);
    }

    function test_appeal_lostBondNeverReachesTheOpponent() public {
        uint256 snap = vm.snapshotState();
        (int256 dcPlain, int256 dsPlain) = _appealLost(false, shop, 10_000);
        vm.revertToState(snap);
        (int256 dcAppeal, int256 dsAppeal) = _appealLost(true, shop, 10_000);
        // The shop's frivolous appeal costs it exactly the bond; the customer gets not a unit more for it, so
        // a customer and a shop that collude (or are one person) lose the bond by appealing.
        vm.assertEq(uint256(dsPlain - dsAppeal), 10e6, "the appellant loses its bond");
        vm.assertEq(uint256(dcAppeal), uint256(dcPlain), "the opponent gains nothing"); // same change, to the unit
        vm.assertEq(uint256(-(dcAppeal + dsAppeal)) - uint256(-(dcPlain + dsPlain)), 10e6, "colluders lose the bond");
        vm.assertEq(market.balanceOf(address(usd), arbiter), 2e6, "20 % to the arbiter whose ruling stood");
        snap = vm.snapshotState();
        (dcPlain, dsPlain) = _appealLost(false, customer, 0);
        vm.revertToState(snap);
        (dcAppeal, dsAppeal) = _appealLost(true, customer, 0);
        vm.assertEq(uint256(dcPlain - dcAppeal), 10e6, "the customer appellant loses its bond");
        vm.assertEq(uint256(dsAppeal), uint256(dsPlain), "the shop gains nothing");
    }

    function test_appeal_silentCourtGivesTheAppellantNothingExtra() public {
        vm.prank(owner);
        usd.mint(shop, 100e6);
        vm.prank(shop);
        usd.approve(address(market), type(uint256).max);
        Wealth memory s0 = _wealth(shop);
        Wealth memory c0 = _wealth(customer);
        (uint256 id, Job memory job) = _disputed(0);
        vm.prank(arbiter);
        module.rule(id, job, 10_000, 0);
        vm.prank(shop);
        module.appeal(id, job);
        vm.warp(block.timestamp + COURT_WINDOW + 1);
        module.finalize(id, job); // the court never ruled: the ruling stands, the bond goes back
        vm.assertEq(_wealth(shop).usd, s0.usd, "the appellant is exactly where it started");
        vm.assertEq(_wealth(customer).usd, c0.usd, "the customer got its escrow and bond back");
        vm.assertEq(market.balanceOf(address(usd), arbiter), 0, "no fee: nobody lost");
    }

    function test_guardian_cannotFreezeFundsOrGovern() public {
        address guardian = address(0x6A4D);
        vm.prank(owner);
        module.setGuardian(guardian);
        (uint256 idOpen, Job memory jOpen) = _open();
        (uint256 idDelivered, Job memory jDelivered) = _delivered(0);
        vm.prank(customer);
        market.deposit(address(usd), 7e6);
        vm.prank(guardian);
        module.setPaused(true);
        // The guardian's only power is the pause: not resuming, not governing.
        bytes memory notOwner = abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, guardian);
        vm.startPrank(guardian);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotGuardian.selector, guardian));
        module.setPaused(false);
        vm.expectRevert(notOwner);
        module.setTreasury(guardian);
        vm.expectRevert(notOwner);
        module.setParams(defaultParams());
        vm.expectRevert(notOwner);
        module.proposeArbiter(guardian);
        vm.expectRevert(notOwner);
        module.setTokenTerms(address(usd), IJobMarketTypes.TokenTerms(false, 0, 0));
        vm.expectRevert(notOwner);
        module.setGuardian(address(0));
        vm.stopPrank();
        // Everything that belongs to someone still comes out: the open escrow, the deposit, the delivery.
        vm.prank(customer);
        market.cancel(idOpen, jOpen);
        vm.warp(jDelivered.deadline + 1);
        market.settle(idDelivered, jDelivered);
        vm.prank(customer);
        vm.assertEq(market.withdraw(address(usd), customer), AMOUNT + 7e6, "escrow and deposit back");
        vm.prank(shop);
        vm.assertEq(market.withdraw(address(usd), shop), AMOUNT - AMOUNT * FEE_BPS / BPS, "shop paid");
        market.withdrawFees(address(usd));
        vm.assertEq(usd.balanceOf(address(market)), 0, "nothing frozen");
        vm.assertEq(market.lockedOf(shop), 0, "collateral free");
    }

    // ========================================================================================= smaller

    function test_anyoneCanExpire() public {
        (uint256 id, Job memory job) = _claimed(0);
        vm.warp(job.deadline + 1);
        vm.prank(address(0xDEAD));
        market.expire(id, job);
        vm.assertEq(_status(id, job), uint256(JobStatus.Expired), "expired by a stranger");
        vm.assertEq(market.balanceOf(address(usd), customer), AMOUNT, "refund to the customer, not the caller");
    }

    function test_unbondRequestsKeepTheirOwnReleaseTimes() public {
        vm.prank(shop);
        registry.requestUnbond(1_000e18);
        uint256 first = block.timestamp + UNBOND_DELAY;
        vm.warp(block.timestamp + 5 days);
        vm.prank(shop);
        registry.requestUnbond(2_000e18);
        uint256 second = block.timestamp + UNBOND_DELAY;
        // A new request neither delays the first nor gets paid with it.
        vm.warp(first);
        vm.prank(shop);
        vm.assertEq(registry.withdraw(), 1_000e18, "first only");
        vm.warp(second);
        vm.prank(shop);
        vm.assertEq(registry.withdraw(), 2_000e18, "second at its own time");
    }

    function test_unbondingDoesNotEscapeTheSlash() public {
        Wealth memory s0 = _wealth(shop);
        (uint256 id, Job memory job) = _claimed(0);
        vm.prank(shop);
        registry.requestUnbond(STAKED); // everything, the locked 10 FAB included
        uint256 dueAt = block.timestamp + UNBOND_DELAY;
        vm.warp(job.deadline + 1);
        market.expire(id, job);
        INodeRegistry.Stake memory s = registry.stakeOf(shop);
        vm.assertEq(s.staked, 0, "nothing bonded");
        vm.assertEq(s.unbonding, STAKED - 5e18, "the slash hit the unbonding request");
        vm.warp(dueAt > block.timestamp ? dueAt : block.timestamp);
        vm.prank(shop);
        vm.assertEq(registry.withdraw(), STAKED - 5e18, "the rest is paid");
        vm.assertEq(s0.fab - _wealth(shop).fab, 5e18, "lost exactly the slash");
    }

    function test_feeOnTransferDepositCannotInflateBalances() public {
        FeeOnTransferToken t = new FeeOnTransferToken(100); // 1 % burnt per transfer
        vm.prank(owner);
        module.setTokenTerms(address(t), IJobMarketTypes.TokenTerms(true, 1e16, 1e19));
        t.mint(stranger, 200e18);
        vm.startPrank(stranger);
        t.approve(address(market), type(uint256).max);
        market.deposit(address(t), 100e18);
        vm.stopPrank();
        vm.assertEq(market.balanceOf(address(t), stranger), 99e18, "credited what arrived");
        vm.assertEq(t.balanceOf(address(market)), market.balanceOf(address(t), stranger), "fully backed");
        // Posting more than was credited needs a pull that arrives short: refused.
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__ShortDeposit.selector, address(t), 1e18, 0.99e18)
        );
        market.post(address(t), 100e18, SPEC_CID, 0, uint40(block.timestamp + 1 days), 7 days, 10e18, 0, 0);
        vm.assertEq(t.balanceOf(address(market)), 99e18, "nothing changed");
    }

    function test_bondFixedAtPost() public {
        (uint256 id, Job memory job) = _delivered(0);
        IJobMarketTypes.Params memory p = defaultParams();
        p.disputeBondBps = 5_000; // governance raises the bond to 50 % after the post
        vm.prank(owner);
        module.setParams(p);
        uint256 before = usd.balanceOf(customer);
        vm.prank(customer);
        module.dispute(id, job, PROOF_CID);
        vm.assertEq(before - usd.balanceOf(customer), AMOUNT * BOND_BPS / BPS, "the bond of the post");
    }

    function test_royaltyCustomerNamingOwnDesignGetsNoRebate() public {
        vm.prank(designer);
        designs.transferFrom(designer, customer, designId);
        Wealth memory c0 = _wealth(customer);
        (uint256 id, Job memory job) = _postAs(customer, 7 days, MIN_COLLATERAL);
        vm.prank(customer);
        market.cancel(id, job);
        (id, job) = postJob(AMOUNT, designId);
        job = deliverJob(id, claimJob(id, job));
        vm.prank(customer);
        market.accept(id, job);
        vm.assertEq(c0.usd - _wealth(customer).usd, AMOUNT, "paid the full price, no rebate");
        vm.assertEq(market.balanceOf(address(usd), shop), AMOUNT - AMOUNT * FEE_BPS / BPS, "shop keeps the would-be royalty");
    }

    function test_stakedFabKeepsItsVotingPower() public {
        address voter = address(0x7073);
        vm.prank(owner);
        fab.transfer(voter, 5_000e18);
        vm.warp(10_000);
        vm.startPrank(voter);
        fab.approve(address(registry), type(uint256).max);
        registry.stake(5_000e18);
        vm.stopPrank();
        vm.assertEq(registry.getVotes(voter), 5_000e18, "votes = stake");
        vm.warp(10_001);
        vm.assertEq(registry.getPastVotes(voter, 9_999), 0, "no votes before staking");
        vm.assertEq(registry.getPastVotes(voter, 10_000), 5_000e18, "checkpointed at the stake");
    }

    function test_stakeCannotMintVotes() public {
        // Stake, hand the votes to an accomplice, take the stake out: no votes may remain anywhere.
        address voter = address(0x7073);
        address accomplice = address(0x7074);
        vm.prank(owner);
        fab.transfer(voter, 5_000e18);
        vm.startPrank(voter);
        fab.approve(address(registry), type(uint256).max);
        registry.stake(5_000e18);
        registry.delegate(accomplice);
        registry.requestUnbond(5_000e18);
        vm.warp(block.timestamp + UNBOND_DELAY);
        registry.withdraw();
        vm.stopPrank();
        vm.assertEq(registry.getVotes(voter) + registry.getVotes(accomplice), 0, "no votes without stake");
    }
}
