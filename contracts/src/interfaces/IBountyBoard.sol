// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Design bounties: sponsors pool an allowlisted ERC-20 for a design that does not exist yet.
/// @notice A poster publishes terms (token, brief CID, deadline, approvers and quorum or an evaluator, royalty
/// shares); anyone funds them by their hash; designers submit CIDs until the deadline; the approvers (a
/// quorum of distinct approvers on the same submission and amount) or the named evaluator award parts of
/// the pot, credited to the submitter and pulled with `withdraw`. Rules that StandardBounties lacked:
/// - no drain: before the first submission a sponsor may take back only its own contribution; after it,
///   nothing leaves except awards until the deadline plus `GRACE_PERIOD`, then each sponsor refunds its
///   pro-rata share of what was not paid out (the last refunder takes the rounding remainder);
/// - pull payments only, so no payee can block anyone else;
/// - the deadline is only ever extended, and only while the poster is the sole contributor;
/// - the terms a sponsor funds are pinned by their hash, so quorum 1 only applies to sponsors who funded it.
/// Sponsors share every payout pro rata to their contributions (the pot is a pool), including payouts made
/// before they joined: the pot a sponsor joins is visible (`potOf`) and the terms say who decides.
interface IBountyBoard {
    /// @notice What a poster publishes and every sponsor funds by hash (`hashTerms`).
    /// @param token the allowlisted ERC-20 every contribution and payout is in.
    /// @param briefCid the brief (constraints, load cases, bounding box, material), a binary CID.
    /// @param deadline last second for submissions and funding; awards until `deadline + GRACE_PERIOD`.
    /// @param approvers who may approve awards (at most `MAX_APPROVERS`, distinct, non-zero); empty with an evaluator.
    /// @param quorum distinct approvals an award needs (1..approvers.length); 0 with an evaluator.
    /// @param evaluator an `IBountyEvaluator` contract deciding awards instead of approvers; zero for approvers.
    /// @param sponsorRoyaltyBps share of the minted winner's royalty that goes to the sponsors, pro rata.
    /// @param designRoyaltyBps the minted winner's royalty (capped by DesignNFT's `maxRoyaltyBps` at mint).
    struct BountyTerms {
        address token;
        bytes briefCid;
        uint64 deadline;
        address[] approvers;
        uint8 quorum;
        address evaluator;
        uint16 sponsorRoyaltyBps;
        uint16 designRoyaltyBps;
    }

    /// @notice A bounty's state, as `bountyOf` returns it.
    /// @param contributed sum of the contributions (an early withdrawal removes its contribution; refunds after
    /// the deadline do not: they are counted in `refunded`). `contributed - paid - refunded` is held.
    struct BountyView {
        address poster;
        address token;
        uint64 deadline;
        uint8 quorum;
        address evaluator;
        uint16 sponsorRoyaltyBps;
        uint16 designRoyaltyBps;
        uint32 submissions;
        uint32 sponsors;
        uint32 refunds;
        uint256 contributed;
        uint256 paid;
        uint256 refunded;
        bytes32 termsHash;
    }

    error BountyBoard__ZeroAddress();
    error BountyBoard__TokenNotAllowed(address token);
    error BountyBoard__InvalidCid(bytes cid);
    error BountyBoard__InvalidDeadline(uint64 deadline, uint256 timestamp);
    error BountyBoard__TooManyApprovers(uint256 count, uint256 max);
    error BountyBoard__InvalidApprover(address approver);
    error BountyBoard__InvalidQuorum(uint256 quorum, uint256 approvers);
    error BountyBoard__EvaluatorNotContract(address evaluator);
    error BountyBoard__RoyaltyTooHigh(uint256 royaltyBps, uint256 max);
    error BountyBoard__ZeroAmount();
    error BountyBoard__UnknownBounty(uint256 id);
    error BountyBoard__TermsMismatch(uint256 id, bytes32 expected, bytes32 given);
    error BountyBoard__DeadlinePassed(uint256 id, uint64 deadline);
    error BountyBoard__AwardsClosed(uint256 id, uint256 closedAt);
    error BountyBoard__NotPoster(uint256 id, address account);
    error BountyBoard__OtherContributors(uint256 id);
    error BountyBoard__UnknownSubmission(uint256 id, uint256 submissionId);
    error BountyBoard__NotApprover(uint256 id, address account);
    error BountyBoard__AlreadyApproved(uint256 id, uint256 submissionId, uint256 amount, address approver);
    error BountyBoard__NotApproved(uint256 id, uint256 submissionId, uint256 amount, address approver);
    error BountyBoard__EvaluatorDecides(uint256 id);
    error BountyBoard__ApproversDecide(uint256 id);
    error BountyBoard__ExceedsPot(uint256 id, uint256 amount, uint256 pot);
    error BountyBoard__NothingToRefund(uint256 id, address sponsor);
    error BountyBoard__RefundLocked(uint256 id, uint256 unlocksAt);
    error BountyBoard__NotSubmitter(uint256 id, uint256 submissionId, address account);
    error BountyBoard__NotAwarded(uint256 id, uint256 submissionId);
    error BountyBoard__AlreadyMinted(uint256 id, uint256 submissionId);
    error BountyBoard__NothingToWithdraw(address token, address account);

    event TokenSet(address indexed token, bool allowed);
    /// @notice A bounty was posted under `terms` (hash `termsHash`); the poster's own funding, if any, follows as
    /// `BountyFunded`.
    event BountyPosted(uint256 indexed id, address indexed poster, bytes32 termsHash, BountyTerms terms);
    /// @notice `sponsor` added `amount` (what arrived) to bounty `id`; its contribution is now `contribution`.
    event BountyFunded(uint256 indexed id, address indexed sponsor, uint256 amount, uint256 contribution);
    event DeadlineExtended(uint256 indexed id, uint64 deadline, bytes32 termsHash);
    event SubmissionAdded(uint256 indexed id, uint256 indexed submissionId, address indexed submitter, bytes cid);
    /// @notice `approver` approved paying `amount` to submission `submissionId`; `approvals` of the quorum so far.
    /// The approval that reaches the quorum emits `BountyAwarded` instead (its `decidedBy`), and the pending
    /// approvals of that award are cleared.
    event AwardApproved(
        uint256 indexed id, uint256 indexed submissionId, address indexed approver, uint256 amount, uint256 approvals
    );
    event AwardApprovalRevoked(
        uint256 indexed id, uint256 indexed submissionId, address indexed approver, uint256 amount
    );
    /// @notice `amount` of bounty `id` was credited to `submitter`; `decidedBy` is the approver whose approval
    /// reached the quorum, or the caller of `awardByEvaluator`.
    event BountyAwarded(
        uint256 indexed id, uint256 indexed submissionId, address indexed submitter, uint256 amount, address decidedBy
    );
    /// @notice `sponsor` took back `amount`: its whole contribution before the first submission (`early`), or its
    /// pro-rata share of what was not paid out after the award window.
    event ContributionRefunded(uint256 indexed id, address indexed sponsor, uint256 amount, bool early);
    event Withdrawn(address indexed token, address indexed account, uint256 amount);
    /// @notice The awarded submission was minted as design `tokenId` to `designer`; its royalty goes to
    /// `royaltyReceiver` (a RoyaltySplit with the sponsors, or the designer).
    event WinnerMinted(
        uint256 indexed id,
        uint256 indexed submissionId,
        uint256 indexed tokenId,
        address designer,
        address royaltyReceiver,
        uint16 royaltyBps
    );

    // ---------------------------------------------------------------------------------- governance

    /// @notice Allows or disallows `token` for new bounties and new funding (owner). Existing bounties keep
    /// awarding, refunding and paying out in it.
    function setToken(address token, bool allowed) external;

    // ------------------------------------------------------------------------------------ sponsors

    /// @notice Posts a bounty under `terms` and funds it with `amount` (may be 0) from the caller.
    /// @return id the bounty's id (from 1).
    function post(BountyTerms calldata terms, uint256 amount) external returns (uint256 id);
    /// @notice Adds `amount` of the bounty's token from the caller, agreeing to the terms with hash `termsHash`
    /// (reverts if they changed). Until the deadline; credits what actually arrives.
    /// @return received what arrived and was added to the caller's contribution.
    function fund(uint256 id, uint256 amount, bytes32 termsHash) external returns (uint256 received);
    /// @notice The poster moves the deadline later, while it has not passed and nobody else has contributed.
    /// @param terms the bounty's current terms (checked against its hash); the new hash is of the same terms
    /// with `newDeadline`.
    function extendDeadline(uint256 id, BountyTerms calldata terms, uint64 newDeadline)
        external
        returns (bytes32 termsHash);
    /// @notice The caller takes back its contribution: all of it before the first submission; after the
    /// deadline plus `GRACE_PERIOD`, its pro-rata share of what was not paid out (once; the last sponsor to
    /// refund also takes the rounding remainder). Paid to the caller.
    function refund(uint256 id) external returns (uint256 amount);

    // ----------------------------------------------------------------------------------- designers

    /// @notice Submits the design `cid` (a binary CID) to bounty `id`, until its deadline.
    /// @return submissionId the submission's id within the bounty (from 1).
    function submit(uint256 id, bytes calldata cid) external returns (uint256 submissionId);
    /// @notice The submitter of an awarded submission mints it as a design, once, with the bounty's royalty:
    /// to a RoyaltySplit clone shared with the sponsors when the terms give them a share, else to the designer.
    /// @param metadataCid the design's JSON metadata document (passed to DesignNFT, which checks it).
    function mintWinner(uint256 id, uint256 submissionId, bytes calldata metadataCid)
        external
        returns (uint256 tokenId, address royaltyReceiver);
    /// @notice Pays the caller its awarded balance of `token`.
    function withdraw(address token) external returns (uint256 amount);

    // ------------------------------------------------------------------------------------ deciders

    /// @notice An approver approves paying `amount` to submission `submissionId`; the approval that reaches the
    /// quorum credits the submitter. Until the deadline plus `GRACE_PERIOD`; `amount` at most the pot.
    /// @return executed whether this approval executed the award.
    function award(uint256 id, uint256 submissionId, uint256 amount) external returns (bool executed);
    /// @notice An approver withdraws its pending approval of (`submissionId`, `amount`).
    function revokeApproval(uint256 id, uint256 submissionId, uint256 amount) external;
    /// @notice Anyone asks the bounty's evaluator to decide an award to `submissionId` from `data`; the amount it
    /// returns (non-zero, at most the pot) is credited to the submitter. Until the deadline plus `GRACE_PERIOD`.
    function awardByEvaluator(uint256 id, uint256 submissionId, bytes calldata data) external returns (uint256 amount);

    // --------------------------------------------------------------------------------------- views

    /// @notice The hash a sponsor funds: `keccak256(abi.encode(terms))`.
    function hashTerms(BountyTerms calldata terms) external pure returns (bytes32);
    /// @notice How many bounties were posted (ids are 1..bountyCount).
    function bountyCount() external view returns (uint256);
    /// @notice A bounty's state; reverts for unknown ids.
    function bountyOf(uint256 id) external view returns (BountyView memory);
    /// @notice What the bounty holds now: contributed, less paid out and refunded. Awards draw on it.
    function potOf(uint256 id) external view returns (uint256);
    /// @notice `sponsor`'s contribution to bounty `id` and whether it has refunded after the deadline.
    function contributionOf(uint256 id, address sponsor) external view returns (uint256 amount, bool refunded);
    /// @notice What `refund(id)` would pay `sponsor` now (0 while refunds are locked or nothing is due).
    function refundableOf(uint256 id, address sponsor) external view returns (uint256);
    /// @notice A submission: its submitter, whether it was awarded and minted, its CID.
    function submissionOf(uint256 id, uint256 submissionId)
        external
        view
        returns (address submitter, bool awarded, bool minted, bytes memory cid);
    /// @notice Whether `account` is one of bounty `id`'s approvers.
    function isApprover(uint256 id, address account) external view returns (bool);
    /// @notice Pending approvals of (`id`, `submissionId`, `amount`) (cleared when the award executes).
    function approvalsOf(uint256 id, uint256 submissionId, uint256 amount) external view returns (uint256);
    /// @notice Whether `approver` has a pending approval of (`id`, `submissionId`, `amount`).
    function hasApproved(uint256 id, uint256 submissionId, uint256 amount, address approver)
        external
        view
        returns (bool);
    /// @notice The awarded balance of `account` in `token`, waiting for `withdraw`.
    function balanceOf(address token, address account) external view returns (uint256);
    /// @notice Whether new bounties and funding may use `token`.
    function isTokenAllowed(address token) external view returns (bool);
    /// @notice For a winner's RoyaltySplit: `account`'s contribution (its weight), the sum of contributions and
    /// the deadline (weights are final once it has passed: no funding after it, no early withdrawal after a
    /// submission).
    function royaltyWeights(uint256 id, address account)
        external
        view
        returns (uint256 weight, uint256 totalWeight, uint64 deadline);
    /// @notice The RoyaltySplit implementation every winner's split is a clone of.
    function splitImplementation() external view returns (address);
}
