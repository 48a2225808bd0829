// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {CidLib} from "../libraries/CidLib.sol";

/// @title ManifestRegistry
/// @notice The deployment manifest clients follow (contract addresses, payment tokens, parameters), stored by
/// CID; governance publishes each new version, so an upgrade of the deployment is a vote like any other.
contract ManifestRegistry is Ownable2Step {
    /// @notice CID of the current manifest (a JSON document in content storage).
    bytes public manifestCid;
    /// @notice Number of manifests published so far.
    uint256 public version;

    error ManifestRegistry__InvalidCid(bytes cid);

    event ManifestPublished(uint256 indexed version, bytes cid);

    constructor(address owner_) Ownable(owner_) {}

    /// @notice Publishes a new manifest (governance).
    function publish(bytes calldata cid) external onlyOwner {
        if (!CidLib.isValid(cid)) revert ManifestRegistry__InvalidCid(cid);
        manifestCid = cid;
        uint256 v = ++version;
        emit ManifestPublished(v, cid);
    }
}
