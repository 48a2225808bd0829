// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Fixture} from "./Fixture.sol";
import {INodeRegistry} from "../../src/interfaces/INodeRegistry.sol";
import {Job, JobStatus} from "../../src/types/Job.sol";

/// @notice Fixture plus what the unit and fuzz suites share: a second shop, a stranger, job-state
/// shortcuts and a digest of every balance a failing call must leave alone.
abstract contract MarketFixture is Fixture {
    uint256 internal constant BPS = 10_000;
    uint96 internal constant AMOUNT = 100e6;

    address internal shop2 = address(0x5402);
    address internal stranger = address(0x5757);
    uint256 internal nodeId2;

    address[] internal watched;

    function setUp() public virtual override {
        super.setUp();
        vm.startPrank(owner);
        fab.transfer(shop2, 100_000e18);
        usd.mint(stranger, 1_000_000e6);
        vm.stopPrank();
        vm.startPrank(shop2);
        fab.approve(address(registry), type(uint256).max);
        registry.stake(10_000e18);
        nodeId2 = registry.registerNode(2, 1, [uint32(100), 100, 100], ENC_KEY, META_CID);
        vm.stopPrank();
        vm.prank(stranger);
        usd.approve(address(market), type(uint256).max);

        watched.push(address(market));
        watched.push(address(registry));
        watched.push(customer);
        watched.push(shop);
        watched.push(shop2);
        watched.push(designer);
        watched.push(treasury);
        watched.push(arbiter);
        watched.push(stranger);
        watched.push(owner);
    }

    // ------------------------------------------------------------------------------- funds digest

    /// @dev Every token balance, credited balance, fee pot and stake the suites can move.
    function _funds() internal view returns (bytes32 digest) {
        for (uint256 i; i < watched.length; ++i) {
            address a = watched[i];
            INodeRegistry.Stake memory s = registry.stakeOf(a);
            digest = keccak256(
                abi.encode(
                    digest,
                    usd.balanceOf(a),
                    fab.balanceOf(a),
                    market.balanceOf(address(usd), a),
                    s.staked,
                    s.locked,
                    s.unbonding,
                    s.unbondAt
                )
            );
        }
        digest = keccak256(abi.encode(digest, market.feesOf(address(usd)), usd.totalSupply(), fab.totalSupply()));
    }

    function _assertNoFundsMoved(bytes32 before) internal view {
        vm.assertEq(_funds(), before, "a failing call moved funds");
    }

    // ---------------------------------------------------------------------------- job shortcuts

    function _open() internal returns (uint256 id, Job memory job) {
        return postJob(AMOUNT, 0);
    }

    function _openWithDesign() internal returns (uint256 id, Job memory job) {
        return postJob(AMOUNT, designId);
    }

    function _claimed(uint256 design) internal returns (uint256 id, Job memory job) {
        (id, job) = postJob(AMOUNT, design);
        job = claimJob(id, job);
    }

    function _delivered(uint256 design) internal returns (uint256 id, Job memory job) {
        (id, job) = _claimed(design);
        job = deliverJob(id, job);
    }

    function _disputed(uint256 design) internal returns (uint256 id, Job memory job) {
        (id, job) = _delivered(design);
        vm.prank(customer);
        market.dispute(id, job, PROOF_CID);
        job.bond = uint96(uint256(job.amount) * market.params().disputeBondBps / BPS);
    }

    function _err(bytes4 selector) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(selector);
    }

    /// @dev `job` with one of its 12 fields changed.
    function _tamper(Job memory job, uint256 field) internal pure returns (Job memory t) {
        t = job;
        if (field == 0) t.customer = address(uint160(t.customer) ^ 1);
        else if (field == 1) t.token = address(uint160(t.token) ^ 1);
        else if (field == 2) t.node = address(uint160(t.node) ^ 1);
        else if (field == 3) t.royaltyReceiver = address(uint160(t.royaltyReceiver) ^ 1);
        else if (field == 4) t.amount ^= 1;
        else if (field == 5) t.royalty ^= 1;
        else if (field == 6) t.collateral ^= 1;
        else if (field == 7) t.bond ^= 1;
        else if (field == 8) t.feeBps ^= 1;
        else if (field == 9) t.deliveryWindow ^= 1;
        else if (field == 10) t.reviewWindow ^= 1;
        else t.deadline ^= 1;
    }

    function _status(uint256 id) internal view returns (uint256) {
        return uint256(market.statusOf(id));
    }
}
