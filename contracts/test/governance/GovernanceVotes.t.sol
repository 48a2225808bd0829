// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {GovernanceFixture} from "./GovernanceFixture.sol";
import {IGovernor} from "@openzeppelin/contracts/governance/IGovernor.sol";

/// @notice Voting power: FAB votes plus staked-FAB votes, both read at the proposal's snapshot; delegation on
/// both sources; signature votes; no weight for tokens acquired (or staked) after the snapshot.
contract GovernanceVotesTest is GovernanceFixture {
    bytes internal constant CID = hex"1220abababababababababababababababababababababababababababababababab";
    uint256 internal constant VOTER_KEY = 0xB0751;

    address internal dave = address(0xDA7E);
    address internal erin = address(0xE414);

    function _proposal() internal returns (uint256 id) {
        id = _propose(alice, address(manifest), abi.encodeCall(manifest.publish, (CID)), "Manifest");
    }

    function _fund(address account, uint256 amount) internal {
        vm.prank(address(timelock)); // the treasury, standing in for a market purchase
        fab.transfer(account, amount);
    }

    function _forVotes(uint256 id) internal view returns (uint256 forVotes) {
        (, forVotes,) = governor.proposalVotes(id);
    }

    // ------------------------------------------------------------------------------- snapshots

    /// @notice A whale that borrows (or buys) FAB after the snapshot votes with weight zero, and the lender's
    /// weight at the snapshot is unchanged: a flash loan cannot swing a vote.
    function test_flashLoan_tokensAfterSnapshotHaveNoWeight() public {
        uint256 id = _proposal();
        _toVoting(id);
        // The loan: 100 M FAB from the treasury and all of Alice's, delegated to the borrower right away.
        _fund(dave, 100_000_000e18);
        vm.prank(alice);
        fab.transfer(dave, ALICE_FAB);
        _selfDelegate(dave);
        vm.assertEq(fab.getVotes(dave), 100_000_000e18 + ALICE_FAB, "dave's current votes");
        vm.assertEq(governor.getVotes(dave, governor.proposalSnapshot(id)), 0, "no votes at the snapshot");
        _vote(dave, id, 1);
        vm.assertTrue(governor.hasVoted(id, dave), "voted");
        vm.assertEq(_forVotes(id), 0, "weight zero");
        // Alice sold after the snapshot: she still votes with what she held then (once).
        _vote(alice, id, 1);
        vm.assertEq(_forVotes(id), ALICE_FAB, "alice's snapshot weight");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorAlreadyCastVote.selector, alice));
        governor.castVote(id, 1);
    }

    /// @notice Tokens acquired in the voting delay (before the snapshot) do vote: the snapshot is the line.
    function test_tokensBeforeSnapshotVote() public {
        uint256 id = _proposal();
        _fund(dave, 5_000_000e18);
        _selfDelegate(dave);
        _toVoting(id);
        _vote(dave, id, 1);
        vm.assertEq(_forVotes(id), 5_000_000e18, "weight");
    }

    // ---------------------------------------------------------------------------------- staking

    /// @notice Staked FAB keeps its voting power: a holder that stakes everything still proposes and votes.
    function test_stakedFabVotes() public {
        _fund(dave, 50_000_000e18);
        vm.startPrank(dave);
        fab.approve(address(registry), type(uint256).max);
        registry.stake(50_000_000e18); // no token delegation at all: the registry self-delegates on stake
        vm.stopPrank();
        vm.warp(block.timestamp + 1);
        vm.assertEq(fab.getVotes(dave), 0, "no token votes");
        vm.assertEq(governor.getVotes(dave, block.timestamp - 1), 50_000_000e18, "staked votes");
        // 50 M staked meets both the threshold and, alone, the 40 M quorum.
        uint256 id = _propose(dave, address(manifest), abi.encodeCall(manifest.publish, (CID)), "staked");
        _toVoting(id);
        _vote(dave, id, 1);
        _toEnd(id);
        vm.assertEq(uint256(governor.state(id)), uint256(IGovernor.ProposalState.Succeeded), "staked votes carry");
    }

    /// @notice Moving delegated FAB into the stake neither doubles nor loses its votes.
    function test_stakingDelegatedFab_noDoubleCount() public {
        _fund(erin, 5_000_000e18);
        _selfDelegate(erin);
        vm.startPrank(erin);
        fab.approve(address(registry), type(uint256).max);
        registry.stake(3_000_000e18);
        vm.stopPrank();
        vm.warp(block.timestamp + 1);
        vm.assertEq(fab.getVotes(erin), 2_000_000e18, "token votes: the unstaked rest");
        vm.assertEq(registry.getVotes(erin), 3_000_000e18, "registry votes: the stake");
        vm.assertEq(governor.getVotes(erin, block.timestamp - 1), 5_000_000e18, "together: what erin owns");
    }

    /// @notice Unbonding FAB still votes (it is still at stake); withdrawn FAB votes on the token once delegated.
    function test_unbondingStakeVotes() public {
        _fund(erin, 5_000_000e18);
        vm.startPrank(erin);
        fab.approve(address(registry), type(uint256).max);
        registry.stake(5_000_000e18);
        registry.requestUnbond(2_000_000e18);
        vm.stopPrank();
        vm.warp(block.timestamp + 1);
        vm.assertEq(governor.getVotes(erin, block.timestamp - 1), 5_000_000e18, "unbonding still votes");
        vm.warp(block.timestamp + UNBOND_DELAY);
        vm.prank(erin);
        registry.withdraw();
        _selfDelegate(erin);
        vm.warp(block.timestamp + 1);
        vm.assertEq(governor.getVotes(erin, block.timestamp - 1), 5_000_000e18, "withdrawn, delegated");
    }

    /// @notice A stake made after the snapshot does not count, and unstaking after it does not lose weight.
    function test_stakeAfterSnapshotDoesNotCount() public {
        _fund(erin, 5_000_000e18);
        vm.startPrank(erin);
        fab.approve(address(registry), type(uint256).max);
        registry.stake(2_000_000e18);
        vm.stopPrank();
        uint256 id = _proposal();
        _toVoting(id);
        vm.prank(erin);
        registry.stake(3_000_000e18);
        vm.assertEq(registry.getVotes(erin), 5_000_000e18, "current stake");
        _vote(erin, id, 1);
        vm.assertEq(_forVotes(id), 2_000_000e18, "only the stake at the snapshot");
    }

    /// @notice The shop's stake (a node operator's collateral) votes too, beside its delegated FAB.
    function test_operatorStakePlusTokens() public {
        uint256 t = block.timestamp - 1;
        vm.assertEq(governor.getVotes(shop, t), SHOP_STAKE, "stake only: its tokens are not delegated");
        _selfDelegate(shop);
        vm.warp(block.timestamp + 1);
        vm.assertEq(governor.getVotes(shop, block.timestamp - 1), SHOP_FAB, "stake + delegated rest");
    }

    // ------------------------------------------------------------------------------- delegation

    /// @notice Delegating FAB and staked FAB to someone else moves the votes, not the tokens.
    function test_delegationToOthers() public {
        vm.prank(carol);
        fab.delegate(alice);
        vm.prank(shop);
        registry.delegate(bob);
        uint256 id = _proposal();
        _toVoting(id);
        uint256 snap = governor.proposalSnapshot(id);
        vm.assertEq(governor.getVotes(alice, snap), ALICE_FAB + CAROL_FAB, "alice votes carol's FAB");
        vm.assertEq(governor.getVotes(bob, snap), BOB_FAB + SHOP_STAKE, "bob votes the shop's stake");
        vm.assertEq(governor.getVotes(carol, snap), 0, "carol delegated away");
        vm.assertEq(governor.getVotes(shop, snap), 0, "shop delegated away");
        vm.assertEq(fab.balanceOf(carol), CAROL_FAB, "carol keeps her tokens");
        _vote(carol, id, 1);
        _vote(alice, id, 1);
        vm.assertEq(_forVotes(id), ALICE_FAB + CAROL_FAB, "delegated weight counted once");
    }

    // ---------------------------------------------------------------------------- signature votes

    /// @notice castVoteBySig: the voter signs an EIP-712 Ballot, anyone relays it, a replay fails.
    function test_castVoteBySig() public {
        address voter = vm.addr(VOTER_KEY);
        _fund(voter, 2_000_000e18);
        _selfDelegate(voter);
        uint256 id = _proposal();
        _toVoting(id);
        uint8 support = 1;
        uint256 nonce = governor.nonces(voter);
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Fabrica DAO"),
                keccak256("1"),
                block.chainid,
                address(governor)
            )
        );
        bytes32 structHash = keccak256(
            abi.encode(keccak256("Ballot(uint256 proposalId,uint8 support,address voter,uint256 nonce)"), id, support, voter, nonce)
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(VOTER_KEY, keccak256(abi.encodePacked("\x19\x01", domain, structHash)));
        bytes memory signature = abi.encodePacked(r, s, v);
        vm.prank(stranger);
        governor.castVoteBySig(id, support, voter, signature);
        vm.assertTrue(governor.hasVoted(id, voter), "voted");
        vm.assertEq(_forVotes(id), 2_000_000e18, "weight");
        vm.assertEq(governor.nonces(voter), nonce + 1, "nonce used");
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorInvalidSignature.selector, voter));
        governor.castVoteBySig(id, support, voter, signature);
        // A signature for another voter does not pass for Alice.
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorInvalidSignature.selector, alice));
        governor.castVoteBySig(id, support, alice, signature);
    }

    // ------------------------------------------------------------------------------------- fuzz

    /// @notice With random balances, stakes and delegations, each account's weight is what was delegated to it
    /// on both sources at the snapshot; the tally is their sum; the outcome follows quorum; changes after the
    /// snapshot change nothing.
    function testFuzz_voteWeightsSumAndQuorum(uint256 seed) public {
        uint256 n = 5;
        address[5] memory accounts = [address(0x1001), address(0x1002), address(0x1003), address(0x1004), address(0x1005)];
        uint256[5] memory expected;
        uint256 total;
        for (uint256 i; i < n; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            uint256 amount = bound(r, 1e18, 20_000_000e18);
            uint256 staked = bound(r >> 96, 0, amount);
            address tokenDelegate = accounts[(r >> 200) % n];
            address stakeDelegate = accounts[(r >> 208) % n];
            bool delegatesTokens = (r >> 216) % 4 != 0; // a quarter never delegate their liquid FAB
            _fund(accounts[i], amount);
            vm.startPrank(accounts[i]);
            if (delegatesTokens) fab.delegate(tokenDelegate);
            if (staked != 0) {
                fab.approve(address(registry), staked);
                registry.stake(staked);
                if (stakeDelegate != accounts[i]) registry.delegate(stakeDelegate);
            }
            vm.stopPrank();
            if (delegatesTokens) {
                expected[(r >> 200) % n] += amount - staked;
                total += amount - staked;
            }
            if (staked != 0) {
                expected[(r >> 208) % n] += staked;
                total += staked;
            }
        }
        uint256 id = _proposal();
        _toVoting(id);
        uint256 snap = governor.proposalSnapshot(id);
        // After the snapshot everybody moves their stake and tokens around: nothing at the snapshot changes.
        for (uint256 i; i < n; ++i) {
            vm.startPrank(accounts[i]);
            fab.delegate(accounts[(i + 1) % n]);
            registry.delegate(accounts[(i + 2) % n]);
            vm.stopPrank();
        }
        uint256 sum;
        for (uint256 i; i < n; ++i) {
            vm.assertEq(governor.getVotes(accounts[i], snap), expected[i], "weight at the snapshot");
            _vote(accounts[i], id, 1);
            sum += expected[i];
        }
        vm.assertEq(sum, total, "weights sum to what was delegated");
        vm.assertEq(_forVotes(id), total, "tally");
        _toEnd(id);
        IGovernor.ProposalState want = total >= QUORUM ? IGovernor.ProposalState.Succeeded : IGovernor.ProposalState.Defeated;
        vm.assertEq(uint256(governor.state(id)), uint256(want), "quorum decides");
    }
}
