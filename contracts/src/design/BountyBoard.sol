// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IBountyBoard} from "../interfaces/IBountyBoard.sol";
import {IBountyEvaluator} from "../interfaces/IBountyEvaluator.sol";
import {IDesignNFT} from "../interfaces/IDesignNFT.sol";
import {CidLib} from "../libraries/CidLib.sol";
import {RoyaltySplit} from "./RoyaltySplit.sol";

/// @title BountyBoard
/// @notice Design bounties (see `IBountyBoard` for the rules). Every token the board holds is either held by
/// a bounty (`contributed - paid - refunded`) or owed to a submitter (`balanceOf`): awards only move an amount
/// from the first to the second, refunds and withdrawals pay out exactly what they take off.
/// Owner: the DAO timelock (token allowlist only; it can neither move nor freeze anyone's funds).
contract BountyBoard is IBountyBoard, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    uint256 private constant BPS = 10_000;
    /// @notice Most approvers a bounty may name (a 16-bit approval bitmap per award).
    uint256 public constant MAX_APPROVERS = 16;
    /// @notice Longest time from now a deadline may be set to: contributions are never locked longer.
    uint256 public constant MAX_DURATION = 365 days;
    /// @notice After the deadline, how long pending approvals (and evaluations) may still award before the
    /// sponsors' refunds open.
    uint256 public constant GRACE_PERIOD = 7 days;

    /// @dev `post` writes slots 0, 2, 3 and 5, funding slot 1, refunds after the award window slot 4. Slots 0
    /// and 1 are all that an award reads and writes of the bounty.
    struct Bounty {
        // slot 0: read by every call
        address token;
        uint64 deadline;
        uint8 quorum; // 0: the evaluator decides
        uint16 sponsorRoyaltyBps;
        // slot 1: the money
        uint128 contributed;
        uint128 paid;
        // slot 2
        address poster;
        uint32 submissions;
        uint32 sponsors; // addresses with a non-zero contribution
        uint32 refunds; // sponsors that refunded after the award window
        // slot 3
        address evaluator;
        uint16 designRoyaltyBps;
        // slot 4
        uint128 refunded;
        // slot 5
        bytes32 termsHash;
    }

    struct Sponsor {
        uint128 contribution;
        bool refunded;
    }

    /// @dev Two slots: the CID is kept as its sha2-256 digest and a form code (see `_cidForm`), which rebuild
    /// the exact bytes submitted (a third slot less than storing the 34-37 bytes).
    struct Submission {
        address submitter;
        bool awarded;
        bool minted;
        uint8 cidForm;
        bytes32 digest;
    }

    /// @dev Pending approvals of one (bounty, submission, amount): a bitmap over the approvers' indices and
    /// their count. The approval that reaches the quorum clears the slot (a storage refund), so a repeat award
    /// of the same tuple (a milestone) needs a fresh quorum.
    struct Approval {
        uint16 approvers;
        uint8 count;
    }

    /// @notice The design contract winners are minted on (this board must be one of its minters).
    IDesignNFT public immutable designs;
    address private immutable _splitImplementation;

    uint256 private _bountyCount;
    mapping(uint256 id => Bounty) private _bounties;
    mapping(uint256 id => mapping(address sponsor => Sponsor)) private _sponsors;
    mapping(uint256 id => mapping(uint256 submissionId => Submission)) private _submissions;
    /// @dev 1 + the approver's index in the terms; 0 for non-approvers.
    mapping(uint256 id => mapping(address approver => uint256)) private _approverIndex;
    mapping(bytes32 key => Approval) private _approvals;
    mapping(address token => mapping(address account => uint256)) private _balances;
    mapping(address token => bool) private _allowed;

    constructor(address owner_, IDesignNFT designs_) Ownable(owner_) {
        if (address(designs_) == address(0)) revert BountyBoard__ZeroAddress();
        designs = designs_;
        // The implementation binds itself to this board (its deployer); clones carry the rest as arguments.
        _splitImplementation = address(new RoyaltySplit());
    }

    // ---------------------------------------------------------------------------------- governance

    /// @inheritdoc IBountyBoard
    function setToken(address token, bool allowed) external onlyOwner {
        if (token == address(0)) revert BountyBoard__ZeroAddress();
        _allowed[token] = allowed;
        emit TokenSet(token, allowed);
    }

    // ------------------------------------------------------------------------------------ sponsors

    /// @inheritdoc IBountyBoard
    function post(BountyTerms calldata terms, uint256 amount) external nonReentrant returns (uint256 id) {
        _checkTerms(terms);
        // unchecked: a counter of bounties cannot overflow.
        unchecked {
            id = ++_bountyCount;
        }
        Bounty storage b = _bounties[id];
        b.token = terms.token;
        b.deadline = terms.deadline;
        b.quorum = terms.quorum;
        b.sponsorRoyaltyBps = terms.sponsorRoyaltyBps;
        b.poster = msg.sender;
        b.evaluator = terms.evaluator;
        b.designRoyaltyBps = terms.designRoyaltyBps;
        bytes32 termsHash = keccak256(abi.encode(terms));
        b.termsHash = termsHash;
        uint256 n = terms.approvers.length;
        for (uint256 i; i < n; ++i) {
            address approver = terms.approvers[i];
            // Distinct and non-zero: a repeated approver would count twice towards the quorum.
            if (approver == address(0) || _approverIndex[id][approver] != 0) {
                revert BountyBoard__InvalidApprover(approver);
            }
            _approverIndex[id][approver] = i + 1;
        }
        emit BountyPosted(id, msg.sender, termsHash, terms);
        if (amount != 0) _fund(b, id, amount);
    }

    /// @inheritdoc IBountyBoard
    function fund(uint256 id, uint256 amount, bytes32 termsHash) external nonReentrant returns (uint256 received) {
        Bounty storage b = _bounty(id);
        bytes32 current = b.termsHash;
        if (termsHash != current) revert BountyBoard__TermsMismatch(id, current, termsHash);
        received = _fund(b, id, amount);
    }

    /// @inheritdoc IBountyBoard
    function extendDeadline(uint256 id, BountyTerms calldata terms, uint64 newDeadline)
        external
        returns (bytes32 termsHash)
    {
        Bounty storage b = _bounty(id);
        if (msg.sender != b.poster) revert BountyBoard__NotPoster(id, msg.sender);
        bytes32 current = b.termsHash;
        bytes32 given = keccak256(abi.encode(terms));
        if (given != current) revert BountyBoard__TermsMismatch(id, current, given);
        uint64 deadline = b.deadline;
        // slither-disable-next-line timestamp (deadline by design; see contracts/SLITHER.md)
        if (block.timestamp > deadline) revert BountyBoard__DeadlinePassed(id, deadline);
        if (newDeadline <= deadline || newDeadline > block.timestamp + MAX_DURATION) {
            revert BountyBoard__InvalidDeadline(newDeadline, block.timestamp);
        }
        // Only the poster's own money may wait longer: anyone else funded the deadline it saw.
        if (b.contributed != _sponsors[id][msg.sender].contribution) revert BountyBoard__OtherContributors(id);
        BountyTerms memory extended = terms;
        extended.deadline = newDeadline;
        termsHash = keccak256(abi.encode(extended));
        b.deadline = newDeadline;
        b.termsHash = termsHash;
        emit DeadlineExtended(id, newDeadline, termsHash);
    }

    /// @inheritdoc IBountyBoard
    function refund(uint256 id) external nonReentrant returns (uint256 amount) {
        Bounty storage b = _bounty(id);
        Sponsor storage s = _sponsors[id][msg.sender];
        uint256 contribution = s.contribution;
        if (contribution == 0 || s.refunded) revert BountyBoard__NothingToRefund(id, msg.sender);
        bool early = b.submissions == 0;
        if (early) {
            // Nothing can have been paid without a submission: the sponsor leaves with all it put in.
            amount = contribution;
            s.contribution = 0;
            // unchecked: the contribution is part of `contributed`, and was counted as a sponsor.
            unchecked {
                b.contributed -= uint128(contribution);
                b.sponsors -= 1;
            }
        } else {
            uint256 unlocksAt = uint256(b.deadline) + GRACE_PERIOD + 1;
            // slither-disable-next-line timestamp (deadline by design; see contracts/SLITHER.md)
            if (block.timestamp < unlocksAt) revert BountyBoard__RefundLocked(id, unlocksAt);
            s.refunded = true;
            uint32 refunds = b.refunds + 1;
            amount = _refundable(b, contribution, refunds);
            b.refunds = refunds;
            // unchecked: the refunds never exceed what is held (see `_refundable`).
            unchecked {
                b.refunded += uint128(amount);
            }
        }
        emit ContributionRefunded(id, msg.sender, amount, early);
        if (amount != 0) IERC20(b.token).safeTransfer(msg.sender, amount);
    }

    // ----------------------------------------------------------------------------------- designers

    /// @inheritdoc IBountyBoard
    function submit(uint256 id, bytes calldata cid) external returns (uint256 submissionId) {
        Bounty storage b = _bounty(id);
        uint64 deadline = b.deadline;
        // slither-disable-next-line timestamp (deadline by design; see contracts/SLITHER.md)
        if (block.timestamp > deadline) revert BountyBoard__DeadlinePassed(id, deadline);
        if (!CidLib.isValid(cid)) revert BountyBoard__InvalidCid(cid);
        submissionId = ++b.submissions;
        Submission storage s = _submissions[id][submissionId];
        s.submitter = msg.sender;
        s.cidForm = _cidForm(cid);
        s.digest = bytes32(cid[cid.length - 32:]);
        emit SubmissionAdded(id, submissionId, msg.sender, cid);
    }

    /// @inheritdoc IBountyBoard
    function mintWinner(uint256 id, uint256 submissionId, bytes calldata metadataCid)
        external
        nonReentrant
        returns (uint256 tokenId, address royaltyReceiver)
    {
        Bounty storage b = _bounty(id);
        Submission storage s = _submissions[id][submissionId];
        if (s.submitter == address(0)) revert BountyBoard__UnknownSubmission(id, submissionId);
        if (s.submitter != msg.sender) revert BountyBoard__NotSubmitter(id, submissionId, msg.sender);
        if (!s.awarded) revert BountyBoard__NotAwarded(id, submissionId);
        if (s.minted) revert BountyBoard__AlreadyMinted(id, submissionId);
        s.minted = true;
        // Governance may have lowered the cap since the bounty was posted: mint at most the cap.
        uint16 royaltyBps = b.designRoyaltyBps;
        uint16 cap = designs.maxRoyaltyBps();
        if (royaltyBps > cap) royaltyBps = cap;
        uint16 sponsorBps = b.sponsorRoyaltyBps;
        royaltyReceiver = msg.sender;
        if (sponsorBps != 0 && royaltyBps != 0) {
            royaltyReceiver =
                Clones.cloneWithImmutableArgs(_splitImplementation, abi.encode(id, msg.sender, sponsorBps));
        }
        tokenId = designs.mintFor(msg.sender, _cid(s.cidForm, s.digest), metadataCid, royaltyBps, royaltyReceiver);
        emit WinnerMinted(id, submissionId, tokenId, msg.sender, royaltyReceiver, royaltyBps);
    }

    /// @inheritdoc IBountyBoard
    function withdraw(address token) external nonReentrant returns (uint256 amount) {
        amount = _balances[token][msg.sender];
        if (amount == 0) revert BountyBoard__NothingToWithdraw(token, msg.sender);
        _balances[token][msg.sender] = 0;
        emit Withdrawn(token, msg.sender, amount);
        IERC20(token).safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------------------------ deciders

    /// @inheritdoc IBountyBoard
    /// @dev No external call, hence no reentrancy guard.
    function award(uint256 id, uint256 submissionId, uint256 amount) external returns (bool executed) {
        Bounty storage b = _bounties[id];
        uint256 quorum = b.quorum;
        if (quorum == 0) {
            if (b.token == address(0)) revert BountyBoard__UnknownBounty(id);
            revert BountyBoard__EvaluatorDecides(id);
        }
        _checkAwardWindow(b, id);
        Submission storage s = _submissions[id][submissionId];
        address submitter = s.submitter;
        if (submitter == address(0)) revert BountyBoard__UnknownSubmission(id, submissionId);
        _checkPot(b, id, amount);
        if (!_approve(id, submissionId, amount, quorum)) return false;
        _credit(b, id, submissionId, s, submitter, amount);
        return true;
    }

    /// @inheritdoc IBountyBoard
    function revokeApproval(uint256 id, uint256 submissionId, uint256 amount) external {
        uint256 index = _approverIndex[id][msg.sender];
        if (index == 0) revert BountyBoard__NotApprover(id, msg.sender);
        Approval storage a = _approvals[_approvalKey(id, submissionId, amount)];
        uint16 bit = uint16(1 << (index - 1));
        uint16 approvers = a.approvers;
        if (approvers & bit == 0) revert BountyBoard__NotApproved(id, submissionId, amount, msg.sender);
        a.approvers = approvers & ~bit;
        a.count -= 1;
        emit AwardApprovalRevoked(id, submissionId, msg.sender, amount);
    }

    /// @inheritdoc IBountyBoard
    function awardByEvaluator(uint256 id, uint256 submissionId, bytes calldata data)
        external
        nonReentrant
        returns (uint256 amount)
    {
        Bounty storage b = _bounty(id);
        if (b.evaluator == address(0)) revert BountyBoard__ApproversDecide(id);
        _checkAwardWindow(b, id);
        Submission storage s = _submissions[id][submissionId];
        address submitter = s.submitter;
        if (submitter == address(0)) revert BountyBoard__UnknownSubmission(id, submissionId);
        // slither-disable-next-line reentrancy-no-eth,reentrancy-benign (the terms' evaluator; nonReentrant; see contracts/SLITHER.md)
        amount = _evaluate(b, id, submissionId, data);
        _checkPot(b, id, amount);
        _credit(b, id, submissionId, s, submitter, amount);
    }

    // --------------------------------------------------------------------------------------- views

    /// @inheritdoc IBountyBoard
    function hashTerms(BountyTerms calldata terms) external pure returns (bytes32) {
        return keccak256(abi.encode(terms));
    }

    /// @inheritdoc IBountyBoard
    function bountyCount() external view returns (uint256) {
        return _bountyCount;
    }

    /// @inheritdoc IBountyBoard
    function bountyOf(uint256 id) external view returns (BountyView memory v) {
        Bounty storage b = _bounty(id);
        v.poster = b.poster;
        v.token = b.token;
        v.deadline = b.deadline;
        v.quorum = b.quorum;
        v.evaluator = b.evaluator;
        v.sponsorRoyaltyBps = b.sponsorRoyaltyBps;
        v.designRoyaltyBps = b.designRoyaltyBps;
        v.submissions = b.submissions;
        v.sponsors = b.sponsors;
        v.refunds = b.refunds;
        v.contributed = b.contributed;
        v.paid = b.paid;
        v.refunded = b.refunded;
        v.termsHash = b.termsHash;
    }

    /// @inheritdoc IBountyBoard
    function potOf(uint256 id) external view returns (uint256) {
        Bounty storage b = _bounty(id);
        return uint256(b.contributed) - b.paid - b.refunded;
    }

    /// @inheritdoc IBountyBoard
    function contributionOf(uint256 id, address sponsor) external view returns (uint256 amount, bool refunded) {
        Sponsor storage s = _sponsors[id][sponsor];
        return (s.contribution, s.refunded);
    }

    /// @inheritdoc IBountyBoard
    function refundableOf(uint256 id, address sponsor) external view returns (uint256) {
        Bounty storage b = _bounties[id];
        Sponsor storage s = _sponsors[id][sponsor];
        uint256 contribution = s.contribution;
        if (contribution == 0 || s.refunded) return 0;
        if (b.submissions == 0) return contribution;
        // slither-disable-next-line timestamp (deadline by design; see contracts/SLITHER.md)
        if (block.timestamp <= uint256(b.deadline) + GRACE_PERIOD) return 0;
        return _refundable(b, contribution, b.refunds + 1);
    }

    /// @inheritdoc IBountyBoard
    function submissionOf(uint256 id, uint256 submissionId)
        external
        view
        returns (address submitter, bool awarded, bool minted, bytes memory cid)
    {
        Submission storage s = _submissions[id][submissionId];
        if (s.submitter != address(0)) cid = _cid(s.cidForm, s.digest);
        return (s.submitter, s.awarded, s.minted, cid);
    }

    /// @inheritdoc IBountyBoard
    function isApprover(uint256 id, address account) external view returns (bool) {
        return _approverIndex[id][account] != 0;
    }

    /// @inheritdoc IBountyBoard
    function approvalsOf(uint256 id, uint256 submissionId, uint256 amount) external view returns (uint256) {
        return _approvals[_approvalKey(id, submissionId, amount)].count;
    }

    /// @inheritdoc IBountyBoard
    function hasApproved(uint256 id, uint256 submissionId, uint256 amount, address approver)
        external
        view
        returns (bool)
    {
        uint256 index = _approverIndex[id][approver];
        if (index == 0) return false;
        return _approvals[_approvalKey(id, submissionId, amount)].approvers & (1 << (index - 1)) != 0;
    }

    /// @inheritdoc IBountyBoard
    function balanceOf(address token, address account) external view returns (uint256) {
        return _balances[token][account];
    }

    /// @inheritdoc IBountyBoard
    function isTokenAllowed(address token) external view returns (bool) {
        return _allowed[token];
    }

    /// @inheritdoc IBountyBoard
    function royaltyWeights(uint256 id, address account)
        external
        view
        returns (uint256 weight, uint256 totalWeight, uint64 deadline)
    {
        Bounty storage b = _bounties[id];
        return (_sponsors[id][account].contribution, b.contributed, b.deadline);
    }

    /// @inheritdoc IBountyBoard
    function splitImplementation() external view returns (address) {
        return _splitImplementation;
    }

    // ------------------------------------------------------------------------------------ internal

    function _checkTerms(BountyTerms calldata terms) private view {
        if (!_allowed[terms.token]) revert BountyBoard__TokenNotAllowed(terms.token);
        if (!CidLib.isValid(terms.briefCid)) revert BountyBoard__InvalidCid(terms.briefCid);
        // slither-disable-next-line timestamp (deadline by design; see contracts/SLITHER.md)
        if (terms.deadline <= block.timestamp || terms.deadline > block.timestamp + MAX_DURATION) {
            revert BountyBoard__InvalidDeadline(terms.deadline, block.timestamp);
        }
        uint256 n = terms.approvers.length;
        if (n > MAX_APPROVERS) revert BountyBoard__TooManyApprovers(n, MAX_APPROVERS);
        if (terms.evaluator == address(0)) {
            if (terms.quorum == 0 || terms.quorum > n) revert BountyBoard__InvalidQuorum(terms.quorum, n);
        } else {
            // Either the evaluator or the approvers decide, never both: the terms say exactly who.
            if (terms.quorum != 0 || n != 0) revert BountyBoard__InvalidQuorum(terms.quorum, n);
            if (terms.evaluator.code.length == 0) revert BountyBoard__EvaluatorNotContract(terms.evaluator);
        }
        if (terms.sponsorRoyaltyBps > BPS) revert BountyBoard__RoyaltyTooHigh(terms.sponsorRoyaltyBps, BPS);
        uint256 cap = designs.maxRoyaltyBps();
        if (terms.designRoyaltyBps > cap) revert BountyBoard__RoyaltyTooHigh(terms.designRoyaltyBps, cap);
    }

    /// @dev Pulls `amount` of the bounty's token from the caller and adds what arrived to its contribution.
    function _fund(Bounty storage b, uint256 id, uint256 amount) private returns (uint256 received) {
        uint64 deadline = b.deadline;
        // slither-disable-next-line timestamp (deadline by design; see contracts/SLITHER.md)
        if (block.timestamp > deadline) revert BountyBoard__DeadlinePassed(id, deadline);
        address token = b.token;
        if (!_allowed[token]) revert BountyBoard__TokenNotAllowed(token);
        if (amount == 0) revert BountyBoard__ZeroAmount();
        // Credit what arrived, not what was asked: a fee-on-transfer token cannot make the board insolvent.
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        received = IERC20(token).balanceOf(address(this)) - before;
        // slither-disable-next-line incorrect-equality (nothing arrived: refuse an empty contribution)
        if (received == 0) revert BountyBoard__ZeroAmount();
        Sponsor storage s = _sponsors[id][msg.sender];
        uint256 contribution = s.contribution;
        if (contribution == 0) b.sponsors += 1;
        contribution += received;
        s.contribution = SafeCast.toUint128(contribution);
        b.contributed = SafeCast.toUint128(b.contributed + received);
        emit BountyFunded(id, msg.sender, received, contribution);
    }

    /// @dev Moves `amount` from the bounty's pot to the submitter's balance (`amount` was checked against the pot).
    function _credit(
        Bounty storage b,
        uint256 id,
        uint256 submissionId,
        Submission storage s,
        address submitter,
        uint256 amount
    ) private {
        // unchecked: `amount` is at most `contributed - paid` (a uint128), and every balance is backed by
        // tokens the board holds, so no sum exceeds the token's supply.
        unchecked {
            b.paid += uint128(amount);
            _balances[b.token][submitter] += amount;
        }
        if (!s.awarded) s.awarded = true;
        emit BountyAwarded(id, submissionId, submitter, amount, msg.sender);
    }

    /// @dev Records the caller's approval of (`id`, `submissionId`, `amount`) and returns whether it completes the
    /// quorum; if so the pending approvals are used up (a repeat award needs a fresh quorum).
    function _approve(uint256 id, uint256 submissionId, uint256 amount, uint256 quorum) private returns (bool) {
        uint256 index = _approverIndex[id][msg.sender];
        if (index == 0) revert BountyBoard__NotApprover(id, msg.sender);
        bytes32 key = _approvalKey(id, submissionId, amount);
        Approval storage a = _approvals[key];
        uint16 bit = uint16(1 << (index - 1));
        uint16 approvers = a.approvers;
        if (approvers & bit != 0) revert BountyBoard__AlreadyApproved(id, submissionId, amount, msg.sender);
        uint8 count = a.count + 1;
        if (count < quorum) {
            a.approvers = approvers | bit;
            a.count = count;
            emit AwardApproved(id, submissionId, msg.sender, amount, count);
            return false;
        }
        // The executing approval is reported by `BountyAwarded` (decidedBy = this approver).
        delete _approvals[key];
        return true;
    }

    /// @dev The evaluator the sponsors funded decides; it cannot pay more than the pot, which the caller checks
    /// after its answer (the call is inside `nonReentrant`).
    function _evaluate(Bounty storage b, uint256 id, uint256 submissionId, bytes calldata data)
        private
        returns (uint256)
    {
        return IBountyEvaluator(b.evaluator).evaluate(id, submissionId, data);
    }

    /// @dev Awards (and approvals) until the deadline plus the grace period; refunds only open after it, so
    /// during the award window nothing has been refunded and the pot is `contributed - paid`.
    function _checkAwardWindow(Bounty storage b, uint256 id) private view {
        uint256 closedAt = uint256(b.deadline) + GRACE_PERIOD;
        // slither-disable-next-line timestamp (deadline by design; see contracts/SLITHER.md)
        if (block.timestamp > closedAt) revert BountyBoard__AwardsClosed(id, closedAt);
    }

    function _checkPot(Bounty storage b, uint256 id, uint256 amount) private view {
        if (amount == 0) revert BountyBoard__ZeroAmount();
        uint256 pot = uint256(b.contributed) - b.paid;
        if (amount > pot) revert BountyBoard__ExceedsPot(id, amount, pot);
    }

    /// @dev A sponsor's share of what was not paid out, pro rata to its contribution; the sponsor whose refund is
    /// the bounty's `refunds`-th of `sponsors` (the last) takes all that is left, rounding dust included. The
    /// floors of the others sum to at most the unpaid amount, so the last share is never short and nothing is
    /// ever refunded twice.
    function _refundable(Bounty storage b, uint256 contribution, uint256 refunds) private view returns (uint256) {
        uint256 contributed = b.contributed;
        uint256 unpaid = contributed - b.paid;
        if (refunds == b.sponsors) return unpaid - b.refunded;
        return unpaid * contribution / contributed;
    }

    /// @dev The form of a CID `CidLib.isValid` accepted: 0 CIDv0, then CIDv1 with codec 1 raw, 2 dag-pb,
    /// 3 dag-cbor, 4 dag-json. Every form ends with the 32-byte sha2-256 digest.
    function _cidForm(bytes calldata cid) private pure returns (uint8) {
        if (cid.length == 34) return 0;
        if (cid.length == 37) return 4;
        bytes1 codec = cid[1];
        return codec == 0x55 ? 1 : codec == 0x70 ? 2 : 3;
    }

    /// @dev The exact CID bytes of form `form` and digest `digest` (inverse of `_cidForm` + the digest).
    function _cid(uint8 form, bytes32 digest) private pure returns (bytes memory) {
        if (form == 0) return abi.encodePacked(hex"1220", digest);
        if (form == 4) return abi.encodePacked(hex"01a9021220", digest);
        bytes1 codec = form == 1 ? bytes1(0x55) : form == 2 ? bytes1(0x70) : bytes1(0x71);
        return abi.encodePacked(hex"01", codec, hex"1220", digest);
    }

    function _bounty(uint256 id) private view returns (Bounty storage b) {
        b = _bounties[id];
        if (b.token == address(0)) revert BountyBoard__UnknownBounty(id);
    }

    function _approvalKey(uint256 id, uint256 submissionId, uint256 amount) private pure returns (bytes32) {
        return keccak256(abi.encode(id, submissionId, amount));
    }
}
