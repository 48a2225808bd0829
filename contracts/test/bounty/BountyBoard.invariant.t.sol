// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {BountyFixture} from "./BountyFixture.sol";
import {BountyBoardHandler} from "../handlers/BountyBoardHandler.sol";
import {FeeOnTransferToken} from "../mocks/FeeOnTransferToken.sol";
import {IBountyBoard} from "../../src/interfaces/IBountyBoard.sol";

/// @notice Invariants of the bounty board under random bounty lives driven by BountyBoardHandler (its model
/// predicts every call). After every call: each bounty's books match the model and balance
/// (paid + refunded + held == contributed), each token's board balance is exactly what the bounties hold plus
/// what the winners are owed (and what arrived less what left), and nothing surprised the model. At the end of
/// every run `afterInvariant` moves past every deadline and grace period and has every sponsor refund and
/// every winner withdraw: each gets exactly its share and the board is left with nothing.
/// One invariant function on purpose: forge runs a separate campaign (runs x depth calls) per function.
contract BountyBoardInvariantTest is BountyFixture {
    BountyBoardHandler internal handler;
    FeeOnTransferToken internal fot;
    bytes4[] internal _selectors;

    function setUp() public override {
        super.setUp();
        fot = new FeeOnTransferToken(100); // burns 1 % of every transfer
        vm.prank(owner);
        board.setToken(address(fot), true);
        handler = new BountyBoardHandler(board, designs, usd, fot, owner);
        bytes4[21] memory s = [
            BountyBoardHandler.post.selector,
            BountyBoardHandler.post.selector,
            BountyBoardHandler.fund.selector,
            BountyBoardHandler.fund.selector,
            BountyBoardHandler.fund.selector,
            BountyBoardHandler.submit.selector,
            BountyBoardHandler.submit.selector,
            BountyBoardHandler.approve.selector,
            BountyBoardHandler.approve.selector,
            BountyBoardHandler.approve.selector,
            BountyBoardHandler.approve.selector,
            BountyBoardHandler.revoke.selector,
            BountyBoardHandler.evaluate.selector,
            BountyBoardHandler.evaluate.selector,
            BountyBoardHandler.refund.selector,
            BountyBoardHandler.refund.selector,
            BountyBoardHandler.withdraw.selector,
            BountyBoardHandler.extend.selector,
            BountyBoardHandler.mintWinner.selector,
            BountyBoardHandler.setToken.selector,
            BountyBoardHandler.warp.selector
        ];
        for (uint256 i; i < s.length; ++i) {
            _selectors.push(s[i]);
        }
        targetContract(address(handler));
        targetSelector(FuzzSelector(address(handler), _selectors));
    }

    // =================================================================================== invariants

    /// @notice Checked after every handler call, cheaply: no surprise; per token, the board's balance is what the
    /// bounties hold plus what the winners are owed, and what arrived less what left; the bounty the call
    /// touched and one more in turn match the model and balance. `afterInvariant` checks everything.
    // CI: 40 runs x 500 calls (20 000 handler calls) keeps the whole CI run inside its budget; the
    // market invariant (JobMarket.invariant.t.sol) keeps the long 500 x 1 000 campaign.
    /// forge-config: ci.invariant.runs = 40
    /// forge-config: ci.invariant.depth = 500
    function invariant_bountyBoard() public view {
        vm.assertEq(handler.surprises(), 0, handler.lastSurprise());
        for (uint256 t; t < 2; ++t) {
            address token = handler.token(t);
            uint256 balance = IERC20(token).balanceOf(address(board));
            vm.assertEq(balance, handler.totalHeld(token) + handler.totalOwed(token), "balance == held + owed");
            vm.assertEq(balance, handler.ghostIn(token) - handler.ghostOut(token), "balance == in - out");
        }
        uint256 n = handler.bountyCount();
        if (n == 0) return;
        if (handler.lastId() != 0) _checkBounty(handler.lastId());
        _checkBounty(1 + handler.calls() % n);
    }

    /// @notice End of every run: past every deadline and grace period, every sponsor refunds and every winner
    /// withdraws. Each refund is the amount the model predicts (its pro-rata share of what was not paid out,
    /// the last one the remainder), every bounty ends with paid + refunded == contributed and nothing held,
    /// and the board ends with no tokens at all.
    function afterInvariant() public {
        uint256 end = uint256(handler.maxDeadline()) + board.GRACE_PERIOD() + 1;
        if (end > block.timestamp) vm.warp(end);
        uint256 n = handler.bountyCount();
        for (uint256 id = 1; id <= n; ++id) {
            for (uint256 i; i < 4; ++i) {
                address s = handler.sponsor(i);
                if (handler.contribution(id, s) != 0 && !handler.refundedFlag(id, s)) handler.settleRefund(id, i);
            }
        }
        for (uint256 d; d < 3; ++d) {
            for (uint256 t; t < 2; ++t) {
                if (handler.owed(handler.token(t), handler.designer(d)) != 0) handler.settleWithdraw(d, t);
            }
        }
        _checkAll();
        for (uint256 id = 1; id <= n; ++id) {
            BountyBoardHandler.Model memory m = handler.model(id);
            vm.assertEq(m.paid + m.refunded, m.contributed, "settled: paid + refunded == contributed");
            vm.assertEq(board.potOf(id), 0, "settled: nothing held");
            for (uint256 i; i < 4; ++i) {
                address s = handler.sponsor(i);
                vm.assertTrue(
                    handler.contribution(id, s) == 0 || handler.refundedFlag(id, s), "settled: every sponsor refunded"
                );
            }
        }
        vm.assertEq(usd.balanceOf(address(board)), 0, "settled: no usd left");
        vm.assertEq(fot.balanceOf(address(board)), 0, "settled: no fot left");
    }

    /// @dev Everything: every bounty against the model, the held sums per token, every winner's balance.
    function _checkAll() internal view {
        vm.assertEq(handler.surprises(), 0, handler.lastSurprise());
        uint256 n = handler.bountyCount();
        uint256[2] memory held;
        for (uint256 id = 1; id <= n; ++id) {
            _checkBounty(id);
            held[handler.model(id).token == address(usd) ? 0 : 1] += board.potOf(id);
        }
        for (uint256 t; t < 2; ++t) {
            address token = handler.token(t);
            uint256 balance = IERC20(token).balanceOf(address(board));
            vm.assertEq(held[t], handler.totalHeld(token), "held");
            vm.assertEq(balance, held[t] + handler.totalOwed(token), "balance == held + owed");
            vm.assertEq(balance, handler.ghostIn(token) - handler.ghostOut(token), "balance == in - out");
            for (uint256 d; d < 3; ++d) {
                address who = handler.designer(d);
                vm.assertEq(board.balanceOf(token, who), handler.owed(token, who), "owed");
            }
        }
    }

    /// @dev One bounty's books against the model: paid + refunded + held == contributed, per sponsor too.
    function _checkBounty(uint256 id) internal view {
        BountyBoardHandler.Model memory m = handler.model(id);
        IBountyBoard.BountyView memory v = board.bountyOf(id);
        vm.assertEq(v.contributed, m.contributed, "contributed");
        vm.assertEq(v.paid, m.paid, "paid");
        vm.assertEq(v.refunded, m.refunded, "refunded");
        vm.assertEq(uint256(v.sponsors), m.sponsors, "sponsors");
        vm.assertEq(uint256(v.refunds), m.refunds, "refunds");
        vm.assertEq(uint256(v.submissions), m.submissions, "submissions");
        vm.assertEq(uint256(v.deadline), uint256(m.deadline), "deadline");
        vm.assertEq(v.termsHash, m.termsHash, "terms hash");
        vm.assertEq(m.paid + m.refunded + board.potOf(id), m.contributed, "paid + refunded + held == contributed");
        uint256 sum;
        for (uint256 i; i < 4; ++i) {
            address s = handler.sponsor(i);
            (uint256 c, bool refunded) = board.contributionOf(id, s);
            vm.assertEq(c, handler.contribution(id, s), "contribution");
            vm.assertEq(refunded, handler.refundedFlag(id, s), "refunded flag");
            sum += c;
        }
        vm.assertEq(sum, m.contributed, "contributions add up");
    }

    // ===================================================================================== coverage

    event log_named_uint(string key, uint256 val);

    /// @notice The handler is not vacuous: driven by a fixed pseudo-random sequence, every action succeeds and
    /// is refused with each error the model predicts, without a single surprise.
    function test_handlerReachesEveryOutcome() public {
        for (uint256 i; i < 3_000; ++i) {
            uint256 r = uint256(keccak256(abi.encode("step", i)));
            bytes4 sel = _selectors[r % _selectors.length];
            uint256[4] memory a;
            for (uint256 k; k < 4; ++k) {
                a[k] = uint256(keccak256(abi.encode(r, k)));
            }
            (bool ok,) = address(handler).call(abi.encodeWithSelector(sel, a[0], a[1], a[2], a[3]));
            vm.assertTrue(ok, "the handler reverted");
            if (i % 10 == 0) invariant_bountyBoard();
            if (i % 500 == 0) _checkAll();
        }
        afterInvariant();
        string[12] memory names = [
            "post",
            "fund",
            "submit",
            "approve",
            "award",
            "revoke",
            "evaluate",
            "refund",
            "withdraw",
            "extend",
            "mintWinner",
            "setToken"
        ];
        for (uint256 i; i < names.length; ++i) {
            bytes32 key = bytes32(bytes(names[i]));
            emit log_named_uint(string.concat(names[i], " ok"), handler.succeeded(key));
            emit log_named_uint(string.concat(names[i], " refused"), handler.refused(key));
            vm.assertGt(handler.succeeded(key), 0, string.concat("never succeeded: ", names[i]));
        }
        bytes4[21] memory errs = [
            IBountyBoard.BountyBoard__TokenNotAllowed.selector,
            IBountyBoard.BountyBoard__TermsMismatch.selector,
            IBountyBoard.BountyBoard__DeadlinePassed.selector,
            IBountyBoard.BountyBoard__InvalidCid.selector,
            IBountyBoard.BountyBoard__EvaluatorDecides.selector,
            IBountyBoard.BountyBoard__AwardsClosed.selector,
            IBountyBoard.BountyBoard__UnknownSubmission.selector,
            IBountyBoard.BountyBoard__ZeroAmount.selector,
            IBountyBoard.BountyBoard__ExceedsPot.selector,
            IBountyBoard.BountyBoard__NotApprover.selector,
            IBountyBoard.BountyBoard__AlreadyApproved.selector,
            IBountyBoard.BountyBoard__NotApproved.selector,
            IBountyBoard.BountyBoard__ApproversDecide.selector,
            IBountyBoard.BountyBoard__NothingToRefund.selector,
            IBountyBoard.BountyBoard__RefundLocked.selector,
            IBountyBoard.BountyBoard__NothingToWithdraw.selector,
            IBountyBoard.BountyBoard__NotPoster.selector,
            IBountyBoard.BountyBoard__InvalidDeadline.selector,
            IBountyBoard.BountyBoard__OtherContributors.selector,
            IBountyBoard.BountyBoard__NotSubmitter.selector,
            IBountyBoard.BountyBoard__NotAwarded.selector
        ];
        bytes32[21] memory actions = [
            bytes32("post"),
            "fund",
            "fund",
            "submit",
            "approve",
            "approve",
            "approve",
            "approve",
            "approve",
            "approve",
            "approve",
            "revoke",
            "evaluate",
            "refund",
            "refund",
            "withdraw",
            "extend",
            "extend",
            "extend",
            "mintWinner",
            "mintWinner"
        ];
        for (uint256 i; i < errs.length; ++i) {
            vm.assertGt(handler.refusedWith(actions[i], errs[i]), 0, vm.toString(i));
        }
    }
}
