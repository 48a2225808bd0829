// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IBountyEvaluator} from "../../src/interfaces/IBountyEvaluator.sol";

/// @notice An evaluator the test scripts: it returns whatever amount it was told and can be armed to call
/// back into the board (re-entrancy attempts), recording whether that call succeeded.
contract MockEvaluator is IBountyEvaluator {
    uint256 public answer;
    bool public refuse;
    address public target;
    bytes public data;
    bool public reentered;
    uint256 public calls;

    function setAnswer(uint256 amount) external {
        answer = amount;
    }

    function setRefuse(bool refuse_) external {
        refuse = refuse_;
    }

    /// @notice Arms the hook (an empty `data` disarms it).
    function arm(address target_, bytes calldata data_) external {
        target = target_;
        data = data_;
    }

    /// @inheritdoc IBountyEvaluator
    function evaluate(uint256, uint256, bytes calldata) external returns (uint256) {
        ++calls;
        require(!refuse, "evaluator: refused");
        if (data.length != 0) {
            (bool ok,) = target.call(data);
            reentered = ok;
        }
        return answer;
    }
}

/// @notice An ERC-20 with a blocklist, like USDC: transfers to or from a blocked address revert. A blocked payee
/// is the ERC-20 form of "a payee that reverts". Mintable by anyone.
contract BlocklistToken is ERC20 {
    mapping(address => bool) public blocked;

    constructor() ERC20("Blocklist USD", "bUSD") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setBlocked(address account, bool isBlocked) external {
        blocked[account] = isBlocked;
    }

    function _update(address from, address to, uint256 value) internal override {
        require(!blocked[from] && !blocked[to], "blocked");
        super._update(from, to, value);
    }
}
