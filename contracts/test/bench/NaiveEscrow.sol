// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @notice Benchmark anchor only (never deployed): the escrow most teams write first — the whole job in
/// storage, OpenZeppelin's storage reentrancy guard, push payments to node, treasury and designer.
contract NaiveEscrow is ReentrancyGuard {
    using SafeERC20 for IERC20;

    enum Status { None, Open, Claimed, Delivered, Settled }

    struct Job {
        address customer;
        IERC20 token;
        uint256 amount;
        bytes specCid;
        address node;
        uint256 collateral;
        address royaltyReceiver;
        uint256 royalty;
        uint256 fee;
        uint256 claimBy;
        uint256 deliverBy;
        uint256 reviewUntil;
        bytes proofCid;
        Status status;
    }

    IERC20 public immutable stakeToken;
    IERC2981 public immutable designs;
    address public immutable treasury;
    uint256 public feeBps = 250;
    uint256 public jobCount;
    mapping(uint256 => Job) internal jobs;
    mapping(address => uint256) public stakes;
    mapping(address => uint256) public locked;

    constructor(IERC20 stakeToken_, IERC2981 designs_, address treasury_) {
        stakeToken = stakeToken_;
        designs = designs_;
        treasury = treasury_;
    }

    function stake(uint256 amount) external {
        stakes[msg.sender] += amount;
        stakeToken.safeTransferFrom(msg.sender, address(this), amount);
    }

    function post(IERC20 token, uint256 amount, bytes calldata specCid, uint256 designId, uint256 claimBy, uint256 collateral)
        external
        nonReentrant
        returns (uint256 id)
    {
        id = ++jobCount;
        Job storage j = jobs[id];
        j.customer = msg.sender;
        j.token = token;
        j.amount = amount;
        j.specCid = specCid;
        j.collateral = collateral;
        j.claimBy = claimBy;
        j.fee = amount * feeBps / 10_000;
        (j.royaltyReceiver, j.royalty) = designs.royaltyInfo(designId, amount);
        j.status = Status.Open;
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    function claim(uint256 id) external nonReentrant {
        Job storage j = jobs[id];
        require(j.status == Status.Open && block.timestamp <= j.claimBy, "not claimable");
        require(stakes[msg.sender] - locked[msg.sender] >= j.collateral, "stake");
        locked[msg.sender] += j.collateral;
        j.node = msg.sender;
        j.deliverBy = block.timestamp + 3 days;
        j.status = Status.Claimed;
    }

    function deliver(uint256 id, bytes calldata proofCid) external nonReentrant {
        Job storage j = jobs[id];
        require(j.status == Status.Claimed && msg.sender == j.node, "not deliverable");
        j.proofCid = proofCid;
        j.reviewUntil = block.timestamp + 3 days;
        j.status = Status.Delivered;
    }

    function accept(uint256 id) external nonReentrant {
        Job storage j = jobs[id];
        require(j.status == Status.Delivered && msg.sender == j.customer, "not acceptable");
        j.status = Status.Settled;
        locked[j.node] -= j.collateral;
        j.token.safeTransfer(j.node, j.amount - j.fee - j.royalty);
        j.token.safeTransfer(treasury, j.fee);
        j.token.safeTransfer(j.royaltyReceiver, j.royalty);
    }
}
