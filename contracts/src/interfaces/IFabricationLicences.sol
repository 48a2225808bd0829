// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC1155MetadataURI} from "@openzeppelin/contracts/token/ERC1155/extensions/IERC1155MetadataURI.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";
import {IDesignRights} from "./IDesignRights.sol";

/// @title Fabrication licences: ERC-1155 units, id = design id, one unit = the right to have one print of the
/// design made. A design's owner sells them (per print or by the block) in an allowlisted ERC-20; a job for a
/// design whose customer holds one consumes it instead of paying the per-job royalty.
interface IFabricationLicences is IERC1155MetadataURI, IERC2981, IDesignRights {
    /// @notice Sale terms of a design's licences, valid only while `setter` owns the design.
    struct Terms {
        address token; // ERC-20 the licences are priced in
        uint96 pricePerPrint; // price of a print outside whole blocks (0 with blockSize > 0: whole blocks only)
        address setter; // the design's owner when the terms were set
        uint32 blockSize; // prints per block (0: per print only)
        uint32 maxPrints; // cap on licences ever sold for the design (0: unlimited)
        uint96 blockPrice; // price of a whole block
        uint64 sold; // licences ever sold for the design (kept across terms)
    }

    error Licences__NotMarket(address caller);
    error Licences__UnknownDesign(uint256 designId);
    error Licences__DesignTakenDown(uint256 designId);
    error Licences__NotDesignOwner(uint256 designId, address caller, address owner);
    error Licences__CurrencyNotAllowed(address token);
    error Licences__CurrencyMismatch(uint256 designId, address expected, address given);
    error Licences__InvalidTerms(uint256 designId);
    error Licences__NoTerms(uint256 designId);
    error Licences__InvalidPrints(uint256 prints);
    error Licences__WholeBlocksOnly(uint256 designId, uint256 prints, uint256 blockSize);
    error Licences__SoldOut(uint256 designId, uint256 remaining);
    error Licences__CostTooHigh(uint256 cost, uint256 maxCost);
    error Licences__FeeTooHigh(uint256 feeBps, uint256 max);
    error Licences__ZeroAddress(bytes32 what);

    event TermsSet(
        uint256 indexed designId,
        address indexed setter,
        address token,
        uint96 pricePerPrint,
        uint32 blockSize,
        uint96 blockPrice,
        uint32 maxPrints
    );
    event TermsCleared(uint256 indexed designId, address indexed by);
    /// @notice `buyer` paid `cost` of `token` (`fee` of it to the treasury, the rest to `seller`, the design's
    /// owner) for `prints` licences of `designId`, minted to `to`.
    event LicencesBought(
        uint256 indexed designId,
        address indexed buyer,
        address indexed to,
        uint256 prints,
        address token,
        uint256 cost,
        uint256 fee,
        address seller
    );
    event LicenceUsed(uint256 indexed jobId, address indexed customer, uint256 indexed designId);
    event LicenceReleased(uint256 indexed jobId, address indexed customer, uint256 indexed designId);
    event CurrencySet(address indexed token, bool allowed);
    event FeeSet(uint16 feeBps);
    event TreasurySet(address indexed treasury);
    event BaseURISet(string baseURI);

    // ---------------------------------------------------------------------------------- design owner

    /// @notice Sets the sale terms of a design's licences (its current owner only). Terms are bound to the
    /// setter: they lapse when the design changes hands, so a seller cannot re-price the buyer's licences.
    /// @param token an allowlisted ERC-20
    /// @param pricePerPrint price of each print outside whole blocks
    /// @param blockSize prints per block (0: per print only, then `blockPrice` must be 0)
    /// @param blockPrice price of a whole block (not 0 when `blockSize` is not 0)
    /// @param maxPrints cap on licences ever sold for the design, including earlier terms' sales (0: none)
    function setTerms(
        uint256 designId,
        address token,
        uint96 pricePerPrint,
        uint32 blockSize,
        uint96 blockPrice,
        uint32 maxPrints
    ) external;

    /// @notice Stops the sale of a design's licences (its current owner only).
    function clearTerms(uint256 designId) external;

    // ----------------------------------------------------------------------------------------- buyer

    /// @notice Buys `prints` licences of an Active design at its current terms, paid by the caller in
    /// `currency` (the fee to the treasury, the rest to the design's owner, straight from the caller: the
    /// contract holds no funds), minted to `to`.
    /// @param currency the ERC-20 the caller expects to pay in (the terms' token; guards against a switch)
    /// @param maxCost the most the caller pays, in `currency`
    /// @return cost what was paid
    function buy(uint256 designId, uint256 prints, address to, address currency, uint256 maxCost)
        external
        returns (uint256 cost);

    // ----------------------------------------------------------------------------------------- views

    /// @notice Price of `prints` licences at the design's current terms and the treasury's fee in it;
    /// reverts like `buy` when they cannot be bought.
    function quote(uint256 designId, uint256 prints) external view returns (address token, uint256 cost, uint256 fee);
    /// @notice The design's stored terms and whether they are in force (set by its current owner, in an
    /// allowlisted token, the design Active).
    function termsOf(uint256 designId) external view returns (Terms memory terms, bool valid);
    /// @notice The licence job `jobId` consumed (zeros when none, or once released).
    function licenceOf(uint256 jobId) external view returns (address customer, uint256 designId);
    /// @notice The job market allowed to call `jobRoyalty` and `releaseLicence`.
    function market() external view returns (address);
    /// @notice The treasury's share of each sale, in basis points.
    function feeBps() external view returns (uint16);
    /// @notice Where the fee goes.
    function treasury() external view returns (address);
    /// @notice Whether licences may be priced in `token`.
    function isCurrencyAllowed(address token) external view returns (bool);
    /// @notice The base of `uri` (empty: `uri` returns "").
    function baseURI() external view returns (string memory);

    // ------------------------------------------------------------------------------------ governance

    /// @notice Allows or disallows an ERC-20 as a licence currency (owner).
    function setCurrency(address token, bool allowed) external;
    /// @notice Sets the treasury's fee on sales (owner), at most `MAX_FEE_BPS`.
    function setFeeBps(uint16 feeBps_) external;
    /// @notice Names the treasury (owner).
    function setTreasury(address treasury_) external;
    /// @notice Sets the base of `uri` (owner).
    function setBaseURI(string calldata baseURI_) external;
}
