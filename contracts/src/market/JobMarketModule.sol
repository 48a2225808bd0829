// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IDesignRights} from "../interfaces/IDesignRights.sol";
import {ERC165Checker} from "@openzeppelin/contracts/utils/introspection/ERC165Checker.sol";
import {IArbiterPanel} from "../interfaces/IArbiterPanel.sol";
import {IJobMarketModule} from "../interfaces/IJobMarketModule.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {Job, JobStatus} from "../types/Job.sol";
import {JobLib} from "../libraries/JobLib.sol";
import {CidLib} from "../libraries/CidLib.sol";
import {MarketCore} from "./MarketCore.sol";

/// @title JobMarketModule
/// @notice Disputes and governance of the job market. Deployed just before `JobMarket` and only ever
/// run by delegatecall from it, on the market's storage (`MarketCore`'s layout); called directly it
/// refuses, so its own storage is never used.
contract JobMarketModule is IJobMarketModule, MarketCore {
    using JobLib for Job;

    address private immutable _self;
    address private immutable _market;

    error JobMarketModule__NotDelegated();

    modifier delegated() {
        if (address(this) == _self) revert JobMarketModule__NotDelegated();
        _;
    }

    /// @dev Built for one market (deployed next, at an address the deployer predicts): the market checks
    /// `binding()` in its constructor, so the module's registry, designs and FAB equal the market's.
    constructor(address market_, INodeRegistry registry_, IDesignRights designs_)
        MarketCore(market_, registry_, designs_)
    {
        _self = address(this);
        // slither-disable-next-line missing-zero-check (the market's constructor refuses a module not bound to it)
        _market = market_;
    }

    /// @notice The market, registry and designs this module was built for (called directly, not delegated).
    function binding() external view returns (address market, address registry, address designs) {
        return (_market, address(_registry), address(_designs));
    }

    // ------------------------------------------------------------------------------------ disputes

    /// @inheritdoc IJobMarketModule
    function dispute(uint256 jobId, Job calldata job, bytes calldata reasonCid) external nonReentrant delegated {
        uint256 key = _expect(jobId, job, JobStatus.Delivered);
        if (msg.sender != job.customer) revert JobMarket__NotCustomer(jobId, msg.sender, job.customer);
        // slither-disable-next-line timestamp (deadline by design; see contracts/SLITHER.md)
        if (block.timestamp > job.deadline) revert JobMarket__DeadlinePassed(jobId, job.deadline, block.timestamp);
        if (!CidLib.isValid(reasonCid)) revert JobMarket__InvalidCid(reasonCid);
        _jobs[key] = job.commit(JobStatus.Disputed);
        // The arbiter is fixed now (a panel's member, when the arbiter is a panel): a later change of arbiter
        // never reaches an open dispute.
        address judge = _assign(jobId, job);
        uint40 ruleBy = uint40(block.timestamp + _disputeWindow);
        _disputes[jobId] = Dispute({
            judge: judge,
            deadline: ruleBy,
            stage: DisputeStage.AwaitingArbiter,
            refundBps: 0,
            slashBps: 0,
            appellant: address(0),
            arbiter: judge
        });
        emit JobDisputed(jobId, msg.sender, job.bond, reasonCid, judge, ruleBy);
        if (job.bond != 0) _debit(job.token, msg.sender, job.bond);
    }

    /// @inheritdoc IJobMarketModule
    function rule(uint256 jobId, Job calldata job, uint16 refundBps, uint16 slashBps) external nonReentrant delegated {
        uint256 key = _expect(jobId, job, JobStatus.Disputed);
        Dispute storage d = _disputes[jobId];
        if (msg.sender != d.judge) revert JobMarket__NotJudge(jobId, msg.sender, d.judge);
        // slither-disable-next-line timestamp (deadline by design; see contracts/SLITHER.md)
        if (block.timestamp > d.deadline) revert JobMarket__DeadlinePassed(jobId, d.deadline, block.timestamp);
        if (refundBps > BPS || slashBps > BPS) revert JobMarket__InvalidSplit(refundBps, slashBps);
        if (d.stage == DisputeStage.AwaitingArbiter) {
            // An arbiter governance removed from the panel rules no more: its case waits for `reassign` (or the
            // default ruling), so a removal takes effect at once, without a race to rule first.
            address panel = _arbiter;
            if (_isPanel(panel) && !IArbiterPanel(panel).isArbiter(msg.sender)) {
                revert JobMarket__NotJudge(jobId, msg.sender, address(0));
            }
            uint40 appealBy = uint40(block.timestamp + _appealWindow);
            d.stage = DisputeStage.Ruled;
            d.refundBps = refundBps;
            d.slashBps = slashBps;
            d.deadline = appealBy;
            emit DisputeRuled(jobId, msg.sender, refundBps, slashBps, appealBy);
            return;
        }
        if (d.stage != DisputeStage.Appealed) revert JobMarket__WrongDisputeStage(jobId, d.stage);
        // The appeal court's ruling is final. An appellant who won something gets the appeal bond back; a lost
        // bond pays the fee of the arbiter whose ruling stood, the rest goes to the treasury (not to the other
        // side: an appeal must never be a way to pay the opponent, or to be paid by it).
        address appellant = d.appellant;
        bool customerAppealed = appellant == job.customer;
        bool won = customerAppealed
            ? (refundBps > d.refundBps || (refundBps == d.refundBps && slashBps > d.slashBps))
            : (refundBps < d.refundBps || (refundBps == d.refundBps && slashBps < d.slashBps));
        if (won) {
            _credit(job.token, appellant, job.bond);
        } else {
            address arbiter_ = d.arbiter;
            uint256 fee = arbiter_ == address(0) ? 0 : uint256(job.bond) * _arbiterFeeBps / BPS;
            _credit(job.token, arbiter_, fee);
            _fees[job.token] += job.bond - fee;
        }
        _resolve(key, jobId, job, refundBps, slashBps, msg.sender);
    }

    /// @inheritdoc IJobMarketModule
    function appeal(uint256 jobId, Job calldata job) external nonReentrant delegated {
        _expect(jobId, job, JobStatus.Disputed);
        if (msg.sender != job.customer && msg.sender != job.node) revert JobMarket__NotParty(jobId, msg.sender);
        Dispute storage d = _disputes[jobId];
        if (d.stage != DisputeStage.Ruled) revert JobMarket__WrongDisputeStage(jobId, d.stage);
        // slither-disable-next-line timestamp (deadline by design; see contracts/SLITHER.md)
        if (block.timestamp > d.deadline) revert JobMarket__DeadlinePassed(jobId, d.deadline, block.timestamp);
        address court = _appealCourt;
        uint40 ruleBy = uint40(block.timestamp + _courtWindow);
        d.judge = court;
        d.stage = DisputeStage.Appealed;
        d.appellant = msg.sender;
        d.deadline = ruleBy;
        emit DisputeAppealed(jobId, msg.sender, court, job.bond, ruleBy);
        if (job.bond != 0) _debit(job.token, msg.sender, job.bond);
    }

    /// @inheritdoc IJobMarketModule
    function finalize(uint256 jobId, Job calldata job) external nonReentrant delegated {
        uint256 key = _expect(jobId, job, JobStatus.Disputed);
        Dispute storage d = _disputes[jobId];
        // slither-disable-next-line timestamp (deadline by design; see contracts/SLITHER.md)
        if (block.timestamp <= d.deadline) revert JobMarket__DeadlineNotPassed(jobId, d.deadline, block.timestamp);
        if (d.stage == DisputeStage.AwaitingArbiter) {
            // The arbiter stayed silent: the default ruling (half the payment back, no slash) applies, and
            // either side may appeal it like any ruling. The silent arbiter is owed nothing.
            uint40 appealBy = uint40(block.timestamp + _appealWindow);
            d.stage = DisputeStage.Ruled;
            d.refundBps = DEFAULT_REFUND_BPS;
            d.slashBps = 0;
            d.arbiter = address(0);
            d.deadline = appealBy;
            emit DisputeRuled(jobId, address(0), DEFAULT_REFUND_BPS, 0, appealBy);
            return;
        }
        // An unappealed ruling, or an appeal the court left unanswered (the appellant's bond goes back).
        address appellant = d.appellant;
        if (appellant != address(0)) _credit(job.token, appellant, job.bond);
        _resolve(key, jobId, job, d.refundBps, d.slashBps, d.arbiter);
    }

    /// @inheritdoc IJobMarketModule
    function reassign(uint256 jobId, Job calldata job) external nonReentrant delegated {
        _expect(jobId, job, JobStatus.Disputed);
        Dispute storage d = _disputes[jobId];
        address previous = d.judge;
        // Past the arbiter's deadline the default ruling applies (`finalize`); the clock never restarts then.
        // slither-disable-next-line timestamp (deadline by design; see contracts/SLITHER.md)
        if (block.timestamp > d.deadline) revert JobMarket__DeadlinePassed(jobId, d.deadline, block.timestamp);
        address panel = _arbiter;
        // Only a panel's dispute whose arbiter has left the panel (or that found no arbiter) moves; its clock restarts.
        if (
            d.stage != DisputeStage.AwaitingArbiter || !_isPanel(panel)
                || (previous != address(0) && IArbiterPanel(panel).isArbiter(previous))
        ) revert JobMarket__NotReassignable(jobId, previous);
        // slither-disable-next-line reentrancy-no-eth (governance-appointed panel; nonReentrant; see contracts/SLITHER.md)
        address judge = IArbiterPanel(panel).assign(jobId, job.customer, job.node);
        // Still nobody to judge: the clock keeps running to the default ruling (a restart here would let
        // anyone postpone the case forever, one `reassign` per window).
        if (judge == address(0)) revert JobMarket__NotReassignable(jobId, previous);
        uint40 ruleBy = uint40(block.timestamp + _disputeWindow);
        d.judge = judge;
        d.arbiter = judge;
        d.deadline = ruleBy;
        emit DisputeReassigned(jobId, previous, judge, ruleBy);
    }

    // ---------------------------------------------------------------------------------- governance

    /// @inheritdoc IJobMarketModule
    function setParams(Params calldata p) external onlyOwner delegated {
        _setParams(p);
    }


    /// @inheritdoc IJobMarketModule
    /// @dev Deposits credit what arrives; posts refuse a token whose transfer delivers less than the escrow.
    function setTokenTerms(address token, TokenTerms calldata terms) external onlyOwner delegated {
        if (token == address(0)) revert JobMarket__ZeroAddress("token");
        if (terms.allowed && (terms.minCollateralRate == 0 || terms.maxCollateralRate < terms.minCollateralRate)) {
            revert JobMarket__InvalidTokenTerms(token, terms.minCollateralRate, terms.maxCollateralRate);
        }
        _terms[token] = terms;
        emit TokenTermsSet(token, terms);
    }

    /// @inheritdoc IJobMarketModule
    function proposeArbiter(address arbiter_) external onlyOwner delegated {
        emit ArbiterProposed(arbiter_, _propose(_nextArbiter, arbiter_, "arbiter"));
    }

    /// @inheritdoc IJobMarketModule
    function activateArbiter() external delegated {
        address next = _activate(_nextArbiter, "arbiter");
        _arbiter = next;
        emit ArbiterSet(next);
    }

    /// @inheritdoc IJobMarketModule
    function proposeAppealCourt(address court) external onlyOwner delegated {
        emit AppealCourtProposed(court, _propose(_nextCourt, court, "appealCourt"));
    }

    /// @inheritdoc IJobMarketModule
    function activateAppealCourt() external delegated {
        address next = _activate(_nextCourt, "appealCourt");
        _appealCourt = next;
        emit AppealCourtSet(next);
    }

    /// @inheritdoc IJobMarketModule
    function setTreasury(address treasury_) external onlyOwner delegated {
        _setTreasury(treasury_);
    }

    /// @inheritdoc IJobMarketModule
    function setPaused(bool paused_) external delegated {
        // The owner (governance) pauses and unpauses; the guardian may only pause.
        if (msg.sender != owner() && (msg.sender != _guardian || !paused_)) {
            revert JobMarket__NotGuardian(msg.sender);
        }
        _paused = paused_;
        emit PausedSet(msg.sender, paused_);
    }

    /// @inheritdoc IJobMarketModule
    function setGuardian(address guardian_) external onlyOwner delegated {
        // slither-disable-next-line missing-zero-check (zero means no guardian: documented)
        _guardian = guardian_;
        emit GuardianSet(guardian_);
    }


    // --------------------------------------------------------------------------------------- views

    /// @inheritdoc IJobMarketModule
    function disputeOf(uint256 jobId) external view delegated returns (Dispute memory) {
        return _disputes[jobId];
    }

    /// @inheritdoc IJobMarketModule
    function tokenTerms(address token) external view delegated returns (TokenTerms memory) {
        return _terms[token];
    }

    /// @inheritdoc IJobMarketModule
    function params() external view delegated returns (Params memory) {
        return Params({
            feeBps: _feeBps,
            maxRoyaltyBps: _maxRoyaltyBps,
            disputeBondBps: _disputeBondBps,
            reviewWindow: _reviewWindow,
            minDeliveryWindow: _minDeliveryWindow,
            minCollateral: _minCollateral,
            handBackWindow: _handBackWindow,
            handBackPenaltyBps: _handBackPenaltyBps,
            expirySlashBps: _expirySlashBps,
            compensationBps: _compensationBps,
            disputeWindow: _disputeWindow,
            appealWindow: _appealWindow,
            courtWindow: _courtWindow,
            arbiterFeeBps: _arbiterFeeBps
        });
    }

    /// @inheritdoc IJobMarketModule
    function arbiter() external view delegated returns (address) {
        return _arbiter;
    }

    /// @inheritdoc IJobMarketModule
    function appealCourt() external view delegated returns (address) {
        return _appealCourt;
    }

    /// @inheritdoc IJobMarketModule
    function paused() external view delegated returns (bool) {
        return _paused;
    }

    /// @inheritdoc IJobMarketModule
    function guardian() external view delegated returns (address) {
        return _guardian;
    }

    /// @inheritdoc IJobMarketModule
    function pendingJudges()
        external
        view
        delegated
        returns (address arbiter_, uint256 arbiterAt, address court, uint256 courtAt)
    {
        return (_nextArbiter.judge, _nextArbiter.at, _nextCourt.judge, _nextCourt.at);
    }

    // ---------------------------------------------------------------------------------- internal

    /// @dev The judge of a new dispute: the market's arbiter, or the member its panel assigns.
    function _assign(uint256 jobId, Job calldata job) private returns (address) {
        address arbiter_ = _arbiter;
        if (!_isPanel(arbiter_)) return arbiter_;
        // slither-disable-next-line reentrancy-benign (governance-appointed panel; nonReentrant; see contracts/SLITHER.md)
        return IArbiterPanel(arbiter_).assign(jobId, job.customer, job.node);
    }

    /// @dev Whether `arbiter_` is a panel (ERC-165) rather than an account that rules itself.
    function _isPanel(address arbiter_) private view returns (bool) {
        return arbiter_.code.length != 0
            && ERC165Checker.supportsInterface(arbiter_, type(IArbiterPanel).interfaceId);
    }

    /// @dev Records `next` as the proposed judge, installable after JUDGE_CHANGE_DELAY; returns when.
    function _propose(PendingJudge storage pending, address next, bytes32 what) private returns (uint40 due) {
        if (next == address(0)) revert JobMarket__ZeroAddress(what);
        due = uint40(block.timestamp + JUDGE_CHANGE_DELAY);
        pending.judge = next;
        pending.at = due;
    }

    /// @dev Clears and returns the proposed judge once its delay has passed.
    function _activate(PendingJudge storage pending, bytes32 what) private returns (address next) {
        next = pending.judge;
        if (next == address(0)) revert JobMarket__NoPendingChange(what);
        // slither-disable-next-line timestamp (governance delay by design; see contracts/SLITHER.md)
        if (block.timestamp < pending.at) revert JobMarket__ChangeNotDue(what, pending.at, block.timestamp);
        delete pending.judge;
        delete pending.at;
    }

    /// @dev Ends a dispute: `refundBps` of the payment to the customer, the rest paid out as a settlement
    /// would; the customer's dispute bond goes back when it wins at least half, else to the node; `slashBps`
    /// of the collateral is slashed (the customer's compensation share, the rest to the treasury).
    function _resolve(uint256 key, uint256 jobId, Job calldata job, uint256 refundBps, uint256 slashBps, address by)
        private
    {
        _jobs[key] = job.commit(JobStatus.Resolved);
        delete _disputes[jobId];
        {
            uint256 amount = job.amount;
            uint256 refund = amount * refundBps / BPS;
            uint256 rest = amount - refund;
            uint256 fee = rest * job.feeBps / BPS;
            uint256 royalty = uint256(job.royalty) * rest / amount;
            uint256 nodePayout = rest - fee - royalty;
            bool customerWins = refundBps * 2 >= BPS;
            address token = job.token;
            _credit(token, job.customer, refund + (customerWins ? job.bond : 0));
            _credit(token, job.node, nodePayout + (customerWins ? 0 : job.bond));
            _credit(token, job.royaltyReceiver, royalty);
            _fees[token] += fee;
            uint256 slashed = uint256(job.collateral) * slashBps / BPS;
            uint256 compensation = _slash(job, slashed);
            emit JobResolved(jobId, by, refundBps, slashBps, refund, nodePayout, fee, royalty, slashed, compensation);
        }
        // A full refund: the job's print is paid for by nobody, so the licence it consumed goes back.
        if (refundBps == BPS && job.royaltyReceiver == address(_designs) && job.royalty == 0) {
            // slither-disable-next-line unused-return (false only when nothing was spent: nothing to do)
            _designs.releaseLicence(jobId);
        }
    }

}
