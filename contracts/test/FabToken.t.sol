// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {TestBase} from "./utils/Vm.sol";
import {FabToken} from "../src/FabToken.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {Votes} from "@openzeppelin/contracts/governance/utils/Votes.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @notice Unit tests: ERC-20 basics, EIP-2612 permit signed with vm.sign, ERC-5805 votes on a timestamp clock.
contract FabTokenTest is TestBase {
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");
    bytes32 internal constant DELEGATION_TYPEHASH = keccak256("Delegation(address delegatee,uint256 nonce,uint256 expiry)");
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    uint256 internal constant SUPPLY = 1_000_000_000e18;

    uint256 internal constant ALICE_KEY = 0xA11CE5;
    uint256 internal constant BOB_KEY = 0xB0B;
    address internal alice;
    address internal bob;
    address internal holder = address(0xF00D);
    address internal spender = address(0x5BE4);
    FabToken internal fab;

    function setUp() public {
        alice = vm.addr(ALICE_KEY);
        bob = vm.addr(BOB_KEY);
        vm.warp(1_700_000_000);
        fab = new FabToken(holder, SUPPLY);
    }

    // ===================================================================================== ERC-20

    function test_constructor_mintsFixedSupplyToHolder() public view {
        vm.assertEq(fab.name(), "Fabrica", "name");
        vm.assertEq(fab.symbol(), "FAB", "symbol");
        vm.assertEq(fab.decimals(), 18, "decimals");
        vm.assertEq(fab.totalSupply(), SUPPLY, "supply");
        vm.assertEq(fab.balanceOf(holder), SUPPLY, "holder");
        vm.assertEq(fab.getVotes(holder), 0, "no votes before delegation");
    }

    function test_constructor_revertsWhenHolderZero() public {
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)));
        new FabToken(address(0), 1);
    }

    function test_constructor_revertsWhenSupplyAboveStakeWidth() public {
        uint256 cap = type(uint96).max;
        vm.expectRevert(abi.encodeWithSelector(FabToken.FabToken__SupplyTooLarge.selector, cap + 1, cap));
        new FabToken(holder, cap + 1);
    }

    function test_constructor_acceptsSupplyAtStakeWidth() public {
        FabToken max = new FabToken(holder, type(uint96).max);
        vm.assertEq(max.totalSupply(), type(uint96).max, "supply");
    }

    function test_transfer_movesBalance() public {
        vm.expectEmit(address(fab));
        emit IERC20.Transfer(holder, alice, 5e18);
        vm.prank(holder);
        vm.assertTrue(fab.transfer(alice, 5e18), "returns true");
        vm.assertEq(fab.balanceOf(alice), 5e18, "alice");
        vm.assertEq(fab.balanceOf(holder), SUPPLY - 5e18, "holder");
    }

    function test_transfer_revertsWhenBalanceTooLow() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, alice, 0, 1));
        fab.transfer(bob, 1);
    }

    function test_transfer_revertsWhenToZero() public {
        vm.prank(holder);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)));
        fab.transfer(address(0), 1);
        vm.assertEq(fab.balanceOf(holder), SUPPLY, "unchanged");
    }

    function test_transferFrom_spendsAllowance() public {
        vm.expectEmit(address(fab));
        emit IERC20.Approval(holder, spender, 10e18);
        vm.prank(holder);
        fab.approve(spender, 10e18);
        vm.prank(spender);
        fab.transferFrom(holder, bob, 4e18);
        vm.assertEq(fab.allowance(holder, spender), 6e18, "allowance spent");
        vm.assertEq(fab.balanceOf(bob), 4e18, "bob");
    }

    function test_transferFrom_infiniteAllowanceNotSpent() public {
        vm.prank(holder);
        fab.approve(spender, type(uint256).max);
        vm.prank(spender);
        fab.transferFrom(holder, bob, 4e18);
        vm.assertEq(fab.allowance(holder, spender), type(uint256).max, "infinite");
    }

    function test_transferFrom_revertsWhenAllowanceTooLow() public {
        vm.prank(holder);
        fab.approve(spender, 1e18);
        vm.prank(spender);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, spender, 1e18, 1e18 + 1)
        );
        fab.transferFrom(holder, bob, 1e18 + 1);
        vm.assertEq(fab.balanceOf(holder), SUPPLY, "unchanged");
    }

    function test_approve_revertsWhenSpenderZero() public {
        vm.prank(holder);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidSpender.selector, address(0)));
        fab.approve(address(0), 1);
    }

    // ===================================================================================== permit

    function _domainSeparator() internal view returns (bytes32) {
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("Fabrica"), keccak256("1"), block.chainid, address(fab))
        );
    }

    function _permitDigest(address owner_, address spender_, uint256 value, uint256 nonce, uint256 deadline)
        internal
        view
        returns (bytes32)
    {
        bytes32 structHash = keccak256(abi.encode(PERMIT_TYPEHASH, owner_, spender_, value, nonce, deadline));
        return keccak256(abi.encodePacked("\x19\x01", _domainSeparator(), structHash));
    }

    function _signPermit(uint256 key, address owner_, uint256 value, uint256 nonce, uint256 deadline)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        return vm.sign(key, _permitDigest(owner_, spender, value, nonce, deadline));
    }

    function test_domainSeparator_matchesEip712() public view {
        vm.assertEq(fab.DOMAIN_SEPARATOR(), _domainSeparator(), "domain");
        (bytes1 fields, string memory name, string memory version, uint256 chainId, address verifying,,) =
            fab.eip712Domain();
        vm.assertEq(uint256(uint8(fields)), 0x0f, "fields");
        vm.assertEq(name, "Fabrica", "name");
        vm.assertEq(version, "1", "version");
        vm.assertEq(chainId, block.chainid, "chainId");
        vm.assertEq(verifying, address(fab), "verifyingContract");
    }

    function test_permit_setsAllowanceAndBumpsNonce() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(ALICE_KEY, alice, 123e18, 0, deadline);
        vm.expectEmit(address(fab));
        emit IERC20.Approval(alice, spender, 123e18);
        vm.prank(bob); // anyone may submit it
        fab.permit(alice, spender, 123e18, deadline, v, r, s);
        vm.assertEq(fab.allowance(alice, spender), 123e18, "allowance");
        vm.assertEq(fab.nonces(alice), 1, "nonce");
    }

    function test_permit_allowedAtDeadline() public {
        uint256 deadline = block.timestamp + 10;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(ALICE_KEY, alice, 1, 0, deadline);
        vm.warp(deadline);
        fab.permit(alice, spender, 1, deadline, v, r, s);
        vm.assertEq(fab.allowance(alice, spender), 1, "allowance");
    }

    function test_permit_thenTransferFrom() public {
        vm.prank(holder);
        fab.transfer(alice, 50e18);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(ALICE_KEY, alice, 20e18, 0, deadline);
        fab.permit(alice, spender, 20e18, deadline, v, r, s);
        vm.prank(spender);
        fab.transferFrom(alice, bob, 20e18);
        vm.assertEq(fab.balanceOf(bob), 20e18, "moved");
        vm.assertEq(fab.allowance(alice, spender), 0, "used up");
    }

    function test_permit_revertsWhenExpired() public {
        uint256 deadline = block.timestamp + 10;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(ALICE_KEY, alice, 1, 0, deadline);
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612ExpiredSignature.selector, deadline));
        fab.permit(alice, spender, 1, deadline, v, r, s);
        vm.assertEq(fab.nonces(alice), 0, "nonce unchanged");
    }

    function test_permit_revertsWhenSignedByOtherKey() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(BOB_KEY, alice, 1, 0, deadline);
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612InvalidSigner.selector, bob, alice));
        fab.permit(alice, spender, 1, deadline, v, r, s);
        vm.assertEq(fab.allowance(alice, spender), 0, "no allowance");
    }

    function test_permit_revertsWhenValueTampered() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(ALICE_KEY, alice, 1, 0, deadline);
        address recovered = ecrecover(_permitDigest(alice, spender, 2, 0, deadline), v, r, s);
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612InvalidSigner.selector, recovered, alice));
        fab.permit(alice, spender, 2, deadline, v, r, s);
    }

    function test_permit_revertsWhenReplayed() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(ALICE_KEY, alice, 7, 0, deadline);
        fab.permit(alice, spender, 7, deadline, v, r, s);
        address recovered = ecrecover(_permitDigest(alice, spender, 7, 1, deadline), v, r, s);
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612InvalidSigner.selector, recovered, alice));
        fab.permit(alice, spender, 7, deadline, v, r, s);
        vm.assertEq(fab.nonces(alice), 1, "nonce used once");
    }

    function test_permit_revertsWhenSignatureMalformed() public {
        uint256 deadline = block.timestamp + 1 hours;
        vm.expectRevert(abi.encodeWithSelector(ECDSA.ECDSAInvalidSignature.selector));
        fab.permit(alice, spender, 1, deadline, 27, bytes32(0), bytes32(0));
    }

    // ====================================================================================== votes

    function test_clock_isTimestamp() public {
        vm.assertEq(fab.clock(), block.timestamp, "clock");
        vm.warp(1_800_000_000);
        vm.assertEq(fab.clock(), 1_800_000_000, "clock follows time");
        vm.roll(block.number + 1_000);
        vm.assertEq(fab.clock(), 1_800_000_000, "not block number");
        vm.assertEq(fab.CLOCK_MODE(), "mode=timestamp", "CLOCK_MODE");
    }

    function test_delegate_selfActivatesVotes() public {
        vm.expectEmit(address(fab));
        emit IVotes.DelegateChanged(holder, address(0), holder);
        vm.expectEmit(address(fab));
        emit IVotes.DelegateVotesChanged(holder, 0, SUPPLY);
        vm.prank(holder);
        fab.delegate(holder);
        vm.assertEq(fab.delegates(holder), holder, "delegate");
        vm.assertEq(fab.getVotes(holder), SUPPLY, "votes");
        vm.assertEq(fab.numCheckpoints(holder), 1, "one checkpoint");
        vm.assertEq(fab.checkpoints(holder, 0)._key, block.timestamp, "keyed by timestamp");
        vm.assertEq(fab.checkpoints(holder, 0)._value, SUPPLY, "value");
    }

    function test_delegate_toOtherAndMoveVotesOnTransfer() public {
        vm.prank(holder);
        fab.transfer(alice, 100e18);
        vm.prank(alice);
        fab.delegate(bob);
        vm.assertEq(fab.getVotes(bob), 100e18, "bob holds alice's votes");
        vm.assertEq(fab.getVotes(alice), 0, "alice none");
        vm.prank(holder);
        fab.delegate(holder);
        vm.prank(alice);
        fab.transfer(holder, 30e18);
        vm.assertEq(fab.getVotes(bob), 70e18, "bob lost");
        vm.assertEq(fab.getVotes(holder), SUPPLY - 70e18, "holder gained");
        vm.prank(alice);
        fab.delegate(alice);
        vm.assertEq(fab.getVotes(bob), 0, "redelegated away");
        vm.assertEq(fab.getVotes(alice), 70e18, "alice");
    }

    function test_getPastVotes_byTimestamp() public {
        uint256 t0 = block.timestamp;
        vm.prank(holder);
        fab.transfer(alice, 100e18);
        vm.prank(alice);
        fab.delegate(alice);
        vm.warp(t0 + 100);
        vm.prank(holder);
        fab.transfer(alice, 50e18);
        vm.warp(t0 + 200);
        vm.prank(alice);
        fab.transfer(bob, 120e18);
        vm.warp(t0 + 300);
        vm.assertEq(fab.getPastVotes(alice, t0 - 1), 0, "before delegation");
        vm.assertEq(fab.getPastVotes(alice, t0), 100e18, "at t0");
        vm.assertEq(fab.getPastVotes(alice, t0 + 99), 100e18, "just before top-up");
        vm.assertEq(fab.getPastVotes(alice, t0 + 100), 150e18, "at top-up");
        vm.assertEq(fab.getPastVotes(alice, t0 + 199), 150e18, "before transfer out");
        vm.assertEq(fab.getPastVotes(alice, t0 + 200), 30e18, "after transfer out");
        vm.assertEq(fab.getPastVotes(alice, t0 + 299), 30e18, "latest past");
        vm.assertEq(fab.numCheckpoints(alice), 3, "checkpoints");
        vm.assertEq(fab.checkpoints(alice, 1)._key, t0 + 100, "second key is a timestamp");
    }

    function test_getPastVotes_sameTimestampOverwritesCheckpoint() public {
        vm.prank(holder);
        fab.delegate(holder);
        vm.prank(holder);
        fab.transfer(alice, 1e18);
        vm.assertEq(fab.numCheckpoints(holder), 1, "one checkpoint per timestamp");
        vm.warp(block.timestamp + 1);
        vm.assertEq(fab.getPastVotes(holder, block.timestamp - 1), SUPPLY - 1e18, "end-of-second value");
    }

    function test_getPastVotes_revertsWhenNotInPast() public {
        uint48 now_ = uint48(block.timestamp);
        vm.expectRevert(abi.encodeWithSelector(Votes.ERC5805FutureLookup.selector, uint256(now_), now_));
        fab.getPastVotes(holder, now_);
        vm.expectRevert(abi.encodeWithSelector(Votes.ERC5805FutureLookup.selector, uint256(now_) + 5, now_));
        fab.getPastVotes(holder, uint256(now_) + 5);
    }

    function test_getPastTotalSupply_byTimestamp() public {
        uint256 t0 = block.timestamp;
        vm.warp(t0 + 10);
        vm.assertEq(fab.getPastTotalSupply(t0), SUPPLY, "minted at deploy");
        vm.assertEq(fab.getPastTotalSupply(t0 - 1), 0, "before deploy");
        vm.expectRevert(abi.encodeWithSelector(Votes.ERC5805FutureLookup.selector, t0 + 10, uint48(t0 + 10)));
        fab.getPastTotalSupply(t0 + 10);
    }

    function _delegationDigest(address delegatee, uint256 nonce, uint256 expiry) internal view returns (bytes32) {
        bytes32 structHash = keccak256(abi.encode(DELEGATION_TYPEHASH, delegatee, nonce, expiry));
        return keccak256(abi.encodePacked("\x19\x01", _domainSeparator(), structHash));
    }

    function test_delegateBySig_delegatesForSigner() public {
        vm.prank(holder);
        fab.transfer(alice, 10e18);
        uint256 expiry = block.timestamp + 1 days;
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ALICE_KEY, _delegationDigest(bob, 0, expiry));
        vm.expectEmit(address(fab));
        emit IVotes.DelegateChanged(alice, address(0), bob);
        fab.delegateBySig(bob, 0, expiry, v, r, s);
        vm.assertEq(fab.delegates(alice), bob, "delegate");
        vm.assertEq(fab.getVotes(bob), 10e18, "votes");
        vm.assertEq(fab.nonces(alice), 1, "shared nonce bumped");
    }

    function test_delegateBySig_revertsWhenExpired() public {
        uint256 expiry = block.timestamp - 1;
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ALICE_KEY, _delegationDigest(bob, 0, expiry));
        vm.expectRevert(abi.encodeWithSelector(IVotes.VotesExpiredSignature.selector, expiry));
        fab.delegateBySig(bob, 0, expiry, v, r, s);
    }

    function test_delegateBySig_revertsWhenNonceUsedByPermit() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 pv, bytes32 pr, bytes32 ps) = _signPermit(ALICE_KEY, alice, 1, 0, deadline);
        fab.permit(alice, spender, 1, deadline, pv, pr, ps);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ALICE_KEY, _delegationDigest(bob, 0, deadline));
        vm.expectRevert(abi.encodeWithSelector(Nonces.InvalidAccountNonce.selector, alice, 1));
        fab.delegateBySig(bob, 0, deadline, v, r, s);
        vm.assertEq(fab.delegates(alice), address(0), "not delegated");
    }
}
