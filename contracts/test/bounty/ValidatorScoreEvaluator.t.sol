// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {BountyFixture} from "./BountyFixture.sol";
import {ERC1271Wallet} from "../mocks/ERC1271Wallet.sol";
import {IBountyBoard} from "../../src/interfaces/IBountyBoard.sol";
import {ValidatorScoreEvaluator} from "../../src/design/ValidatorScoreEvaluator.sol";

/// @notice The validator-score evaluator on the board: a score signed by a threshold of registered subnet
/// validators pays `payoutBps` of the pot; replays, outsiders, duplicates and foreign signatures are refused.
contract ValidatorScoreEvaluatorTest is BountyFixture {
    ValidatorScoreEvaluator internal evaluator;
    uint256[3] internal keys = [uint256(0x7A11), 0x7A12, 0x7A13];
    address[3] internal validators;
    uint256 internal constant OUTSIDER_KEY = 0x0B5;
    uint256 internal id;
    uint256 internal sub;

    function setUp() public override {
        super.setUp();
        address[] memory v = new address[](3);
        for (uint256 i; i < 3; ++i) {
            validators[i] = vm.addr(keys[i]);
            v[i] = validators[i];
        }
        evaluator = new ValidatorScoreEvaluator(owner, board, v, 2);
        id = _post(_evaluatorTerms(address(evaluator)), 1_000e6);
        sub = _submit(id, designer, DESIGN_CID);
    }

    // ------------------------------------------------------------------------------------ helpers

    function _sig(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev Signs (bountyId, submissionId, score, payoutBps) with `signerKeys`, listing signers in ascending order.
    function _data(uint256 bountyId, uint256 submissionId, uint256 score, uint16 payoutBps, uint256[] memory signerKeys)
        internal
        view
        returns (bytes memory)
    {
        bytes32 digest = evaluator.scoreDigest(bountyId, submissionId, score, payoutBps);
        uint256 n = signerKeys.length;
        address[] memory signers = new address[](n);
        bytes[] memory sigs = new bytes[](n);
        for (uint256 i; i < n; ++i) {
            signers[i] = vm.addr(signerKeys[i]);
            sigs[i] = _sig(signerKeys[i], digest);
        }
        // insertion sort by address
        for (uint256 i = 1; i < n; ++i) {
            for (uint256 j = i; j > 0 && signers[j - 1] > signers[j]; --j) {
                (signers[j - 1], signers[j]) = (signers[j], signers[j - 1]);
                (sigs[j - 1], sigs[j]) = (sigs[j], sigs[j - 1]);
            }
        }
        return abi.encode(score, payoutBps, signers, sigs);
    }

    function _keys(uint256 a, uint256 b) internal pure returns (uint256[] memory k) {
        k = new uint256[](2);
        (k[0], k[1]) = (a, b);
    }

    // ------------------------------------------------------------------------------------ decisions

    function test_evaluate_paysShareOfPot() public {
        bytes memory data = _data(id, sub, 87, 2_500, _keys(keys[0], keys[2]));
        bytes32 digest = evaluator.scoreDigest(id, sub, 87, 2_500);
        vm.prank(stranger);
        uint256 amount = board.awardByEvaluator(id, sub, data);
        vm.assertEq(amount, 250e6, "25 % of 1 000");
        vm.assertEq(board.balanceOf(address(usd), designer), 250e6, "credited");
        vm.assertTrue(evaluator.scoreUsed(digest), "used");
        // A second milestone: another signed score, 50 % of what is left.
        amount = board.awardByEvaluator(id, sub, _data(id, sub, 90, 5_000, _keys(keys[1], keys[2])));
        vm.assertEq(amount, 375e6, "50 % of 750");
        vm.assertEq(board.potOf(id), 375e6, "pot");
    }

    function test_evaluate_emitsScore() public {
        bytes memory data = _data(id, sub, 87, 10_000, _keys(keys[0], keys[1]));
        (,, address[] memory signers,) = abi.decode(data, (uint256, uint16, address[], bytes[]));
        vm.expectEmit(address(evaluator));
        emit ValidatorScoreEvaluator.ScoreAccepted(
            id, sub, evaluator.scoreDigest(id, sub, 87, 10_000), 87, 10_000, 1_000e6, signers
        );
        board.awardByEvaluator(id, sub, data);
        vm.assertEq(board.potOf(id), 0, "the whole pot");
    }

    function test_evaluate_contractValidator() public {
        ERC1271Wallet wallet = new ERC1271Wallet(vm.addr(0x7A14));
        vm.prank(owner);
        evaluator.setValidator(address(wallet), true);
        bytes32 digest = evaluator.scoreDigest(id, sub, 1, 1_000);
        address[] memory signers = new address[](2);
        bytes[] memory sigs = new bytes[](2);
        (address a, address b) = (validators[0], address(wallet));
        (bytes memory sa, bytes memory sb) = (_sig(keys[0], digest), _sig(0x7A14, digest));
        if (a > b) (a, b, sa, sb) = (b, a, sb, sa);
        (signers[0], signers[1], sigs[0], sigs[1]) = (a, b, sa, sb);
        vm.assertEq(
            board.awardByEvaluator(id, sub, abi.encode(uint256(1), uint16(1_000), signers, sigs)), 100e6, "10 %"
        );
    }

    // ------------------------------------------------------------------------------------ attacks

    /// @notice The same signed score submitted twice pays once.
    function test_attack_replaySameScore() public {
        bytes memory data = _data(id, sub, 87, 2_000, _keys(keys[0], keys[1]));
        board.awardByEvaluator(id, sub, data);
        bytes32 digest = evaluator.scoreDigest(id, sub, 87, 2_000);
        vm.expectRevert(abi.encodeWithSelector(ValidatorScoreEvaluator.Evaluator__ScoreUsed.selector, digest));
        board.awardByEvaluator(id, sub, data);
        // Re-signed by other validators it is still the same score.
        bytes memory again = _data(id, sub, 87, 2_000, _keys(keys[1], keys[2]));
        vm.expectRevert(abi.encodeWithSelector(ValidatorScoreEvaluator.Evaluator__ScoreUsed.selector, digest));
        board.awardByEvaluator(id, sub, again);
        vm.assertEq(board.balanceOf(address(usd), designer), 200e6, "paid once");
    }

    /// @notice Signatures from addresses that are not validators count for nothing (even with enough validators).
    function test_attack_nonValidatorSigners() public {
        address outsider = vm.addr(OUTSIDER_KEY);
        bytes memory data_ = _data(id, sub, 99, 10_000, _keys(keys[0], OUTSIDER_KEY));
        vm.expectRevert(abi.encodeWithSelector(ValidatorScoreEvaluator.Evaluator__NotValidator.selector, outsider));
        board.awardByEvaluator(id, sub, data_);
        uint256[] memory three = new uint256[](3);
        (three[0], three[1], three[2]) = (keys[0], keys[1], OUTSIDER_KEY);
        data_ = _data(id, sub, 99, 10_000, three);
        vm.expectRevert(abi.encodeWithSelector(ValidatorScoreEvaluator.Evaluator__NotValidator.selector, outsider));
        board.awardByEvaluator(id, sub, data_);
        // A validator governance removed is an outsider too.
        vm.prank(owner);
        evaluator.setValidator(validators[1], false);
        data_ = _data(id, sub, 99, 10_000, _keys(keys[0], keys[1]));
        vm.expectRevert(abi.encodeWithSelector(ValidatorScoreEvaluator.Evaluator__NotValidator.selector, validators[1]));
        board.awardByEvaluator(id, sub, data_);
        vm.assertEq(board.balanceOf(address(usd), designer), 0, "nothing");
    }

    /// @notice One validator listed twice (or out of order) does not reach a threshold of two.
    function test_attack_duplicateSigner() public {
        bytes32 digest = evaluator.scoreDigest(id, sub, 99, 10_000);
        address[] memory signers = new address[](2);
        bytes[] memory sigs = new bytes[](2);
        (signers[0], signers[1]) = (validators[0], validators[0]);
        (sigs[0], sigs[1]) = (_sig(keys[0], digest), _sig(keys[0], digest));
        vm.expectRevert(
            abi.encodeWithSelector(ValidatorScoreEvaluator.Evaluator__SignersNotAscending.selector, validators[0])
        );
        board.awardByEvaluator(id, sub, abi.encode(uint256(99), uint16(10_000), signers, sigs));
        // Descending order is refused as well (so no ordering trick can list a signer twice).
        bytes memory data = _data(id, sub, 99, 10_000, _keys(keys[0], keys[1]));
        (,, address[] memory asc, bytes[] memory ascSigs) = abi.decode(data, (uint256, uint16, address[], bytes[]));
        (signers[0], signers[1], sigs[0], sigs[1]) = (asc[1], asc[0], ascSigs[1], ascSigs[0]);
        vm.expectRevert(abi.encodeWithSelector(ValidatorScoreEvaluator.Evaluator__SignersNotAscending.selector, asc[0]));
        board.awardByEvaluator(id, sub, abi.encode(uint256(99), uint16(10_000), signers, sigs));
        // A single signature is below the threshold.
        uint256[] memory one = new uint256[](1);
        one[0] = keys[0];
        bytes memory data_ = _data(id, sub, 99, 10_000, one);
        vm.expectRevert(abi.encodeWithSelector(ValidatorScoreEvaluator.Evaluator__TooFewSigners.selector, 1, 2));
        board.awardByEvaluator(id, sub, data_);
        vm.assertEq(board.balanceOf(address(usd), designer), 0, "nothing");
    }

    /// @notice A score signed for another bounty, submission, payout or evaluator does not verify here.
    function test_attack_foreignSignatures() public {
        uint256 sub2 = _submit(id, designer2, DESIGN_CID2);
        bytes memory forSub = _data(id, sub, 99, 10_000, _keys(keys[0], keys[1]));
        (,, address[] memory signers, bytes[] memory sigs) = abi.decode(forSub, (uint256, uint16, address[], bytes[]));
        // Same signatures, another submission.
        vm.expectRevert(
            abi.encodeWithSelector(ValidatorScoreEvaluator.Evaluator__InvalidSignature.selector, signers[0])
        );
        board.awardByEvaluator(id, sub2, forSub);
        // Same signatures, a larger payout.
        vm.expectRevert(
            abi.encodeWithSelector(ValidatorScoreEvaluator.Evaluator__InvalidSignature.selector, signers[0])
        );
        board.awardByEvaluator(id, sub, abi.encode(uint256(99), uint16(9_999), signers, sigs));
        // Signed for a twin evaluator (same validators) on another bounty of the same board.
        address[] memory v = new address[](3);
        for (uint256 i; i < 3; ++i) {
            v[i] = validators[i];
        }
        ValidatorScoreEvaluator twin = new ValidatorScoreEvaluator(owner, board, v, 2);
        bytes32 twinDigest = twin.scoreDigest(id, sub, 99, 10_000);
        vm.assertNotEq(twinDigest, evaluator.scoreDigest(id, sub, 99, 10_000), "domain binds the contract");
        sigs[0] = _sig(keys[0], twinDigest);
        sigs[1] = _sig(keys[1], twinDigest);
        if (signers[0] != validators[0]) (sigs[0], sigs[1]) = (sigs[1], sigs[0]);
        vm.expectRevert(
            abi.encodeWithSelector(ValidatorScoreEvaluator.Evaluator__InvalidSignature.selector, signers[0])
        );
        board.awardByEvaluator(id, sub, abi.encode(uint256(99), uint16(10_000), signers, sigs));
        vm.assertEq(board.balanceOf(address(usd), designer), 0, "nothing");
    }

    /// @notice Nobody but the board may spend a signed score: a griefer calling the evaluator directly is refused
    /// (the score stays usable for the award it decides).
    function test_attack_directCallCannotBurnScore() public {
        bytes memory data = _data(id, sub, 99, 1_000, _keys(keys[0], keys[1]));
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ValidatorScoreEvaluator.Evaluator__NotBoard.selector, stranger));
        evaluator.evaluate(id, sub, data);
        vm.assertEq(board.awardByEvaluator(id, sub, data), 100e6, "still usable");
    }

    function test_evaluate_rejectsMalformed() public {
        bytes memory data_ = _data(id, sub, 1, 0, _keys(keys[0], keys[1]));
        vm.expectRevert(abi.encodeWithSelector(ValidatorScoreEvaluator.Evaluator__InvalidPayout.selector, 0));
        board.awardByEvaluator(id, sub, data_);
        data_ = _data(id, sub, 1, 10_001, _keys(keys[0], keys[1]));
        vm.expectRevert(abi.encodeWithSelector(ValidatorScoreEvaluator.Evaluator__InvalidPayout.selector, 10_001));
        board.awardByEvaluator(id, sub, data_);
        address[] memory signers = new address[](2);
        bytes[] memory sigs = new bytes[](1);
        vm.expectRevert(abi.encodeWithSelector(ValidatorScoreEvaluator.Evaluator__LengthMismatch.selector, 2, 1));
        board.awardByEvaluator(id, sub, abi.encode(uint256(1), uint16(1), signers, sigs));
    }

    // ---------------------------------------------------------------------------------- governance

    function test_governance() public {
        vm.assertEq(evaluator.validatorCount(), 3, "three");
        vm.assertEq(evaluator.threshold(), 2, "two");
        vm.assertTrue(evaluator.isValidator(validators[0]), "validator");
        vm.assertEq(address(evaluator.board()), address(board), "board");
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        evaluator.setValidator(stranger, true);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        evaluator.setThreshold(1);
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(ValidatorScoreEvaluator.Evaluator__InvalidThreshold.selector, 4, 3));
        evaluator.setThreshold(4);
        vm.expectRevert(abi.encodeWithSelector(ValidatorScoreEvaluator.Evaluator__InvalidThreshold.selector, 0, 3));
        evaluator.setThreshold(0);
        vm.expectRevert(ValidatorScoreEvaluator.Evaluator__ZeroAddress.selector);
        evaluator.setValidator(address(0), true);
        vm.expectEmit(address(evaluator));
        emit ValidatorScoreEvaluator.ThresholdSet(3);
        evaluator.setThreshold(3);
        // Removal is always possible, even below the threshold (a compromised key).
        vm.expectEmit(address(evaluator));
        emit ValidatorScoreEvaluator.ValidatorSet(validators[2], false);
        evaluator.setValidator(validators[2], false);
        vm.stopPrank();
        vm.assertEq(evaluator.validatorCount(), 2, "two left");
        bytes memory data_ = _data(id, sub, 1, 1, _keys(keys[0], keys[1]));
        vm.expectRevert(abi.encodeWithSelector(ValidatorScoreEvaluator.Evaluator__TooFewSigners.selector, 2, 3));
        board.awardByEvaluator(id, sub, data_);
    }

    function test_constructor_rejects() public {
        address[] memory v = new address[](1);
        v[0] = validators[0];
        vm.expectRevert(ValidatorScoreEvaluator.Evaluator__ZeroAddress.selector);
        new ValidatorScoreEvaluator(owner, IBountyBoard(address(0)), v, 1);
        vm.expectRevert(abi.encodeWithSelector(ValidatorScoreEvaluator.Evaluator__InvalidThreshold.selector, 2, 1));
        new ValidatorScoreEvaluator(owner, board, v, 2);
    }

    function test_domainSeparatorBindsChainAndContract() public view {
        bytes32 expected = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Fabrica ValidatorScoreEvaluator"),
                keccak256("1"),
                block.chainid,
                address(evaluator)
            )
        );
        vm.assertEq(evaluator.domainSeparator(), expected, "domain");
        bytes32 structHash = keccak256(abi.encode(evaluator.SCORE_TYPEHASH(), id, sub, uint256(5), uint16(7)));
        vm.assertEq(
            evaluator.scoreDigest(id, sub, 5, 7), keccak256(abi.encodePacked(hex"1901", expected, structHash)), "digest"
        );
    }
}
