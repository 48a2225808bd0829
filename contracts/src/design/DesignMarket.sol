// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {TransientSlot} from "@openzeppelin/contracts/utils/TransientSlot.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IDesignMarket, IDesignMarketRegistry} from "../interfaces/IDesignMarket.sol";

/// @title DesignMarket
/// @notice Signed-order market for designs (DesignNFT, ERC-721) and fabrication licences (FabricationLicences,
/// ERC-1155 with id = design id), paying the protocol fee and the design's ERC-2981 royalty on every fill.
///
/// EIP-712 signing (what wallets sign with `eth_signTypedData_v4`):
///   domain: name "Fabrica DesignMarket", version "1", chainId, verifyingContract = this market
///   primaryType "Order", encoded with exactly this type string:
///   Order(address maker,uint8 side,uint8 asset,uint8 scope,uint256 tokenId,address creator,address currency,uint256 price,uint256 amount,uint64 expiry,uint64 nonce,uint64 counter)
///   side 0 listing / 1 offer; asset 0 design / 1 licence; scope 0 one tokenId / 1 any design of `creator`
///   (offers only). The digest is keccak256(0x1901 ‖ domainSeparator ‖ keccak256(ORDER_TYPEHASH ‖ the 12
///   fields, each as one 32-byte word)); `orderHash(order)` returns it and keys partial fills.
///
/// Design choices (see also the NatSpec of IDesignMarket):
/// - Money moves buyer -> treasury, buyer -> royalty receiver, buyer -> seller by `transferFrom` (zero legs are
///   skipped; a royalty owed to the seller itself is folded into the seller's leg); the market never holds a
///   token. The royalty comes from the traded token's own `royaltyInfo(tokenId, price * units)`, and no order
///   field or fill argument can skip it.
/// - Designs move by plain `transferFrom` (no receiver callback: cheaper, and no re-entry point; a buyer
///   that fills a listing, or a contract that signs an offer, chose to receive the design). Licences move by
///   ERC-1155 `safeTransferFrom`, whose receiver hook runs last, after every check, state write and payment,
///   under a transient lock that makes any `fill` from inside the hook revert. Nothing else a fill calls can
///   run foreign code that changes state (signature, creator and royalty queries are static calls; currencies
///   are allowlisted plain ERC-20s), and every order state write precedes the first transfer.
/// - Order state is a nonce bitmap per maker (as JobMarket's orders): a design order uses its nonce at once, a
///   licence order records partial fills under its digest and uses its nonce when complete. Nonces 0-191 share
///   the maker's slot with its counter (one storage read checks both; the SDK hands nonces out from 0), higher
///   ones live in a separate bitmap. Signatures are bound to chain and contract by the EIP-712 domain (rebuilt
///   if the chain id changes).
/// - Signatures: ECDSA first (an EOA maker costs no EXTCODESIZE), then ERC-1271 for contract wallets.
/// - Gas (`signed_sale` in contracts/snapshots/DesignMarket.json, about 104.8k): one storage slot for the
///   allowlist, fee and treasury (a copy per allowed currency), one for the maker's counter and nonce; the
///   validity checks, struct hash, ECDSA recovery, royalty query, design transfer and event are written in
///   assembly where the compiler's version re-validated calldata or checked code size again.
contract DesignMarket is IDesignMarket, Ownable2Step, EIP712 {
    using SafeERC20 for IERC20;
    using TransientSlot for *;

    /// @notice The EIP-712 type hash of `Order`.
    bytes32 public constant ORDER_TYPEHASH = keccak256(
        "Order(address maker,uint8 side,uint8 asset,uint8 scope,uint256 tokenId,address creator,address currency,"
        "uint256 price,uint256 amount,uint64 expiry,uint64 nonce,uint64 counter)"
    );
    /// @notice Highest protocol fee governance can set (10 %).
    uint16 public constant MAX_FEE_BPS = 1_000;
    /// @notice Most currencies allowed at once (each holds a copy of fee and treasury; see `_currencies`).
    uint256 public constant MAX_CURRENCIES = 16;
    uint256 private constant BPS = 10_000;

    // Order codes used by name below (the others: side 1 offer, asset 1 licence, scope 1 creator).
    uint8 private constant LISTING = 0;
    uint8 private constant DESIGN = 0;
    uint8 private constant ONE_TOKEN = 0;
    /// @dev DesignNFT's `DesignState.Active`.
    uint8 private constant ACTIVE = 1;

    /// @dev Maker slot: the used flags of nonces 0-191 (bit n = nonce n) | counter (bits 192-255). An order
    /// with a small nonce (the SDK hands them out from 0) costs one slot for both checks.
    uint256 private constant INLINE_NONCES = 192;
    uint256 private constant COUNTER_SHIFT = 192;
    uint256 private constant INLINE_MASK = (1 << INLINE_NONCES) - 1;
    /// @dev Currency slot: treasury (bits 0-159) | fee bps (160-175) | allowed (bit 176); zero = not allowed.
    uint256 private constant FEE_SHIFT = 160;
    uint256 private constant ALLOWED = 1 << 176;

    /// @dev Transient lock held while a licence transfer runs the buyer's ERC-1155 receiver hook (ERC-7201-style
    /// slot: keccak256(abi.encode(uint256(keccak256("fabrica.transient.DesignMarket.lock")) - 1)) & ~0xff).
    bytes32 private constant LOCK = 0x892c48e1003be8802db639d9c0d57c7da13c004ea6e42aed0d8a742abc050800;

    /// @dev A maker's slot (see INLINE_NONCES), wrapped so that a fill computes its location once.
    struct Account {
        uint256 packed;
    }

    address private immutable _designs;
    address private immutable _licences;

    // The governed fee and treasury (one slot). Every allowed currency's slot holds a copy, rewritten by the
    // setters, so that a fill reads one slot for the allowlist, the fee and the treasury.
    address private _treasury;
    uint16 private _feeBps;
    address[] private _currencyList;
    mapping(address currency => uint256 packed) private _currencies;
    mapping(address maker => Account) private _makers;
    // Nonces from 192 up: bit (nonce & 0xff) of word (nonce >> 8).
    mapping(address maker => mapping(uint256 word => uint256 bits)) private _nonces;
    mapping(bytes32 orderHash => uint256 units) private _filled;

    /// @param owner_ governance (the DAO timelock)
    /// @param designs_ the DesignNFT (ERC-721 + ERC-2981 + `creatorOf`/`stateOf`)
    /// @param licences_ the FabricationLicences (ERC-1155 + ERC-2981, id = design id)
    /// @param treasury_ where protocol fees go
    /// @param feeBps_ protocol fee in basis points, at most `MAX_FEE_BPS`
    constructor(address owner_, IERC721 designs_, IERC1155 licences_, address treasury_, uint16 feeBps_)
        Ownable(owner_)
        EIP712("Fabrica DesignMarket", "1")
    {
        if (address(designs_) == address(0)) revert DesignMarket__ZeroAddress("designs");
        if (address(licences_) == address(0)) revert DesignMarket__ZeroAddress("licences");
        // Calls to the designs skip the compiler's code-size check (`_transferDesign`): check it once here.
        if (address(designs_).code.length == 0) revert DesignMarket__NotAContract(address(designs_));
        if (address(licences_).code.length == 0) revert DesignMarket__NotAContract(address(licences_));
        if (treasury_ == address(0)) revert DesignMarket__ZeroAddress("treasury");
        if (feeBps_ > MAX_FEE_BPS) revert DesignMarket__FeeTooHigh(feeBps_, MAX_FEE_BPS);
        _designs = address(designs_);
        _licences = address(licences_);
        (_treasury, _feeBps) = (treasury_, feeBps_);
        emit TreasurySet(treasury_);
        emit FeeSet(feeBps_);
    }

    // ------------------------------------------------------------------------------------------ fills

    /// @inheritdoc IDesignMarket
    function fill(Order calldata order, bytes calldata signature, uint256 units, uint256 tokenId)
        external
        returns (bytes32 digest)
    {
        // No fill inside a licence transfer's receiver hook (the only callback a fill makes; see `_settle`).
        if (LOCK.asBoolean().tload()) revert DesignMarket__Reentrant();
        if (!_wellFormed(order)) revert DesignMarket__InvalidOrder();
        if (units == 0) revert DesignMarket__ZeroUnits();
        // slither-disable-next-line timestamp (order expiry by design; see contracts/SLITHER.md)
        if (block.timestamp > order.expiry) revert DesignMarket__OrderExpired(order.expiry, block.timestamp);
        uint256 money = _currencies[order.currency];
        if (money == 0) revert DesignMarket__CurrencyNotAllowed(order.currency);
        // Scope 0: 0 stands for the signed token (saves the taker 384 gas of calldata).
        if (tokenId == 0 && order.scope == ONE_TOKEN) tokenId = order.tokenId;
        digest = _authorize(order, signature, units, tokenId);
        _settle(order, digest, units, tokenId, money);
    }

    /// @inheritdoc IDesignMarket
    function cancel(uint64[] calldata nonces) external {
        Account storage a = _makers[msg.sender];
        uint256 account = a.packed;
        uint256 updated = account;
        for (uint256 i; i < nonces.length; ++i) {
            uint64 nonce = nonces[i];
            if (nonce < INLINE_NONCES) {
                uint256 bit = uint256(1) << nonce;
                if (updated & bit != 0) continue; // filled or cancelled already: nothing to do
                updated |= bit;
            } else {
                uint256 bit = uint256(1) << (nonce & 0xff);
                uint256 bits = _nonces[msg.sender][nonce >> 8];
                if (bits & bit != 0) continue;
                _nonces[msg.sender][nonce >> 8] = bits | bit;
            }
            emit OrderCancelled(msg.sender, nonce);
        }
        if (updated != account) a.packed = updated;
    }

    /// @inheritdoc IDesignMarket
    function incrementCounter() external returns (uint64 counter) {
        Account storage a = _makers[msg.sender];
        uint256 account = a.packed;
        counter = uint64(account >> COUNTER_SHIFT) + 1; // checked: a 64-bit counter cannot realistically wrap
        a.packed = (account & INLINE_MASK) | (uint256(counter) << COUNTER_SHIFT);
        emit CounterIncremented(msg.sender, counter);
    }

    // ------------------------------------------------------------------------------------- governance

    /// @inheritdoc IDesignMarket
    function setFeeBps(uint16 newFeeBps) external onlyOwner {
        if (newFeeBps > MAX_FEE_BPS) revert DesignMarket__FeeTooHigh(newFeeBps, MAX_FEE_BPS);
        _feeBps = newFeeBps;
        _restamp();
        emit FeeSet(newFeeBps);
    }

    /// @inheritdoc IDesignMarket
    function setTreasury(address newTreasury) external onlyOwner {
        if (newTreasury == address(0)) revert DesignMarket__ZeroAddress("treasury");
        _treasury = newTreasury;
        _restamp();
        emit TreasurySet(newTreasury);
    }

    /// @inheritdoc IDesignMarket
    function setCurrency(address currency, bool allowed) external onlyOwner {
        if (currency == address(0)) revert DesignMarket__ZeroAddress("currency");
        bool listed = _currencies[currency] != 0;
        if (allowed && !listed) {
            if (_currencyList.length == MAX_CURRENCIES) revert DesignMarket__TooManyCurrencies(MAX_CURRENCIES);
            _currencyList.push(currency);
            _currencies[currency] = _stamp();
        } else if (!allowed && listed) {
            uint256 last = _currencyList.length - 1;
            for (uint256 i; i < last; ++i) {
                if (_currencyList[i] == currency) {
                    _currencyList[i] = _currencyList[last];
                    break;
                }
            }
            _currencyList.pop();
            delete _currencies[currency];
        }
        emit CurrencySet(currency, allowed);
    }

    // ------------------------------------------------------------------------------------------ views

    /// @inheritdoc IDesignMarket
    function orderHash(Order calldata order) external view returns (bytes32) {
        return _hashOrder(order);
    }

    /// @inheritdoc IDesignMarket
    function filled(bytes32 digest) external view returns (uint256) {
        return _filled[digest];
    }

    /// @inheritdoc IDesignMarket
    function remaining(Order calldata order) external view returns (uint256) {
        uint256 account = _makers[order.maker].packed;
        if (!_wellFormed(order) || _isUsed(order.maker, account, order.nonce)) return 0;
        if (order.counter != uint64(account >> COUNTER_SHIFT)) return 0;
        // slither-disable-next-line timestamp (order expiry by design; see contracts/SLITHER.md)
        if (block.timestamp > order.expiry) return 0;
        return order.amount - _filled[_hashOrder(order)];
    }

    /// @inheritdoc IDesignMarket
    function nonceUsed(address maker, uint64 nonce) external view returns (bool) {
        return _isUsed(maker, _makers[maker].packed, nonce);
    }

    /// @inheritdoc IDesignMarket
    function counterOf(address maker) external view returns (uint64) {
        return uint64(_makers[maker].packed >> COUNTER_SHIFT);
    }

    /// @inheritdoc IDesignMarket
    function feeBps() external view returns (uint16) {
        return _feeBps;
    }

    /// @inheritdoc IDesignMarket
    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @inheritdoc IDesignMarket
    function isCurrencyAllowed(address currency) external view returns (bool) {
        return _currencies[currency] != 0;
    }

    /// @inheritdoc IDesignMarket
    function currencies() external view returns (address[] memory) {
        return _currencyList;
    }

    /// @inheritdoc IDesignMarket
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc IDesignMarket
    function designs() external view returns (address) {
        return _designs;
    }

    /// @inheritdoc IDesignMarket
    function licences() external view returns (address) {
        return _licences;
    }

    // -------------------------------------------------------------------------------------- internals

    /// @dev The maker's counter and signature, the token (or the creator of a creator offer), then the order's
    /// state update (nonce / partial fills), so that nothing called later can fill the same units again.
    function _authorize(Order calldata order, bytes calldata signature, uint256 units, uint256 tokenId)
        private
        returns (bytes32 digest)
    {
        address maker = order.maker;
        Account storage a = _makers[maker];
        uint256 account = a.packed;
        uint64 current = uint64(account >> COUNTER_SHIFT);
        if (order.counter != current) revert DesignMarket__CounterStale(maker, order.counter, current);
        digest = _hashOrder(order);
        _checkSignature(maker, digest, signature);
        if (order.scope == ONE_TOKEN) {
            uint256 signed = order.tokenId;
            if (tokenId != signed) revert DesignMarket__TokenMismatch(signed, tokenId);
        } else {
            address creator = IDesignMarketRegistry(_designs).creatorOf(tokenId);
            if (creator != order.creator) revert DesignMarket__CreatorMismatch(tokenId, creator, order.creator);
        }
        if (order.asset == DESIGN) {
            if (units != 1) revert DesignMarket__Overfill(digest, units, 1);
            _useNonce(a, account, maker, order.nonce);
        } else {
            _fillUnits(order, a, account, digest, units);
        }
    }

    /// @dev Records `units` more of a licence order: the nonce is used when the order completes; until then
    /// the units are counted under its digest (a cancelled nonce stops the rest).
    function _fillUnits(Order calldata order, Account storage a, uint256 account, bytes32 digest, uint256 units)
        private
    {
        // A used nonce (complete, or cancelled part-way) stops the order whatever is left of it.
        if (_isUsed(order.maker, account, order.nonce)) revert DesignMarket__NonceUsed(order.maker, order.nonce);
        uint256 before = _filled[digest];
        uint256 left = order.amount - before; // never negative: a fill never records more than `amount`
        if (units > left) revert DesignMarket__Overfill(digest, units, left);
        if (units == left) {
            _useNonce(a, account, order.maker, order.nonce);
            // An order filled at once records nothing (its nonce says it all); one completed by parts is
            // recorded complete for `filled`.
            if (before != 0) _filled[digest] = order.amount;
        } else {
            _filled[digest] = before + units;
        }
    }

    /// @dev Pays fee, royalty and seller from the buyer, then moves the token from seller to buyer.
    function _settle(Order calldata order, bytes32 digest, uint256 units, uint256 tokenId, uint256 money) private {
        bool design = order.asset == DESIGN;
        address token = design ? _designs : _licences;
        // A design's own transfer refuses a design that is not Active. Licences are checked here (one warm
        // call): FabricationLicences refuses such transfers too, but the market does not depend on it.
        if (!design && IDesignMarketRegistry(_designs).stateOf(tokenId) != ACTIVE) {
            revert DesignMarket__DesignNotActive(tokenId);
        }
        uint256 total = order.price * units;
        uint256 fee = total * uint16(money >> FEE_SHIFT) / BPS;
        (address receiver, uint256 royalty) = _royaltyInfo(token, tokenId, total);
        // unchecked: fee <= total (feeBps <= MAX_FEE_BPS); written so that no royalty answer overflows a sum.
        unchecked {
            if (royalty > total - fee) revert DesignMarket__RoyaltyTooHigh(total, fee, royalty);
        }
        _emitFilled(order, digest, units, tokenId, total, fee, receiver, royalty);
        (address seller, address buyer) = _pay(order, money, total, fee, receiver, royalty);
        if (design) {
            _transferDesign(token, seller, buyer, tokenId);
        } else {
            LOCK.asBoolean().tstore(true);
            IERC1155(token).safeTransferFrom(seller, buyer, tokenId, units, "");
            LOCK.asBoolean().tstore(false);
        }
    }

    /// @dev `IERC2981(token).royaltyInfo(tokenId, total)`, bubbling a revert; the answer must be two words with
    /// an address first (as the compiler's decoder would check).
    function _royaltyInfo(address token, uint256 tokenId, uint256 total)
        private
        view
        returns (address receiver, uint256 royalty)
    {
        bytes4 selector = IERC2981.royaltyInfo.selector;
        bool ok;
        // slither-disable-next-line assembly (ERC-2981 query without the decoder; see contracts/SLITHER.md)
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, selector)
            mstore(add(p, 0x04), tokenId)
            mstore(add(p, 0x24), total)
            // The answer goes to the two scratch words (0x00-0x3f).
            if iszero(staticcall(gas(), token, p, 0x44, 0x00, 0x40)) {
                returndatacopy(p, 0, returndatasize())
                revert(p, returndatasize())
            }
            let r := mload(0x00)
            royalty := mload(0x20)
            ok := and(iszero(lt(returndatasize(), 0x40)), iszero(shr(160, r)))
            receiver := r
        }
        if (!ok) revert DesignMarket__BadRoyaltyInfo(token);
    }

    /// @dev `IERC721(token).transferFrom(from, to, tokenId)`, bubbling a revert, without the compiler's
    /// EXTCODESIZE check: `token` is the immutable DesignNFT, whose code the constructor checked.
    function _transferDesign(address token, address from, address to, uint256 tokenId) private {
        bytes4 selector = IERC721.transferFrom.selector;
        // slither-disable-next-line assembly (plain call to the immutable DesignNFT; see contracts/SLITHER.md)
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, selector)
            mstore(add(p, 0x04), from)
            mstore(add(p, 0x24), to)
            mstore(add(p, 0x44), tokenId)
            if iszero(call(gas(), token, 0, p, 0x64, 0, 0)) {
                returndatacopy(p, 0, returndatasize())
                revert(p, returndatasize())
            }
        }
    }

    /// @dev `emit OrderFilled(digest, order.maker, msg.sender, order.side, order.asset, tokenId, units,
    /// order.currency, total, fee, receiver, royalty)`, written out: the nine data words are stored once in
    /// free memory and logged (the compiler's encoder re-validated every calldata field; this is on every fill).
    /// The order's fields were range-checked when `fill` read them (`_wellFormed`, the currency, the maker);
    /// the tests compare this log with the declared event.
    function _emitFilled(
        Order calldata order,
        bytes32 digest,
        uint256 units,
        uint256 tokenId,
        uint256 total,
        uint256 fee,
        address receiver,
        uint256 royalty
    ) private {
        bytes32 topic = OrderFilled.selector;
        // slither-disable-next-line assembly (OrderFilled from validated calldata; see contracts/SLITHER.md)
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, calldataload(add(order, 0x20))) // side
            mstore(add(p, 0x20), calldataload(add(order, 0x40))) // asset
            mstore(add(p, 0x40), tokenId)
            mstore(add(p, 0x60), units)
            mstore(add(p, 0x80), calldataload(add(order, 0xc0))) // currency
            mstore(add(p, 0xa0), total)
            mstore(add(p, 0xc0), fee)
            mstore(add(p, 0xe0), receiver)
            mstore(add(p, 0x100), royalty)
            log4(p, 0x120, topic, digest, calldataload(order), caller()) // maker, taker indexed
        }
    }

    /// @dev Buyer -> treasury, royalty receiver and seller, straight (the market never holds the money).
    /// `money` is the currency's slot (treasury and fee); `fee + royalty <= total` (checked by `_settle`).
    /// Returns who sells and who buys.
    function _pay(Order calldata order, uint256 money, uint256 total, uint256 fee, address receiver, uint256 royalty)
        private
        returns (address seller, address buyer)
    {
        uint256 proceeds;
        unchecked {
            proceeds = total - fee - royalty;
        }
        (seller, buyer) = order.side == LISTING ? (order.maker, msg.sender) : (msg.sender, order.maker);
        if (receiver == seller) {
            // A creator selling its own design: one transfer instead of two, same amounts.
            proceeds += royalty;
            royalty = 0;
        }
        IERC20 currency = IERC20(order.currency);
        // `buyer` is the caller or the maker whose signature was just checked for exactly these terms.
        if (fee != 0) currency.safeTransferFrom(buyer, address(uint160(money)), fee);
        if (royalty != 0) currency.safeTransferFrom(buyer, receiver, royalty);
        if (proceeds != 0) currency.safeTransferFrom(buyer, seller, proceeds);
    }

    /// @dev ECDSA first (no EXTCODESIZE for EOAs); a contract wallet's ERC-1271 answer otherwise. A contract
    /// cannot have an address that an ECDSA key recovers to, so trying ECDSA first admits nothing new.
    function _checkSignature(address maker, bytes32 digest, bytes calldata signature) private view {
        // `_recover` answers address(0) for an invalid signature: never a match, as `_wellFormed` refused a
        // zero maker.
        if (_recover(digest, signature) == maker) return;
        if (!SignatureChecker.isValidERC1271SignatureNowCalldata(maker, digest, signature)) {
            revert DesignMarket__InvalidSignature(maker);
        }
    }

    /// @dev The signer of a 65-byte (r, s, v) signature of `digest`, or address(0) for any other length, a high
    /// s (malleable twin), a v other than 27/28 or a signature that recovers to no one. Same rules as
    /// OpenZeppelin's ECDSA.tryRecover, without its library call layers (this is on every fill).
    function _recover(bytes32 digest, bytes calldata signature) private view returns (address signer) {
        if (signature.length != 65) return address(0);
        // slither-disable-next-line assembly (ECDSA recovery without library layers; see contracts/SLITHER.md)
        assembly ("memory-safe") {
            let s := calldataload(add(signature.offset, 0x20))
            // s <= secp256k1n / 2 (EIP-2); ecrecover itself returns nothing for a v other than 27 or 28.
            if iszero(gt(s, 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0)) {
                let ptr := mload(0x40)
                mstore(ptr, digest)
                mstore(add(ptr, 0x20), byte(0, calldataload(add(signature.offset, 0x40))))
                mstore(add(ptr, 0x40), calldataload(signature.offset))
                mstore(add(ptr, 0x60), s)
                // The output goes to scratch space; no output (invalid input) leaves `signer` zero.
                let ok := staticcall(gas(), 0x01, ptr, 0x80, 0x00, 0x20)
                if and(ok, eq(returndatasize(), 0x20)) { signer := mload(0x00) }
            }
        }
    }

    /// @dev Marks `maker`'s `nonce` used (`a` = its slot, `account` = its value as read); reverts when it already
    /// was.
    function _useNonce(Account storage a, uint256 account, address maker, uint64 nonce) private {
        if (nonce < INLINE_NONCES) {
            uint256 bit = uint256(1) << nonce;
            if (account & bit != 0) revert DesignMarket__NonceUsed(maker, nonce);
            a.packed = account | bit;
        } else {
            uint256 bit = uint256(1) << (nonce & 0xff);
            uint256 bits = _nonces[maker][nonce >> 8];
            if (bits & bit != 0) revert DesignMarket__NonceUsed(maker, nonce);
            _nonces[maker][nonce >> 8] = bits | bit;
        }
    }

    function _isUsed(address maker, uint256 account, uint64 nonce) private view returns (bool) {
        if (nonce < INLINE_NONCES) return account & (uint256(1) << nonce) != 0;
        return _nonces[maker][nonce >> 8] & (uint256(1) << (nonce & 0xff)) != 0;
    }

    /// @dev A maker; side, asset and scope each 0 or 1; a non-zero price (a free "sale" would move a design
    /// without a royalty); exactly 1 unit of a design, at least 1 of licences; a creator scope only on offers
    /// and with a creator. Read straight from calldata (on every fill); out-of-range words, dirty ones
    /// included, fail (the maker's and currency's high bits are checked where `fill` reads them).
    function _wellFormed(Order calldata order) private pure returns (bool ok) {
        // slither-disable-next-line assembly (order shape read straight from calldata; see contracts/SLITHER.md)
        assembly ("memory-safe") {
            let maker := calldataload(order)
            let side := calldataload(add(order, 0x20))
            let asset := calldataload(add(order, 0x40))
            let scope := calldataload(add(order, 0x60))
            let creator := calldataload(add(order, 0xa0))
            let price := calldataload(add(order, 0xe0))
            let amount := calldataload(add(order, 0x100))
            ok := and(and(gt(maker, 0), lt(or(or(side, asset), scope), 2)), gt(price, 0))
            ok := and(ok, and(gt(amount, 0), or(asset, eq(amount, 1))))
            ok := and(ok, or(iszero(scope), and(side, and(gt(creator, 0), iszero(shr(160, creator))))))
        }
    }

    function _hashOrder(Order calldata order) private view returns (bytes32) {
        // Every field is one static word, so the struct hash is keccak256(typehash ‖ the order's 12 calldata
        // words). The words are hashed as sent: a field with dirty high bits yields a digest no standard
        // EIP-712 signer produces (and the fields `fill` reads are range-checked by the ABI decoder anyway).
        bytes32 structHash;
        bytes32 typeHash = ORDER_TYPEHASH;
        // slither-disable-next-line assembly (struct hash of the order's calldata words; see contracts/SLITHER.md)
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typeHash)
            calldatacopy(add(ptr, 0x20), order, 0x180)
            structHash := keccak256(ptr, 0x1a0)
        }
        return _hashTypedDataV4(structHash);
    }

    /// @dev The current fee and treasury as an allowed currency's slot.
    function _stamp() private view returns (uint256) {
        return ALLOWED | (uint256(_feeBps) << FEE_SHIFT) | uint256(uint160(_treasury));
    }

    /// @dev Copies the current fee and treasury into every allowed currency's slot.
    function _restamp() private {
        uint256 stamp = _stamp();
        uint256 n = _currencyList.length;
        for (uint256 i; i < n; ++i) {
            _currencies[_currencyList[i]] = stamp;
        }
    }
}
