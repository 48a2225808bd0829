// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {TestBase} from "../utils/Vm.sol";
import {DesignNFT} from "../../src/DesignNFT.sol";
import {IDesignNFT} from "../../src/interfaces/IDesignNFT.sol";
import {DesignMarket} from "../../src/design/DesignMarket.sol";
import {IDesignMarket} from "../../src/interfaces/IDesignMarket.sol";
import {TestStablecoin} from "../../src/devnet/TestStablecoin.sol";
import {FabricationLicences} from "../../src/design/FabricationLicences.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC721Errors, IERC1155Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

interface VmChainId {
    function chainId(uint256 newChainId) external;
}

/// @notice The two markets, tokens and accounts the handler drives.
struct DesignMarketEnv {
    DesignMarket market;
    /// @dev A second deployment on the same tokens: a signature for `market` must never fill here.
    DesignMarket otherMarket;
    DesignNFT designs;
    FabricationLicences licences;
    TestStablecoin usd;
    TestStablecoin eur;
    /// @dev Never allowlisted.
    TestStablecoin foreign;
    address owner;
    address treasury;
}

/// @notice Drives the design market with bounded random inputs: three makers/takers with known keys mint
/// designs (each with licences), sign listings and offers of designs and licences (one-token and creator
/// scope, three currencies of which one is not allowed, nonces shared across orders, some past expiry), fill
/// them (right or wrong token, too many units, from another chain or on another deployment), cancel nonces,
/// bump counters, move and take down designs, and change the fee. Every fill first predicts from the model
/// whether it must succeed or with exactly which error it must revert; a success is checked leg by leg
/// (buyer -price*units, treasury +fee, royalty receiver +royalty, seller the rest; nothing stays with the
/// market). Nothing here reverts: surprises and violations are counted for the invariants.
contract DesignMarketHandler is TestBase {
    VmChainId internal constant vmc = VmChainId(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant WALLET = 1e36;
    uint256 internal constant MAX_PRICE = 1e24;
    uint256 internal constant MAX_UNITS = 30;
    uint256 internal constant NONCES = 300; // spans the inline (< 192) and the overflow bitmap
    bytes internal constant META_CID = hex"12201111111111111111111111111111111111111111111111111111111111111111";

    struct Tracked {
        IDesignMarket.Order o;
        bytes sig;
        bytes32 digest;
    }

    /// @dev What a fill is expected to do: succeed, or revert with exactly `error` (or `alt`, when two checks of
    /// a token contract could both apply).
    struct Prediction {
        bool ok;
        bytes err;
        bytes alt;
        address seller;
        address buyer;
    }

    DesignMarket public immutable market;
    DesignMarket public immutable otherMarket;
    DesignNFT public immutable designs;
    FabricationLicences public immutable licences;
    TestStablecoin public immutable usd;
    TestStablecoin public immutable eur;
    TestStablecoin public immutable foreign;
    address public immutable owner;
    address public immutable treasury;
    uint256 internal immutable _chainId;

    address[] public actors;
    mapping(address => uint256) internal _keyOf;
    uint256[] public designIds;
    Tracked[] internal _orders;

    // The model.
    mapping(address => mapping(uint64 => bool)) public nonceUsedModel;
    mapping(address => uint64) public counterModel;
    mapping(bytes32 => uint256) public filledModel;
    mapping(bytes32 => uint256) public unitsEverFilled;
    mapping(address => bool) public allowedModel;
    uint16 public feeModel;

    // Outcomes.
    uint256 public surprises;
    uint256 public violations;
    string public lastProblem;
    mapping(bytes4 => uint256) public refusals;
    uint256 public fills;
    uint256 public licenceFills;
    uint256 public creatorFills;
    uint256 public offerFills;
    uint256 public crossChainRefusals;
    uint256 public crossMarketRefusals;
    uint256 internal _cidSalt;
    uint256 internal _signed;

    constructor(DesignMarketEnv memory env) {
        market = env.market;
        otherMarket = env.otherMarket;
        designs = env.designs;
        licences = env.licences;
        usd = env.usd;
        eur = env.eur;
        foreign = env.foreign;
        owner = env.owner;
        treasury = env.treasury;
        _chainId = block.chainid;
        feeModel = market.feeBps();
        allowedModel[address(usd)] = true;
        allowedModel[address(eur)] = true;
        for (uint256 i; i < 3; ++i) {
            uint256 key = 0xD0 + i;
            address a = vm.addr(key);
            actors.push(a);
            _keyOf[a] = key;
            vm.startPrank(env.owner);
            env.usd.mint(a, WALLET);
            env.eur.mint(a, WALLET);
            env.foreign.mint(a, WALLET);
            vm.stopPrank();
            vm.startPrank(a);
            for (uint256 m; m < 2; ++m) {
                address mk = m == 0 ? address(env.market) : address(env.otherMarket);
                env.usd.approve(mk, type(uint256).max);
                env.eur.approve(mk, type(uint256).max);
                env.foreign.approve(mk, type(uint256).max);
                env.designs.setApprovalForAll(mk, true);
                env.licences.setApprovalForAll(mk, true);
            }
            vm.stopPrank();
        }
        for (uint256 i; i < 3; ++i) {
            _mint(i, uint16(i * 700));
        }
    }

    // ------------------------------------------------------------------------------------ actions

    /// @notice An actor mints a design (royalty up to the cap) and 20 licences of it.
    function mintDesign(uint256 actorSeed, uint16 bps) external {
        if (designIds.length >= 24) return;
        _mint(actorSeed, uint16(bound(bps, 0, designs.maxRoyaltyBps())));
    }

    /// @notice An actor gets more licences of an Active design (bought on free terms its owner sets).
    function mintLicences(uint256 actorSeed, uint256 designSeed, uint256 units) external {
        uint256 id = _design(designSeed);
        if (designs.stateOf(id) != IDesignNFT.DesignState.Active) return;
        _giveLicences(_actor(actorSeed), id, bound(units, 1, 20));
    }

    /// @notice A maker signs an order: kind 0 design listing, 1 design offer, 2 creator offer (design),
    /// 3 licence listing, 4 licence offer, 5 creator offer (licences).
    function sign(
        uint256 makerSeed,
        uint256 kind,
        uint256 designSeed,
        uint256 price,
        uint256 amount,
        uint256 expiryDelta,
        uint256 nonceSeed,
        uint256 currencySeed
    ) external {
        kind = kind % 6;
        uint256 id = _design(designSeed);
        // Mostly a maker that can deliver: the design's holder for a design listing, the largest licence holder
        // for a licence listing; offers come from anyone.
        address maker = _actor(makerSeed);
        if (makerSeed % 4 != 0) {
            if (kind == 0) maker = designs.ownerOf(id);
            else if (kind == 3) maker = _licenceHolder(id);
        }
        IDesignMarket.Order memory o;
        o.maker = maker;
        o.side = (kind == 1 || kind == 2 || kind == 4 || kind == 5) ? 1 : 0;
        o.asset = kind >= 3 ? 1 : 0;
        if (kind == 2 || kind == 5) {
            o.scope = 1;
            o.creator = designs.creatorOf(id);
        } else {
            o.tokenId = id;
        }
        uint256 c = currencySeed % 10;
        o.currency = c < 6 ? address(usd) : c < 9 ? address(eur) : address(foreign);
        o.price = bound(price, 1, MAX_PRICE);
        o.amount = o.asset == 0 ? 1 : bound(amount, 1, MAX_UNITS);
        o.expiry = uint64(block.timestamp + bound(expiryDelta, 0, 30 days));
        o.nonce = uint64(nonceSeed % NONCES);
        o.counter = counterModel[maker];
        bytes32 digest = market.orderHash(o);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(_keyOf[maker], digest);
        // At most 60 tracked orders: beyond, the oldest is replaced (orders expire as time passes).
        Tracked memory t = Tracked(o, abi.encodePacked(r, s, v), digest);
        if (_orders.length < 60) _orders.push(t);
        else _orders[_signed % 60] = t;
        ++_signed;
    }

    /// @notice A taker fills a tracked order. `mode`: 0-5 normal, 6 another token, 7 units + 1 over what is left,
    /// 8 zero units, 9 token id 0 (stands for the signed one).
    function fill(uint256 orderSeed, uint256 takerSeed, uint256 unitsSeed, uint256 tokenSeed, uint256 mode)
        external
    {
        if (_orders.length == 0) return;
        Tracked memory t = _orders[orderSeed % _orders.length];
        mode = mode % 10;
        uint256 tokenId = _tokenFor(t.o, tokenSeed, mode);
        // Mostly a taker that can deliver (for offers: the holder of what is sold); never the maker.
        address taker = _actor(takerSeed);
        if (t.o.side == 1 && takerSeed % 4 != 0 && tokenId != 0) {
            taker = t.o.asset == 0 ? designs.ownerOf(tokenId) : _licenceHolder(tokenId);
        }
        if (taker == t.o.maker) taker = actors[(_indexOf(taker) + 1 + takerSeed % 2) % actors.length];
        uint256 units = _unitsFor(t, unitsSeed, mode);
        Prediction memory p = _predict(t, taker, units, tokenId);
        _execute(t, taker, units, tokenId, p);
    }

    /// @notice The same signed order, filled on a chain with another id: always refused.
    function fillOnAnotherChain(uint256 orderSeed, uint256 takerSeed, uint64 chainId) external {
        if (_orders.length == 0) return;
        Tracked memory t = _orders[orderSeed % _orders.length];
        uint256 other = bound(chainId, 1, type(uint64).max);
        if (other == _chainId) other = _chainId + 1;
        address taker = _actor(takerSeed);
        uint256 tokenId = t.o.scope == 0 ? t.o.tokenId : _designOf(t.o.creator);
        vmc.chainId(other);
        // Only the signature check depends on the chain; everything before it must pass for a clean proof.
        bytes memory early = _earlyError(market, t.o, 1);
        vm.prank(taker);
        try market.fill(t.o, t.sig, 1, tokenId) {
            _surprise("filled on another chain");
        } catch (bytes memory err) {
            bytes memory expected = early.length != 0
                ? early
                : abi.encodeWithSelector(IDesignMarket.DesignMarket__InvalidSignature.selector, t.o.maker);
            if (keccak256(err) != keccak256(expected)) _surprise("another chain: unexpected error");
            else if (early.length == 0) ++crossChainRefusals;
        }
        vmc.chainId(_chainId);
    }

    /// @notice The same signed order, filled on another deployment: always refused.
    function fillOnAnotherMarket(uint256 orderSeed, uint256 takerSeed) external {
        if (_orders.length == 0) return;
        Tracked memory t = _orders[orderSeed % _orders.length];
        address taker = _actor(takerSeed);
        uint256 tokenId = t.o.scope == 0 ? t.o.tokenId : _designOf(t.o.creator);
        bytes memory early = _earlyError(otherMarket, t.o, 1);
        vm.prank(taker);
        try otherMarket.fill(t.o, t.sig, 1, tokenId) {
            _surprise("filled on another market");
        } catch (bytes memory err) {
            bytes memory expected = early.length != 0
                ? early
                : abi.encodeWithSelector(IDesignMarket.DesignMarket__InvalidSignature.selector, t.o.maker);
            if (keccak256(err) != keccak256(expected)) _surprise("another market: unexpected error");
            else if (early.length == 0) ++crossMarketRefusals;
        }
    }

    /// @notice A maker cancels the nonce of one of its tracked orders (or any nonce).
    function cancel(uint256 orderSeed, uint256 nonceSeed, bool random) external {
        if (_orders.length == 0) return;
        Tracked memory t = _orders[orderSeed % _orders.length];
        uint64 nonce = random ? uint64(nonceSeed % NONCES) : t.o.nonce;
        uint64[] memory nonces = new uint64[](1);
        nonces[0] = nonce;
        vm.prank(t.o.maker);
        try market.cancel(nonces) {
            nonceUsedModel[t.o.maker][nonce] = true;
        } catch {
            _surprise("cancel reverted");
        }
        if (!market.nonceUsed(t.o.maker, nonce)) _surprise("cancelled nonce not used");
    }

    /// @notice A maker bumps its counter, killing its older orders.
    function incrementCounter(uint256 actorSeed) external {
        address a = _actor(actorSeed);
        vm.prank(a);
        try market.incrementCounter() returns (uint64 c) {
            if (c != ++counterModel[a]) _surprise("counter");
        } catch {
            _surprise("incrementCounter reverted");
        }
    }

    /// @notice Time passes (orders expire).
    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, 5 days));
    }

    /// @notice A design changes hands outside the market (listings of it go stale).
    function transferDesign(uint256 designSeed, uint256 toSeed) external {
        uint256 id = _design(designSeed);
        (address holder,,,, IDesignNFT.DesignState state) = designs.designOf(id);
        if (state != IDesignNFT.DesignState.Active) return;
        address to = _actor(toSeed);
        vm.prank(holder);
        designs.transferFrom(holder, to, id);
    }

    /// @notice Governance takes a design down, or restores it.
    function moderate(uint256 designSeed) external {
        uint256 id = _design(designSeed);
        vm.startPrank(owner);
        if (designs.stateOf(id) == IDesignNFT.DesignState.Active) designs.takedown(id, META_CID);
        else designs.restore(id);
        vm.stopPrank();
    }

    /// @notice Governance changes the fee, or allows / refuses the second currency.
    function govern(uint16 feeBps, bool toggleEur) external {
        vm.startPrank(owner);
        if (toggleEur) {
            bool allow = !allowedModel[address(eur)];
            market.setCurrency(address(eur), allow);
            allowedModel[address(eur)] = allow;
        } else {
            feeModel = uint16(bound(feeBps, 0, market.MAX_FEE_BPS()));
            market.setFeeBps(feeModel);
        }
        vm.stopPrank();
    }

    // ------------------------------------------------------------------------------------ views

    function orderCount() external view returns (uint256) {
        return _orders.length;
    }

    function orderAt(uint256 i) external view returns (IDesignMarket.Order memory o, bytes32 digest) {
        return (_orders[i].o, _orders[i].digest);
    }

    function designCount() external view returns (uint256) {
        return designIds.length;
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    /// @notice Units of tracked order `i` the model says can still fill (same rules as `remaining`).
    function remainingModel(uint256 i) public view returns (uint256) {
        IDesignMarket.Order memory o = _orders[i].o;
        if (nonceUsedModel[o.maker][o.nonce] || o.counter != counterModel[o.maker]) return 0;
        if (block.timestamp > o.expiry) return 0;
        return o.amount - filledModel[_orders[i].digest];
    }

    // ------------------------------------------------------------------------------------ prediction

    /// @dev The first error the market's checks up to the counter give (shape, units, expiry, currency, counter),
    /// on `m`'s own state; empty when they pass.
    function _earlyError(DesignMarket m, IDesignMarket.Order memory o, uint256 units)
        internal
        view
        returns (bytes memory)
    {
        if (units == 0) return abi.encodeWithSelector(IDesignMarket.DesignMarket__ZeroUnits.selector);
        if (block.timestamp > o.expiry) {
            return abi.encodeWithSelector(IDesignMarket.DesignMarket__OrderExpired.selector, o.expiry, block.timestamp);
        }
        if (!m.isCurrencyAllowed(o.currency)) {
            return abi.encodeWithSelector(IDesignMarket.DesignMarket__CurrencyNotAllowed.selector, o.currency);
        }
        uint64 current = m.counterOf(o.maker);
        if (o.counter != current) {
            return abi.encodeWithSelector(
                IDesignMarket.DesignMarket__CounterStale.selector, o.maker, o.counter, current
            );
        }
        return "";
    }

    function _predict(Tracked memory t, address taker, uint256 units, uint256 tokenId)
        internal
        view
        returns (Prediction memory p)
    {
        IDesignMarket.Order memory o = t.o;
        (p.seller, p.buyer) = o.side == 0 ? (o.maker, taker) : (taker, o.maker);
        // The model's own view of the early checks (the chain's view is compared in `_execute`).
        if (units == 0) return _fails(abi.encodeWithSelector(IDesignMarket.DesignMarket__ZeroUnits.selector));
        if (block.timestamp > o.expiry) {
            return _fails(
                abi.encodeWithSelector(IDesignMarket.DesignMarket__OrderExpired.selector, o.expiry, block.timestamp)
            );
        }
        if (!allowedModel[o.currency]) {
            return _fails(abi.encodeWithSelector(IDesignMarket.DesignMarket__CurrencyNotAllowed.selector, o.currency));
        }
        if (o.counter != counterModel[o.maker]) {
            return _fails(
                abi.encodeWithSelector(
                    IDesignMarket.DesignMarket__CounterStale.selector, o.maker, o.counter, counterModel[o.maker]
                )
            );
        }
        uint256 id = tokenId == 0 && o.scope == 0 ? o.tokenId : tokenId;
        if (o.scope == 0 && id != o.tokenId) {
            return _fails(abi.encodeWithSelector(IDesignMarket.DesignMarket__TokenMismatch.selector, o.tokenId, id));
        }
        if (o.scope == 1) {
            address c = designs.creatorOf(id);
            if (c != o.creator) {
                return _fails(
                    abi.encodeWithSelector(IDesignMarket.DesignMarket__CreatorMismatch.selector, id, c, o.creator)
                );
            }
        }
        bytes memory err = _stateError(t, units);
        if (err.length != 0) return _fails(err);
        err = _transferError(o, p.seller, units, id);
        if (err.length != 0) {
            p.err = err;
            p.alt = _altTransferError(o, p.seller, id);
            return p;
        }
        p.ok = true;
    }

    /// @dev The order-state check: nonce and units left.
    function _stateError(Tracked memory t, uint256 units) internal view returns (bytes memory) {
        IDesignMarket.Order memory o = t.o;
        bool used = nonceUsedModel[o.maker][o.nonce];
        if (o.asset == 0) {
            if (units != 1) {
                return abi.encodeWithSelector(IDesignMarket.DesignMarket__Overfill.selector, t.digest, units, 1);
            }
            if (used) return abi.encodeWithSelector(IDesignMarket.DesignMarket__NonceUsed.selector, o.maker, o.nonce);
            return "";
        }
        if (used) return abi.encodeWithSelector(IDesignMarket.DesignMarket__NonceUsed.selector, o.maker, o.nonce);
        uint256 left = o.amount - filledModel[t.digest];
        if (units > left) {
            return abi.encodeWithSelector(IDesignMarket.DesignMarket__Overfill.selector, t.digest, units, left);
        }
        return "";
    }

    /// @dev The licence state check and the token transfer's own refusal (payments never fail: wallets are
    /// huge and approvals unlimited).
    function _transferError(IDesignMarket.Order memory o, address seller, uint256 units, uint256 id)
        internal
        view
        returns (bytes memory)
    {
        bool active = designs.stateOf(id) == IDesignNFT.DesignState.Active;
        if (o.asset == 1) {
            if (!active) return abi.encodeWithSelector(IDesignMarket.DesignMarket__DesignNotActive.selector, id);
            uint256 balance = licences.balanceOf(seller, id);
            if (balance < units) {
                return abi.encodeWithSelector(
                    IERC1155Errors.ERC1155InsufficientBalance.selector, seller, balance, units, id
                );
            }
            return "";
        }
        address holder = designs.ownerOf(id);
        if (holder != seller) {
            return abi.encodeWithSelector(IERC721Errors.ERC721IncorrectOwner.selector, seller, id, holder);
        }
        if (!active) return abi.encodeWithSelector(IDesignNFT.DesignNFT__TakenDown.selector, id);
        return "";
    }

    /// @dev When a design is both held by someone else and taken down, DesignNFT may report either.
    function _altTransferError(IDesignMarket.Order memory o, address seller, uint256 id)
        internal
        view
        returns (bytes memory)
    {
        if (o.asset == 1 || designs.ownerOf(id) == seller) return "";
        if (designs.stateOf(id) == IDesignNFT.DesignState.Active) return "";
        return abi.encodeWithSelector(IDesignNFT.DesignNFT__TakenDown.selector, id);
    }

    function _fails(bytes memory err) internal pure returns (Prediction memory p) {
        p.err = err;
    }

    // ------------------------------------------------------------------------------------ execution

    /// @dev Balances of the parties a fill touches, before it.
    struct Snapshot {
        address[4] who; // buyer, seller, treasury, royalty receiver
        uint256[4] before;
        uint256 units;
        uint256 total;
        uint256 fee;
        uint256 royalty;
        uint256 tokenBefore; // buyer's licence balance
    }

    function _execute(Tracked memory t, address taker, uint256 units, uint256 tokenId, Prediction memory p) internal {
        uint256 id = tokenId == 0 && t.o.scope == 0 ? t.o.tokenId : tokenId;
        Snapshot memory s = _snapshot(t.o, p, units, id);
        vm.prank(taker);
        try market.fill(t.o, t.sig, units, tokenId) returns (bytes32 digest) {
            if (!p.ok) return _surprise("filled against the model");
            if (digest != t.digest) _surprise("digest");
            _applyFill(t, units);
            _checkLegs(t.o, s, p, id);
        } catch (bytes memory err) {
            if (p.ok) return _surprise("refused against the model");
            if (keccak256(err) != keccak256(p.err) && (p.alt.length == 0 || keccak256(err) != keccak256(p.alt))) {
                return _surprise("unexpected error");
            }
            ++refusals[bytes4(err)];
        }
    }

    function _snapshot(IDesignMarket.Order memory o, Prediction memory p, uint256 units, uint256 id)
        internal
        view
        returns (Snapshot memory s)
    {
        if (!p.ok) return s;
        s.units = units;
        s.total = o.price * units;
        s.fee = s.total * feeModel / 10_000;
        address receiver;
        (receiver, s.royalty) = designs.royaltyInfo(id, s.total);
        s.who = [p.buyer, p.seller, treasury, receiver];
        IERC20 money = IERC20(o.currency);
        for (uint256 i; i < 4; ++i) {
            s.before[i] = money.balanceOf(s.who[i]);
        }
        if (o.asset == 1) s.tokenBefore = licences.balanceOf(p.buyer, id);
    }

    function _applyFill(Tracked memory t, uint256 units) internal {
        IDesignMarket.Order memory o = t.o;
        ++fills;
        if (o.asset == 1) ++licenceFills;
        if (o.scope == 1) ++creatorFills;
        if (o.side == 1) ++offerFills;
        unitsEverFilled[t.digest] += units;
        if (unitsEverFilled[t.digest] > o.amount) _violation("filled more than the amount");
        if (o.asset == 0) {
            nonceUsedModel[o.maker][o.nonce] = true;
            return;
        }
        uint256 before = filledModel[t.digest];
        uint256 done = before + units;
        if (done == o.amount) nonceUsedModel[o.maker][o.nonce] = true;
        // The market records nothing for an order filled at once (its nonce says it all).
        if (before != 0 || done != o.amount) filledModel[t.digest] = done;
        if (market.filled(t.digest) != filledModel[t.digest]) _surprise("filled()");
    }

    /// @dev Every leg: the buyer paid exactly price * units, the treasury got the fee, the receiver the royalty,
    /// the seller the rest (overlapping parties add up), the market kept nothing, the token moved.
    function _checkLegs(IDesignMarket.Order memory o, Snapshot memory s, Prediction memory p, uint256 id) internal {
        if (s.fee + s.royalty > s.total) _violation("fee + royalty > total");
        int256[4] memory expected;
        int256[4] memory delta =
            [-int256(s.total), int256(s.total - s.fee - s.royalty), int256(s.fee), int256(s.royalty)];
        for (uint256 i; i < 4; ++i) {
            for (uint256 j; j < 4; ++j) {
                if (s.who[j] == s.who[i]) expected[i] += delta[j];
            }
        }
        IERC20 money = IERC20(o.currency);
        for (uint256 i; i < 4; ++i) {
            int256 actual = int256(money.balanceOf(s.who[i])) - int256(s.before[i]);
            if (actual != expected[i]) _violation("a leg was not paid exactly");
        }
        if (money.balanceOf(address(market)) != 0) _violation("market holds money");
        if (o.asset == 0) {
            if (designs.ownerOf(id) != p.buyer) _violation("design did not move");
        } else if (p.buyer != p.seller && licences.balanceOf(p.buyer, id) != s.tokenBefore + s.units) {
            _violation("licences did not move");
        }
        if (designs.balanceOf(address(market)) != 0 || licences.balanceOf(address(market), id) != 0) {
            _violation("market holds a token");
        }
    }

    // ------------------------------------------------------------------------------------ helpers

    function _mint(uint256 actorSeed, uint16 bps) internal {
        address a = _actor(actorSeed);
        bytes memory cid = abi.encodePacked(hex"1220", keccak256(abi.encode("handler design", ++_cidSalt)));
        vm.prank(a);
        uint256 id = designs.mint(cid, META_CID, bps);
        designIds.push(id);
        _giveLicences(a, id, 20);
    }

    /// @dev `holder` buys `units` licences of `id` on free terms set by the design's owner (no money moves).
    function _giveLicences(address holder, uint256 id, uint256 units) internal {
        vm.prank(designs.ownerOf(id));
        licences.setTerms(id, address(usd), 0, 0, 0, 0);
        vm.prank(holder);
        licences.buy(id, units, holder, address(usd), 0);
    }

    function _tokenFor(IDesignMarket.Order memory o, uint256 tokenSeed, uint256 mode)
        internal
        view
        returns (uint256)
    {
        if (mode == 6) return _design(tokenSeed); // another (or by chance the same) token
        if (o.scope == 0) return mode == 9 ? 0 : o.tokenId;
        // A creator offer: usually a design of that creator, sometimes any.
        return tokenSeed % 4 == 0 ? _design(tokenSeed) : _designOf(o.creator);
    }

    function _unitsFor(Tracked memory t, uint256 unitsSeed, uint256 mode) internal view returns (uint256) {
        if (mode == 8) return 0;
        uint256 left = t.o.amount - filledModel[t.digest];
        if (mode == 7) return left + 1;
        if (t.o.asset == 0) return 1;
        return left == 0 ? 1 : bound(unitsSeed, 1, left);
    }

    /// @dev The actor holding the most licences of design `id`.
    function _licenceHolder(uint256 id) internal view returns (address best) {
        uint256 most;
        best = actors[0];
        for (uint256 i; i < actors.length; ++i) {
            uint256 b = licences.balanceOf(actors[i], id);
            if (b > most) (most, best) = (b, actors[i]);
        }
    }

    function _indexOf(address a) internal view returns (uint256) {
        for (uint256 i; i < actors.length; ++i) {
            if (actors[i] == a) return i;
        }
        return 0;
    }

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % actors.length];
    }

    function _design(uint256 seed) internal view returns (uint256) {
        return designIds[seed % designIds.length];
    }

    /// @dev A design created by `c` (the first one minted by it).
    function _designOf(address c) internal view returns (uint256) {
        for (uint256 i; i < designIds.length; ++i) {
            if (designs.creatorOf(designIds[i]) == c) return designIds[i];
        }
        return designIds[0];
    }

    function _surprise(string memory what) internal {
        ++surprises;
        lastProblem = what;
    }

    function _violation(string memory what) internal {
        ++violations;
        lastProblem = what;
    }
}
