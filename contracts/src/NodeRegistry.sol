// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Votes} from "@openzeppelin/contracts/governance/utils/Votes.sol";
import {INodeRegistry} from "./interfaces/INodeRegistry.sol";
import {CidLib} from "./libraries/CidLib.sol";

/// @notice What the registry asks and tells the market: the collateral an operator's unfinished jobs lock,
/// and every change to what a claim checks (bonded stake, eligibility, a node's operator and service).
interface IMarketMirror {
    function lockedOf(address operator) external view returns (uint256);
    function syncStake(address operator, uint256 staked, bool eligible) external;
    function syncNode(uint256 nodeId, address operator, bool active) external;
}

/// @title NodeRegistry
/// @notice Shops stake FAB and register fabrication nodes. The job market locks collateral against the
/// bonded stake (its own books) and slashes through `slash`. Staked FAB keeps its voting power: the
/// registry is an ERC-5805 votes source (timestamp clock, like FabToken) for the FAB it holds for each
/// operator, bonded or unbonding; an operator delegates here as on the token (self on first stake).
contract NodeRegistry is INodeRegistry, Ownable2Step, ReentrancyGuardTransient, Votes {
    using SafeERC20 for IERC20;

    uint256 public constant MAX_MIN_STAKE = 10_000_000e18;
    uint256 public constant MIN_UNBOND_DELAY = 1 days;
    uint256 public constant MAX_UNBOND_DELAY = 90 days;
    /// @dev Pending unbond requests per operator: bounds the loops in withdraw and slash.
    uint256 public constant MAX_UNBOND_REQUESTS = 32;
    /// @dev Bit 0..9 of `processes` are the defined process kinds; materials use 40 bits.
    uint32 public constant PROCESS_MASK = (1 << 10) - 1;
    uint56 public constant MATERIAL_MASK = (1 << 40) - 1;

    IERC20 private immutable _stakeToken;
    address private immutable _market;

    uint96 private _minStake;
    uint40 private _unbondDelay;
    uint64 private _nodeCount;

    /// @dev Bonded stake, pending unbonding and eligibility per operator, in one slot (read by every claim):
    /// eligibility (staked >= minimum) is kept up to date by every stake change, so a claim never reads the
    /// minimum itself; after governance raises the minimum anyone may `refreshEligibility`.
    struct Account {
        uint96 staked;
        uint96 unbonding;
        uint24 head; // index of the oldest pending request
        uint24 tail; // index after the newest
        bool eligible;
    }

    mapping(address operator => Account) private _accounts;
    mapping(address operator => mapping(uint256 index => UnbondRequest)) private _requests;
    mapping(uint256 nodeId => Node) private _nodes;

    modifier onlyMarket() {
        if (msg.sender != _market) revert NodeRegistry__NotMarket(msg.sender);
        _;
    }

    constructor(address owner_, IERC20 stakeToken_, address market_, uint96 minStake_, uint40 unbondDelay_)
        Ownable(owner_)
        EIP712("Fabrica Stake", "1")
    {
        _stakeToken = stakeToken_;
        // slither-disable-next-line missing-zero-check (the market's CREATE address, verified by the deployer)
        _market = market_;
        _setMinStake(minStake_);
        _setUnbondDelay(unbondDelay_);
    }

    // ----------------------------------------------------------------------------------- staking

    /// @inheritdoc INodeRegistry
    function stake(uint256 amount) external nonReentrant {
        if (amount == 0) revert NodeRegistry__ZeroAmount();
        Account memory a = _accounts[msg.sender];
        uint256 staked = uint256(a.staked) + amount;
        if (staked + a.unbonding > type(uint96).max) {
            revert NodeRegistry__AmountTooLarge(amount, type(uint96).max - a.staked - a.unbonding);
        }
        // Staked FAB votes: an operator who never chose a delegate here votes with it directly. Delegate
        // before the account grows: _delegate moves the units held so far, the transfer below adds `amount`.
        if (delegates(msg.sender) == address(0)) _delegate(msg.sender, msg.sender);
        a.staked = uint96(staked);
        _updateEligibility(msg.sender, a);
        _accounts[msg.sender] = a;
        IMarketMirror(_market).syncStake(msg.sender, a.staked, a.eligible);
        emit Staked(msg.sender, amount, staked);
        _transferVotingUnits(address(0), msg.sender, amount);
        _stakeToken.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc INodeRegistry
    function requestUnbond(uint256 amount) external {
        if (amount == 0) revert NodeRegistry__ZeroAmount();
        Account memory a = _accounts[msg.sender];
        if (amount > a.staked) revert NodeRegistry__InsufficientFreeStake(msg.sender, a.staked, amount);
        if (a.tail - a.head >= MAX_UNBOND_REQUESTS) revert NodeRegistry__TooManyRequests(msg.sender, MAX_UNBOND_REQUESTS);
        uint40 releaseAt = uint40(block.timestamp + _unbondDelay);
        _requests[msg.sender][a.tail] = UnbondRequest(uint96(amount), releaseAt);
        // unchecked: amount <= staked, and staked + unbonding < 2^96 (checked at stake).
        unchecked {
            a.staked -= uint96(amount);
            a.unbonding += uint96(amount);
            a.tail += 1;
        }
        _updateEligibility(msg.sender, a);
        _accounts[msg.sender] = a;
        emit UnbondRequested(msg.sender, amount, a.unbonding, releaseAt, a.staked);
        IMarketMirror(_market).syncStake(msg.sender, a.staked, a.eligible);
    }

    /// @inheritdoc INodeRegistry
    function withdraw() external nonReentrant returns (uint256 amount) {
        Account memory a = _accounts[msg.sender];
        if (a.unbonding == 0) revert NodeRegistry__NothingUnbonding(msg.sender);
        // Collateral the market holds locked beyond the bonded stake stays here until its jobs end: due
        // requests are paid only down to it (the last one paid may be paid in part).
        uint256 locked = IMarketMirror(_market).lockedOf(msg.sender);
        uint256 held = locked > a.staked ? locked - a.staked : 0;
        uint256 available = a.unbonding > held ? a.unbonding - held : 0;
        uint256 head = a.head;
        while (head < a.tail && amount < available) {
            UnbondRequest storage r = _requests[msg.sender][head];
            // slither-disable-next-line timestamp (unbonding delay by design; see contracts/SLITHER.md)
            if (r.releaseAt > block.timestamp) break;
            uint256 room = available - amount;
            if (r.amount > room) {
                r.amount -= uint96(room);
                amount = available;
                break;
            }
            amount += r.amount;
            delete _requests[msg.sender][head];
            ++head;
        }
        if (amount == 0) {
            uint256 due = head < a.tail ? _requests[msg.sender][head].releaseAt : 0;
            if (due != 0 && due <= block.timestamp) revert NodeRegistry__HeldAsCollateral(msg.sender, held);
            revert NodeRegistry__UnbondingNotDue(msg.sender, due, block.timestamp);
        }
        a.head = uint24(head);
        a.unbonding -= uint96(amount);
        _accounts[msg.sender] = a;
        emit Withdrawn(msg.sender, amount, a.unbonding);
        _transferVotingUnits(msg.sender, address(0), amount);
        _stakeToken.safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------------------------- nodes

    /// @inheritdoc INodeRegistry
    function registerNode(
        uint32 processes,
        uint56 materials,
        uint32[3] calldata buildVolumeMm,
        bytes32 encryptionKey,
        bytes calldata metadataCid
    ) external returns (uint256 nodeId) {
        _checkNode(processes, materials, buildVolumeMm, encryptionKey, metadataCid);
        // unchecked: a uint64 counter of registrations cannot overflow.
        unchecked {
            nodeId = ++_nodeCount;
        }
        _nodes[nodeId] = Node({
            operator: msg.sender,
            processes: processes,
            materials: materials,
            active: true,
            buildX: buildVolumeMm[0],
            buildY: buildVolumeMm[1],
            buildZ: buildVolumeMm[2],
            encryptionKey: encryptionKey,
            metadataCid: metadataCid
        });
        emit NodeRegistered(
            nodeId,
            msg.sender,
            processes,
            materials,
            buildVolumeMm[0],
            buildVolumeMm[1],
            buildVolumeMm[2],
            encryptionKey,
            metadataCid
        );
        IMarketMirror(_market).syncNode(nodeId, msg.sender, true);
    }

    /// @inheritdoc INodeRegistry
    function updateNode(
        uint256 nodeId,
        uint32 processes,
        uint56 materials,
        uint32[3] calldata buildVolumeMm,
        bytes32 encryptionKey,
        bytes calldata metadataCid
    ) external {
        Node storage n = _ownedNode(nodeId);
        _checkNode(processes, materials, buildVolumeMm, encryptionKey, metadataCid);
        n.processes = processes;
        n.materials = materials;
        n.buildX = buildVolumeMm[0];
        n.buildY = buildVolumeMm[1];
        n.buildZ = buildVolumeMm[2];
        n.encryptionKey = encryptionKey;
        n.metadataCid = metadataCid;
        emit NodeUpdated(
            nodeId,
            msg.sender,
            processes,
            materials,
            buildVolumeMm[0],
            buildVolumeMm[1],
            buildVolumeMm[2],
            encryptionKey,
            metadataCid
        );
    }

    /// @inheritdoc INodeRegistry
    function setNodeActive(uint256 nodeId, bool active) external {
        Node storage n = _ownedNode(nodeId);
        n.active = active;
        emit NodeActiveSet(nodeId, msg.sender, active);
        IMarketMirror(_market).syncNode(nodeId, msg.sender, active);
    }

    // -------------------------------------------------------------------------------- collateral

    /// @inheritdoc INodeRegistry
    function slash(address operator, uint256 amount) external onlyMarket nonReentrant {
        Account memory a = _accounts[operator];
        uint256 fromStaked = amount < a.staked ? amount : a.staked;
        uint256 rest = amount - fromStaked;
        a.staked -= uint96(fromStaked);
        // Unbonding stake is slashable until withdrawn: the newest requests pay first.
        uint256 tail = a.tail;
        while (rest != 0 && tail > a.head) {
            UnbondRequest storage r = _requests[operator][tail - 1];
            uint96 take = rest < r.amount ? uint96(rest) : r.amount;
            r.amount -= take;
            a.unbonding -= take;
            rest -= take;
            if (r.amount == 0) {
                delete _requests[operator][tail - 1];
                --tail;
            }
        }
        // The market never asks for more than the collateral it locked, which the stake always covers.
        if (rest != 0) revert NodeRegistry__InsufficientFreeStake(operator, amount - rest, amount);
        a.tail = uint24(tail);
        _updateEligibility(operator, a);
        _accounts[operator] = a;
        IMarketMirror(_market).syncStake(operator, a.staked, a.eligible);
        emit Slashed(operator, amount, a.staked, a.unbonding);
        _transferVotingUnits(operator, address(0), amount);
        if (amount != 0) _stakeToken.safeTransfer(_market, amount);
    }

    /// @inheritdoc INodeRegistry
    function refreshEligibility(address operator) external returns (bool eligible) {
        Account memory a = _accounts[operator];
        _updateEligibility(operator, a);
        _accounts[operator] = a;
        IMarketMirror(_market).syncStake(operator, a.staked, a.eligible);
        return a.eligible;
    }

    // ---------------------------------------------------------------------------------- governance

    /// @notice Sets the bonded stake an operator needs for its nodes to claim; operators below a raised
    /// minimum lose eligibility at their next stake change or when anyone calls `refreshEligibility`.
    function setMinStake(uint96 minStake_) external onlyOwner {
        _setMinStake(minStake_);
    }

    function _setMinStake(uint96 minStake_) private {
        if (minStake_ > MAX_MIN_STAKE) {
            revert NodeRegistry__ParameterOutOfBounds("minStake", minStake_, 0, MAX_MIN_STAKE);
        }
        _minStake = minStake_;
        emit MinStakeSet(minStake_);
    }

    /// @notice Sets the delay between an unbond request and its withdrawal.
    function setUnbondDelay(uint40 unbondDelay_) external onlyOwner {
        _setUnbondDelay(unbondDelay_);
    }

    function _setUnbondDelay(uint40 unbondDelay_) private {
        if (unbondDelay_ < MIN_UNBOND_DELAY || unbondDelay_ > MAX_UNBOND_DELAY) {
            revert NodeRegistry__ParameterOutOfBounds("unbondDelay", unbondDelay_, MIN_UNBOND_DELAY, MAX_UNBOND_DELAY);
        }
        _unbondDelay = unbondDelay_;
        emit UnbondDelaySet(unbondDelay_);
    }

    // -------------------------------------------------------------------------------------- views

    /// @inheritdoc INodeRegistry
    function stakeToken() external view returns (address) {
        return address(_stakeToken);
    }

    /// @inheritdoc INodeRegistry
    function market() external view returns (address) {
        return _market;
    }

    /// @inheritdoc INodeRegistry
    function stakeOf(address operator) external view returns (Stake memory s) {
        Account memory a = _accounts[operator];
        s.staked = a.staked;
        s.unbonding = a.unbonding;
        s.locked = uint96(IMarketMirror(_market).lockedOf(operator));
        if (a.tail > a.head) s.unbondAt = _requests[operator][a.head].releaseAt;
    }

    /// @inheritdoc INodeRegistry
    function unbondRequests(address operator) external view returns (UnbondRequest[] memory list) {
        Account memory a = _accounts[operator];
        list = new UnbondRequest[](a.tail - a.head);
        for (uint256 i; i < list.length; ++i) {
            list[i] = _requests[operator][a.head + i];
        }
    }

    /// @inheritdoc INodeRegistry
    function claimInfo(uint256 nodeId) external view returns (address operator, bool active, uint256 staked) {
        // One slot holds operator and active flag, one the operator's stake: two reads authorize a claim.
        Node storage n = _nodes[nodeId];
        operator = n.operator;
        Account storage a = _accounts[operator];
        active = n.active && a.eligible;
        staked = a.staked;
    }

    /// @inheritdoc INodeRegistry
    function nodeOf(uint256 nodeId) external view returns (Node memory) {
        if (_nodes[nodeId].operator == address(0)) revert NodeRegistry__UnknownNode(nodeId);
        return _nodes[nodeId];
    }

    /// @inheritdoc INodeRegistry
    function nodeCount() external view returns (uint256) {
        return _nodeCount;
    }

    /// @inheritdoc INodeRegistry
    function minStake() external view returns (uint256) {
        return _minStake;
    }

    /// @inheritdoc INodeRegistry
    function unbondDelay() external view returns (uint256) {
        return _unbondDelay;
    }

    /// @notice Votes are checkpointed by timestamp (ERC-6372), matching FabToken.
    function clock() public view override returns (uint48) {
        return uint48(block.timestamp);
    }

    // slither-disable-start naming-convention (CLOCK_MODE is the name ERC-6372 prescribes)
    /// @notice Machine-readable description of the clock (ERC-6372).
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }
    // slither-disable-end naming-convention

    // ----------------------------------------------------------------------------------- internal

    /// @dev Sets `a.eligible` from the current minimum (caller stores `a`); emits when it changes.
    function _updateEligibility(address operator, Account memory a) private {
        bool eligible = a.staked >= _minStake;
        if (eligible != a.eligible) {
            a.eligible = eligible;
            emit EligibilitySet(operator, eligible);
        }
    }

    /// @dev Voting units: the FAB held here for the account, bonded or unbonding.
    function _getVotingUnits(address account) internal view override returns (uint256) {
        Account storage a = _accounts[account];
        return uint256(a.staked) + a.unbonding;
    }

    function _ownedNode(uint256 nodeId) private view returns (Node storage n) {
        n = _nodes[nodeId];
        if (n.operator == address(0)) revert NodeRegistry__UnknownNode(nodeId);
        if (n.operator != msg.sender) revert NodeRegistry__NotNodeOperator(nodeId, msg.sender, n.operator);
    }

    function _checkNode(
        uint32 processes,
        uint56 materials,
        uint32[3] calldata v,
        bytes32 encryptionKey,
        bytes calldata metadataCid
    ) private pure {
        if (processes == 0 || processes & ~PROCESS_MASK != 0 || materials & ~MATERIAL_MASK != 0) {
            revert NodeRegistry__InvalidCapabilities(processes, materials);
        }
        if (v[0] == 0 || v[1] == 0 || v[2] == 0) revert NodeRegistry__InvalidBuildVolume(v[0], v[1], v[2]);
        if (encryptionKey == bytes32(0)) revert NodeRegistry__InvalidEncryptionKey();
        if (!CidLib.isValid(metadataCid)) revert NodeRegistry__InvalidCid(metadataCid);
    }
}
