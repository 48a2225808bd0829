// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC721Metadata} from "@openzeppelin/contracts/token/ERC721/extensions/IERC721Metadata.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";
import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

/// @title Designs as NFTs: one token per content digest, the creator recorded at mint, an ERC-2981 royalty
/// to the creator within a governed cap, and a moderated takedown with an appeal.
/// @notice The token id is the sha2-256 digest inside the design's CID, so the same file cannot be minted
/// twice under another CID form (v0, or v1 raw / dag-pb / dag-cbor / dag-json).
interface IDesignNFT is IERC721Metadata, IERC2981, IERC721Errors {
    /// @notice None: never minted. Active: transferable and usable. TakenDown: frozen by the moderator or
    /// governance (a copied design). Appealed: frozen, its owner or creator appealed the takedown.
    enum DesignState {
        None,
        Active,
        TakenDown,
        Appealed
    }

    error DesignNFT__InvalidCid(bytes cid);
    error DesignNFT__AlreadyMinted(uint256 tokenId);
    error DesignNFT__RoyaltyTooHigh(uint256 royaltyBps, uint256 max);
    error DesignNFT__RoyaltyCapTooHigh(uint256 maxRoyaltyBps, uint256 hardCap);
    error DesignNFT__NotMinter(address account);
    error DesignNFT__NotModerator(address account);
    error DesignNFT__NotOwnerOrCreator(uint256 tokenId, address account);
    error DesignNFT__TakenDown(uint256 tokenId);
    error DesignNFT__WrongState(uint256 tokenId, DesignState state);
    error DesignNFT__AppealClosed(uint256 tokenId);
    error DesignNFT__NotLicences(address account);
    error DesignNFT__LicencesAlreadySet(address licences);
    error DesignNFT__ZeroLicences();

    /// @notice A design was minted to `creator` (its first owner); its resale royalty goes to `royaltyReceiver`.
    /// `metadataCid` is the design's JSON metadata document (name, description, preview image, licence terms,
    /// model file CID); it is only emitted.
    event DesignMinted(
        uint256 indexed tokenId,
        address indexed creator,
        address indexed royaltyReceiver,
        bytes cid,
        bytes metadataCid,
        uint16 royaltyBps
    );
    event MinterSet(address indexed minter, bool allowed);
    event MaxRoyaltySet(uint16 maxRoyaltyBps);
    event ModeratorSet(address indexed moderator);
    event BaseURISet(string baseURI);
    event DesignTakenDown(uint256 indexed tokenId, address indexed by, bytes reasonCid);
    event DesignAppealed(uint256 indexed tokenId, address indexed by, bytes evidenceCid);
    event DesignRestored(uint256 indexed tokenId);
    event TakedownUpheld(uint256 indexed tokenId);
    event LicencesSet(address indexed licences);
    /// @notice Fabrication licences of the design were sold for the first time.
    event DesignLicensed(uint256 indexed tokenId);

    // ------------------------------------------------------------------------------------ minting

    /// @notice Mints the design `cid` to the caller, its creator and royalty receiver.
    /// @param cid the design's binary CID (sha2-256); the token id is its digest.
    /// @param metadataCid the design's JSON metadata document (a valid CID; emitted, not stored).
    /// @param royaltyBps resale and per-job royalty, at most `maxRoyaltyBps()`.
    function mint(bytes calldata cid, bytes calldata metadataCid, uint16 royaltyBps) external returns (uint256 tokenId);

    /// @notice Mints the design `cid` to `creator` with the royalty going to `royaltyReceiver` (the creator when
    /// zero). Only for minters the owner named (the bounty board: a winner minted to its designer, the royalty
    /// to a split with the sponsors). No ERC-721 receiver check, like `mint`.
    function mintFor(
        address creator,
        bytes calldata cid,
        bytes calldata metadataCid,
        uint16 royaltyBps,
        address royaltyReceiver
    ) external returns (uint256 tokenId);

    // -------------------------------------------------------------------------------------- views

    /// @notice The token id a CID maps to (its sha2-256 digest); reverts `DesignNFT__InvalidCid` for a CID of
    /// another shape or a zero digest.
    function tokenIdOf(bytes calldata cid) external pure returns (uint256);
    /// @notice The exact CID bytes the design was minted with.
    function cidOf(uint256 tokenId) external view returns (bytes memory);
    /// @notice Who minted the design (its creator), for ever.
    function creatorOf(uint256 tokenId) external view returns (address);
    /// @notice The design's royalty in basis points.
    function royaltyBpsOf(uint256 tokenId) external view returns (uint16);
    /// @notice The design's state (None when never minted).
    function stateOf(uint256 tokenId) external view returns (DesignState);
    /// @notice Whether the design was minted (in any state).
    function exists(uint256 tokenId) external view returns (bool);
    /// @notice Everything about a design; reverts `ERC721NonexistentToken` for unknown ids.
    function designOf(uint256 tokenId)
        external
        view
        returns (address owner, address creator, address royaltyReceiver, uint16 royaltyBps, DesignState state);
    /// @notice Owner, royalty, state and whether licences of it were ever sold, in one storage read (zeros and
    /// None for unknown ids, no revert): what the job market and the licence contract read for every job.
    function rightsOf(uint256 tokenId)
        external
        view
        returns (address owner, uint16 royaltyBps, DesignState state, bool licensed);
    /// @notice The fabrication licence contract (zero until governance sets it, once).
    function licences() external view returns (address);
    /// @notice When the design was taken down (0 when it is not) and whether its owner or creator may still
    /// appeal (TakenDown, not appealed before, within `APPEAL_WINDOW`).
    function takedownOf(uint256 tokenId) external view returns (uint64 takenDownAt, bool appealable);
    /// @notice The highest royalty a new mint may set (governed, at most `MAX_ROYALTY_CAP_BPS`).
    function maxRoyaltyBps() external view returns (uint16);
    /// @notice Whether `account` may call `mintFor`.
    function isMinter(address account) external view returns (bool);
    /// @notice Who may take designs down besides the owner.
    function moderator() external view returns (address);
    /// @notice The base of `tokenURI` (empty: `tokenURI` returns "").
    function baseURI() external view returns (string memory);

    /// @notice Marks a design as having fabrication licences (the licence contract only, at its first sale):
    /// from then on the job market asks the licence contract about every job for it. Never cleared.
    function markLicensed(uint256 tokenId) external;

    // ------------------------------------------------------------------------------- moderation

    /// @notice Freezes an Active design proven to be copied (moderator or owner). Starts the appeal window.
    function takedown(uint256 tokenId, bytes calldata reasonCid) external;
    /// @notice The design's owner or creator appeals a takedown within `APPEAL_WINDOW` (once per takedown).
    function appeal(uint256 tokenId, bytes calldata evidenceCid) external;
    /// @notice Governance lifts a takedown (TakenDown or Appealed -> Active).
    function restore(uint256 tokenId) external;
    /// @notice Governance rejects an appeal (Appealed -> TakenDown, final: no second appeal).
    function uphold(uint256 tokenId) external;

    // ------------------------------------------------------------------------------- governance

    /// @notice Allows or disallows `minter` to call `mintFor` (owner).
    function setMinter(address minter, bool allowed) external;
    /// @notice Sets the royalty cap for new mints (owner), at most `MAX_ROYALTY_CAP_BPS`.
    function setMaxRoyaltyBps(uint16 maxRoyaltyBps_) external;
    /// @notice Names the moderator (owner); zero for none.
    function setModerator(address moderator_) external;
    /// @notice Names the fabrication licence contract (owner, once).
    function setLicences(address licences_) external;
    /// @notice Sets the base of `tokenURI` (owner).
    function setBaseURI(string calldata baseURI_) external;
}
