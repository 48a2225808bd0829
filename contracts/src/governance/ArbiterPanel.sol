// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ERC165} from "@openzeppelin/contracts/utils/introspection/ERC165.sol";
import {IArbiterPanel} from "../interfaces/IArbiterPanel.sol";
import {CidLib} from "../libraries/CidLib.sol";

/// @title ArbiterPanel
/// @notice The arbiters governance appoints and removes. The market assigns each new dispute to the next
/// member in turn (skipping the dispute's own parties), so no arbiter picks its cases and no party picks its
/// arbiter; a member removed mid-dispute leaves the case to `JobMarket.reassign`.
contract ArbiterPanel is IArbiterPanel, Ownable2Step, ERC165 {
    /// @notice The market whose disputes this panel judges; only it assigns.
    address public immutable market;

    address[] private _members;
    mapping(address member => uint256 indexPlusOne) private _index;
    /// @dev Round-robin cursor into `_members`.
    uint256 private _turn;

    error ArbiterPanel__NotMarket(address caller);
    error ArbiterPanel__AlreadyArbiter(address account);
    error ArbiterPanel__NotArbiter(address account);
    error ArbiterPanel__ZeroAddress();
    error ArbiterPanel__InvalidCid(bytes cid);

    event ArbiterAppointed(address indexed arbiter);
    event ArbiterRemoved(address indexed arbiter);
    event DisputeAssigned(uint256 indexed jobId, address indexed arbiter);
    /// @notice `party` put evidence (a document in content storage) on record for dispute `jobId`. Anyone may
    /// submit; readers weigh what the dispute's customer and node submitted.
    event EvidenceSubmitted(uint256 indexed jobId, address indexed party, bytes cid);

    constructor(address owner_, address market_, address[] memory members_) Ownable(owner_) {
        if (market_ == address(0)) revert ArbiterPanel__ZeroAddress();
        market = market_;
        for (uint256 i = 0; i < members_.length; ++i) {
            _appoint(members_[i]);
        }
    }

    /// @notice Adds `arbiter` to the panel (governance).
    function appoint(address arbiter) external onlyOwner {
        _appoint(arbiter);
    }

    /// @notice Removes `arbiter` from the panel (governance); its open disputes can be reassigned.
    function remove(address arbiter) external onlyOwner {
        uint256 i = _index[arbiter];
        if (i == 0) revert ArbiterPanel__NotArbiter(arbiter);
        address last = _members[_members.length - 1];
        _members[i - 1] = last;
        _index[last] = i;
        _members.pop();
        delete _index[arbiter];
        emit ArbiterRemoved(arbiter);
    }

    /// @inheritdoc IArbiterPanel
    function assign(uint256 jobId, address customer, address node) external returns (address arbiter) {
        if (msg.sender != market) revert ArbiterPanel__NotMarket(msg.sender);
        uint256 n = _members.length;
        uint256 turn = _turn;
        uint256 tries = 0;
        for (; tries < n; ++tries) {
            address candidate = _members[(turn + tries) % n];
            if (candidate != customer && candidate != node) {
                arbiter = candidate;
                break;
            }
        }
        // The turn moves past the member picked; with nobody eligible it stays.
        if (arbiter != address(0)) _turn = turn + tries + 1;
        emit DisputeAssigned(jobId, arbiter);
    }

    /// @notice Records evidence for dispute `jobId` by CID (the arbiter and, on appeal, token holders read it).
    function submitEvidence(uint256 jobId, bytes calldata cid) external {
        if (!CidLib.isValid(cid)) revert ArbiterPanel__InvalidCid(cid);
        emit EvidenceSubmitted(jobId, msg.sender, cid);
    }

    /// @inheritdoc IArbiterPanel
    function isArbiter(address account) external view returns (bool) {
        return _index[account] != 0;
    }

    /// @notice The members, in assignment order from the start of the list.
    function arbiters() external view returns (address[] memory) {
        return _members;
    }

    /// @inheritdoc ERC165
    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == type(IArbiterPanel).interfaceId || super.supportsInterface(interfaceId);
    }

    function _appoint(address arbiter) private {
        if (arbiter == address(0)) revert ArbiterPanel__ZeroAddress();
        if (_index[arbiter] != 0) revert ArbiterPanel__AlreadyArbiter(arbiter);
        _members.push(arbiter);
        _index[arbiter] = _members.length;
        emit ArbiterAppointed(arbiter);
    }
}
