// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IBountyEvaluator} from "../interfaces/IBountyEvaluator.sol";
import {IBountyBoard} from "../interfaces/IBountyBoard.sol";

/// @title ValidatorScoreEvaluator
/// @notice A bounty evaluator that accepts a score signed by the subnet's validators: EIP-712
/// `Score(uint256 bountyId,uint256 submissionId,uint256 score,uint16 payoutBps)` under the domain
/// ("Fabrica ValidatorScoreEvaluator", "1", chain id, this contract), signed by at least `threshold()`
/// distinct addresses governance registered as validators (EOAs or ERC-1271 contracts). The award is
/// `payoutBps` of the bounty's pot at the moment it executes. Each signed score is usable once: a second
/// milestone for the same submission needs a new signed score (another score or payout).
/// Owner: the DAO timelock (validator set and threshold).
contract ValidatorScoreEvaluator is IBountyEvaluator, Ownable2Step, EIP712 {
    uint256 private constant BPS = 10_000;
    bytes32 public constant SCORE_TYPEHASH =
        keccak256("Score(uint256 bountyId,uint256 submissionId,uint256 score,uint16 payoutBps)");

    /// @notice The only board that may ask for decisions (and whose pots the payouts are shares of).
    IBountyBoard public immutable board;

    mapping(address account => bool) private _validators;
    uint256 private _validatorCount;
    uint256 private _threshold;
    mapping(bytes32 digest => bool) private _used;

    event ValidatorSet(address indexed validator, bool allowed);
    event ThresholdSet(uint256 threshold);
    /// @notice A signed score decided an award of `amount` (`payoutBps` of the pot) to the submission.
    event ScoreAccepted(
        uint256 indexed bountyId,
        uint256 indexed submissionId,
        bytes32 indexed digest,
        uint256 score,
        uint16 payoutBps,
        uint256 amount,
        address[] signers
    );

    error Evaluator__ZeroAddress();
    error Evaluator__NotBoard(address caller);
    error Evaluator__InvalidPayout(uint256 payoutBps);
    error Evaluator__InvalidThreshold(uint256 threshold, uint256 validators);
    error Evaluator__LengthMismatch(uint256 signers, uint256 signatures);
    error Evaluator__TooFewSigners(uint256 signers, uint256 threshold);
    error Evaluator__SignersNotAscending(address signer);
    error Evaluator__NotValidator(address signer);
    error Evaluator__InvalidSignature(address signer);
    error Evaluator__ScoreUsed(bytes32 digest);

    constructor(address owner_, IBountyBoard board_, address[] memory validators_, uint256 threshold_)
        Ownable(owner_)
        EIP712("Fabrica ValidatorScoreEvaluator", "1")
    {
        if (address(board_) == address(0)) revert Evaluator__ZeroAddress();
        board = board_;
        uint256 count = 0;
        for (uint256 i; i < validators_.length; ++i) {
            address validator = validators_[i];
            if (validator == address(0)) revert Evaluator__ZeroAddress();
            if (_validators[validator]) continue;
            _validators[validator] = true;
            ++count;
            emit ValidatorSet(validator, true);
        }
        _validatorCount = count;
        _setThreshold(threshold_);
    }

    /// @inheritdoc IBountyEvaluator
    /// @dev `data` = abi.encode(uint256 score, uint16 payoutBps, address[] signers, bytes[] signatures), the
    /// signers in strictly ascending order (so none counts twice), every one a validator with a valid signature.
    function evaluate(uint256 bountyId, uint256 submissionId, bytes calldata data) external returns (uint256 amount) {
        // Only the board: anyone else could burn a signed score without the award it decides.
        if (msg.sender != address(board)) revert Evaluator__NotBoard(msg.sender);
        (uint256 score, uint16 payoutBps, address[] memory signers, bytes[] memory signatures) =
            abi.decode(data, (uint256, uint16, address[], bytes[]));
        if (payoutBps == 0 || payoutBps > BPS) revert Evaluator__InvalidPayout(payoutBps);
        bytes32 digest = scoreDigest(bountyId, submissionId, score, payoutBps);
        if (_used[digest]) revert Evaluator__ScoreUsed(digest);
        _used[digest] = true;
        _checkSigners(digest, signers, signatures);
        amount = board.potOf(bountyId) * payoutBps / BPS;
        emit ScoreAccepted(bountyId, submissionId, digest, score, payoutBps, amount, signers);
    }

    /// @notice Registers or removes a subnet validator (owner). Removal is always possible (a lost key), even
    /// if fewer validators than the threshold remain.
    function setValidator(address validator, bool allowed) external onlyOwner {
        _setValidator(validator, allowed);
    }

    /// @notice Sets how many distinct validators must sign a score (owner): 1 up to the validator count.
    function setThreshold(uint256 threshold_) external onlyOwner {
        _setThreshold(threshold_);
    }

    /// @notice The EIP-712 digest validators sign for a score.
    function scoreDigest(uint256 bountyId, uint256 submissionId, uint256 score, uint16 payoutBps)
        public
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(keccak256(abi.encode(SCORE_TYPEHASH, bountyId, submissionId, score, payoutBps)));
    }

    /// @notice Whether a signed score (by its digest) was used.
    function scoreUsed(bytes32 digest) external view returns (bool) {
        return _used[digest];
    }

    /// @notice Whether `account` is a registered validator.
    function isValidator(address account) external view returns (bool) {
        return _validators[account];
    }

    /// @notice How many validators are registered.
    function validatorCount() external view returns (uint256) {
        return _validatorCount;
    }

    /// @notice How many distinct validators must sign a score.
    function threshold() external view returns (uint256) {
        return _threshold;
    }

    /// @notice The EIP-712 domain separator (chain id and this contract).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @dev At least `threshold` signers, strictly ascending (so none counts twice), each a validator whose
    /// signature of `digest` is valid (ECDSA for EOAs, ERC-1271 for contracts).
    function _checkSigners(bytes32 digest, address[] memory signers, bytes[] memory signatures) private view {
        uint256 n = signers.length;
        if (n != signatures.length) revert Evaluator__LengthMismatch(n, signatures.length);
        uint256 threshold_ = _threshold;
        if (n < threshold_) revert Evaluator__TooFewSigners(n, threshold_);
        address previous = address(0);
        for (uint256 i; i < n; ++i) {
            address signer = signers[i];
            if (signer <= previous) revert Evaluator__SignersNotAscending(signer);
            if (!_validators[signer]) revert Evaluator__NotValidator(signer);
            if (!SignatureChecker.isValidSignatureNow(signer, digest, signatures[i])) {
                revert Evaluator__InvalidSignature(signer);
            }
            previous = signer;
        }
    }

    function _setValidator(address validator, bool allowed) private {
        if (validator == address(0)) revert Evaluator__ZeroAddress();
        if (_validators[validator] == allowed) return;
        _validators[validator] = allowed;
        if (allowed) ++_validatorCount;
        else --_validatorCount;
        emit ValidatorSet(validator, allowed);
    }

    function _setThreshold(uint256 threshold_) private {
        if (threshold_ == 0 || threshold_ > _validatorCount) {
            revert Evaluator__InvalidThreshold(threshold_, _validatorCount);
        }
        _threshold = threshold_;
        emit ThresholdSet(threshold_);
    }
}
