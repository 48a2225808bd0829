// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Fixture} from "./Fixture.sol";
import {INodeRegistry} from "../../src/interfaces/INodeRegistry.sol";
import {Job, JobStatus} from "../../src/types/Job.sol";

/// @notice Fixture plus what the unit, attack and fuzz suites share: a second shop, a stranger, job-state
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
        watched.push(court);
        watched.push(stranger);
        watched.push(owner);
    }

    // ------------------------------------------------------------------------------- funds digest

    /// @dev Every token balance, credited balance (USD and FAB), fee pot, stake and unbond request the
    /// suites can move.
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
                    market.balanceOf(address(fab), a),
                    s.staked,
                    s.locked,
                    s.unbonding,
                    s.unbondAt,
                    keccak256(abi.encode(registry.unbondRequests(a)))
                )
            );
        }
        digest = keccak256(
            abi.encode(
                digest,
                market.feesOf(address(usd)),
                market.feesOf(address(fab)),
                usd.totalSupply(),
                fab.totalSupply()
            )
        );
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

    /// @dev A delivered job the customer disputed (its bond, fixed at post, is already in `job.bond`).
    function _disputed(uint256 design) internal returns (uint256 id, Job memory job) {
        (id, job) = _delivered(design);
        vm.prank(customer);
        module.dispute(id, job, PROOF_CID);
    }

    /// @dev The job a node's hand-back leaves: open again, no node, claimable for REOPEN_PERIOD from now.
    /// @dev The struct after a hand-back: `node` keeps naming the operator that handed it back.
    function _handedBack(Job memory job) internal view returns (Job memory) {
        job.deadline = uint40(block.timestamp + market.REOPEN_PERIOD());
        return job;
    }

    function _err(bytes4 selector) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(selector);
    }

    /// @dev Number of fields `_tamper` can change.
    uint256 internal constant JOB_FIELDS = 14;

    /// @dev `job` with one of its 14 fields changed.
    function _tamper(Job memory job, uint256 field) internal pure returns (Job memory t) {
        t = _copy(job);
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
        else if (field == 11) t.deadline ^= 1;
        else if (field == 12) t.targetNode ^= 1;
        else t.key ^= 1;
    }

    /// @dev A memory copy (Solidity assigns memory structs by reference).
    function _copy(Job memory job) internal pure returns (Job memory c) {
        c = abi.decode(abi.encode(job), (Job));
    }

    /// @dev Status of job `id` described by `job`: None when the struct is stale or the slot was recycled.
    function _status(uint256 id, Job memory job) internal view returns (uint256) {
        return uint256(market.statusOf(id, job));
    }
}
