// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title What the design market reads from the design registry beyond ERC-721 and ERC-2981.
/// @notice DesignNFT implements both (`stateOf` returns its `DesignState` enum, which the ABI encodes as a
/// uint8: 0 None, 1 Active, 2 TakenDown, 3 Appealed).
interface IDesignMarketRegistry {
    /// @notice The account that minted (created) design `tokenId`.
    function creatorOf(uint256 tokenId) external view returns (address);
    /// @notice The moderation state of design `tokenId` (1 = Active).
    function stateOf(uint256 tokenId) external view returns (uint8);
}

/// @title Signed-order market for designs (ERC-721) and fabrication licences (ERC-1155).
/// @notice Makers sign EIP-712 orders off chain: listings (the maker sells) and offers (the maker buys),
/// at a fixed price per unit in an allowlisted ERC-20. A taker fills an order in one transaction that pays
/// the protocol fee, the ERC-2981 royalty of the design (always: there is no order or fill without it) and
/// the seller, each straight from the buyer, and moves the token from seller to buyer. The market never
/// holds funds or tokens. Orders die by expiry, by nonce (`cancel`, or a complete fill) or by counter
/// (`incrementCounter` kills every order signed with an older counter). Licence orders fill partially,
/// up to `amount` units in total.
interface IDesignMarket {
    /// @notice A signed order. EIP-712 type (domain "Fabrica DesignMarket", version "1"):
    /// `Order(address maker,uint8 side,uint8 asset,uint8 scope,uint256 tokenId,address creator,address currency,
    /// uint256 price,uint256 amount,uint64 expiry,uint64 nonce,uint64 counter)`.
    /// @param maker the signer (an EOA, or a contract wallet answering ERC-1271)
    /// @param side 0 listing (maker sells), 1 offer (maker buys)
    /// @param asset 0 design (the ERC-721 itself; amount must be 1), 1 licence (ERC-1155 units, id = design id)
    /// @param scope 0 the one `tokenId`; 1 any design whose `creatorOf` is `creator` (offers only)
    /// @param tokenId the design id (scope 0; ignored by scope 1, sign 0)
    /// @param creator the creator every design must have (scope 1; ignored by scope 0, sign 0)
    /// @param currency an allowlisted ERC-20 the price is paid in
    /// @param price per unit; a fill of `units` costs exactly `price * units`
    /// @param amount units on offer (1 for a design)
    /// @param expiry last second (unix time) the order can fill
    /// @param nonce the maker's order nonce (one bit in a per-maker bitmap; orders sharing a nonce cancel
    /// together). Nonces 0-191 are cheapest to fill (they share the maker's counter slot): hand them out from 0.
    /// @param counter must equal the maker's current `counterOf` at fill time
    struct Order {
        address maker;
        uint8 side;
        uint8 asset;
        uint8 scope;
        uint256 tokenId;
        address creator;
        address currency;
        uint256 price;
        uint256 amount;
        uint64 expiry;
        uint64 nonce;
        uint64 counter;
    }

    error DesignMarket__ZeroAddress(string what);
    /// @notice The designs or licences address given at deployment has no code.
    error DesignMarket__NotAContract(address account);
    error DesignMarket__FeeTooHigh(uint256 feeBps, uint256 max);
    /// @notice `MAX_CURRENCIES` are allowed already.
    error DesignMarket__TooManyCurrencies(uint256 max);
    /// @notice The order's side/asset/scope/amount/price/creator combination is not a valid order.
    error DesignMarket__InvalidOrder();
    error DesignMarket__ZeroUnits();
    error DesignMarket__OrderExpired(uint64 expiry, uint256 timestamp);
    error DesignMarket__CurrencyNotAllowed(address currency);
    error DesignMarket__CounterStale(address maker, uint64 counter, uint64 current);
    error DesignMarket__NonceUsed(address maker, uint64 nonce);
    error DesignMarket__InvalidSignature(address maker);
    /// @notice More units than the order has left.
    error DesignMarket__Overfill(bytes32 orderHash, uint256 units, uint256 remaining);
    /// @notice A scope-0 order filled with another token than the one signed.
    error DesignMarket__TokenMismatch(uint256 signed, uint256 given);
    /// @notice A creator-scope offer filled with a design of another creator.
    error DesignMarket__CreatorMismatch(uint256 tokenId, address creator, address expected);
    /// @notice A licence of a design that is not Active (taken down or under appeal) cannot be traded.
    error DesignMarket__DesignNotActive(uint256 tokenId);
    /// @notice `fill` called from inside a licence transfer's receiver hook.
    error DesignMarket__Reentrant();
    /// @notice The token's `royaltyInfo` answer is not (address, uint256).
    error DesignMarket__BadRoyaltyInfo(address token);
    /// @notice Fee plus royalty exceed the price.
    error DesignMarket__RoyaltyTooHigh(uint256 total, uint256 fee, uint256 royalty);

    /// @notice `units` of `order` were filled: `total` = price * units paid by the buyer, of which `fee` went to
    /// the treasury, `royalty` to `royaltyReceiver` and the rest to the seller.
    event OrderFilled(
        bytes32 indexed orderHash,
        address indexed maker,
        address indexed taker,
        uint8 side,
        uint8 asset,
        uint256 tokenId,
        uint256 units,
        address currency,
        uint256 total,
        uint256 fee,
        address royaltyReceiver,
        uint256 royalty
    );
    event OrderCancelled(address indexed maker, uint64 nonce);
    event CounterIncremented(address indexed maker, uint64 counter);
    event FeeSet(uint16 feeBps);
    event TreasurySet(address indexed treasury);
    event CurrencySet(address indexed currency, bool allowed);

    /// @notice Fills `units` of a signed order; the caller is the taker (the buyer of a listing, the seller
    /// of an offer). Pays fee, royalty and seller from the buyer and moves the token from seller to buyer.
    /// @param signature the maker's 65-byte ECDSA signature of the EIP-712 digest, or any bytes its ERC-1271
    /// wallet accepts
    /// @param units how many units to fill (1 for a design; licences fill partially)
    /// @param tokenId the design traded: for scope 0, `order.tokenId` or 0 (which stands for it, and is 384 gas
    /// of calldata cheaper); for a creator offer, any design of `order.creator` the taker sells
    /// @return digest the order's EIP-712 digest (`orderHash`, the key of its partial fills)
    function fill(Order calldata order, bytes calldata signature, uint256 units, uint256 tokenId)
        external
        returns (bytes32 digest);
    /// @notice Cancels the caller's orders signed with any of `nonces`; nonces already used are skipped (so a
    /// fill landing first cannot make the whole cancellation revert).
    function cancel(uint64[] calldata nonces) external;
    /// @notice Invalidates every order the caller signed with its current counter; returns the new counter.
    function incrementCounter() external returns (uint64 counter);

    /// @notice Governance: the protocol fee in basis points of each fill's total, at most `MAX_FEE_BPS`.
    function setFeeBps(uint16 newFeeBps) external;
    /// @notice Governance: the account fees are paid to.
    function setTreasury(address newTreasury) external;
    /// @notice Governance: allows or refuses an ERC-20 as order currency (at most `MAX_CURRENCIES` at once).
    /// Only plain tokens (no fee on transfer, no rebasing, no transfer hooks) should be allowed.
    function setCurrency(address currency, bool allowed) external;

    /// @notice The EIP-712 digest of `order` under this market's domain (what the maker signs).
    function orderHash(Order calldata order) external view returns (bytes32);
    /// @notice Units filled so far by partial fills of the order with this digest (an order filled completely
    /// in one call records nothing here: its nonce is used instead; see `remaining`).
    function filled(bytes32 digest) external view returns (uint256);
    /// @notice Units of `order` that can still fill now: 0 once its nonce is used, its counter stale or it has
    /// expired (signature, balances and approvals are not checked).
    function remaining(Order calldata order) external view returns (uint256);
    /// @notice Whether `maker`'s `nonce` is used (filled completely or cancelled).
    function nonceUsed(address maker, uint64 nonce) external view returns (bool);
    /// @notice The counter `maker`'s orders must carry to fill.
    function counterOf(address maker) external view returns (uint64);
    /// @notice The protocol fee in basis points.
    function feeBps() external view returns (uint16);
    /// @notice Where protocol fees go.
    function treasury() external view returns (address);
    /// @notice Whether `currency` is allowed as an order currency.
    function isCurrencyAllowed(address currency) external view returns (bool);
    /// @notice The allowed currencies (in no particular order).
    function currencies() external view returns (address[] memory);
    /// @notice The EIP-712 domain separator of this deployment.
    function domainSeparator() external view returns (bytes32);
    /// @notice The design registry (ERC-721 + ERC-2981).
    function designs() external view returns (address);
    /// @notice The fabrication licences (ERC-1155 + ERC-2981, id = design id).
    function licences() external view returns (address);
}
