// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC2981} from "@openzeppelin/contracts/token/common/ERC2981.sol";
import {IDesignNFT} from "./interfaces/IDesignNFT.sol";
import {CidLib} from "./libraries/CidLib.sol";

/// @title DesignNFT
/// @notice Designs as ERC-721 tokens carrying their content CID and an ERC-2981 royalty that the job
/// market pays whenever a job fabricates the design.
contract DesignNFT is IDesignNFT, ERC721, ERC2981 {
    uint96 public constant MAX_ROYALTY_BPS = 2_500;

    uint256 private _count;
    mapping(uint256 tokenId => bytes) private _cids;

    constructor() ERC721("Fabrica Design", "FDSN") {}

    /// @inheritdoc IDesignNFT
    function mint(address to, bytes calldata cid, uint96 royaltyBps) external returns (uint256 tokenId) {
        if (!CidLib.isValid(cid)) revert DesignNFT__InvalidCid(cid);
        if (royaltyBps > MAX_ROYALTY_BPS) revert DesignNFT__RoyaltyTooHigh(royaltyBps, MAX_ROYALTY_BPS);
        // unchecked: a counter of mints cannot overflow.
        unchecked {
            tokenId = ++_count;
        }
        _cids[tokenId] = cid;
        // The royalty follows the token: ERC2981's receiver is the designer at mint, updated on transfer.
        _setTokenRoyalty(tokenId, to, royaltyBps);
        emit DesignMinted(tokenId, to, msg.sender, cid, royaltyBps);
        _safeMint(to, tokenId);
    }

    /// @inheritdoc IDesignNFT
    function cidOf(uint256 tokenId) external view returns (bytes memory) {
        _requireOwned(tokenId);
        return _cids[tokenId];
    }

    /// @notice Royalty for a sale of `tokenId` at `salePrice`; reverts for unknown designs.
    function royaltyInfo(uint256 tokenId, uint256 salePrice) public view override returns (address receiver, uint256 amount) {
        // Every minted design has a token royalty with its holder as receiver and no default royalty is
        // ever set, so a zero receiver means "no such design" (one storage read instead of two).
        (receiver, amount) = super.royaltyInfo(tokenId, salePrice);
        if (receiver == address(0)) revert ERC721NonexistentToken(tokenId);
    }

    /// @inheritdoc IDesignNFT
    function designCount() external view returns (uint256) {
        return _count;
    }

    function supportsInterface(bytes4 interfaceId) public view override(ERC721, ERC2981) returns (bool) {
        return super.supportsInterface(interfaceId);
    }

    /// @dev Royalties go to the current holder of the design.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        from = super._update(to, tokenId, auth);
        if (to != address(0) && from != address(0)) {
            (, uint256 bps) = super.royaltyInfo(tokenId, _feeDenominator());
            _setTokenRoyalty(tokenId, to, uint96(bps));
        }
    }
}
