// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MarketFixture} from "./utils/MarketFixture.sol";
import {IJobMarketTypes} from "../src/interfaces/IJobMarketTypes.sol";
import {Job, JobStatus} from "../src/types/Job.sol";
import {JobLib} from "../src/libraries/JobLib.sol";
import {ERC1271Wallet} from "./mocks/ERC1271Wallet.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

/// @notice Signed orders: a customer signs an EIP-712 Order off chain; a shop takes it, creating the job
/// already claimed. Signatures from EOAs and ERC-1271 wallets, ERC-2612 permits, expiry, nonces, counters.
contract JobMarketOrdersTest is MarketFixture {
    uint256 internal constant PK = 0xA11CE5;
    uint256 internal constant WALLET_PK = 0xB0B;
    address internal signer;

    bytes32 internal constant ORDER_TYPEHASH = keccak256(
        "Order(address customer,address token,uint96 amount,uint96 collateral,uint256 designId,uint32 deliveryWindow,uint64 targetNode,uint40 expiry,uint64 nonce,uint64 counter,bytes specCid)"
    );
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    function setUp() public override {
        super.setUp();
        signer = vm.addr(PK);
        vm.prank(owner);
        usd.mint(signer, 1_000e6);
        vm.prank(signer);
        usd.approve(address(market), type(uint256).max);
        watched.push(signer);
    }

    // ------------------------------------------------------------------------------------ helpers

    function _order() internal view returns (IJobMarketTypes.Order memory o) {
        o = IJobMarketTypes.Order({
            customer: signer,
            token: address(usd),
            amount: AMOUNT,
            collateral: MIN_COLLATERAL,
            designId: 0,
            deliveryWindow: 7 days,
            targetNode: 0,
            expiry: uint40(block.timestamp + 1 days),
            nonce: 0,
            counter: 0,
            specCid: SPEC_CID
        });
    }

    function _sign(uint256 pk, IJobMarketTypes.Order memory o) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, market.orderDigest(o));
        return abi.encodePacked(r, s, v);
    }

    function _take(address who, IJobMarketTypes.Order memory o, bytes memory sig, uint256 node)
        internal
        returns (uint256 id)
    {
        vm.prank(who);
        id = market.take(o, sig, node, 0);
    }

    /// @dev The claimed job an order becomes when `node` (operator) takes it now into slot `key`.
    function _jobOf(IJobMarketTypes.Order memory o, address node, uint64 key) internal view returns (Job memory job) {
        job.customer = o.customer;
        job.token = o.token;
        job.node = node;
        job.amount = o.amount;
        job.collateral = o.collateral;
        job.bond = uint96(uint256(o.amount) * BOND_BPS / BPS);
        job.feeBps = FEE_BPS;
        job.deliveryWindow = o.deliveryWindow;
        job.reviewWindow = REVIEW_WINDOW;
        job.deadline = uint40(block.timestamp + o.deliveryWindow);
        job.targetNode = o.targetNode;
        job.key = key;
        if (o.designId != 0) {
            (address receiver, uint256 royalty) = designs.royaltyInfo(o.designId, o.amount);
            if (receiver != o.customer) {
                job.royaltyReceiver = receiver;
                job.royalty = uint96(royalty);
            }
        }
    }

    function _expectTakeRevert(IJobMarketTypes.Order memory o, bytes memory sig, uint256 node, bytes memory err)
        internal
    {
        bytes32 before = _funds();
        uint256 count = market.jobCount();
        bool used = market.nonceUsed(o.customer, o.nonce);
        vm.prank(shop);
        vm.expectRevert(err);
        market.take(o, sig, node, 0);
        _assertNoFundsMoved(before);
        vm.assertEq(market.jobCount(), count, "no job");
        vm.assertEq(market.nonceUsed(o.customer, o.nonce), used, "nonce untouched");
    }

    function _invalidSignature(address who) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IJobMarketTypes.JobMarket__InvalidSignature.selector, who);
    }

    // ----------------------------------------------------------------------------------- digest

    function test_orderDigest_matchesIndependentEip712() public view {
        IJobMarketTypes.Order memory o = _order();
        o.designId = designId;
        o.targetNode = 7;
        o.nonce = 300;
        o.counter = 2;
        bytes32 structHash = keccak256(
            abi.encode(
                ORDER_TYPEHASH,
                o.customer,
                o.token,
                o.amount,
                o.collateral,
                o.designId,
                o.deliveryWindow,
                o.targetNode,
                o.expiry,
                o.nonce,
                o.counter,
                keccak256(o.specCid)
            )
        );
        bytes32 domain = keccak256(
            abi.encode(
                DOMAIN_TYPEHASH, keccak256("Fabrica JobMarket"), keccak256("1"), block.chainid, address(market)
            )
        );
        bytes32 expected = keccak256(abi.encodePacked("\x19\x01", domain, structHash));
        vm.assertEq(market.orderDigest(o), expected, "digest");
        vm.assertEq(market.ORDER_TYPEHASH(), ORDER_TYPEHASH, "typehash");
        (, string memory name, string memory version, uint256 chainId, address verifying,,) = market.eip712Domain();
        vm.assertEq(name, "Fabrica JobMarket", "domain name");
        vm.assertEq(version, "1", "domain version");
        vm.assertEq(chainId, block.chainid, "domain chain");
        vm.assertEq(verifying, address(market), "domain contract");
    }

    function test_orderDigest_bindsEveryField() public view {
        IJobMarketTypes.Order memory o = _order();
        bytes32 base = market.orderDigest(o);
        for (uint256 f; f < 11; ++f) {
            IJobMarketTypes.Order memory t = _order();
            if (f == 0) t.customer = stranger;
            else if (f == 1) t.token = address(fab);
            else if (f == 2) t.amount += 1;
            else if (f == 3) t.collateral += 1;
            else if (f == 4) t.designId = 1;
            else if (f == 5) t.deliveryWindow += 1;
            else if (f == 6) t.targetNode = 1;
            else if (f == 7) t.expiry += 1;
            else if (f == 8) t.nonce = 1;
            else if (f == 9) t.counter = 1;
            else t.specCid = PROOF_CID;
            vm.assertNotEq(market.orderDigest(t), base, "field not bound");
        }
    }

    // ------------------------------------------------------------------------------------- take

    function test_take_validEoaSignatureCreatesClaimedJob() public {
        IJobMarketTypes.Order memory o = _order();
        bytes memory sig = _sign(PK, o);
        Job memory job = _jobOf(o, shop, 1);
        bytes32 digest = market.orderDigest(o);
        uint256 walletBefore = usd.balanceOf(signer);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.OrderTaken(1, signer, shop, nodeId, JobLib.pack(job), SPEC_CID, 0, digest);
        uint256 id = _take(shop, o, sig, nodeId);
        vm.assertEq(id, 1, "id");
        vm.assertEq(_status(id, job), uint256(JobStatus.Claimed), "claimed");
        vm.assertEq(market.commitmentAt(1), market.hashJob(id, job, JobStatus.Claimed), "commitment");
        vm.assertEq(job.deadline, block.timestamp + 7 days, "deliver-by");
        vm.assertEq(walletBefore - usd.balanceOf(signer), AMOUNT, "escrow pulled");
        vm.assertEq(usd.balanceOf(address(market)), AMOUNT, "escrow held");
        vm.assertEq(market.lockedOf(shop), MIN_COLLATERAL, "collateral locked");
        vm.assertTrue(market.nonceUsed(signer, 0), "nonce used");
        // The taken job runs the ordinary lifecycle.
        job = deliverJob(id, job);
        vm.prank(signer);
        market.accept(id, job);
        vm.assertEq(market.balanceOf(address(usd), shop), AMOUNT - AMOUNT * FEE_BPS / BPS, "shop paid");
    }

    function test_take_withDesignSnapshotsRoyalty() public {
        IJobMarketTypes.Order memory o = _order();
        o.designId = designId;
        uint256 id = _take(shop, o, _sign(PK, o), nodeId);
        Job memory job = _jobOf(o, shop, uint64(id));
        vm.assertEq(job.royaltyReceiver, designer, "receiver");
        vm.assertEq(_status(id, job), uint256(JobStatus.Claimed), "claimed with royalty");
    }

    function test_take_drawsCustomerBalanceFirst() public {
        vm.prank(signer);
        market.deposit(address(usd), 30e6);
        uint256 walletBefore = usd.balanceOf(signer);
        IJobMarketTypes.Order memory o = _order();
        _take(shop, o, _sign(PK, o), nodeId);
        vm.assertEq(market.balanceOf(address(usd), signer), 0, "deposit used");
        vm.assertEq(walletBefore - usd.balanceOf(signer), 70e6, "only the shortfall pulled");
    }

    function test_take_erc1271Wallet() public {
        ERC1271Wallet wallet = new ERC1271Wallet(vm.addr(WALLET_PK));
        vm.prank(owner);
        usd.mint(address(wallet), 500e6);
        vm.prank(vm.addr(WALLET_PK));
        wallet.execute(address(usd), abi.encodeCall(usd.approve, (address(market), type(uint256).max)));
        IJobMarketTypes.Order memory o = _order();
        o.customer = address(wallet);
        // A signature by anyone but the wallet's owner is refused by the wallet.
        _expectTakeRevert(o, _sign(PK, o), nodeId, _invalidSignature(address(wallet)));
        uint256 id = _take(shop, o, _sign(WALLET_PK, o), nodeId);
        vm.assertEq(_status(id, _jobOf(o, shop, uint64(id))), uint256(JobStatus.Claimed), "claimed");
        vm.assertEq(usd.balanceOf(address(wallet)), 500e6 - AMOUNT, "wallet paid");
        vm.assertTrue(market.nonceUsed(address(wallet), 0), "wallet nonce used");
    }

    function test_take_revertsWhenExpired() public {
        IJobMarketTypes.Order memory o = _order();
        bytes memory sig = _sign(PK, o);
        vm.warp(uint256(o.expiry) + 1);
        _expectTakeRevert(
            o,
            sig,
            nodeId,
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__OrderExpired.selector, o.expiry, block.timestamp)
        );
        vm.warp(o.expiry); // the last second still works
        _take(shop, o, sig, nodeId);
    }

    function test_take_revertsWhenWrongSigner() public {
        IJobMarketTypes.Order memory o = _order();
        _expectTakeRevert(o, _sign(0xBAD, o), nodeId, _invalidSignature(signer));
        _expectTakeRevert(o, "", nodeId, _invalidSignature(signer));
        _expectTakeRevert(o, new bytes(65), nodeId, _invalidSignature(signer));
    }

    function test_take_revertsWhenFieldTampered() public {
        IJobMarketTypes.Order memory o = _order();
        bytes memory sig = _sign(PK, o);
        for (uint256 f; f < 9; ++f) {
            IJobMarketTypes.Order memory t = _order();
            if (f == 0) t.amount = AMOUNT + 1;
            else if (f == 1) t.collateral = MIN_COLLATERAL + 1;
            else if (f == 2) t.designId = designId;
            else if (f == 3) t.deliveryWindow = 8 days;
            else if (f == 4) t.expiry += 1;
            else if (f == 5) t.nonce = 1;
            else if (f == 6) t.specCid = PROOF_CID;
            else if (f == 7) t.token = address(fab);
            else t.customer = customer;
            _expectTakeRevert(t, sig, nodeId, _invalidSignature(t.customer));
        }
    }

    function test_take_revertsWhenSignatureMalleated() public {
        IJobMarketTypes.Order memory o = _order();
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(PK, market.orderDigest(o));
        // The same signature with s in the upper half (and v flipped) recovers the same key: refused.
        uint256 n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        bytes memory high = abi.encodePacked(r, bytes32(n - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        _expectTakeRevert(o, high, nodeId, _invalidSignature(signer));
    }

    function test_take_revertsWhenNonceReused() public {
        IJobMarketTypes.Order memory o = _order();
        bytes memory sig = _sign(PK, o);
        _take(shop, o, sig, nodeId);
        _expectTakeRevert(
            o, sig, nodeId, abi.encodeWithSelector(IJobMarketTypes.JobMarket__OrderNonceUsed.selector, signer, 0)
        );
        // Another order with the same nonce (a different job) is refused as well.
        IJobMarketTypes.Order memory o2 = _order();
        o2.amount = 2 * AMOUNT;
        _expectTakeRevert(
            o2,
            _sign(PK, o2),
            nodeId,
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__OrderNonceUsed.selector, signer, 0)
        );
    }

    function test_take_replayAfterSettlementImpossible() public {
        IJobMarketTypes.Order memory o = _order();
        o.expiry = uint40(block.timestamp + 60 days); // still valid after the job ends: only the nonce stops a replay
        bytes memory sig = _sign(PK, o);
        uint256 id = _take(shop, o, sig, nodeId);
        Job memory job = deliverJob(id, _jobOf(o, shop, uint64(id)));
        vm.warp(job.deadline + 1);
        market.settle(id, job);
        vm.assertEq(_status(id, job), uint256(JobStatus.Settled), "settled");
        _expectTakeRevert(
            o, sig, nodeId, abi.encodeWithSelector(IJobMarketTypes.JobMarket__OrderNonceUsed.selector, signer, 0)
        );
    }

    function test_cancelOrder_blocksTake() public {
        IJobMarketTypes.Order memory o = _order();
        o.nonce = 42;
        bytes memory sig = _sign(PK, o);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.OrderCancelled(signer, 42);
        vm.prank(signer);
        market.cancelOrder(42);
        vm.assertTrue(market.nonceUsed(signer, 42), "cancelled");
        vm.assertFalse(market.nonceUsed(signer, 41), "neighbour free");
        vm.assertFalse(market.nonceUsed(customer, 42), "per customer");
        _expectTakeRevert(
            o, sig, nodeId, abi.encodeWithSelector(IJobMarketTypes.JobMarket__OrderNonceUsed.selector, signer, 42)
        );
        vm.prank(signer);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__OrderNonceUsed.selector, signer, 42));
        market.cancelOrder(42);
    }

    function test_nonces_bitmapWordsAreIndependent() public {
        uint64[4] memory nonces = [uint64(0), 255, 256, type(uint64).max];
        for (uint256 i; i < 4; ++i) {
            vm.prank(signer);
            market.cancelOrder(nonces[i]);
            for (uint256 j; j < 4; ++j) {
                vm.assertEq(market.nonceUsed(signer, nonces[j]), j <= i, "only the cancelled nonces");
            }
        }
        vm.assertFalse(market.nonceUsed(signer, 1), "1 free");
        vm.assertFalse(market.nonceUsed(signer, 257), "257 free");
    }

    function test_incrementCounter_invalidatesOlderOrders() public {
        IJobMarketTypes.Order memory o = _order();
        bytes memory sig = _sign(PK, o);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.OrderCounterIncremented(signer, 1);
        vm.prank(signer);
        vm.assertEq(market.incrementCounter(), 1, "returned");
        vm.assertEq(market.orderCounter(signer), 1, "counter");
        vm.assertEq(market.orderCounter(customer), 0, "per customer");
        _expectTakeRevert(
            o,
            sig,
            nodeId,
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__OrderCounterStale.selector, signer, 0, 1)
        );
        // An order signed with the new counter works, with the same nonce (it was never used).
        o.counter = 1;
        _take(shop, o, _sign(PK, o), nodeId);
        vm.assertTrue(market.nonceUsed(signer, 0), "used now");
    }

    function test_take_targetNodeOnly() public {
        IJobMarketTypes.Order memory o = _order();
        o.targetNode = uint64(nodeId2);
        bytes memory sig = _sign(PK, o);
        _expectTakeRevert(
            o,
            sig,
            nodeId,
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotTargetNode.selector, 0, nodeId, nodeId2)
        );
        uint256 id = _take(shop2, o, sig, nodeId2);
        vm.assertEq(_status(id, _jobOf(o, shop2, uint64(id))), uint256(JobStatus.Claimed), "target took it");
        vm.assertEq(market.lockedOf(shop2), MIN_COLLATERAL, "shop2 locked");
    }

    function test_take_reuseKeyRecyclesFinishedSlot() public {
        (uint256 first, Job memory old) = _open();
        vm.prank(customer);
        market.cancel(first, old);
        IJobMarketTypes.Order memory o = _order();
        bytes memory sig = _sign(PK, o);
        vm.prank(shop);
        uint256 id = market.take(o, sig, nodeId, old.key);
        Job memory job = _jobOf(o, shop, old.key);
        vm.assertEq(_status(id, job), uint256(JobStatus.Claimed), "in the recycled slot");
        vm.assertEq(market.commitmentAt(id), bytes32(0), "no fresh slot");
        vm.assertEq(_status(first, old), uint256(JobStatus.None), "old job gone");
    }

    function test_take_handBackReopensTakenJob() public {
        IJobMarketTypes.Order memory o = _order();
        uint256 id = _take(shop, o, _sign(PK, o), nodeId);
        Job memory job = _jobOf(o, shop, uint64(id));
        vm.prank(shop);
        market.handBack(id, job); // within the hand-back window: free
        job = _handedBack(job);
        vm.assertEq(_status(id, job), uint256(JobStatus.Open), "open for others");
        vm.assertEq(market.lockedOf(shop), 0, "unlocked");
        vm.warp(block.timestamp + market.REOPEN_COOLDOWN());
        vm.prank(shop2);
        market.claim(id, job, nodeId2);
        vm.assertEq(market.lockedOf(shop2), MIN_COLLATERAL, "another shop claimed it");
    }

    function test_take_revertsWhenTermsInvalid() public {
        IJobMarketTypes.Order memory o = _order();
        o.specCid = hex"00";
        _expectTakeRevert(
            o, _sign(PK, o), nodeId, abi.encodeWithSelector(IJobMarketTypes.JobMarket__InvalidCid.selector, o.specCid)
        );
        o = _order();
        o.collateral = MIN_COLLATERAL - 1;
        _expectTakeRevert(
            o,
            _sign(PK, o),
            nodeId,
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__CollateralOutOfBounds.selector, MIN_COLLATERAL - 1, MIN_COLLATERAL, 1_000e18
            )
        );
        o = _order();
        o.token = address(fab);
        _expectTakeRevert(
            o, _sign(PK, o), nodeId, abi.encodeWithSelector(IJobMarketTypes.JobMarket__TokenNotAllowed.selector, address(fab))
        );
        o = _order();
        o.deliveryWindow = 1 hours - 1;
        _expectTakeRevert(
            o,
            _sign(PK, o),
            nodeId,
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__InvalidDeliveryWindow.selector, 1 hours - 1, 1 hours, 365 days
            )
        );
    }

    function test_take_revertsWhenTakerIsNotNodeOperator() public {
        IJobMarketTypes.Order memory o = _order();
        _expectTakeRevert(
            o,
            _sign(PK, o),
            nodeId2,
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotNodeOperator.selector, nodeId2, shop, shop2)
        );
    }

    function test_take_revertsWhenCustomerCannotPay() public {
        vm.prank(signer);
        usd.approve(address(market), 0);
        IJobMarketTypes.Order memory o = _order();
        _expectTakeRevert(
            o,
            _sign(PK, o),
            nodeId,
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 0, AMOUNT)
        );
    }

    // ------------------------------------------------------------------------------------ permit

    function _permit(uint256 value, uint256 deadline) internal view returns (uint8 v, bytes32 r, bytes32 s) {
        bytes32 structHash =
            keccak256(abi.encode(PERMIT_TYPEHASH, signer, address(market), value, usd.nonces(signer), deadline));
        (v, r, s) = vm.sign(PK, keccak256(abi.encodePacked("\x19\x01", usd.DOMAIN_SEPARATOR(), structHash)));
    }

    function test_takeWithPermit_appliesPermit() public {
        vm.prank(signer);
        usd.approve(address(market), 0);
        IJobMarketTypes.Order memory o = _order();
        bytes memory sig = _sign(PK, o);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _permit(AMOUNT, deadline);
        vm.prank(shop);
        uint256 id = market.takeWithPermit(o, sig, nodeId, 0, AMOUNT, deadline, v, r, s);
        vm.assertEq(_status(id, _jobOf(o, shop, uint64(id))), uint256(JobStatus.Claimed), "claimed");
        vm.assertEq(usd.allowance(signer, address(market)), 0, "permit spent");
        vm.assertEq(usd.nonces(signer), 1, "permit nonce used");
        vm.assertEq(usd.balanceOf(address(market)), AMOUNT, "escrow pulled");
    }

    function test_takeWithPermit_frontRunPermitDoesNotBlockTake() public {
        vm.prank(signer);
        usd.approve(address(market), 0);
        IJobMarketTypes.Order memory o = _order();
        bytes memory sig = _sign(PK, o);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _permit(AMOUNT, deadline);
        // Someone copies the permit from the mempool and submits it first.
        vm.prank(stranger);
        usd.permit(signer, address(market), AMOUNT, deadline, v, r, s);
        vm.prank(shop);
        uint256 id = market.takeWithPermit(o, sig, nodeId, 0, AMOUNT, deadline, v, r, s);
        vm.assertEq(_status(id, _jobOf(o, shop, uint64(id))), uint256(JobStatus.Claimed), "still taken");
        vm.assertEq(usd.balanceOf(address(market)), AMOUNT, "escrow pulled");
    }

    function test_takeWithPermit_revertsWhenNeitherPermitNorAllowance() public {
        vm.prank(signer);
        usd.approve(address(market), 0);
        IJobMarketTypes.Order memory o = _order();
        bytes memory sig = _sign(PK, o);
        (uint8 v, bytes32 r, bytes32 s) = _permit(AMOUNT, block.timestamp + 1 hours);
        bytes32 before = _funds();
        vm.prank(shop);
        // The permit names another deadline than signed: invalid, ignored; the pull then lacks an allowance.
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 0, AMOUNT)
        );
        market.takeWithPermit(o, sig, nodeId, 0, AMOUNT, block.timestamp + 2 hours, v, r, s);
        _assertNoFundsMoved(before);
        vm.assertFalse(market.nonceUsed(signer, 0), "nonce untouched");
    }

    // ------------------------------------------------------------------------------------ pause

    function test_take_revertsWhilePausedAndWorksOnceResumed() public {
        IJobMarketTypes.Order memory o = _order();
        bytes memory sig = _sign(PK, o);
        vm.prank(owner);
        module.setPaused(true);
        _expectTakeRevert(o, sig, nodeId, abi.encodeWithSelector(IJobMarketTypes.JobMarket__Paused.selector));
        // The order stays valid: the customer may still cancel it, or a shop take it once resumed.
        vm.prank(owner);
        module.setPaused(false);
        uint256 id = _take(shop, o, sig, nodeId);
        vm.assertEq(_status(id, _jobOf(o, shop, uint64(id))), uint256(JobStatus.Claimed), "taken once resumed");
    }

    function test_takeWithPermit_revertsWhilePausedLeavingPermitUnused() public {
        vm.prank(signer);
        usd.approve(address(market), 0);
        IJobMarketTypes.Order memory o = _order();
        bytes memory sig = _sign(PK, o);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _permit(AMOUNT, deadline);
        vm.prank(owner);
        module.setPaused(true);
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__Paused.selector));
        market.takeWithPermit(o, sig, nodeId, 0, AMOUNT, deadline, v, r, s);
        _assertNoFundsMoved(before);
        vm.assertEq(usd.nonces(signer), 0, "permit not consumed");
        vm.assertEq(usd.allowance(signer, address(market)), 0, "no allowance granted");
        vm.assertFalse(market.nonceUsed(signer, 0), "order nonce untouched");
        // Cancelling an order is no new job: it works while paused.
        vm.prank(signer);
        market.cancelOrder(0);
        vm.assertTrue(market.nonceUsed(signer, 0), "cancelled while paused");
    }
}
