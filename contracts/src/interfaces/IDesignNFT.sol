// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Designs as NFTs with royalties.
interface IDesignNFT {
    error DesignNFT__InvalidCid(bytes cid);
    error DesignNFT__RoyaltyTooHigh(uint256 royaltyBps, uint256 max);

    event DesignMinted(uint256 indexed tokenId, address indexed owner, address indexed minter, bytes cid, uint96 royaltyBps);

    /// @notice Mints a design with content `cid` to `to`, paying `royaltyBps` of each job to its holder.
    function mint(address to, bytes calldata cid, uint96 royaltyBps) external returns (uint256 tokenId);
    /// @notice The content CID of a design.
    function cidOf(uint256 tokenId) external view returns (bytes memory);
    /// @notice How many designs were minted (ids are 1..designCount).
    function designCount() external view returns (uint256);
}
