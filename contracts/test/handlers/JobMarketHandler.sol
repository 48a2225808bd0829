// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ArbiterPanel} from "../../src/governance/ArbiterPanel.sol";
import {TestStablecoin} from "../../src/devnet/TestStablecoin.sol";
import {IJobMarketTypes} from "../../src/interfaces/IJobMarketTypes.sol";
import {INodeRegistry} from "../../src/interfaces/INodeRegistry.sol";
import {Job, JobStatus} from "../../src/types/Job.sol";
import {MarketModel, MarketEnv} from "./MarketModel.sol";
import {MarketMath} from "./MarketMath.sol";

/// @notice Drives the whole job market with bounded random inputs: several customers (who sign orders with
/// known keys), shops with two nodes each, three payment tokens (one burns a fee on transfer) and time
/// warps; plus governance (parameters, token terms, judges, minimum stake, the arbiter panel's members,
/// pausing new jobs and the guardian) and design transfers. Every
/// call first predicts from the model whether it must succeed or with exactly which error it must revert,
/// then applies the predicted effect and checks the accounts it touched. Nothing here reverts: surprises
/// are counted for the invariants.
contract JobMarketHandler is MarketModel {
    uint256 internal constant MAX_AMOUNT = 5_000e6;
    uint96 internal constant SHOP_FAB = 1_000_000e18;
    uint96 internal constant INITIAL_STAKE = 5_000e18;
    uint256 internal constant WALLET = 1e24;
    uint256 internal constant UNKNOWN_NODE = 99;
    uint256 internal constant UNKNOWN_DESIGN = 999;
    bytes32 internal constant ORDER_TYPEHASH = keccak256(
        "Order(address customer,address token,uint96 amount,uint96 collateral,uint256 designId,uint32 deliveryWindow,"
        "uint64 targetNode,uint40 expiry,uint64 nonce,uint64 counter,bytes specCid)"
    );
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    constructor(MarketEnv memory env) MarketModel(env) {
        paymentTokens.push(address(env.usd));
        paymentTokens.push(address(env.eur));
        paymentTokens.push(address(env.fot));
        for (uint256 t; t < 3; ++t) {
            tokens.push(paymentTokens[t]);
            _terms[paymentTokens[t]] = module.tokenTerms(paymentTokens[t]);
        }
        tokens.push(address(env.fab));
        judges.push(env.arbiter);
        judges.push(address(env.panel));
        judges.push(env.court);
        judges.push(address(0xC0DE8));

        _setUpCustomers(env);
        _setUpShops(env);
        _setUpPanel(env);
        // Royalties 5 %, 25 % (above the default cap of 20 %, so capped) and 0 %.
        uint96[3] memory bps = [uint96(500), 2_500, 0];
        for (uint256 i; i < 3; ++i) {
            address d = address(uint160(0xD000 + i % 2));
            if (i < 2) {
                designers.push(d);
                holders.push(d);
            }
            // One token per content digest: each design has a CID of its own.
            bytes memory cid = abi.encodePacked(hex"1220", keccak256(abi.encode("handler design", i)));
            vm.prank(d);
            uint256 id = env.designs.mint(cid, SPEC_CID, uint16(bps[i]));
            designIds.push(id);
            designOwner[id] = d;
            designBps[id] = bps[i];
        }
    }

    /// @dev The panel's candidates: its three members, plus a customer (appointed now) and a shop, so that
    /// the panel must skip a dispute's own parties. Arbiters hold credits (appeal fees): they are holders.
    function _setUpPanel(MarketEnv memory env) private {
        holders.push(env.arbiter);
        for (uint256 i; i < _members.length; ++i) {
            panelCandidates.push(_members[i]);
            holders.push(_members[i]);
        }
        vm.prank(env.owner);
        env.panel.appoint(customers[0]);
        _members.push(customers[0]);
        panelCandidates.push(customers[0]);
        panelCandidates.push(shops[0]);
    }

    function _setUpCustomers(MarketEnv memory env) private {
        for (uint256 i; i < 3; ++i) {
            uint256 key = 0xC1 + i;
            address c = vm.addr(key);
            customers.push(c);
            _customerKeys.push(key);
            holders.push(c);
            // The third customer keeps no standing approval: it pays from deposits, exact approvals and permits.
            finiteAllowance[c] = i == 2;
        }
        for (uint256 i; i < 3; ++i) {
            address s = address(uint160(0x5001 + i));
            shops.push(s);
            holders.push(s);
        }
        for (uint256 t; t < 3; ++t) {
            address token = paymentTokens[t];
            for (uint256 i; i < 6; ++i) {
                address a = i < 3 ? customers[i] : shops[i - 3];
                if (token == address(env.fot)) {
                    env.fot.mint(a, WALLET);
                } else {
                    vm.prank(env.owner);
                    TestStablecoin(token).mint(a, WALLET);
                }
                wallet[token][a] = WALLET;
                if (!finiteAllowance[a]) {
                    vm.prank(a);
                    TestStablecoin(token).approve(address(env.market), type(uint256).max);
                }
            }
        }
    }

    function _setUpShops(MarketEnv memory env) private {
        operators.push(env.idleShop);
        nodeIds.push(env.idleNode);
        nodeOperator[env.idleNode] = env.idleShop;
        nodeActive[env.idleNode] = true;
        firstNode[env.idleShop] = env.idleNode;
        INodeRegistry.Stake memory idle = env.registry.stakeOf(env.idleShop);
        _accounts[env.idleShop].staked = idle.staked;
        _accounts[env.idleShop].eligible = idle.staked >= minStake;
        for (uint256 i; i < 3; ++i) {
            address s = shops[i];
            operators.push(s);
            vm.prank(env.owner);
            env.fab.transfer(s, SHOP_FAB);
            vm.startPrank(s);
            env.fab.approve(address(env.registry), type(uint256).max);
            env.registry.stake(INITIAL_STAKE);
            for (uint256 k; k < 2; ++k) {
                uint256 node = env.registry.registerNode(1, 1, [uint32(100), 100, 100], bytes32(uint256(1)), SPEC_CID);
                nodeIds.push(node);
                nodeOperator[node] = s;
                nodeActive[node] = true;
                if (k == 0) firstNode[s] = node;
            }
            vm.stopPrank();
            wallet[address(env.fab)][s] = SHOP_FAB - INITIAL_STAKE;
            _accounts[s].staked = INITIAL_STAKE;
            _accounts[s].eligible = INITIAL_STAKE >= minStake;
        }
    }

    // ==================================================================================== customers

    struct PostArgs {
        address customer;
        address token;
        uint96 amount;
        uint256 design;
        uint40 claimBy;
        uint32 window;
        uint96 collateral;
        uint64 target;
        uint64 reuse;
    }

    /// @notice A customer posts a job: any payment token, with or without a design, targeted or not,
    /// recycling a finished slot or not; one post in three breaks one rule.
    function post(uint256 actorSeed, uint256 amountSeed, uint256 termsSeed, uint256 optSeed) external {
        _sync();
        PostArgs memory a;
        a.customer = customers[actorSeed % customers.length];
        a.token = paymentTokens[_r(termsSeed, 1, 3)];
        a.amount = _fundable(a.customer, a.token, _amount(amountSeed), amountSeed);
        a.design = _design(optSeed);
        a.claimBy = uint40(ghostNow + 1 hours + _r(termsSeed, 2, 3 days));
        uint256 edge = _r(termsSeed, 4, 32);
        if (edge == 0) a.claimBy = uint40(ghostNow + 1);
        else if (edge == 1) a.claimBy = uint40(ghostNow + 365 days);
        a.window = uint32(_params.minDeliveryWindow + _r(termsSeed, 3, 4 days));
        a.collateral = _collateral(a.token, a.amount, termsSeed);
        a.target = _target(optSeed);
        a.reuse = _reuseKey(optSeed);
        uint256 fault = _r(optSeed, 9, 48);
        if (fault == 0) a.claimBy = uint40(ghostNow);
        else if (fault == 1) a.claimBy = uint40(ghostNow + 365 days + 1);
        else if (fault == 2) a.amount = 0;
        else if (fault == 3) a.window = uint32(_params.minDeliveryWindow - 1);
        else if (fault == 4) a.window = 365 days + 1;
        else if (fault == 5) a.collateral = _bump(a.collateral, false);
        else if (fault == 6) a.collateral = _bump(_hi(a.token, a.amount), true);
        else if (fault == 7) a.design = UNKNOWN_DESIGN;

        bytes memory err;
        if (a.claimBy <= ghostNow || a.claimBy > ghostNow + 365 days) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__InvalidClaimDeadline.selector, a.claimBy, ghostNow);
        } else {
            err = _termsError(a.token, a.amount, a.design, a.window, a.collateral);
            if (err.length == 0 && paused) err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__Paused.selector);
            if (err.length == 0) err = _debitError(a.token, a.customer, a.amount);
        }
        (bool ok, bytes memory ret) = _exec("post", a.customer, address(market), _postCall(a), err);
        if (!ok) return;
        uint256 expectedId = _recs.length + 1;
        if (abi.decode(ret, (uint256)) != expectedId) _mismatch("post: job id");
        Job memory job = _newJob(a.customer, a.token, a.amount, a.design, a.window, a.collateral);
        job.deadline = a.claimBy;
        job.targetNode = a.target;
        job.key = _isReusable(a.reuse) ? a.reuse : uint64(expectedId);
        _debit(a.token, a.customer, a.amount);
        escrow[a.token] += a.amount;
        uint256 id = _addJob(job, JobStatus.Open);
        _observe(id);
        _checkAccount(a.token, a.customer);
    }

    function _postCall(PostArgs memory a) private view returns (bytes memory) {
        return abi.encodeCall(
            market.post, (a.token, a.amount, SPEC_CID, a.design, a.claimBy, a.window, a.collateral, a.target, a.reuse)
        );
    }

    /// @notice A customer adds to its market balance (the exact-approval customer approves first).
    function deposit(uint256 actorSeed, uint256 tokenSeed, uint256 amountSeed) external {
        _sync();
        address who = holders[actorSeed % 6]; // customers and shops
        address token = tokens[tokenSeed % tokens.length];
        uint256 amount = amountSeed % 32 == 0 ? 0 : _amount(amountSeed >> 5);
        if (finiteAllowance[who]) {
            vm.prank(who);
            TestStablecoin(token).approve(address(market), amount);
            allowanceOf[token][who] = amount;
        }
        bytes memory err;
        if (!_terms[token].allowed) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__TokenNotAllowed.selector, token);
        } else if (amount == 0) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__ZeroAmount.selector);
        }
        (bool ok,) = _exec("deposit", who, address(market), abi.encodeCall(market.deposit, (token, amount)), err);
        if (!ok) return;
        _decrease(who);
        wallet[token][who] -= amount;
        if (finiteAllowance[who]) allowanceOf[token][who] = 0;
        _credit(token, who, _arrives(token, amount));
        _checkAccount(token, who);
    }

    /// @notice The customer withdraws an open job (now and then a stranger tries).
    function cancel(uint256 jobSeed, uint256 callerSeed) external {
        _sync();
        uint256 id = _pick(JobStatus.Open, jobSeed, false);
        if (id == 0) return;
        Job memory job = _recs[id - 1].job;
        address caller = callerSeed % 8 == 0 ? customers[(callerSeed >> 3) % customers.length] : job.customer;
        bytes memory err;
        if (caller != job.customer) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotCustomer.selector, id, caller, job.customer);
        }
        (bool ok,) = _exec("cancel", caller, address(market), abi.encodeCall(market.cancel, (id, job)), err);
        if (ok) {
            _credit(job.token, job.customer, job.amount);
            escrow[job.token] -= job.amount;
            _setStatus(id, JobStatus.Cancelled);
            _checkAccount(job.token, job.customer);
        }
        _observe(id);
    }

    /// @notice The customer accepts a delivery (now and then someone else tries).
    function accept(uint256 jobSeed, uint256 callerSeed) external {
        _sync();
        uint256 id = _pick(JobStatus.Delivered, jobSeed, false);
        if (id == 0) return;
        Job memory job = _recs[id - 1].job;
        address caller = callerSeed % 8 == 0 ? job.node : job.customer;
        bytes memory err;
        if (caller != job.customer) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotCustomer.selector, id, caller, job.customer);
        }
        (bool ok,) = _exec("accept", caller, address(market), abi.encodeCall(market.accept, (id, job)), err);
        if (ok) _paySettlement(id);
        _observe(id);
    }

    /// @notice A customer cancels one of its order nonces (fresh, random, or one already used).
    function cancelOrder(uint256 actorSeed, uint256 nonceSeed) external {
        _sync();
        address c = customers[actorSeed % customers.length];
        uint64 nonce = _nonce(c, nonceSeed);
        bytes memory err;
        if (nonceUsed[c][nonce]) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__OrderNonceUsed.selector, c, nonce);
        }
        (bool ok,) = _exec("cancelOrder", c, address(market), abi.encodeCall(market.cancelOrder, (nonce)), err);
        if (ok) _useNonce(c, nonce);
        if (market.nonceUsed(c, nonce) != nonceUsed[c][nonce]) _mismatch("cancelOrder: nonce bitmap");
    }

    /// @notice A customer invalidates all its outstanding orders.
    function incrementCounter(uint256 actorSeed) external {
        _sync();
        address c = customers[actorSeed % customers.length];
        (bool ok, bytes memory ret) =
            _exec("incrementCounter", c, address(market), abi.encodeCall(market.incrementCounter, ()), "");
        if (!ok) return;
        counter[c]++;
        if (abi.decode(ret, (uint64)) != counter[c] || market.orderCounter(c) != counter[c]) {
            _mismatch("incrementCounter: counter");
        }
    }

    // ========================================================================================= shops

    /// @notice A shop claims an open job for one of its nodes (the target node when there is one). A job
    /// handed back waits out its cooldown, and never goes back to the same operator.
    function claim(uint256 jobSeed, uint256 shopSeed) external {
        _sync();
        uint256 id = _pick(JobStatus.Open, jobSeed, false);
        if (id == 0) return;
        Job memory job = _recs[id - 1].job;
        // A handed-back job's deadline is its hand-back time + REOPEN_PERIOD.
        uint256 claimableAt = job.node == address(0) ? 0 : uint256(job.deadline) - REOPEN_PERIOD + REOPEN_COOLDOWN;
        if (claimableAt != 0) _waitNear(shopSeed, claimableAt, REOPEN_COOLDOWN);
        else _waitNear(shopSeed, job.deadline, 1 days);
        uint256 node = _claimNode(job, shopSeed);
        address caller = nodeOperator[node];
        if (caller == address(0) || caller == operators[0] || _r(shopSeed, 1, 16) == 0) {
            caller = shops[_r(shopSeed, 2, shops.length)];
        }
        bytes memory err;
        if (ghostNow > job.deadline) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__DeadlinePassed.selector, id, job.deadline, ghostNow);
        } else if (job.targetNode != 0 && job.targetNode != node) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotTargetNode.selector, id, node, job.targetNode);
        } else if (job.node != address(0) && caller == job.node) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__HandedBackByCaller.selector, id, caller);
        } else if (job.node != address(0) && ghostNow < claimableAt) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__ReopenCooldown.selector, id, claimableAt, ghostNow);
        } else {
            err = _lockError(caller, node, job.collateral);
        }
        (bool ok,) = _exec("claim", caller, address(market), abi.encodeCall(market.claim, (id, job, node)), err);
        if (ok) {
            Rec storage r = _recs[id - 1];
            r.job.node = caller;
            r.job.deadline = uint40(ghostNow + job.deliveryWindow);
            _setStatus(id, JobStatus.Claimed);
            _checkStake(caller);
        }
        _observe(id);
    }

    struct TakeArgs {
        uint256 customerIdx;
        address shop;
        uint256 node;
        uint64 reuse;
        bool permit;
        uint256 permitValue;
        bool permitValid;
        IJobMarketTypes.Order order;
        bytes signature;
        bytes err;
    }

    /// @notice A shop takes a customer's signed order (with an ERC-2612 permit for the exact-approval
    /// customer); one take in three is stale, expired, mis-signed, mis-targeted or otherwise refused.
    function take(uint256 actorSeed, uint256 shopSeed, uint256 termsSeed, uint256 optSeed) external {
        _sync();
        TakeArgs memory a;
        a.customerIdx = actorSeed % customers.length;
        a.shop = shops[shopSeed % shops.length];
        a.node = nodeIds[1 + 2 * (shopSeed % shops.length) + (shopSeed >> 8) % 2];
        a.reuse = _reuseKey(optSeed);
        _buildOrder(a, termsSeed, optSeed);
        a.err = _takeError(a);
        bytes memory data =
            a.permit ? _withPermit(a) : abi.encodeCall(market.take, (a.order, a.signature, a.node, a.reuse));
        _signer = a.order.customer;
        (bool ok, bytes memory ret) = _exec(a.permit ? bytes32("takeWithPermit") : bytes32("take"), a.shop, address(market), data, a.err);
        if (!ok) return;
        _applyTake(a, abi.decode(ret, (uint256)));
    }

    function _buildOrder(TakeArgs memory a, uint256 termsSeed, uint256 optSeed) private view {
        IJobMarketTypes.Order memory o = a.order;
        address c = customers[a.customerIdx];
        o.customer = c;
        o.token = paymentTokens[_r(termsSeed, 1, 3)];
        o.amount = _fundable(c, o.token, _amount(termsSeed >> 16), termsSeed);
        o.designId = _design(optSeed);
        o.deliveryWindow = uint32(_params.minDeliveryWindow + _r(termsSeed, 3, 4 days));
        o.collateral = _collateral(o.token, o.amount, termsSeed);
        o.targetNode = _r(optSeed, 4, 4) == 0 ? uint64(a.node) : 0;
        // Now and then the order's last second is exactly now.
        o.expiry = uint40(_r(termsSeed, 6, 16) == 0 ? ghostNow : ghostNow + _r(termsSeed, 5, 3 days));
        o.nonce = _nonce(c, _r(optSeed, 6, 16) == 0 ? optSeed : 0);
        o.counter = counter[c];
        o.specCid = SPEC_CID;
        uint256 fault = _r(optSeed, 9, 64);
        if (fault == 0) o.expiry = uint40(ghostNow - 1);
        else if (fault == 1) o.counter = counter[c] + 1;
        else if (fault == 2) o.specCid = BAD_CID;
        else if (fault == 3) o.targetNode = uint64(a.node == nodeIds[1] ? nodeIds[2] : nodeIds[1]);
        else if (fault == 4) a.node = nodeIds[(a.node - nodeIds[1] + 2) % 6 + 1]; // another shop's node
        else if (fault == 5) a.node = UNKNOWN_NODE;
        else if (fault == 6) o.amount = 0;
        else if (fault == 7) o.collateral = _bump(o.collateral, false);
        uint256 key = _customerKeys[fault == 8 ? (a.customerIdx + 1) % 3 : a.customerIdx];
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, _orderDigest(o));
        a.signature = abi.encodePacked(r, s, v);
        // Changed after signing: the signature no longer covers the order.
        if (fault == 9) o.amount += 1;
        if (fault == 10) o.collateral += 1;
        a.permit = finiteAllowance[c] && o.token != address(fot) ? _r(optSeed, 7, 4) != 0 : false;
        if (a.permit) {
            uint256 shortfall = o.amount > credit[o.token][c] ? o.amount - credit[o.token][c] : 0;
            a.permitValue = fault == 11 && shortfall != 0 ? shortfall - 1 : shortfall + _r(optSeed, 8, 1_000);
            a.permitValid = fault != 12;
        }
    }

    /// @dev The first check of JobMarket._take that fails, in the contract's order (empty: none).
    function _takeError(TakeArgs memory a) private view returns (bytes memory) {
        IJobMarketTypes.Order memory o = a.order;
        address c = o.customer;
        // takeWithPermit calls only an allowlisted token's permit.
        if (a.permit && !_terms[o.token].allowed) {
            return abi.encodeWithSelector(IJobMarketTypes.JobMarket__TokenNotAllowed.selector, o.token);
        }
        if (ghostNow > o.expiry) {
            return abi.encodeWithSelector(IJobMarketTypes.JobMarket__OrderExpired.selector, o.expiry, ghostNow);
        }
        if (o.counter != counter[c]) {
            return abi.encodeWithSelector(IJobMarketTypes.JobMarket__OrderCounterStale.selector, c, o.counter, counter[c]);
        }
        if (keccak256(o.specCid) != keccak256(SPEC_CID)) {
            return abi.encodeWithSelector(IJobMarketTypes.JobMarket__InvalidCid.selector, o.specCid);
        }
        if (o.targetNode != 0 && o.targetNode != a.node) {
            return abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotTargetNode.selector, 0, a.node, o.targetNode);
        }
        if (!_signedBy(a)) return abi.encodeWithSelector(IJobMarketTypes.JobMarket__InvalidSignature.selector, c);
        if (nonceUsed[c][o.nonce]) {
            return abi.encodeWithSelector(IJobMarketTypes.JobMarket__OrderNonceUsed.selector, c, o.nonce);
        }
        // Paused: no new job, whatever the order (checked once the order is known to be the customer's).
        if (paused) return abi.encodeWithSelector(IJobMarketTypes.JobMarket__Paused.selector);
        bytes memory err = _termsError(o.token, o.amount, o.designId, o.deliveryWindow, o.collateral);
        if (err.length != 0) return err;
        err = _lockError(a.shop, a.node, o.collateral);
        if (err.length != 0) return err;
        return _takeDebitError(a);
    }

    /// @dev The debit of a take, after the permit (if any) replaced the customer's allowance.
    function _takeDebitError(TakeArgs memory a) private view returns (bytes memory) {
        IJobMarketTypes.Order memory o = a.order;
        if (!a.permit || !a.permitValid) return _debitError(o.token, o.customer, o.amount);
        uint256 balance = credit[o.token][o.customer];
        if (balance >= o.amount) return "";
        uint256 shortfall = o.amount - balance;
        if (a.permitValue < shortfall) {
            return abi.encodeWithSignature(
                "ERC20InsufficientAllowance(address,uint256,uint256)", address(market), a.permitValue, shortfall
            );
        }
        return "";
    }

    /// @dev Whether the order's signature is the customer's over the order as sent.
    function _signedBy(TakeArgs memory a) private view returns (bool) {
        bytes memory sig = a.signature;
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly {
            r := mload(add(sig, 32))
            s := mload(add(sig, 64))
            v := byte(0, mload(add(sig, 96)))
        }
        return ecrecover(_orderDigest(a.order), v, r, s) == a.order.customer;
    }

    function _withPermit(TakeArgs memory a) private view returns (bytes memory) {
        IJobMarketTypes.Order memory o = a.order;
        uint256 deadline = ghostNow + 1 hours;
        bytes32 digest = keccak256(
            abi.encodePacked(
                "\x19\x01",
                IERC20Permit(o.token).DOMAIN_SEPARATOR(),
                keccak256(
                    abi.encode(
                        PERMIT_TYPEHASH,
                        o.customer,
                        address(market),
                        a.permitValue,
                        IERC20Permit(o.token).nonces(o.customer),
                        deadline
                    )
                )
            )
        );
        uint256 key = _customerKeys[a.permitValid ? a.customerIdx : (a.customerIdx + 1) % 3];
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodeCall(
            market.takeWithPermit, (o, a.signature, a.node, a.reuse, a.permitValue, deadline, v, r, s)
        );
    }

    function _applyTake(TakeArgs memory a, uint256 returnedId) private {
        IJobMarketTypes.Order memory o = a.order;
        uint256 expectedId = _recs.length + 1;
        if (returnedId != expectedId) _mismatch("take: job id");
        if (a.permit && a.permitValid) allowanceOf[o.token][o.customer] = a.permitValue;
        _useNonce(o.customer, o.nonce);
        Job memory job = _newJob(o.customer, o.token, o.amount, o.designId, o.deliveryWindow, o.collateral);
        job.node = a.shop;
        job.deadline = uint40(ghostNow + o.deliveryWindow);
        job.targetNode = o.targetNode;
        job.key = _isReusable(a.reuse) ? a.reuse : uint64(expectedId);
        _debit(o.token, o.customer, o.amount);
        escrow[o.token] += o.amount;
        uint256 id = _addJob(job, JobStatus.Claimed);
        _observe(id);
        _checkAccount(o.token, o.customer);
        _checkStake(a.shop);
        if (!market.nonceUsed(o.customer, o.nonce)) _mismatch("take: nonce not marked used");
    }

    /// @notice The claimer gives the job back: free within the hand-back window, else a slashed penalty.
    /// @param waitSeed half the time, time first runs to the edge of the free window (when the deadline allows).
    function handBack(uint256 jobSeed, uint256 waitSeed) external {
        _sync();
        uint256 id = _pick(JobStatus.Claimed, jobSeed, false);
        if (id == 0) return;
        Job memory job = _recs[id - 1].job;
        uint256 claimedAt = uint256(job.deadline) - job.deliveryWindow;
        uint256 freeUntil = claimedAt + _params.handBackWindow;
        if (freeUntil < job.deadline) _waitNear(waitSeed, freeUntil, 1 days);
        address caller = waitSeed % 16 == 2 ? job.customer : job.node;
        bytes memory err;
        if (caller != job.node) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotClaimer.selector, id, caller, job.node);
        } else if (ghostNow > job.deadline) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__DeadlinePassed.selector, id, job.deadline, ghostNow);
        }
        (bool ok,) = _exec("handBack", caller, address(market), abi.encodeCall(market.handBack, (id, job)), err);
        if (ok) {
            uint256 penalty =
                ghostNow > claimedAt + _params.handBackWindow ? uint256(job.collateral) * _params.handBackPenaltyBps / BPS : 0;
            // Re-opened with `node` still naming the operator that handed it back.
            _setStatus(id, JobStatus.Open);
            _recs[id - 1].job.deadline = uint40(ghostNow + REOPEN_PERIOD);
            _slash(job, penalty);
            _checkParties(job);
        }
        _observe(id);
    }

    /// @notice The claimer delivers its proof (now and then too late or with a malformed CID).
    function deliver(uint256 jobSeed, uint256 faultSeed) external {
        _sync();
        uint256 id = _pick(JobStatus.Claimed, jobSeed, false);
        if (id == 0) return;
        Job memory job = _recs[id - 1].job;
        _waitNear(faultSeed, job.deadline, 1 days);
        bytes memory proof = faultSeed % 16 == 0 ? BAD_CID : PROOF_CID;
        address caller = faultSeed % 16 == 1 ? shops[(faultSeed >> 4) % shops.length] : job.node;
        bytes memory err;
        if (caller != job.node) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotClaimer.selector, id, caller, job.node);
        } else if (ghostNow > job.deadline) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__DeadlinePassed.selector, id, job.deadline, ghostNow);
        } else if (proof.length != PROOF_CID.length) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__InvalidCid.selector, proof);
        }
        (bool ok,) = _exec("deliver", caller, address(market), abi.encodeCall(market.deliver, (id, job, proof)), err);
        if (ok) {
            _recs[id - 1].job.deadline = uint40(ghostNow + job.reviewWindow);
            _setStatus(id, JobStatus.Delivered);
        }
        _observe(id);
    }

    // =============================================================================== permissionless

    /// @notice Anyone settles a delivery once its review window is over (half the time, time first runs to the deadline's edge).
    function settle(uint256 jobSeed, uint256 callerSeed) external {
        _sync();
        uint256 id = _pick(JobStatus.Delivered, jobSeed, true);
        if (id == 0) return;
        Job memory job = _recs[id - 1].job;
        _waitNear(callerSeed, uint256(job.deadline) + 1, 3 days);
        bytes memory err;
        if (ghostNow <= job.deadline) {
            err = abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__DeadlineNotPassed.selector, id, job.deadline, ghostNow
            );
        }
        address caller = holders[(callerSeed >> 1) % holders.length];
        (bool ok,) = _exec("settle", caller, address(market), abi.encodeCall(market.settle, (id, job)), err);
        if (ok) _paySettlement(id);
        _observe(id);
    }

    /// @notice Anyone ends an open or claimed job past its deadline (half the time, time first runs to the deadline's edge).
    function expire(uint256 jobSeed, uint256 callerSeed) external {
        _sync();
        JobStatus s = jobSeed % 2 == 0 ? JobStatus.Open : JobStatus.Claimed;
        uint256 id = _pick(s, jobSeed >> 1, true);
        if (id == 0) id = _pick(s == JobStatus.Open ? JobStatus.Claimed : JobStatus.Open, jobSeed >> 1, true);
        if (id == 0) return;
        Rec storage r = _recs[id - 1];
        Job memory job = r.job;
        _waitNear(callerSeed, uint256(job.deadline) + 1, 3 days);
        bytes memory err;
        if (ghostNow <= job.deadline) {
            err = abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__DeadlineNotPassed.selector, id, job.deadline, ghostNow
            );
        }
        address caller = callerSeed % 4 < 2 ? STRANGER : holders[(callerSeed >> 2) % holders.length];
        (bool ok,) = _exec("expire", caller, address(market), abi.encodeCall(market.expire, (id, job)), err);
        if (ok) {
            _credit(job.token, job.customer, job.amount);
            escrow[job.token] -= job.amount;
            if (r.status == JobStatus.Open) {
                _setStatus(id, JobStatus.Cancelled);
            } else {
                _setStatus(id, JobStatus.Expired);
                _slash(job, uint256(job.collateral) * _params.expirySlashBps / BPS);
            }
            _checkParties(job);
        }
        _observe(id);
    }

    // ===================================================================================== disputes

    /// @notice The customer disputes a delivery in its review window, posting the job's bond.
    function dispute(uint256 jobSeed, uint256 faultSeed) external {
        _sync();
        uint256 id = _pick(JobStatus.Delivered, jobSeed, false);
        if (id == 0) return;
        Job memory job = _recs[id - 1].job;
        _waitNear(faultSeed, job.deadline, 3 days);
        address caller = faultSeed % 16 == 0 ? job.node : job.customer;
        bytes memory reason = faultSeed % 16 == 1 ? BAD_CID : PROOF_CID;
        bytes memory err;
        if (caller != job.customer) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotCustomer.selector, id, caller, job.customer);
        } else if (ghostNow > job.deadline) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__DeadlinePassed.selector, id, job.deadline, ghostNow);
        } else if (reason.length != PROOF_CID.length) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__InvalidCid.selector, reason);
        } else if (job.bond != 0) {
            err = _debitError(job.token, job.customer, job.bond);
        }
        (bool ok,) = _exec(
            "dispute", caller, address(market), abi.encodeCall(module.dispute, (id, job, reason)), err
        );
        if (ok) {
            _debit(job.token, job.customer, job.bond);
            escrow[job.token] += job.bond;
            Rec storage r = _recs[id - 1];
            // The arbiter account, or the panel's next member that is neither party (zero: none).
            address judge = _assignJudge(job.customer, job.node);
            r.d = IJobMarketTypes.Dispute({
                judge: judge,
                deadline: uint40(ghostNow + _params.disputeWindow),
                stage: IJobMarketTypes.DisputeStage.AwaitingArbiter,
                refundBps: 0,
                slashBps: 0,
                appellant: address(0),
                arbiter: judge
            });
            _setStatus(id, JobStatus.Disputed);
            _checkAccount(job.token, job.customer);
            _checkDispute(id);
        }
        _observe(id);
    }

    /// @notice The dispute's judge rules: the arbiter's ruling opens the appeal window, the court's is final.
    function rule(uint256 jobSeed, uint256 refundSeed, uint256 slashSeed) external {
        _sync();
        // One call in four goes to a dispute whose judge left the panel (when any): the removed judge's race.
        uint256 id = _r(jobSeed, 1, 4) == 0 ? _pickStranded(jobSeed) : _pick(JobStatus.Disputed, jobSeed, false);
        if (id == 0) return;
        Rec storage r = _recs[id - 1];
        Job memory job = r.job;
        _waitNear(slashSeed, r.d.deadline, 21 days);
        IJobMarketTypes.Dispute memory d = r.d;
        uint16 refundBps = _split(refundSeed);
        uint16 slashBps = _split(slashSeed);
        (address caller, bytes memory err, bool offPanel) = _ruleCall(id, d, refundSeed, refundBps, slashBps);
        (bool ok,) = _exec(
            "rule", caller, address(market), abi.encodeCall(module.rule, (id, job, refundBps, slashBps)), err
        );
        // Refused as predicted (any other outcome is a surprise that fails the run).
        if (offPanel) ++removedJudgeRefusals;
        if (ok) {
            if (d.stage == IJobMarketTypes.DisputeStage.AwaitingArbiter) {
                if (_wasRemoved[d.judge] && _isMember(d.judge)) ++reappointedJudgeRulings;
                r.d.stage = IJobMarketTypes.DisputeStage.Ruled;
                r.d.refundBps = refundBps;
                r.d.slashBps = slashBps;
                r.d.deadline = uint40(ghostNow + _params.appealWindow);
                _checkDispute(id);
            } else {
                // The court's ruling: a won appeal's bond goes back; a lost one pays the fee of the arbiter
                // whose ruling stood (none after a default ruling) and the rest to the treasury.
                bool byCustomer = d.appellant == job.customer;
                if (MarketMath.appealWon(byCustomer, d.refundBps, d.slashBps, refundBps, slashBps)) {
                    _credit(job.token, d.appellant, job.bond);
                } else {
                    (uint256 fee, uint256 toTreasury) =
                        MarketMath.lostAppealBond(job.bond, _params.arbiterFeeBps, d.arbiter != address(0));
                    _credit(job.token, d.arbiter, fee);
                    fees[job.token] += toTreasury;
                }
                escrow[job.token] -= job.bond;
                _payResolution(id, refundBps, slashBps);
                if (d.arbiter != address(0)) _checkAccount(job.token, d.arbiter);
            }
        }
        _observe(id);
    }

    /// @dev Who tries to rule and what the market must answer. A dispute nobody could be assigned to has no
    /// judge: anyone who tries is refused. While the market's arbiter is the panel, a judge no longer on it
    /// (removed, or an arbiter account from before the switch to the panel) rules no more: it still tries,
    /// racing the reassignment, but its case waits for `reassign` or the default ruling. `offPanel`: the
    /// market must refuse the dispute's own judge for being off the panel.
    function _ruleCall(
        uint256 id,
        IJobMarketTypes.Dispute memory d,
        uint256 refundSeed,
        uint16 refundBps,
        uint16 slashBps
    ) private view returns (address caller, bytes memory err, bool offPanel) {
        bool removed = d.stage == IJobMarketTypes.DisputeStage.AwaitingArbiter && arbiter == address(panel)
            && !_isMember(d.judge);
        caller = refundSeed % 16 == 15 || d.judge == address(0) ? judges[(refundSeed >> 4) % judges.length] : d.judge;
        if (caller != d.judge) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotJudge.selector, id, caller, d.judge);
        } else if (ghostNow > d.deadline) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__DeadlinePassed.selector, id, d.deadline, ghostNow);
        } else if (refundBps > BPS || slashBps > BPS) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__InvalidSplit.selector, refundBps, slashBps);
        } else if (removed) {
            // Checked after the deadline and the split: the caller is the judge the dispute names, off the panel.
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotJudge.selector, id, caller, address(0));
            offPanel = true;
        } else if (d.stage == IJobMarketTypes.DisputeStage.Ruled) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__WrongDisputeStage.selector, id, d.stage);
        }
    }

    /// @notice The customer or the node appeals the arbiter's ruling, posting the job's bond.
    function appeal(uint256 jobSeed, uint256 partySeed) external {
        _sync();
        uint256 id = _pick(JobStatus.Disputed, jobSeed, false);
        if (id == 0) return;
        Rec storage r = _recs[id - 1];
        Job memory job = r.job;
        _waitNear(partySeed, r.d.deadline, 5 days);
        IJobMarketTypes.Dispute memory d = r.d;
        uint256 p = partySeed % 16;
        address caller = p == 0 ? STRANGER : p % 2 == 0 ? job.customer : job.node;
        bytes memory err;
        if (caller != job.customer && caller != job.node) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotParty.selector, id, caller);
        } else if (d.stage != IJobMarketTypes.DisputeStage.Ruled) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__WrongDisputeStage.selector, id, d.stage);
        } else if (ghostNow > d.deadline) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__DeadlinePassed.selector, id, d.deadline, ghostNow);
        } else if (job.bond != 0) {
            err = _debitError(job.token, caller, job.bond);
        }
        (bool ok,) = _exec("appeal", caller, address(market), abi.encodeCall(module.appeal, (id, job)), err);
        if (ok) {
            _debit(job.token, caller, job.bond);
            escrow[job.token] += job.bond;
            r.d.judge = court;
            r.d.stage = IJobMarketTypes.DisputeStage.Appealed;
            r.d.appellant = caller;
            r.d.deadline = uint40(ghostNow + _params.courtWindow);
            _checkAccount(job.token, caller);
            _checkDispute(id);
        }
        _observe(id);
    }

    /// @notice Anyone moves a dispute past its deadline: a silent arbiter's to the (appealable) default ruling,
    /// an unappealed ruling or one a silent court left standing to its payout (half the time, time first runs
    /// to the deadline).
    function finalize(uint256 jobSeed, uint256 callerSeed) external {
        _sync();
        uint256 id = _pick(JobStatus.Disputed, jobSeed, true);
        if (id == 0) return;
        Rec storage r = _recs[id - 1];
        _waitNear(callerSeed, uint256(r.d.deadline) + 1, 21 days);
        Job memory job = r.job;
        IJobMarketTypes.Dispute memory d = r.d;
        bytes memory err;
        if (ghostNow <= d.deadline) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__DeadlineNotPassed.selector, id, d.deadline, ghostNow);
        }
        address caller = callerSeed % 4 < 2 ? STRANGER : holders[(callerSeed >> 2) % holders.length];
        (bool ok,) = _exec("finalize", caller, address(market), abi.encodeCall(module.finalize, (id, job)), err);
        if (ok) {
            if (d.stage == IJobMarketTypes.DisputeStage.AwaitingArbiter) {
                // The default ruling, as a ruling of nobody: appealable, and it earns no arbiter a fee.
                r.d.stage = IJobMarketTypes.DisputeStage.Ruled;
                r.d.refundBps = uint16(DEFAULT_REFUND_BPS);
                r.d.slashBps = 0;
                r.d.arbiter = address(0);
                r.d.deadline = uint40(ghostNow + _params.appealWindow);
                _checkDispute(id);
            } else {
                if (d.appellant != address(0)) {
                    _credit(job.token, d.appellant, job.bond);
                    escrow[job.token] -= job.bond;
                }
                _payResolution(id, d.refundBps, d.slashBps);
            }
        }
        _observe(id);
    }

    // ====================================================================================== payouts

    /// @notice An account withdraws its credited balance of a token to itself or another address.
    function withdraw(uint256 holderSeed, uint256 tokenSeed, uint256 toSeed) external {
        _sync();
        address who = holders[holderSeed % holders.length];
        address token = tokens[tokenSeed % tokens.length];
        address to = _recipient(toSeed);
        uint256 amount = credit[token][who];
        bytes memory err;
        if (to == address(0)) err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__ZeroAddress.selector, bytes32("to"));
        else if (amount == 0) err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__NothingToWithdraw.selector, token, who);
        (bool ok, bytes memory ret) =
            _exec("withdraw", who, address(market), abi.encodeCall(market.withdraw, (token, to)), err);
        if (!ok) return;
        if (abi.decode(ret, (uint256)) != amount) _mismatch("withdraw: amount");
        _decrease(who);
        credit[token][who] = 0;
        creditTotal[token] -= amount;
        wallet[token][to] += _arrives(token, amount);
        _checkAccount(token, who);
        _checkAccount(token, to);
    }

    /// @notice Anyone sends the accrued fees of a token to the treasury.
    function withdrawFees(uint256 tokenSeed) external {
        _sync();
        address token = tokens[tokenSeed % tokens.length];
        uint256 amount = fees[token];
        bytes memory err;
        if (amount == 0) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__NothingToWithdraw.selector, token, treasury);
        }
        (bool ok, bytes memory ret) =
            _exec("withdrawFees", STRANGER, address(market), abi.encodeCall(market.withdrawFees, (token)), err);
        if (!ok) return;
        if (abi.decode(ret, (uint256)) != amount) _mismatch("withdrawFees: amount");
        fees[token] = 0;
        wallet[token][treasury] += _arrives(token, amount);
        _checkFees(token);
        _checkAccount(token, treasury);
    }

    // ======================================================================================= stakes

    /// @notice A shop bonds more FAB.
    function stake(uint256 opSeed, uint256 amountSeed) external {
        _sync();
        address op = shops[opSeed % shops.length];
        uint256 amount = amountSeed % 32 == 0 ? 0 : 1 + (amountSeed >> 5) % 3_000e18;
        bytes memory err;
        if (amount == 0) err = abi.encodeWithSelector(INodeRegistry.NodeRegistry__ZeroAmount.selector);
        (bool ok,) = _exec("stake", op, address(registry), abi.encodeCall(registry.stake, (amount)), err);
        if (!ok) return;
        _decrease(op);
        wallet[address(fab)][op] -= amount;
        _accounts[op].staked += uint96(amount);
        _eligibility(op);
        _checkStake(op);
        _checkAccount(address(fab), op);
    }

    /// @notice A shop starts unbonding part of its bonded stake (locked collateral included).
    function requestUnbond(uint256 opSeed, uint256 amountSeed) external {
        _sync();
        address op = shops[opSeed % shops.length];
        Account storage acct = _accounts[op];
        uint256 k = amountSeed % 16;
        // One request in four unbonds everything bonded, collateral locked in claims included: later slashes
        // then reach the unbonding requests (newest first).
        uint256 amount = k == 0 ? 0 : k == 1 ? uint256(acct.staked) + 1 : k < 6 ? acct.staked : 1 + (amountSeed >> 4) % (acct.staked / 3 + 1);
        bytes memory err;
        if (amount == 0) {
            err = abi.encodeWithSelector(INodeRegistry.NodeRegistry__ZeroAmount.selector);
        } else if (amount > acct.staked) {
            err = abi.encodeWithSelector(INodeRegistry.NodeRegistry__InsufficientFreeStake.selector, op, acct.staked, amount);
        } else if (acct.tail - acct.head >= MAX_REQUESTS) {
            err = abi.encodeWithSelector(INodeRegistry.NodeRegistry__TooManyRequests.selector, op, MAX_REQUESTS);
        }
        (bool ok,) =
            _exec("requestUnbond", op, address(registry), abi.encodeCall(registry.requestUnbond, (amount)), err);
        if (!ok) return;
        _requests[op][acct.tail] = INodeRegistry.UnbondRequest(uint96(amount), uint40(ghostNow + unbondDelay));
        acct.tail += 1;
        acct.staked -= uint96(amount);
        acct.unbonding += uint96(amount);
        _eligibility(op);
        _checkStake(op);
    }

    /// @notice A shop withdraws its due unbond requests, down to the collateral its claims still hold beyond
    /// its bonded stake (the last request paid may be paid in part); half the time, time first runs to the
    /// oldest request's release.
    function withdrawStake(uint256 opSeed) external {
        _sync();
        address op = shops[(opSeed >> 1) % shops.length];
        Account storage acct = _accounts[op];
        if (acct.tail > acct.head) _waitNear(opSeed, _requests[op][acct.head].releaseAt, 2 days);
        Withdrawal memory w = _withdrawPlan(op);
        bytes memory err;
        if (acct.unbonding == 0) {
            err = abi.encodeWithSelector(INodeRegistry.NodeRegistry__NothingUnbonding.selector, op);
        } else if (w.amount == 0) {
            uint256 due = w.head < acct.tail ? _requests[op][w.head].releaseAt : 0;
            err = due != 0 && due <= ghostNow
                ? abi.encodeWithSelector(INodeRegistry.NodeRegistry__HeldAsCollateral.selector, op, w.held)
                : abi.encodeWithSelector(INodeRegistry.NodeRegistry__UnbondingNotDue.selector, op, due, ghostNow);
        }
        (bool ok, bytes memory ret) =
            _exec("withdrawStake", op, address(registry), abi.encodeCall(registry.withdraw, ()), err);
        if (!ok) return;
        if (abi.decode(ret, (uint256)) != w.amount) _mismatch("withdrawStake: amount");
        for (uint256 i = acct.head; i < w.head; ++i) {
            delete _requests[op][i];
        }
        if (w.cut != 0) _requests[op][w.head].amount -= uint96(w.cut);
        acct.head = uint24(w.head);
        acct.unbonding -= uint96(w.amount);
        wallet[address(fab)][op] += w.amount;
        _checkStake(op);
        _checkAccount(address(fab), op);
    }

    struct Withdrawal {
        uint256 amount; // paid out
        uint256 head; // the first request left
        uint256 cut; // what was paid of request `head` (in part)
        uint256 held; // unbonding kept back for the collateral beyond the bonded stake
    }

    /// @dev NodeRegistry.withdraw: due requests in order, while the unbonding left covers the collateral the
    /// market holds beyond the bonded stake; the last one may be paid in part.
    function _withdrawPlan(address op) private view returns (Withdrawal memory w) {
        Account storage acct = _accounts[op];
        w.held = locked[op] > acct.staked ? locked[op] - acct.staked : 0;
        uint256 available = acct.unbonding > w.held ? acct.unbonding - w.held : 0;
        w.head = acct.head;
        while (w.head < acct.tail && w.amount < available) {
            INodeRegistry.UnbondRequest storage r = _requests[op][w.head];
            if (r.releaseAt > ghostNow) break;
            uint256 room = available - w.amount;
            if (r.amount > room) {
                w.cut = room;
                w.amount = available;
                break;
            }
            w.amount += r.amount;
            ++w.head;
        }
    }

    /// @notice Anyone re-evaluates an operator's eligibility against the current minimum stake.
    function refreshEligibility(uint256 opSeed) external {
        _sync();
        address op = operators[opSeed % operators.length];
        (bool ok, bytes memory ret) = _exec(
            "refreshEligibility", STRANGER, address(registry), abi.encodeCall(registry.refreshEligibility, (op)), ""
        );
        if (!ok) return;
        _eligibility(op);
        if (abi.decode(ret, (bool)) != _accounts[op].eligible) _mismatch("refreshEligibility: result");
        _checkStake(op);
    }

    /// @notice A shop takes a node out of service or back.
    function setNodeActive(uint256 nodeSeed, bool active) external {
        _sync();
        // Mostly back into service: inactive nodes only refuse claims.
        active = active || nodeSeed % 4 != 0;
        uint256 node = nodeIds[1 + nodeSeed % 6];
        address op = nodeOperator[node];
        address caller = nodeSeed % 16 == 15 ? shops[(nodeSeed >> 4) % shops.length] : op;
        bytes memory err;
        if (caller != op) {
            err = abi.encodeWithSelector(INodeRegistry.NodeRegistry__NotNodeOperator.selector, node, caller, op);
        }
        (bool ok,) =
            _exec("setNodeActive", caller, address(registry), abi.encodeCall(registry.setNodeActive, (node, active)), err);
        if (ok) nodeActive[node] = active;
    }

    // =================================================================================== governance

    /// @notice Governance moves the minimum stake (eligibility follows at the next stake change or refresh).
    function setMinStake(uint256 seed) external {
        _sync();
        uint256[6] memory choices = [uint256(0), 500e18, 1_000e18, 2_000e18, 6_000e18, 0];
        uint256 value = seed % 16 == 0 ? 10_000_000e18 + 1 : choices[seed % 6];
        if (seed % 6 == 5) value = (seed >> 8) % 5_000e18;
        bytes memory err;
        if (value > 10_000_000e18) {
            err = abi.encodeWithSelector(
                INodeRegistry.NodeRegistry__ParameterOutOfBounds.selector, bytes32("minStake"), value, 0, 10_000_000e18
            );
        }
        (bool ok,) =
            _exec("setMinStake", owner, address(registry), abi.encodeCall(registry.setMinStake, (uint96(value))), err);
        if (ok) minStake = value;
    }

    /// @notice Governance sets new parameters, each within its bounds (one set in eight breaks one bound).
    function setParams(uint256 seedA, uint256 seedB) external {
        _sync();
        IJobMarketTypes.Params memory p;
        p.feeBps = uint16(_r(seedA, 1, 1_001));
        p.maxRoyaltyBps = uint16(_r(seedA, 2, 2_501));
        p.disputeBondBps = uint16(_r(seedA, 3, 5_001));
        p.reviewWindow = uint32(1 hours + _r(seedA, 4, 5 days));
        p.minDeliveryWindow = uint32(1 hours + _r(seedA, 5, 1 days));
        p.minCollateral = uint96(1e15 + _r(seedA, 6, 50e18));
        p.handBackWindow = uint32(10 minutes + _r(seedB, 7, 1 days - 10 minutes + 1));
        p.handBackPenaltyBps = uint16(_r(seedB, 8, 2_501));
        p.expirySlashBps = uint16(1_000 + _r(seedB, 9, 9_001));
        p.compensationBps = uint16(_r(seedB, 10, 5_001));
        p.disputeWindow = uint32(1 days + _r(seedB, 11, 9 days));
        p.appealWindow = uint32(1 days + _r(seedB, 12, 4 days));
        p.courtWindow = uint32(1 days + _r(seedA, 14, 20 days));
        p.arbiterFeeBps = uint16(_r(seedA, 15, 5_001));
        bytes memory err = seedB % 8 == 0 ? _breakParam(p, _r(seedB, 13, 14)) : bytes("");
        (bool ok,) = _exec("setParams", owner, address(market), abi.encodeCall(module.setParams, (p)), err);
        if (!ok) return;
        _params = p;
        if (keccak256(abi.encode(module.params())) != keccak256(abi.encode(p))) _mismatch("setParams: params");
    }

    /// @dev Moves one parameter just outside its bounds; returns the error the market must raise.
    function _breakParam(IJobMarketTypes.Params memory p, uint256 f) private pure returns (bytes memory) {
        bytes32 name;
        uint256 v;
        uint256 lo;
        uint256 hi;
        if (f == 0) (name, v, lo, hi) = ("feeBps", 1_001, 0, 1_000);
        else if (f == 1) (name, v, lo, hi) = ("maxRoyaltyBps", 2_501, 0, 2_500);
        else if (f == 2) (name, v, lo, hi) = ("disputeBondBps", 5_001, 0, 5_000);
        else if (f == 3) (name, v, lo, hi) = ("reviewWindow", 30 days + 1, 1 hours, 30 days);
        else if (f == 4) (name, v, lo, hi) = ("minDeliveryWindow", 1 hours - 1, 1 hours, 365 days);
        else if (f == 5) (name, v, lo, hi) = ("minCollateral", 1e15 - 1, 1e15, 1_000_000e18);
        else if (f == 6) (name, v, lo, hi) = ("handBackWindow", 1 days + 1, 10 minutes, 1 days);
        else if (f == 7) (name, v, lo, hi) = ("handBackPenaltyBps", 2_501, 0, 2_500);
        else if (f == 8) (name, v, lo, hi) = ("expirySlashBps", 999, 1_000, 10_000);
        else if (f == 9) (name, v, lo, hi) = ("compensationBps", 5_001, 0, 5_000);
        else if (f == 10) (name, v, lo, hi) = ("disputeWindow", 1 days - 1, 1 days, 30 days);
        else if (f == 11) (name, v, lo, hi) = ("appealWindow", 30 days + 1, 1 days, 30 days);
        else if (f == 12) (name, v, lo, hi) = ("courtWindow", 60 days + 1, 1 days, 60 days);
        else (name, v, lo, hi) = ("arbiterFeeBps", 5_001, 0, 5_000);
        if (f == 0) p.feeBps = uint16(v);
        else if (f == 1) p.maxRoyaltyBps = uint16(v);
        else if (f == 2) p.disputeBondBps = uint16(v);
        else if (f == 3) p.reviewWindow = uint32(v);
        else if (f == 4) p.minDeliveryWindow = uint32(v);
        else if (f == 5) p.minCollateral = uint96(v);
        else if (f == 6) p.handBackWindow = uint32(v);
        else if (f == 7) p.handBackPenaltyBps = uint16(v);
        else if (f == 8) p.expirySlashBps = uint16(v);
        else if (f == 9) p.compensationBps = uint16(v);
        else if (f == 10) p.disputeWindow = uint32(v);
        else if (f == 11) p.appealWindow = uint32(v);
        else if (f == 12) p.courtWindow = uint32(v);
        else p.arbiterFeeBps = uint16(v);
        return abi.encodeWithSelector(IJobMarketTypes.JobMarket__ParameterOutOfBounds.selector, name, v, lo, hi);
    }

    /// @notice Governance changes a payment token's terms: rates, or forbids it (posted jobs run on).
    function setTokenTerms(uint256 seed) external {
        _sync();
        address token = paymentTokens[seed % 3];
        uint112 minRate = uint112(1e27 + _r(seed, 1, 1e29));
        IJobMarketTypes.TokenTerms memory t = IJobMarketTypes.TokenTerms({
            allowed: _r(seed, 2, 10) != 0,
            minCollateralRate: minRate,
            maxCollateralRate: uint112(uint256(minRate) * (1 + _r(seed, 3, 1_000)))
        });
        uint256 fault = _r(seed, 4, 16);
        if (fault == 0) t.minCollateralRate = 0;
        else if (fault == 1) t.maxCollateralRate = minRate - 1;
        else if (fault == 2) token = address(0);
        bytes memory err;
        if (token == address(0)) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__ZeroAddress.selector, bytes32("token"));
        } else if (t.allowed && (t.minCollateralRate == 0 || t.maxCollateralRate < t.minCollateralRate)) {
            err = abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__InvalidTokenTerms.selector, token, t.minCollateralRate, t.maxCollateralRate
            );
        }
        (bool ok,) = _exec("setTokenTerms", owner, address(market), abi.encodeCall(module.setTokenTerms, (token, t)), err);
        if (!ok) return;
        _terms[token] = t;
        if (keccak256(abi.encode(module.tokenTerms(token))) != keccak256(abi.encode(t))) _mismatch("setTokenTerms");
    }

    /// @notice Governance proposes a new arbiter or appeal court (now and then the zero address).
    function proposeJudge(uint256 seed) external {
        _sync();
        bool isCourt = seed % 2 == 1;
        // Arbiter: the panel three times in four, else the arbiter account; court: either of two.
        uint256 pick = isCourt ? 2 + (seed >> 5) % 2 : ((seed >> 5) % 4 == 0 ? 0 : 1);
        address next = seed % 32 < 2 ? address(0) : judges[pick];
        bytes memory err;
        if (next == address(0)) {
            err = abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__ZeroAddress.selector, isCourt ? bytes32("appealCourt") : bytes32("arbiter")
            );
        }
        bytes memory data =
            isCourt ? abi.encodeCall(module.proposeAppealCourt, (next)) : abi.encodeCall(module.proposeArbiter, (next));
        (bool ok,) = _exec(isCourt ? bytes32("proposeAppealCourt") : bytes32("proposeArbiter"), owner, address(market), data, err);
        if (!ok) return;
        if (isCourt) (pendingCourt, pendingCourtAt) = (next, ghostNow + JUDGE_DELAY);
        else (pendingArbiter, pendingArbiterAt) = (next, ghostNow + JUDGE_DELAY);
    }

    /// @notice Anyone installs the proposed judge once due (half the time, time first runs to the deadline's edge).
    function activateJudge(uint256 seed) external {
        _sync();
        bool isCourt = (seed >> 1) % 2 == 1;
        address next = isCourt ? pendingCourt : pendingArbiter;
        uint256 due = isCourt ? pendingCourtAt : pendingArbiterAt;
        _waitNear(seed, due, 2 days);
        bytes32 name = isCourt ? bytes32("appealCourt") : bytes32("arbiter");
        bytes memory err;
        if (next == address(0)) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__NoPendingChange.selector, name);
        } else if (ghostNow < due) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__ChangeNotDue.selector, name, due, ghostNow);
        }
        bytes memory data = isCourt ? abi.encodeCall(module.activateAppealCourt, ()) : abi.encodeCall(module.activateArbiter, ());
        (bool ok,) = _exec(isCourt ? bytes32("activateAppealCourt") : bytes32("activateArbiter"), STRANGER, address(market), data, err);
        if (ok) {
            if (isCourt) (court, pendingCourt, pendingCourtAt) = (next, address(0), 0);
            else (arbiter, pendingArbiter, pendingArbiterAt) = (next, address(0), 0);
        }
        (address pa, uint256 paAt, address pc, uint256 pcAt) = module.pendingJudges();
        if (
            module.arbiter() != arbiter || module.appealCourt() != court || pa != pendingArbiter
                || paAt != pendingArbiterAt || pc != pendingCourt || pcAt != pendingCourtAt
        ) _mismatch("judges");
    }

    /// @notice Anyone gives a dispute whose panel member left the panel (or that found none) a new member and
    /// a fresh deadline; refused past the dispute's deadline (only `finalize` moves it then), while the member
    /// sits, once ruled, when the arbiter is no panel, or when the panel still has nobody to give it (the clock
    /// then runs on to the default ruling).
    function reassign(uint256 jobSeed, uint256 callerSeed) external {
        _sync();
        uint256 id = _pickStranded(jobSeed);
        if (id == 0) return;
        Rec storage r = _recs[id - 1];
        Job memory job = r.job;
        // Half the time the clock runs to the deadline's edge: past it only `finalize` moves the dispute.
        _waitNear(callerSeed >> 1, r.d.deadline, 21 days);
        address previous = r.d.judge;
        bool stranded = r.d.stage == IJobMarketTypes.DisputeStage.AwaitingArbiter && arbiter == address(panel)
            && (previous == address(0) || !_isMember(previous));
        (address next, uint256 nextTurn) = _panelPick(job.customer, job.node);
        bytes memory err;
        if (ghostNow > r.d.deadline) {
            // Checked first, whatever the stage: the clock never restarts once the deadline passed.
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__DeadlinePassed.selector, id, r.d.deadline, ghostNow);
        } else if (!stranded || next == address(0)) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotReassignable.selector, id, previous);
        }
        address caller = callerSeed % 2 == 0 ? STRANGER : holders[(callerSeed >> 1) % holders.length];
        (bool ok,) = _exec("reassign", caller, address(market), abi.encodeCall(module.reassign, (id, job)), err);
        if (ok) {
            _turn = nextTurn;
            r.d.judge = next;
            r.d.arbiter = next;
            r.d.deadline = uint40(ghostNow + _params.disputeWindow);
            _checkDispute(id);
        }
        _observe(id);
    }

    /// @dev A disputed job, seven times in eight one whose judge left the panel or never was (when any),
    /// preferably one still within its deadline (past it, only `finalize` moves the case).
    function _pickStranded(uint256 seed) private view returns (uint256) {
        uint256[] storage list = _live[uint8(JobStatus.Disputed)];
        uint256 n = list.length;
        if (n == 0) return 0;
        uint256 start = (seed >> 3) % n;
        if (seed % 8 != 0) {
            uint256 late;
            for (uint256 i; i < n; ++i) {
                uint256 id = list[(start + i) % n];
                IJobMarketTypes.Dispute storage d = _recs[id - 1].d;
                if (d.stage != IJobMarketTypes.DisputeStage.AwaitingArbiter || _isMember(d.judge)) continue;
                if (ghostNow <= d.deadline) return id;
                if (late == 0) late = id;
            }
            if (late != 0) return late;
        }
        return list[start];
    }

    /// @notice Governance appoints or removes a panel member (now and then a stranger tries, or the member
    /// is already there / not there). Members removed mid-dispute leave their cases to `reassign`.
    function panelMembers(uint256 seed) external {
        _sync();
        address who = panelCandidates[(seed >> 2) % panelCandidates.length];
        bool appoint = seed % 2 == 0;
        // Mostly, while the panel has another member, a member with a case in hand is removed: the stranding
        // `reassign` is for.
        if ((seed >> 12) % 4 != 0 && _members.length > 1) {
            address sitting = _sittingJudge(seed >> 16);
            if (sitting != address(0)) (who, appoint) = (sitting, false);
        }
        address caller = (seed >> 8) % 16 == 0 ? STRANGER : owner;
        bytes memory err;
        if (caller != owner) {
            err = abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, caller);
        } else if (appoint && _isMember(who)) {
            err = abi.encodeWithSelector(ArbiterPanel.ArbiterPanel__AlreadyArbiter.selector, who);
        } else if (!appoint && !_isMember(who)) {
            err = abi.encodeWithSelector(ArbiterPanel.ArbiterPanel__NotArbiter.selector, who);
        }
        bytes memory data = appoint ? abi.encodeCall(panel.appoint, (who)) : abi.encodeCall(panel.remove, (who));
        (bool ok,) = _exec(appoint ? bytes32("appointArbiter") : bytes32("removeArbiter"), caller, address(panel), data, err);
        if (ok && appoint) {
            _members.push(who);
        } else if (ok) {
            _removeMember(who);
            _wasRemoved[who] = true;
        }
        if (keccak256(abi.encode(panel.arbiters())) != keccak256(abi.encode(_members))) _mismatch("panel members");
    }

    /// @dev The member judging some dispute that awaits its ruling (zero when none).
    function _sittingJudge(uint256 seed) private view returns (address) {
        uint256[] storage list = _live[uint8(JobStatus.Disputed)];
        uint256 n = list.length;
        for (uint256 i; i < n; ++i) {
            IJobMarketTypes.Dispute storage d = _recs[list[(seed + i) % n] - 1].d;
            if (d.stage == IJobMarketTypes.DisputeStage.AwaitingArbiter && _isMember(d.judge)) return d.judge;
        }
        return address(0);
    }

    /// @notice Governance or the guardian pauses new jobs, governance resumes them (the guardian may not;
    /// strangers may do neither); one call in sixteen governance names or clears the guardian instead.
    /// Only posts and takes are refused while paused: every other action goes on.
    function setPaused(uint256 seed) external {
        _sync();
        uint256 k = seed % 16;
        uint256 who = (seed >> 4) % 16;
        address caller = who < 10 ? owner : who < 14 ? GUARDIAN : STRANGER;
        bytes memory err;
        if (k == 0) {
            address g = (seed >> 8) % 4 == 0 ? address(0) : GUARDIAN;
            if (caller != owner) err = abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, caller);
            (bool done,) = _exec("setGuardian", caller, address(market), abi.encodeCall(module.setGuardian, (g)), err);
            if (done) guardian = g;
            if (module.guardian() != guardian) _mismatch("guardian");
            return;
        }
        // Mostly the opposite of now, so that pauses stay short: a pause now and then, a resume mostly
        // (by the owner, seven times in eight).
        bool value = paused ? k >= 13 : k < 3;
        if (paused && !value && who % 8 != 0) caller = owner;
        if (caller != owner && (caller != guardian || !value)) {
            err = abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotGuardian.selector, caller);
        }
        (bool ok,) = _exec("setPaused", caller, address(market), abi.encodeCall(module.setPaused, (value)), err);
        if (ok) paused = value;
        if (module.paused() != paused) _mismatch("paused");
    }

    /// @notice A design changes hands: later posts pay its royalty to the new holder (none to a customer
    /// fabricating its own design); posted jobs keep theirs.
    function transferDesign(uint256 designSeed, uint256 toSeed) external {
        _sync();
        uint256 d = designIds[designSeed % designIds.length];
        address from = designOwner[d];
        address to = holders[toSeed % 8];
        (bool ok,) = _exec(
            "transferDesign",
            from,
            address(designs),
            abi.encodeWithSignature("transferFrom(address,address,uint256)", from, to, d),
            ""
        );
        if (ok) designOwner[d] = to;
    }

    /// @notice Time passes: mostly hours, sometimes days (deadlines pass, jobs expire).
    function warp(uint256 secondsAhead) external {
        _sync();
        _setTime(ghostNow + (secondsAhead % 4 == 0 ? secondsAhead % 5 days : secondsAhead % 12 hours));
    }

    // ======================================================================================= tamper

    /// @notice Replays a lifecycle call with one field of the job struct (or the id) changed, or on a job
    /// in the wrong status, or on a job whose slot was recycled: each must fail with its exact error.
    function tamper(uint256 jobSeed, uint256 opSeed, uint256 fieldSeed, uint256 valueSeed) external {
        _sync();
        uint256 n = _recs.length;
        if (n == 0) return;
        uint256 id = jobSeed % n + 1;
        uint256 op = opSeed % 11;
        Rec storage r = _recs[id - 1];
        Job memory t = r.job;
        uint256 callId = id;
        uint256 field = fieldSeed % 16;
        JobStatus need = _needs(op, r);
        // An untouched struct in the status the call needs would simply succeed: tamper with it then.
        if (field >= 14 && !r.evicted && r.status == need) field = valueSeed % 14;
        if (field < 14) t = _tamperField(t, field, valueSeed);
        else if (field == 14 && valueSeed % 2 == 0) callId = valueSeed % 4 == 0 ? 0 : n + 1 + (valueSeed >> 2) % 8;
        if (op == 6) need = _storedStatus(t.key) == JobStatus.Open ? JobStatus.Open : JobStatus.Claimed;
        bytes memory err = _expectError(callId, t, need);
        if (err.length == 0) return; // a tamper that lands on another valid job (cannot happen by hash)
        _exec("tamper", _tamperCaller(op, r), address(market), _tamperCall(op, callId, t), err);
        _observe(id);
    }

    function _needs(uint256 op, Rec storage r) private view returns (JobStatus) {
        if (op <= 1) return JobStatus.Open;
        if (op <= 3) return JobStatus.Claimed;
        if (op <= 5 || op == 7) return JobStatus.Delivered;
        if (op == 6) return r.status == JobStatus.Open ? JobStatus.Open : JobStatus.Claimed;
        return JobStatus.Disputed;
    }

    /// @dev MarketCore._expect's error for (`id`, `t`) when the call needs status `need` (empty: it passes).
    function _expectError(uint256 id, Job memory t, JobStatus need) private view returns (bytes memory) {
        uint256 holder = slotHolder[t.key];
        bytes32 stored = holder == 0 ? bytes32(0) : ghostCommitment(holder);
        if (stored == _commit(id, t, need)) return "";
        if (stored == 0 || id == 0 || id > _recs.length) {
            return abi.encodeWithSelector(IJobMarketTypes.JobMarket__UnknownJob.selector, id);
        }
        JobStatus actual = JobStatus(uint8(uint256(stored)));
        if (actual != need && _commit(id, t, actual) == stored) {
            return abi.encodeWithSelector(IJobMarketTypes.JobMarket__WrongStatus.selector, id, actual, need);
        }
        return abi.encodeWithSelector(IJobMarketTypes.JobMarket__JobDataMismatch.selector, id);
    }

    function _storedStatus(uint64 key) private view returns (JobStatus) {
        uint256 holder = slotHolder[key];
        return holder == 0 ? JobStatus.None : _recs[holder - 1].status;
    }

    /// @dev Flips low bits of one of the 14 fields (within its type's width).
    function _tamperField(Job memory job, uint256 field, uint256 seed) private pure returns (Job memory) {
        uint256[14] memory words = abi.decode(abi.encode(job), (uint256[14]));
        uint8[14] memory widths = [160, 160, 160, 160, 96, 96, 96, 96, 16, 32, 32, 40, 64, 64];
        uint256 w = widths[field];
        uint256 flip = seed % 4 == 0 ? 1 : 1 + (seed >> 2) % ((uint256(1) << (w < 48 ? w : 48)) - 1);
        words[field] ^= flip;
        return abi.decode(abi.encode(words), (Job));
    }

    function _tamperCaller(uint256 op, Rec storage r) private view returns (address) {
        if (op == 0 || op == 4 || op == 7 || op == 9) return r.job.customer;
        if (op == 1) return shops[0];
        if (op == 2 || op == 3) return r.job.node == address(0) ? shops[0] : r.job.node;
        if (op == 8) return r.d.judge == address(0) ? arbiter : r.d.judge;
        return STRANGER;
    }

    function _tamperCall(uint256 op, uint256 id, Job memory t) private view returns (bytes memory) {
        if (op == 0) return abi.encodeCall(market.cancel, (id, t));
        if (op == 1) return abi.encodeCall(market.claim, (id, t, nodeIds[1]));
        if (op == 2) return abi.encodeCall(market.handBack, (id, t));
        if (op == 3) return abi.encodeCall(market.deliver, (id, t, PROOF_CID));
        if (op == 4) return abi.encodeCall(market.accept, (id, t));
        if (op == 5) return abi.encodeCall(market.settle, (id, t));
        if (op == 6) return abi.encodeCall(market.expire, (id, t));
        if (op == 7) return abi.encodeCall(module.dispute, (id, t, PROOF_CID));
        if (op == 8) return abi.encodeCall(module.rule, (id, t, uint16(5_000), uint16(5_000)));
        if (op == 9) return abi.encodeCall(module.appeal, (id, t));
        return abi.encodeCall(module.finalize, (id, t));
    }

    // ===================================================================================== payments

    /// @dev Settlement: fee and royalty fixed at post, the node gets the rest, the collateral unlocks.
    function _paySettlement(uint256 id) private {
        Job memory job = _recs[id - 1].job;
        MarketMath.Settlement memory s = MarketMath.settlement(job.amount, job.feeBps, job.royalty);
        _credit(job.token, job.node, s.node);
        _credit(job.token, job.royaltyReceiver, s.royalty);
        fees[job.token] += s.fee;
        escrow[job.token] -= job.amount;
        _setStatus(id, JobStatus.Settled);
        _checkParties(job);
    }

    /// @dev A dispute's end: refund, payout, royalty, fee and the dispute bond; then the slash.
    function _payResolution(uint256 id, uint256 refundBps, uint256 slashBps) private {
        Rec storage r = _recs[id - 1];
        Job memory job = r.job;
        MarketMath.Resolution memory res =
            MarketMath.resolution(job.amount, job.royalty, job.feeBps, job.bond, refundBps);
        _credit(job.token, job.customer, res.customer);
        _credit(job.token, job.node, res.node);
        _credit(job.token, job.royaltyReceiver, res.royalty);
        fees[job.token] += res.fee;
        escrow[job.token] -= uint256(job.amount) + job.bond;
        delete r.d;
        _setStatus(id, JobStatus.Resolved);
        _slash(job, uint256(job.collateral) * slashBps / BPS);
        _checkParties(job);
        _checkDispute(id);
    }

    // ====================================================================================== choices

    /// @dev A payment amount: mostly 1 to 5 000 dollars, sometimes a few base units (rounding edges).
    function _amount(uint256 seed) private pure returns (uint96) {
        return uint96(seed % 8 == 0 ? 1 + (seed >> 3) % 300 : 1e6 + (seed >> 3) % MAX_AMOUNT);
    }

    /// @dev For the exact-approval customer and the fee-on-transfer token, a payment its deposit covers
    /// (three times in four, when it has one): other payments revert for want of allowance or arrive short.
    function _fundable(address c, address token, uint96 amount, uint256 seed) private view returns (uint96) {
        uint256 balance = credit[token][c];
        if ((finiteAllowance[c] || token == address(fot)) && balance != 0 && amount > balance && _r(seed, 22, 4) != 0) {
            return uint96(1 + _r(seed, 23, balance));
        }
        return amount;
    }

    /// @dev Collateral inside the token's bounds, at most about 1 000 FAB above the minimum (so shops can
    /// usually afford it); one time in eight exactly the minimum or the maximum.
    function _collateral(address token, uint256 amount, uint256 seed) private view returns (uint96) {
        (uint256 lo, uint256 hi) = _bounds(token, amount);
        uint256 k = _r(seed, 20, 16);
        if (k == 0) return uint96(lo);
        if (k == 1 && hi <= 5_000e18) return uint96(hi);
        uint256 span = hi - lo;
        if (span > 1_000e18) span = 1_000e18;
        return uint96(lo + _r(seed, 21, span + 1));
    }

    function _hi(address token, uint256 amount) private view returns (uint96) {
        (, uint256 hi) = _bounds(token, amount);
        return uint96(hi);
    }

    function _bump(uint96 x, bool up) private pure returns (uint96) {
        return up ? x + 1 : x - 1;
    }

    function _design(uint256 seed) private view returns (uint256) {
        uint256 k = _r(seed, 30, 4);
        return k == 0 ? 0 : designIds[k - 1];
    }

    /// @dev Mostly any node; one post in four names a node (one in twenty an unknown or idle one).
    function _target(uint256 seed) private view returns (uint64) {
        uint256 k = _r(seed, 31, 20);
        if (k < 15) return 0;
        if (k == 15) return uint64(UNKNOWN_NODE);
        return uint64(nodeIds[_r(seed, 32, nodeIds.length)]);
    }

    /// @dev Half the time a recyclable slot, else 0, a live job's slot or an unused key.
    function _reuseKey(uint256 seed) private view returns (uint64) {
        uint256 k = _r(seed, 33, 8);
        if (k < 4 && _reusable.length != 0) return _reusable[_r(seed, 34, _reusable.length)];
        if (k == 5 && _recs.length != 0) return _recs[_r(seed, 35, _recs.length)].job.key;
        if (k == 6) return uint64(_recs.length + 5 + _r(seed, 36, 100));
        return 0;
    }

    /// @dev A nonce for `c`: the next unused one, or (seed != 0) a random one, possibly used already.
    function _nonce(address c, uint256 seed) private view returns (uint64) {
        if (seed % 4 == 1) return uint64(_r(seed, 40, 600));
        if (seed % 4 == 2) return type(uint64).max - uint64(_r(seed, 41, 3));
        uint64 n = _nonceCursor[c];
        while (nonceUsed[c][n]) ++n;
        return n;
    }

    function _useNonce(address c, uint64 nonce) private {
        nonceUsed[c][nonce] = true;
        uint64 cursor = _nonceCursor[c];
        while (nonceUsed[c][cursor]) ++cursor;
        _nonceCursor[c] = cursor;
    }

    /// @dev A ruling's share: the edges that decide bonds and appeals, or any value (one in 16 invalid).
    function _split(uint256 seed) private pure returns (uint16) {
        uint256 k = seed % 16;
        if (k == 0) return 10_001;
        if (k < 6) return [uint16(0), 4_999, 5_000, 5_001, 10_000][k - 1];
        return uint16((seed >> 4) % 10_001);
    }

    /// @dev The node a claim names: mostly the target; for a handed-back job mostly another operator's.
    function _claimNode(Job memory job, uint256 seed) private view returns (uint256) {
        if (job.targetNode != 0 && _r(seed, 3, 8) != 0) return job.targetNode;
        uint256 node = nodeIds[1 + _r(seed, 4, 6)];
        if (nodeOperator[node] == job.node && _r(seed, 5, 4) != 0) node = nodeIds[1 + (node - nodeIds[1] + 2) % 6];
        return node;
    }

    function _recipient(uint256 seed) private view returns (address) {
        uint256 k = seed % 32;
        if (k == 0) return address(0);
        if (k == 1) return SINK;
        if (k == 2) return treasury;
        return holders[(seed >> 5) % holders.length];
    }

    /// @dev The EIP-712 digest of an order, computed here from the type string (not by the market).
    function _orderDigest(IJobMarketTypes.Order memory o) internal view returns (bytes32) {
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Fabrica JobMarket"),
                keccak256("1"),
                block.chainid,
                address(market)
            )
        );
        bytes memory head = abi.encode(ORDER_TYPEHASH, o.customer, o.token, o.amount, o.collateral, o.designId);
        bytes memory tail =
            abi.encode(o.deliveryWindow, o.targetNode, o.expiry, o.nonce, o.counter, keccak256(o.specCid));
        return keccak256(abi.encodePacked("\x19\x01", domain, keccak256(bytes.concat(head, tail))));
    }
}
