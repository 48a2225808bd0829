// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {TestBase} from "./utils/Vm.sol";
import {ArbiterPanel} from "../src/governance/ArbiterPanel.sol";
import {IArbiterPanel} from "../src/interfaces/IArbiterPanel.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @notice Unit tests of the arbiter panel alone (the market is a plain address here): governance appoints
/// and removes members, only the market assigns, assignment goes round robin and never to a dispute's party,
/// and the panel reports IArbiterPanel through ERC-165 (which is how the market tells it from an account).
contract ArbiterPanelTest is TestBase {
    address internal constant OWNER = address(0xA11CE);
    address internal constant MARKET = address(0x3A4E7);
    address internal constant A = address(0xA1);
    address internal constant B = address(0xB2);
    address internal constant C = address(0xC3);
    address internal constant CUSTOMER = address(0xC0FFEE);
    address internal constant NODE = address(0x5409);
    address internal constant STRANGER = address(0x5757);

    ArbiterPanel internal panel;

    event ArbiterAppointed(address indexed arbiter);
    event ArbiterRemoved(address indexed arbiter);
    event DisputeAssigned(uint256 indexed jobId, address indexed arbiter);

    function setUp() public {
        panel = new ArbiterPanel(OWNER, MARKET, _list(A, B, C));
    }

    function _list(address x, address y, address z) internal pure returns (address[] memory l) {
        l = new address[](3);
        (l[0], l[1], l[2]) = (x, y, z);
    }

    function _assign(uint256 jobId, address customer, address node) internal returns (address) {
        vm.prank(MARKET);
        return panel.assign(jobId, customer, node);
    }

    function _assertMembers(address[] memory expected) internal view {
        vm.assertEq(keccak256(abi.encode(panel.arbiters())), keccak256(abi.encode(expected)), "members");
        for (uint256 i; i < expected.length; ++i) vm.assertTrue(panel.isArbiter(expected[i]), "isArbiter");
    }

    // ================================================================================ constructor

    function test_constructor_setsOwnerMarketAndMembers() public view {
        vm.assertEq(panel.owner(), OWNER, "owner");
        vm.assertEq(panel.market(), MARKET, "market");
        _assertMembers(_list(A, B, C));
        vm.assertFalse(panel.isArbiter(STRANGER), "stranger");
        vm.assertFalse(panel.isArbiter(address(0)), "zero");
    }

    function test_constructor_revertsOnZeroMarketZeroOrDuplicateMember() public {
        vm.expectRevert(ArbiterPanel.ArbiterPanel__ZeroAddress.selector);
        new ArbiterPanel(OWNER, address(0), _list(A, B, C));
        vm.expectRevert(ArbiterPanel.ArbiterPanel__ZeroAddress.selector);
        new ArbiterPanel(OWNER, MARKET, _list(A, address(0), C));
        vm.expectRevert(abi.encodeWithSelector(ArbiterPanel.ArbiterPanel__AlreadyArbiter.selector, A));
        new ArbiterPanel(OWNER, MARKET, _list(A, B, A));
    }

    // ========================================================================= appoint and remove

    function test_appoint_addsMemberAndEmits() public {
        vm.expectEmit(address(panel));
        emit ArbiterAppointed(STRANGER);
        vm.prank(OWNER);
        panel.appoint(STRANGER);
        vm.assertTrue(panel.isArbiter(STRANGER), "appointed");
        vm.assertEq(panel.arbiters().length, 4, "four members");
        vm.assertEq(panel.arbiters()[3], STRANGER, "appended");
    }

    function test_appoint_revertsWhenNotOwnerZeroOrAlreadyMember() public {
        vm.prank(STRANGER);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, STRANGER));
        panel.appoint(STRANGER);
        vm.prank(MARKET); // not even the market
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, MARKET));
        panel.appoint(STRANGER);
        vm.prank(OWNER);
        vm.expectRevert(ArbiterPanel.ArbiterPanel__ZeroAddress.selector);
        panel.appoint(address(0));
        vm.prank(OWNER);
        vm.expectRevert(abi.encodeWithSelector(ArbiterPanel.ArbiterPanel__AlreadyArbiter.selector, B));
        panel.appoint(B);
        _assertMembers(_list(A, B, C));
    }

    function test_remove_lastMemberTakesTheSlotAndEmits() public {
        vm.expectEmit(address(panel));
        emit ArbiterRemoved(A);
        vm.prank(OWNER);
        panel.remove(A);
        vm.assertFalse(panel.isArbiter(A), "removed");
        address[] memory left = panel.arbiters();
        vm.assertEq(left.length, 2, "two left");
        vm.assertEq(left[0], C, "the last member moved into the slot");
        vm.assertEq(left[1], B, "B unchanged");
        // The moved member's index follows it: it can be removed in turn, and A appointed again.
        vm.startPrank(OWNER);
        panel.remove(C);
        panel.appoint(A);
        vm.stopPrank();
        vm.assertEq(panel.arbiters().length, 2, "B and A");
        vm.assertTrue(panel.isArbiter(A) && panel.isArbiter(B) && !panel.isArbiter(C), "membership");
    }

    function test_remove_revertsWhenNotOwnerOrNotMember() public {
        vm.prank(STRANGER);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, STRANGER));
        panel.remove(A);
        vm.prank(OWNER);
        vm.expectRevert(abi.encodeWithSelector(ArbiterPanel.ArbiterPanel__NotArbiter.selector, STRANGER));
        panel.remove(STRANGER);
        _assertMembers(_list(A, B, C));
    }

    function test_ownership_twoStepTransfer() public {
        vm.prank(OWNER);
        panel.transferOwnership(STRANGER);
        vm.assertEq(panel.owner(), OWNER, "pending until accepted");
        vm.prank(STRANGER);
        panel.acceptOwnership();
        vm.prank(STRANGER);
        panel.appoint(address(0xD4));
        vm.assertTrue(panel.isArbiter(address(0xD4)), "the new owner governs");
    }

    // ===================================================================================== assign

    function test_assign_onlyMarket() public {
        vm.prank(STRANGER);
        vm.expectRevert(abi.encodeWithSelector(ArbiterPanel.ArbiterPanel__NotMarket.selector, STRANGER));
        panel.assign(1, CUSTOMER, NODE);
        vm.prank(OWNER); // governance cannot pick a case's arbiter either
        vm.expectRevert(abi.encodeWithSelector(ArbiterPanel.ArbiterPanel__NotMarket.selector, OWNER));
        panel.assign(1, CUSTOMER, NODE);
        // A refused call does not move the turn.
        vm.assertEq(_assign(1, CUSTOMER, NODE), A, "first in turn");
    }

    function test_assign_roundRobinAndEmits() public {
        vm.expectEmit(address(panel));
        emit DisputeAssigned(7, A);
        vm.assertEq(_assign(7, CUSTOMER, NODE), A, "1st");
        vm.assertEq(_assign(8, CUSTOMER, NODE), B, "2nd");
        vm.assertEq(_assign(9, CUSTOMER, NODE), C, "3rd");
        vm.assertEq(_assign(10, CUSTOMER, NODE), A, "wraps around");
    }

    function test_assign_skipsTheDisputesParties() public {
        // Members who are a job's customer or node are passed over for that job (the turn moves on).
        vm.assertEq(_assign(1, CUSTOMER, NODE), A, "A");
        vm.assertEq(_assign(2, B, NODE), C, "B is the customer: skipped");
        vm.assertEq(_assign(3, CUSTOMER, A), B, "A is the node: skipped, and the turn wrapped to B");
        vm.assertEq(_assign(4, B, C), A, "both parties skipped");
    }

    function test_assign_noneEligibleReturnsZeroAndKeepsTheTurn() public {
        ArbiterPanel two = new ArbiterPanel(OWNER, MARKET, new address[](0));
        vm.prank(MARKET);
        vm.expectEmit(address(two));
        emit DisputeAssigned(1, address(0));
        vm.assertEq(two.assign(1, CUSTOMER, NODE), address(0), "empty panel");
        vm.startPrank(OWNER);
        two.appoint(CUSTOMER);
        two.appoint(NODE);
        vm.stopPrank();
        vm.prank(MARKET);
        vm.assertEq(two.assign(2, CUSTOMER, NODE), address(0), "every member is a party");
        vm.prank(OWNER);
        two.appoint(A);
        vm.prank(MARKET);
        vm.assertEq(two.assign(3, CUSTOMER, NODE), A, "the only eligible member");
    }

    function test_assign_continuesAfterRemoval() public {
        vm.assertEq(_assign(1, CUSTOMER, NODE), A, "A");
        vm.prank(OWNER);
        panel.remove(B); // [A, C]
        vm.assertEq(_assign(2, CUSTOMER, NODE), C, "B gone: C");
        vm.assertEq(_assign(3, CUSTOMER, NODE), A, "then A again");
        vm.prank(OWNER);
        panel.remove(A); // [C]
        vm.assertEq(_assign(4, CUSTOMER, NODE), C, "the last member takes every case");
        vm.assertEq(_assign(5, C, NODE), address(0), "unless it is a party");
    }

    // ===================================================================================== ERC-165

    function test_supportsInterface() public view {
        vm.assertTrue(panel.supportsInterface(type(IArbiterPanel).interfaceId), "IArbiterPanel");
        vm.assertTrue(panel.supportsInterface(type(IERC165).interfaceId), "IERC165");
        vm.assertFalse(panel.supportsInterface(0xffffffff), "0xffffffff");
        vm.assertFalse(panel.supportsInterface(0x12345678), "other");
    }
}
