// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";
import {IJobMarketModule} from "../interfaces/IJobMarketModule.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {Job, JobStatus} from "../types/Job.sol";
import {JobLib} from "../libraries/JobLib.sol";
import {CidLib} from "../libraries/CidLib.sol";
import {MarketCore} from "./MarketCore.sol";

/// @title JobMarketModule
/// @notice Disputes and governance of the job market. Deployed by `JobMarket`'s constructor and only ever
/// run by delegatecall from it, on the market's storage (`MarketCore`'s layout); called directly it
/// refuses, so its own storage is never used.
contract JobMarketModule is IJobMarketModule, MarketCore {
    using JobLib for Job;

    address private immutable _self;

    error JobMarketModule__NotDelegated();

    modifier delegated() {
        if (address(this) == _self) revert JobMarketModule__NotDelegated();
        _;
    }

    /// @dev The market is the deployer: the module's registry, designs and FAB equal the market's.
    constructor(INodeRegistry registry_, IERC2981 designs_) MarketCore(msg.sender, registry_, designs_) {
        _self = address(this);
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
        // The arbiter is fixed now: a later change of arbiter never reaches an open dispute.
        address judge = _arbiter;
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
            uint40 appealBy = uint40(block.timestamp + _appealWindow);
            d.stage = DisputeStage.Ruled;
            d.refundBps = refundBps;
            d.slashBps = slashBps;
            d.deadline = appealBy;
            emit DisputeRuled(jobId, msg.sender, refundBps, slashBps, appealBy);
            return;
        }
        if (d.stage != DisputeStage.Appealed) revert JobMarket__WrongDisputeStage(jobId, d.stage);
        // The appeal court's ruling is final. An appellant who won something gets the appeal bond back;
        // one who did not pays it to the other side for the delay.
        address appellant = d.appellant;
        if (appellant != address(0)) {
            bool customerAppealed = appellant == job.customer;
            bool won = customerAppealed
                ? (refundBps > d.refundBps || (refundBps == d.refundBps && slashBps > d.slashBps))
                : (refundBps < d.refundBps || (refundBps == d.refundBps && slashBps < d.slashBps));
            _credit(job.token, won ? appellant : (customerAppealed ? job.node : job.customer), job.bond);
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
        uint40 ruleBy = uint40(block.timestamp + _appealWindow);
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
        DisputeStage stage = d.stage;
        if (stage == DisputeStage.AwaitingArbiter) {
            // The arbiter stayed silent: the appeal court (fixed now) takes the dispute, no bond needed.
            address court = _appealCourt;
            uint40 ruleBy = uint40(block.timestamp + _appealWindow);
            d.judge = court;
            d.stage = DisputeStage.Appealed;
            d.deadline = ruleBy;
            emit DisputeAppealed(jobId, address(0), court, 0, ruleBy);
            return;
        }
        address appellant = d.appellant;
        if (stage == DisputeStage.Appealed && appellant == address(0)) {
            // Neither judge ruled: the default ruling splits the payment evenly and slashes nothing.
            _resolve(key, jobId, job, DEFAULT_REFUND_BPS, 0, address(0));
            return;
        }
        // An unappealed ruling, or an appeal the court left unanswered (the appellant's bond goes back).
        if (appellant != address(0)) _credit(job.token, appellant, job.bond);
        _resolve(key, jobId, job, d.refundBps, d.slashBps, d.arbiter);
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
            appealWindow: _appealWindow
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
    function pendingJudges()
        external
        view
        delegated
        returns (address arbiter_, uint256 arbiterAt, address court, uint256 courtAt)
    {
        return (_nextArbiter.judge, _nextArbiter.at, _nextCourt.judge, _nextCourt.at);
    }

    // ---------------------------------------------------------------------------------- internal

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

}
