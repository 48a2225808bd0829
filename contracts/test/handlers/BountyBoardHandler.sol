// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {TestBase} from "../utils/Vm.sol";
import {TestStablecoin} from "../../src/devnet/TestStablecoin.sol";
import {DesignNFT} from "../../src/DesignNFT.sol";
import {BountyBoard} from "../../src/design/BountyBoard.sol";
import {IBountyBoard} from "../../src/interfaces/IBountyBoard.sol";
import {FeeOnTransferToken} from "../mocks/FeeOnTransferToken.sol";
import {MockEvaluator} from "../bounty/BountyMocks.sol";

/// @notice Drives the bounty board with bounded random inputs: four sponsors (who also post), three approvers,
/// three designers, two tokens (a plain stablecoin and one that burns 1 % of every transfer), an evaluator
/// whose answer the handler picks, token allowlisting and time warps. Every call first predicts from the
/// model whether it must succeed (and with which amounts) or with exactly which error it must revert, then
/// checks the board's answer and token movements against it and applies the predicted effect to the model.
/// Nothing here reverts: surprises are counted for the invariants.
contract BountyBoardHandler is TestBase {
    struct Model {
        address token;
        uint64 deadline;
        uint8 quorum;
        bool byEvaluator;
        address poster;
        uint256 submissions;
        uint256 sponsors;
        uint256 refunds;
        uint256 contributed;
        uint256 paid;
        uint256 refunded;
        bytes32 termsHash;
    }

    uint256 internal constant MAX_AMOUNT = 1e9;
    uint256 internal constant WALLET = 1e30;
    uint256 internal constant GRACE = 7 days;
    bytes internal constant BRIEF_CID = hex"1220b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0";
    bytes internal constant META_CID = hex"12201111111111111111111111111111111111111111111111111111111111111111";

    BountyBoard public immutable board;
    DesignNFT public immutable designs;
    MockEvaluator public immutable evaluator;
    address public immutable owner;
    FeeOnTransferToken internal immutable _fot;

    address[4] internal _sponsors = [address(0x5A01), address(0x5A02), address(0x5A03), address(0x5A04)];
    address[3] internal _approvers = [address(0xA101), address(0xA102), address(0xA103)];
    address[3] internal _designers = [address(0xD501), address(0xD502), address(0xD503)];
    address[2] internal _tokens;

    uint256 public bountyCount;
    uint64 public maxDeadline;
    mapping(uint256 id => Model) internal _m;
    mapping(uint256 id => IBountyBoard.BountyTerms) internal _terms;
    mapping(uint256 id => mapping(address => uint256)) public contribution;
    mapping(uint256 id => mapping(address => bool)) public refundedFlag;
    mapping(uint256 id => mapping(address => bool)) internal _isApprover;
    mapping(uint256 id => mapping(uint256 sub => address)) public submitter;
    mapping(uint256 id => mapping(uint256 sub => bool)) public awarded;
    mapping(uint256 id => mapping(uint256 sub => bool)) public minted;
    /// @dev Approvals by tuple key and round (an executed award starts a new round).
    mapping(bytes32 tuple => uint256) internal _round;
    mapping(bytes32 tuple => uint256) internal _approvalCount;
    mapping(bytes32 tupleRoundApprover => bool) internal _approved;
    mapping(address token => mapping(address account => uint256)) public owed;
    mapping(address token => uint256) public totalOwed;
    /// @dev Per token: the sum over bounties of contributed - paid - refunded.
    mapping(address token => uint256) public totalHeld;
    /// @dev Handler calls so far and the bounty the last one touched (the per-call checks look at these).
    uint256 public calls;
    uint256 public lastId;
    mapping(address token => bool) public allowed;
    /// @dev Per token: what arrived at the board, and what it paid out (refunds and withdrawals).
    mapping(address token => uint256) public ghostIn;
    mapping(address token => uint256) public ghostOut;

    uint256 public surprises;
    string public lastSurprise;
    mapping(bytes32 action => uint256) public succeeded;
    mapping(bytes32 action => uint256) public refused;
    mapping(bytes32 action => mapping(bytes4 selector => uint256)) internal _refusedWith;
    uint256 internal _cidNonce;

    struct LastApproval {
        uint256 id;
        uint256 sub;
        uint256 amount;
        address approver;
    }

    uint256 internal _lastEvaluatorBounty;

    /// @dev The last approval that stayed pending: what `revoke` mostly tries to withdraw.
    LastApproval internal _lastApproval;

    constructor(BountyBoard board_, DesignNFT designs_, TestStablecoin usd, FeeOnTransferToken fot, address owner_) {
        board = board_;
        designs = designs_;
        owner = owner_;
        _fot = fot;
        evaluator = new MockEvaluator();
        _tokens = [address(usd), address(fot)];
        allowed[address(usd)] = board_.isTokenAllowed(address(usd));
        allowed[address(fot)] = board_.isTokenAllowed(address(fot));
        for (uint256 i; i < 4; ++i) {
            vm.prank(owner_);
            usd.mint(_sponsors[i], WALLET);
            fot.mint(_sponsors[i], WALLET);
            vm.startPrank(_sponsors[i]);
            usd.approve(address(board_), type(uint256).max);
            fot.approve(address(board_), type(uint256).max);
            vm.stopPrank();
        }
    }

    modifier counted() {
        ++calls;
        _;
    }

    // ===================================================================================== actions

    /// @notice A sponsor posts a bounty (approvers or the evaluator), funding it or not.
    function post(uint256 a, uint256 b, uint256 c, uint256 d) external counted {
        address p = _sponsors[a % 4];
        IBountyBoard.BountyTerms memory t;
        t.token = _tokens[b % 2];
        t.briefCid = BRIEF_CID;
        t.deadline = uint64(block.timestamp + bound(c, 1 hours, 20 days));
        if (d % 5 == 0) {
            t.evaluator = address(evaluator);
        } else {
            uint256 mask = (d >> 8) % 7 + 1;
            uint256 n;
            for (uint256 i; i < 3; ++i) {
                if (mask & (1 << i) != 0) ++n;
            }
            t.approvers = new address[](n);
            n = 0;
            for (uint256 i; i < 3; ++i) {
                if (mask & (1 << i) != 0) t.approvers[n++] = _approvers[i];
            }
            t.quorum = uint8(1 + (d >> 16) % n);
        }
        t.sponsorRoyaltyBps = uint16((d >> 24) % 10_001);
        t.designRoyaltyBps = uint16((d >> 40) % 2_501);
        uint256 amount = (b >> 8) % 4 == 0 ? 0 : bound(b >> 16, 1, MAX_AMOUNT);
        bytes4 expected = allowed[t.token] ? bytes4(0) : IBountyBoard.BountyBoard__TokenNotAllowed.selector;
        uint256 before = IERC20(t.token).balanceOf(address(board));
        vm.prank(p);
        try board.post(t, amount) returns (uint256 id) {
            if (!_succeeded("post", expected)) return;
            if (id != bountyCount + 1) _surprise("post: id");
            bountyCount = id;
            lastId = id;
            Model storage m = _m[id];
            m.token = t.token;
            m.deadline = t.deadline;
            m.quorum = t.quorum;
            m.byEvaluator = t.evaluator != address(0);
            if (m.byEvaluator) _lastEvaluatorBounty = id;
            m.poster = p;
            m.termsHash = keccak256(abi.encode(t));
            _terms[id] = t;
            for (uint256 i; i < t.approvers.length; ++i) {
                _isApprover[id][t.approvers[i]] = true;
            }
            if (t.deadline > maxDeadline) maxDeadline = t.deadline;
            if (amount != 0) _credit(id, p, amount, before);
        } catch (bytes memory err) {
            _refused("post", err, expected);
        }
    }

    /// @notice A sponsor funds a bounty, sometimes with a stale terms hash.
    function fund(uint256 a, uint256 b, uint256 c, uint256 d) external counted {
        if (bountyCount == 0) return;
        uint256 id = _pick(a);
        lastId = id;
        Model storage m = _m[id];
        address s = _sponsors[b % 4];
        uint256 amount = bound(c, 1, MAX_AMOUNT);
        bool stale = d % 10 == 0;
        bytes32 h = stale ? keccak256(abi.encode(m.termsHash)) : m.termsHash;
        bytes4 expected;
        if (stale) expected = IBountyBoard.BountyBoard__TermsMismatch.selector;
        else if (block.timestamp > m.deadline) expected = IBountyBoard.BountyBoard__DeadlinePassed.selector;
        else if (!allowed[m.token]) expected = IBountyBoard.BountyBoard__TokenNotAllowed.selector;
        uint256 before = IERC20(m.token).balanceOf(address(board));
        vm.prank(s);
        try board.fund(id, amount, h) returns (uint256 received) {
            if (!_succeeded("fund", expected)) return;
            if (received != _received(m.token, amount)) _surprise("fund: received");
            _credit(id, s, amount, before);
        } catch (bytes memory err) {
            _refused("fund", err, expected);
        }
    }

    /// @notice A designer submits a fresh CID (sometimes a malformed one).
    function submit(uint256 a, uint256 b, uint256 c, uint256) external counted {
        if (bountyCount == 0) return;
        uint256 id = _pick(a);
        lastId = id;
        Model storage m = _m[id];
        address who = _designers[b % 3];
        bool bad = c % 10 == 0;
        bytes memory cid = bad ? bytes(hex"01") : abi.encodePacked(hex"1220", keccak256(abi.encode("cid", ++_cidNonce)));
        bytes4 expected;
        if (block.timestamp > m.deadline) expected = IBountyBoard.BountyBoard__DeadlinePassed.selector;
        else if (bad) expected = IBountyBoard.BountyBoard__InvalidCid.selector;
        vm.prank(who);
        try board.submit(id, cid) returns (uint256 sub) {
            if (!_succeeded("submit", expected)) return;
            if (sub != m.submissions + 1) _surprise("submit: id");
            m.submissions = sub;
            submitter[id][sub] = who;
        } catch (bytes memory err) {
            _refused("submit", err, expected);
        }
    }

    /// @notice An approver (or not) approves an amount from a small set for a submission (or an unknown one).
    function approve(uint256 a, uint256 b, uint256 c, uint256 d) external counted {
        if (bountyCount == 0) return;
        uint256 id = _pick(a);
        Model storage m = _m[id];
        address[] memory listed = _terms[id].approvers;
        address who = b % 4 != 0 && listed.length != 0 ? listed[(b >> 8) % listed.length] : _approvers[b % 3];
        uint256 sub = _sub(m.submissions, c);
        uint256 amount = _amountFrom(d);
        if ((d >> 8) % 4 == 0 && _lastApproval.id != 0) {
            // The last pending tuple again: by its approver (refused) or by another one (often completing it).
            (id, sub, amount) = (_lastApproval.id, _lastApproval.sub, _lastApproval.amount);
            m = _m[id];
            listed = _terms[id].approvers;
            if (b % 2 == 0 || listed.length == 0) who = _lastApproval.approver;
            else who = listed[(b >> 8) % listed.length];
        }
        lastId = id;
        bytes32 tuple = keccak256(abi.encode(id, sub, amount));
        bytes32 mine = keccak256(abi.encode(tuple, _round[tuple], who));
        uint256 pot = m.contributed - m.paid;
        bytes4 expected;
        if (m.byEvaluator) {
            expected = IBountyBoard.BountyBoard__EvaluatorDecides.selector;
        } else if (block.timestamp > uint256(m.deadline) + GRACE) {
            expected = IBountyBoard.BountyBoard__AwardsClosed.selector;
        } else if (submitter[id][sub] == address(0)) {
            expected = IBountyBoard.BountyBoard__UnknownSubmission.selector;
        } else if (amount == 0) {
            expected = IBountyBoard.BountyBoard__ZeroAmount.selector;
        } else if (amount > pot) {
            expected = IBountyBoard.BountyBoard__ExceedsPot.selector;
        } else if (!_isApprover[id][who]) {
            expected = IBountyBoard.BountyBoard__NotApprover.selector;
        } else if (_approved[mine]) {
            expected = IBountyBoard.BountyBoard__AlreadyApproved.selector;
        }
        bool executes = _approvalCount[tuple] + 1 >= m.quorum;
        vm.prank(who);
        try board.award(id, sub, amount) returns (bool executed) {
            if (!_succeeded("approve", expected)) return;
            if (executed != executes) _surprise("approve: executed");
            if (executes) {
                ++_round[tuple];
                _approvalCount[tuple] = 0;
                _pay(id, sub, amount);
                ++succeeded["award"];
            } else {
                _approved[mine] = true;
                ++_approvalCount[tuple];
                _lastApproval = LastApproval(id, sub, amount, who);
            }
        } catch (bytes memory err) {
            _refused("approve", err, expected);
        }
    }

    /// @notice An approver withdraws a pending approval (or one it never gave).
    function revoke(uint256 a, uint256 b, uint256 c, uint256 d) external counted {
        if (bountyCount == 0) return;
        uint256 id = _pick(a);
        address who = _approvers[b % 3];
        uint256 sub = _sub(_m[id].submissions, c);
        uint256 amount = _amountFrom(d);
        if (d % 4 != 0 && _lastApproval.id != 0) {
            (id, sub, amount, who) = (_lastApproval.id, _lastApproval.sub, _lastApproval.amount, _lastApproval.approver);
        }
        lastId = id;
        bytes32 tuple = keccak256(abi.encode(id, sub, amount));
        bytes32 mine = keccak256(abi.encode(tuple, _round[tuple], who));
        bytes4 expected;
        if (!_isApprover[id][who]) expected = IBountyBoard.BountyBoard__NotApprover.selector;
        else if (!_approved[mine]) expected = IBountyBoard.BountyBoard__NotApproved.selector;
        vm.prank(who);
        try board.revokeApproval(id, sub, amount) {
            if (!_succeeded("revoke", expected)) return;
            _approved[mine] = false;
            --_approvalCount[tuple];
        } catch (bytes memory err) {
            _refused("revoke", err, expected);
        }
    }

    /// @notice Anyone asks the evaluator, which answers zero, more than the pot, or a share of it.
    function evaluate(uint256 a, uint256 b, uint256 c, uint256 d) external counted {
        if (bountyCount == 0) return;
        uint256 id = _pick(a);
        if (!_m[id].byEvaluator && (d >> 8) % 2 == 0 && _lastEvaluatorBounty != 0) id = _lastEvaluatorBounty;
        lastId = id;
        Model storage m = _m[id];
        uint256 sub = _sub(m.submissions, b);
        uint256 pot = m.contributed - m.paid;
        uint256 answer;
        if (c % 6 == 1) answer = pot + 1;
        else if (c % 6 != 0) answer = pot == 0 ? 1 : bound(c >> 8, 1, pot);
        evaluator.setAnswer(answer);
        bytes4 expected;
        if (!m.byEvaluator) {
            expected = IBountyBoard.BountyBoard__ApproversDecide.selector;
        } else if (block.timestamp > uint256(m.deadline) + GRACE) {
            expected = IBountyBoard.BountyBoard__AwardsClosed.selector;
        } else if (submitter[id][sub] == address(0)) {
            expected = IBountyBoard.BountyBoard__UnknownSubmission.selector;
        } else if (answer == 0) {
            expected = IBountyBoard.BountyBoard__ZeroAmount.selector;
        } else if (answer > pot) {
            expected = IBountyBoard.BountyBoard__ExceedsPot.selector;
        }
        vm.prank(_designers[d % 3]);
        try board.awardByEvaluator(id, sub, "") returns (uint256 amount) {
            if (!_succeeded("evaluate", expected)) return;
            if (amount != answer) _surprise("evaluate: amount");
            _pay(id, sub, answer);
        } catch (bytes memory err) {
            _refused("evaluate", err, expected);
        }
    }

    /// @notice A sponsor (or someone who never funded) asks for a refund.
    function refund(uint256 a, uint256 b, uint256, uint256) external counted {
        if (bountyCount == 0) return;
        _refund(_pick(a), _sponsors[b % 4]);
    }

    /// @notice Settlement (not a fuzz target): sponsor `i` refunds bounty `id`.
    function settleRefund(uint256 id, uint256 i) external {
        _refund(id, _sponsors[i]);
    }

    function _refund(uint256 id, address s) internal {
        lastId = id;
        Model storage m = _m[id];
        uint256 c = contribution[id][s];
        bytes4 expected;
        bool early = m.submissions == 0;
        uint256 amount;
        if (c == 0 || refundedFlag[id][s]) {
            expected = IBountyBoard.BountyBoard__NothingToRefund.selector;
        } else if (early) {
            amount = c;
        } else if (block.timestamp < uint256(m.deadline) + GRACE + 1) {
            expected = IBountyBoard.BountyBoard__RefundLocked.selector;
        } else if (m.refunds + 1 == m.sponsors) {
            amount = m.contributed - m.paid - m.refunded;
        } else {
            amount = (m.contributed - m.paid) * c / m.contributed;
        }
        uint256 before = IERC20(m.token).balanceOf(address(board));
        vm.prank(s);
        try board.refund(id) returns (uint256 got) {
            if (!_succeeded("refund", expected)) return;
            if (got != amount) _surprise("refund: amount");
            if (before - IERC20(m.token).balanceOf(address(board)) != amount) _surprise("refund: moved");
            ghostOut[m.token] += amount;
            totalHeld[m.token] -= amount;
            if (early) {
                contribution[id][s] = 0;
                m.contributed -= c;
                --m.sponsors;
            } else {
                refundedFlag[id][s] = true;
                ++m.refunds;
                m.refunded += amount;
            }
        } catch (bytes memory err) {
            _refused("refund", err, expected);
        }
    }

    /// @notice Anyone withdraws its awarded balance of a token.
    function withdraw(uint256 a, uint256 b, uint256, uint256) external counted {
        _withdraw(a % 5 == 0 ? _sponsors[(a >> 8) % 4] : _designers[a % 3], _tokens[b % 2]);
    }

    /// @notice Settlement (not a fuzz target): designer `d` withdraws token `t`.
    function settleWithdraw(uint256 d, uint256 t) external {
        _withdraw(_designers[d], _tokens[t]);
    }

    function _withdraw(address who, address tok) internal {
        uint256 amount = owed[tok][who];
        bytes4 expected = amount == 0 ? IBountyBoard.BountyBoard__NothingToWithdraw.selector : bytes4(0);
        uint256 before = IERC20(tok).balanceOf(address(board));
        vm.prank(who);
        try board.withdraw(tok) returns (uint256 got) {
            if (!_succeeded("withdraw", expected)) return;
            if (got != amount) _surprise("withdraw: amount");
            if (before - IERC20(tok).balanceOf(address(board)) != amount) _surprise("withdraw: moved");
            owed[tok][who] = 0;
            totalOwed[tok] -= amount;
            ghostOut[tok] += amount;
        } catch (bytes memory err) {
            _refused("withdraw", err, expected);
        }
    }

    /// @notice The poster (or someone else) moves a deadline: later, to the same second or earlier.
    function extend(uint256 a, uint256 b, uint256 c, uint256) external counted {
        if (bountyCount == 0) return;
        uint256 id = _pick(a);
        lastId = id;
        Model storage m = _m[id];
        address caller = c % 4 == 0 ? _sponsors[(c >> 8) % 4] : m.poster;
        uint64 newDeadline = b % 7 == 0 ? m.deadline - 1 : uint64(m.deadline + bound(b >> 8, 0, 30 days));
        IBountyBoard.BountyTerms memory t = _terms[id];
        bytes4 expected;
        if (caller != m.poster) {
            expected = IBountyBoard.BountyBoard__NotPoster.selector;
        } else if (block.timestamp > m.deadline) {
            expected = IBountyBoard.BountyBoard__DeadlinePassed.selector;
        } else if (newDeadline <= m.deadline || newDeadline > block.timestamp + 365 days) {
            expected = IBountyBoard.BountyBoard__InvalidDeadline.selector;
        } else if (m.contributed != contribution[id][m.poster]) {
            expected = IBountyBoard.BountyBoard__OtherContributors.selector;
        }
        vm.prank(caller);
        try board.extendDeadline(id, t, newDeadline) returns (bytes32 h) {
            if (!_succeeded("extend", expected)) return;
            t.deadline = newDeadline;
            if (h != keccak256(abi.encode(t))) _surprise("extend: hash");
            _terms[id].deadline = newDeadline;
            m.deadline = newDeadline;
            m.termsHash = h;
            if (newDeadline > maxDeadline) maxDeadline = newDeadline;
        } catch (bytes memory err) {
            _refused("extend", err, expected);
        }
    }

    /// @notice A submitter (or an impostor) mints a submission as a design.
    function mintWinner(uint256 a, uint256 b, uint256 c, uint256) external counted {
        if (bountyCount == 0) return;
        uint256 id = _pick(a);
        lastId = id;
        uint256 sub = _sub(_m[id].submissions, b);
        address who = submitter[id][sub];
        address caller = c % 4 == 0 || who == address(0) ? _designers[(c >> 8) % 3] : who;
        bytes4 expected;
        if (who == address(0)) expected = IBountyBoard.BountyBoard__UnknownSubmission.selector;
        else if (caller != who) expected = IBountyBoard.BountyBoard__NotSubmitter.selector;
        else if (!awarded[id][sub]) expected = IBountyBoard.BountyBoard__NotAwarded.selector;
        else if (minted[id][sub]) expected = IBountyBoard.BountyBoard__AlreadyMinted.selector;
        vm.prank(caller);
        try board.mintWinner(id, sub, META_CID) returns (uint256 tokenId, address) {
            if (!_succeeded("mintWinner", expected)) return;
            minted[id][sub] = true;
            if (designs.ownerOf(tokenId) != who) _surprise("mintWinner: owner");
        } catch (bytes memory err) {
            _refused("mintWinner", err, expected);
        }
    }

    /// @notice Governance allows or disallows a token (mostly allows).
    function setToken(uint256 a, uint256 b, uint256, uint256) external counted {
        address tok = _tokens[a % 2];
        bool allow = b % 3 != 0;
        vm.prank(owner);
        try board.setToken(tok, allow) {
            allowed[tok] = allow;
            ++succeeded["setToken"];
        } catch {
            _surprise("setToken reverted");
        }
    }

    /// @notice Time passes (up to two days).
    function warp(uint256 a, uint256, uint256, uint256) external counted {
        vm.warp(block.timestamp + bound(a, 0, 2 days));
    }

    // ======================================================================================= views

    function model(uint256 id) external view returns (Model memory) {
        return _m[id];
    }

    function sponsor(uint256 i) external view returns (address) {
        return _sponsors[i];
    }

    function designer(uint256 i) external view returns (address) {
        return _designers[i];
    }

    function token(uint256 i) external view returns (address) {
        return _tokens[i];
    }

    function refusedWith(bytes32 action, bytes4 selector) external view returns (uint256) {
        return _refusedWith[action][selector];
    }

    // ==================================================================================== internal

    /// @dev Mostly one of the four latest bounties (still open more often), sometimes any.
    function _pick(uint256 a) internal view returns (uint256) {
        uint256 n = bountyCount;
        if (a % 4 == 0) return 1 + (a >> 8) % n;
        uint256 back = (a >> 8) % (n < 4 ? n : 4);
        return n - back;
    }

    /// @dev Mostly an existing submission, sometimes the next (unknown) one.
    function _sub(uint256 submissions, uint256 c) internal pure returns (uint256) {
        if (submissions == 0 || c % 8 == 0) return submissions + 1;
        return 1 + (c >> 8) % submissions;
    }

    /// @dev Amounts approvers pick from: a small set so that approvals of the same tuple meet.
    function _amountFrom(uint256 d) internal pure returns (uint256) {
        uint256[5] memory amounts = [uint256(0), 1e6, 1e7, 1e8, 5e8];
        return amounts[d % 5];
    }

    function _received(address token_, uint256 amount) internal view returns (uint256) {
        return token_ == address(_fot) ? amount - amount * _fot.feeBps() / 10_000 : amount;
    }

    /// @dev A successful funding of `amount` by `s`: what arrived is its contribution.
    function _credit(uint256 id, address s, uint256 amount, uint256 before) internal {
        Model storage m = _m[id];
        uint256 received = _received(m.token, amount);
        if (IERC20(m.token).balanceOf(address(board)) - before != received) _surprise("funding: arrived");
        if (contribution[id][s] == 0) ++m.sponsors;
        contribution[id][s] += received;
        m.contributed += received;
        totalHeld[m.token] += received;
        ghostIn[m.token] += received;
    }

    function _pay(uint256 id, uint256 sub, uint256 amount) internal {
        Model storage m = _m[id];
        m.paid += amount;
        totalHeld[m.token] -= amount;
        address who = submitter[id][sub];
        owed[m.token][who] += amount;
        totalOwed[m.token] += amount;
        awarded[id][sub] = true;
    }

    function _succeeded(bytes32 action, bytes4 expected) internal returns (bool) {
        if (expected != bytes4(0)) {
            _surprise(string.concat(string(abi.encodePacked(action)), ": unexpected success"));
            return false;
        }
        ++succeeded[action];
        return true;
    }

    function _refused(bytes32 action, bytes memory err, bytes4 expected) internal {
        bytes4 got = err.length >= 4 ? bytes4(err) : bytes4(0);
        if (expected == bytes4(0)) {
            _surprise(string.concat(string(abi.encodePacked(action)), ": unexpected revert"));
        } else if (got != expected) {
            _surprise(string.concat(string(abi.encodePacked(action)), ": wrong error"));
        } else {
            ++refused[action];
            ++_refusedWith[action][got];
        }
    }

    function _surprise(string memory what) internal {
        ++surprises;
        lastSurprise = what;
    }
}
