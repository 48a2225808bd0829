// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC721Receiver} from "@openzeppelin/contracts/token/ERC721/IERC721Receiver.sol";
import {IERC1155Receiver} from "@openzeppelin/contracts/token/ERC1155/IERC1155Receiver.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";

/// @notice An attacking buyer contract: it calls the market (`go`) and, from its ERC-1155 / ERC-721 receiver
/// hooks, calls the market again with prepared calldata. `bubble` makes a failed re-entry revert the whole
/// fill; otherwise the failure is swallowed and recorded, and the hook accepts the token.
contract ReentrantReceiver is IERC721Receiver, IERC1155Receiver {
    address public immutable market;
    bytes public reentry;
    bool public bubble;
    uint256 public hookCalls;
    bool public reentered;
    bytes public reentryError;

    constructor(address market_) {
        market = market_;
    }

    function approve(IERC20 token, address spender) external {
        token.approve(spender, type(uint256).max);
    }

    function arm(bytes calldata reentry_, bool bubble_) external {
        reentry = reentry_;
        bubble = bubble_;
    }

    /// @notice Calls the market with `data`, bubbling a revert.
    function go(bytes calldata data) external returns (bytes memory ret) {
        bool ok;
        (ok, ret) = market.call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }

    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external returns (bytes4) {
        _hook();
        return IERC1155Receiver.onERC1155Received.selector;
    }

    function onERC1155BatchReceived(address, address, uint256[] calldata, uint256[] calldata, bytes calldata)
        external
        returns (bytes4)
    {
        _hook();
        return IERC1155Receiver.onERC1155BatchReceived.selector;
    }

    function onERC721Received(address, address, uint256, bytes calldata) external returns (bytes4) {
        _hook();
        return IERC721Receiver.onERC721Received.selector;
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC1155Receiver).interfaceId || interfaceId == type(IERC165).interfaceId;
    }

    function _hook() private {
        ++hookCalls;
        if (reentry.length == 0) return;
        (bool ok, bytes memory ret) = market.call(reentry);
        reentered = ok;
        reentryError = ret;
        if (!ok && bubble) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }
}
