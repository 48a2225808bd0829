// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice A malicious ERC-20: every `transferFrom` first calls `target` with `data` (e.g. re-entering the
/// market's `fill`) and records whether that call succeeded, then transfers normally. Mintable by anyone.
contract ReentrantERC20 is ERC20 {
    address public target;
    bytes public data;
    bool public attempted;
    bool public reentered;
    bytes public reentryError;

    constructor() ERC20("Evil", "EVIL") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Arms the hook (an empty `data` disarms it).
    function arm(address target_, bytes calldata data_) external {
        target = target_;
        data = data_;
    }

    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        if (data.length != 0 && !attempted) {
            attempted = true;
            (bool ok, bytes memory ret) = target.call(data);
            reentered = ok;
            reentryError = ret;
        }
        return super.transferFrom(from, to, value);
    }
}
