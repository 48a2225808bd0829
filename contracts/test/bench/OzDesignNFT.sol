// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC2981} from "@openzeppelin/contracts/token/common/ERC2981.sol";

/// @notice Gas anchor for `design_mint_gas`: a stock OpenZeppelin ERC-721 with a per-token ERC-2981 royalty,
/// minted to the caller with a sequential id (no CID stored, no receiver check).
contract OzDesignNFT is ERC721, ERC2981 {
    uint256 private _count;

    constructor() ERC721("OZ Design", "OZD") {}

    /// @notice Mints the next id to the caller with `royaltyBps` of every sale to the caller.
    function mint(uint96 royaltyBps) external returns (uint256 tokenId) {
        tokenId = ++_count;
        _mint(msg.sender, tokenId);
        _setTokenRoyalty(tokenId, msg.sender, royaltyBps);
    }

    function supportsInterface(bytes4 interfaceId) public view override(ERC721, ERC2981) returns (bool) {
        return super.supportsInterface(interfaceId);
    }
}
