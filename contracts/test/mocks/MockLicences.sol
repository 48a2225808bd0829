// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";

/// @notice Stand-in for FabricationLicences in the design market's tests: an ERC-1155 whose id is a design id,
/// mintable by anyone, with ERC-2981 `royaltyInfo` delegating to the design registry (as the real contract
/// does). `setRoyaltyOverride` makes it answer a chosen royalty instead (to test the market's bound).
contract MockLicences is ERC1155, IERC2981 {
    IERC2981 public immutable designs;
    bool public overridden;
    address public overrideReceiver;
    uint256 public overrideBps;

    constructor(IERC2981 designs_) ERC1155("") {
        designs = designs_;
    }

    /// @notice Test mint, open to anyone.
    function mint(address to, uint256 id, uint256 units) external {
        _mint(to, id, units, "");
    }

    /// @notice Answer `bps` (may exceed 100 %) to `receiver` instead of the design's royalty.
    function setRoyaltyOverride(address receiver, uint256 bps) external {
        (overridden, overrideReceiver, overrideBps) = (true, receiver, bps);
    }

    /// @inheritdoc IERC2981
    function royaltyInfo(uint256 id, uint256 price) external view returns (address, uint256) {
        if (overridden) return (overrideReceiver, price * overrideBps / 10_000);
        return designs.royaltyInfo(id, price);
    }

    function supportsInterface(bytes4 interfaceId) public view override(ERC1155, IERC165) returns (bool) {
        return interfaceId == type(IERC2981).interfaceId || super.supportsInterface(interfaceId);
    }
}
