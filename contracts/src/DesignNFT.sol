// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC721Metadata} from "@openzeppelin/contracts/token/ERC721/extensions/IERC721Metadata.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";
import {ERC721Utils} from "@openzeppelin/contracts/token/ERC721/utils/ERC721Utils.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {IDesignNFT} from "./interfaces/IDesignNFT.sol";

/// @title DesignNFT
/// @notice Designs as ERC-721 tokens. The token id is the sha2-256 digest inside the design's CID (so one
/// file is one token whatever CID form names it); the creator is recorded at mint; the royalty (ERC-2981, to
/// the creator or the receiver a minter named) is set at mint within a governed cap. A design proven to be
/// copied can be taken down (frozen) by the moderator or governance, with an appeal to governance.
/// @dev A lean ERC-721 of its own, because OpenZeppelin's cannot pack: a token is one storage slot
/// (owner | profile | royalty | CID form | state) and an account is one slot (balance | default profile), so a
/// designer's second mint writes one fresh slot and rewrites one warm one. A profile is a (creator, royalty
/// receiver) pair shared by all the designs minted with it; profile ids start at 1. The fabrication licence
/// contract (named once by governance, `setLicences`) flags a design at its first licence sale, so that the job
/// market, which reads `rightsOf` for every job, asks the licence contract only about licensed designs.
contract DesignNFT is IDesignNFT, Ownable2Step {
    using Strings for uint256;

    /// @notice The highest royalty cap governance may set.
    uint16 public constant MAX_ROYALTY_CAP_BPS = 5_000;
    /// @notice The royalty cap at deployment.
    uint16 public constant INITIAL_MAX_ROYALTY_BPS = 2_500;
    /// @notice How long after a takedown the design's owner or creator may appeal it.
    uint256 public constant APPEAL_WINDOW = 14 days;

    uint256 private constant BPS = 10_000;

    // Token slot: owner (bits 0-159) | profile id (160-223) | royalty bps (224-239) | CID form (240-247) |
    // state (248-254) | licensed (255). A zero slot is a token never minted.
    uint256 private constant MASK_160 = (1 << 160) - 1;
    uint256 private constant MASK_64 = (1 << 64) - 1;
    uint256 private constant PROFILE_SHIFT = 160;
    uint256 private constant BPS_SHIFT = 224;
    uint256 private constant FORM_SHIFT = 240;
    uint256 private constant STATE_SHIFT = 248; // state: bits 248-254
    uint256 private constant STATE_MASK = 0x7f;
    uint256 private constant STATE_CLEAR = ~(STATE_MASK << STATE_SHIFT);
    /// @dev Bit 255: licences of the design were sold (set once by the licence contract; never cleared).
    uint256 private constant LICENSED = 1 << 255;

    // Account slot: balance (bits 0-63) | default profile id (64-127).
    uint256 private constant DEFAULT_PROFILE_SHIFT = 64;

    // Profile slot: creator (bits 0-159) | bit 160 set when a separate royalty receiver is in `_receivers`.
    uint256 private constant HAS_RECEIVER = 1 << 160;

    // Config slot (read by every mint, nothing else on the mint path): royalty cap (bits 0-15) | profile count
    // (16-79).
    uint256 private constant COUNT_SHIFT = 16;

    // CID forms, stored per token so that `cidOf` rebuilds the exact bytes minted: 0 for CIDv0
    // (0x1220 || digest), else the first byte of the CIDv1 codec (0x01 || codec || 0x1220 || digest): 0x55 raw,
    // 0x70 dag-pb, 0x71 dag-cbor, 0xa9 dag-json (codec 0xa9 0x02).
    uint256 private constant FORM_V0 = 0;
    uint256 private constant FORM_RAW = 0x55;
    uint256 private constant FORM_DAG_PB = 0x70;
    uint256 private constant FORM_DAG_CBOR = 0x71;
    uint256 private constant FORM_DAG_JSON = 0xa9;
    /// @dev Bit `c` set for the accepted 36-byte CIDv1 codecs c: raw, dag-pb, dag-cbor.
    // slither-disable-next-line too-many-digits (a bitmap: bits 0x55, 0x70 and 0x71 set)
    uint256 private constant CODEC_BITMAP = 0x30000002000000000000000000000;
    /// @dev State Active (1) at STATE_SHIFT, for `mint`'s assembly.
    // slither-disable-next-line too-many-digits (1 << 248 spelt out: assembly takes number literals only)
    uint256 private constant STATE_ACTIVE = 0x0100000000000000000000000000000000000000000000000000000000000000;

    // For `mint`'s assembly (checked against the declarations by test/design/DesignNFT.t.sol).
    uint256 internal constant TRANSFER_TOPIC = 0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef;
    uint256 internal constant DESIGN_MINTED_TOPIC = 0xfd2576dbb001dcd42ef64c0ab9265943bcc77bfa06ef898fb68e28bf7fac451d;
    uint256 internal constant ALREADY_MINTED_SELECTOR = 0x2025f108;

    /// @dev A takedown: when, and whether its appeal was used (an upheld takedown is final).
    struct Takedown {
        uint64 takenAt;
        bool appealed;
    }

    uint256 private _config;
    address private _moderator;
    /// @dev The fabrication licence contract (set once): the only account that may mark designs licensed.
    address private _licences;
    string private _baseURI;

    mapping(uint256 tokenId => uint256 packed) private _tokens;
    mapping(address account => uint256 packed) private _accounts;
    mapping(uint256 profileId => uint256 packed) private _profiles;
    mapping(uint256 profileId => address receiver) private _receivers;
    mapping(uint256 tokenId => address approved) private _tokenApprovals;
    mapping(address owner => mapping(address operator => bool)) private _operatorApprovals;
    mapping(address account => bool) private _minters;
    mapping(uint256 tokenId => Takedown) private _takedowns;

    /// @param owner_ governance (the DAO timelock): royalty cap, minters, moderator, base URI, appeals.
    constructor(address owner_) Ownable(owner_) {
        _config = INITIAL_MAX_ROYALTY_BPS;
        emit MaxRoyaltySet(INITIAL_MAX_ROYALTY_BPS);
    }

    // ------------------------------------------------------------------------------------ minting

    /// @inheritdoc IDesignNFT
    /// @dev The hot path of the protocol's designers, written close to the storage floor: one fresh token slot,
    /// the caller's warm account slot, the royalty cap's slot, two events. Same checks as `mintFor`.
    function mint(bytes calldata cid, bytes calldata metadataCid, uint16 royaltyBps)
        external
        returns (uint256 tokenId)
    {
        uint256 form;
        uint256 config;
        uint256 account;
        uint256 accountKey;
        {
            bool valid;
            // slither-disable-next-line assembly (CID parsing and the caller's account slot; see contracts/SLITHER.md)
            assembly ("memory-safe") {
                // The design's CID: 0x1220 || digest (34 bytes), 0x01 || codec || 0x1220 || digest with codec raw,
                // dag-pb or dag-cbor (36 bytes, a bitmap test of the codec byte), or dag-json 0x01 0xa902 0x1220 ||
                // digest (37 bytes). calldataload past the end reads zeros; each branch checks the length.
                let head := calldataload(cid.offset)
                let skip := 2
                switch cid.length
                case 34 { valid := eq(shr(240, head), 0x1220) }
                case 36 {
                    form := byte(1, head)
                    valid := and(eq(and(shr(224, head), 0xff00ffff), 0x01001220), and(shr(form, CODEC_BITMAP), 1))
                    skip := 4
                }
                case 37 {
                    form := FORM_DAG_JSON
                    valid := eq(shr(216, head), 0x01a9021220)
                    skip := 5
                }
                tokenId := calldataload(add(cid.offset, skip))
                // A zero digest would be token 0, which the job market reads as "no design".
                valid := and(valid, iszero(iszero(tokenId)))
                // The metadata document's CID: same shapes.
                head := calldataload(metadataCid.offset)
                switch metadataCid.length
                case 34 { valid := and(valid, eq(shr(240, head), 0x1220)) }
                case 36 {
                    valid := and(
                        valid,
                        and(eq(and(shr(224, head), 0xff00ffff), 0x01001220), and(shr(byte(1, head), CODEC_BITMAP), 1))
                    )
                }
                case 37 { valid := and(valid, eq(shr(216, head), 0x01a9021220)) }
                default { valid := 0 }
                config := sload(_config.slot)
                valid := and(valid, iszero(gt(royaltyBps, and(config, 0xffff))))
                mstore(0, caller())
                mstore(0x20, _accounts.slot)
                accountKey := keccak256(0, 0x40)
                account := sload(accountKey)
            }
            if (!valid) _revertMint(cid, metadataCid, royaltyBps, config);
        }
        uint256 profile = (account >> DEFAULT_PROFILE_SHIFT) & MASK_64;
        if (profile == 0) {
            // A designer's first mint creates its profile (creator = receiver = the designer).
            profile = _newProfile(config, msg.sender, address(0));
            account |= profile << DEFAULT_PROFILE_SHIFT;
        }
        assembly {
            // The balance is the account slot's low 64 bits: it cannot overflow.
            sstore(accountKey, add(account, 1))
            mstore(0, tokenId)
            mstore(0x20, _tokens.slot)
            let tokenKey := keccak256(0, 0x40)
            if sload(tokenKey) {
                mstore(0, shl(224, ALREADY_MINTED_SELECTOR))
                mstore(4, tokenId)
                revert(0, 0x24)
            }
            // owner | profile | royalty | form | state Active
            sstore(
                tokenKey,
                or(
                    or(caller(), shl(PROFILE_SHIFT, profile)),
                    or(or(shl(BPS_SHIFT, royaltyBps), shl(FORM_SHIFT, form)), STATE_ACTIVE)
                )
            )
            log4(0, 0, TRANSFER_TOPIC, 0, caller(), tokenId)
            // DesignMinted's data, ABI-encoded as Solidity would (bytes, bytes, uint16), copied from calldata:
            // offsets, royalty, then each CID's length and bytes, zero-padded (34 to 37 bytes: two words).
            // Built from memory offset 0 because the function returns right after (below): the scratch space,
            // free memory pointer and zero slot are not read again.
            mstore(0, 0x60)
            mstore(0x20, 0xc0)
            mstore(0x40, royaltyBps)
            mstore(0x60, cid.length)
            mstore(0xa0, 0)
            calldatacopy(0x80, cid.offset, cid.length)
            mstore(0xc0, metadataCid.length)
            mstore(0x100, 0)
            calldatacopy(0xe0, metadataCid.offset, metadataCid.length)
            log4(0, 0x120, DESIGN_MINTED_TOPIC, tokenId, caller(), caller())
            mstore(0, tokenId)
            return(0, 0x20)
        }
    }

    /// @inheritdoc IDesignNFT
    function mintFor(
        address creator,
        bytes calldata cid,
        bytes calldata metadataCid,
        uint16 royaltyBps,
        address royaltyReceiver
    ) external returns (uint256 tokenId) {
        if (!_minters[msg.sender]) revert DesignNFT__NotMinter(msg.sender);
        if (creator == address(0)) revert ERC721InvalidReceiver(address(0));
        uint256 form;
        (tokenId, form) = _tokenIdOf(cid);
        _requireCid(metadataCid);
        uint256 config = _config;
        uint256 cap = config & 0xffff;
        if (royaltyBps > cap) revert DesignNFT__RoyaltyTooHigh(royaltyBps, cap);
        if (royaltyReceiver == address(0)) royaltyReceiver = creator;
        uint256 account = _accounts[creator];
        uint256 profile;
        if (royaltyReceiver == creator) {
            profile = (account >> DEFAULT_PROFILE_SHIFT) & MASK_64;
            if (profile == 0) {
                profile = _newProfile(config, creator, address(0));
                account |= profile << DEFAULT_PROFILE_SHIFT;
            }
        } else {
            // A separate receiver (a bounty's royalty split) gets a profile of its own.
            profile = _newProfile(config, creator, royaltyReceiver);
        }
        unchecked {
            _accounts[creator] = account + 1;
        }
        _create(tokenId, creator, profile, royaltyBps, form);
        _emitMinted(tokenId, creator, royaltyReceiver, cid, metadataCid, royaltyBps);
    }

    // ------------------------------------------------------------------------------------ ERC-721

    /// @inheritdoc IERC721
    function balanceOf(address owner_) external view returns (uint256) {
        if (owner_ == address(0)) revert ERC721InvalidOwner(address(0));
        return _accounts[owner_] & MASK_64;
    }

    /// @inheritdoc IERC721
    function ownerOf(uint256 tokenId) external view returns (address) {
        return address(uint160(_requireMinted(tokenId)));
    }

    /// @inheritdoc IERC721
    function transferFrom(address from, address to, uint256 tokenId) public {
        if (to == address(0)) revert ERC721InvalidReceiver(address(0));
        uint256 slot = _tokens[tokenId];
        address holder = address(uint160(slot));
        if (slot == 0) revert ERC721NonexistentToken(tokenId);
        if (holder != from) revert ERC721IncorrectOwner(from, tokenId, holder);
        if (_stateOf(slot) != DesignState.Active) revert DesignNFT__TakenDown(tokenId);
        if (msg.sender != holder && !_operatorApprovals[holder][msg.sender]) {
            if (_tokenApprovals[tokenId] != msg.sender) revert ERC721InsufficientApproval(msg.sender, tokenId);
        }
        // A single-token approval ends with the transfer (read first: clearing an empty slot still costs).
        if (_tokenApprovals[tokenId] != address(0)) delete _tokenApprovals[tokenId];
        _tokens[tokenId] = (slot & ~MASK_160) | uint160(to);
        if (from != to) {
            // unchecked: `from` holds this token so its balance is at least 1; balances are 64-bit counts.
            unchecked {
                _accounts[from] -= 1;
                _accounts[to] += 1;
            }
        }
        emit Transfer(from, to, tokenId);
    }

    /// @inheritdoc IERC721
    function safeTransferFrom(address from, address to, uint256 tokenId) external {
        safeTransferFrom(from, to, tokenId, "");
    }

    /// @inheritdoc IERC721
    function safeTransferFrom(address from, address to, uint256 tokenId, bytes memory data) public {
        transferFrom(from, to, tokenId);
        ERC721Utils.checkOnERC721Received(msg.sender, from, to, tokenId, data);
    }

    /// @inheritdoc IERC721
    function approve(address to, uint256 tokenId) external {
        address holder = address(uint160(_requireMinted(tokenId)));
        if (msg.sender != holder && !_operatorApprovals[holder][msg.sender]) revert ERC721InvalidApprover(msg.sender);
        _tokenApprovals[tokenId] = to;
        emit Approval(holder, to, tokenId);
    }

    /// @inheritdoc IERC721
    function setApprovalForAll(address operator, bool approved) external {
        if (operator == address(0)) revert ERC721InvalidOperator(address(0));
        _operatorApprovals[msg.sender][operator] = approved;
        emit ApprovalForAll(msg.sender, operator, approved);
    }

    /// @inheritdoc IERC721
    function getApproved(uint256 tokenId) external view returns (address) {
        _requireMinted(tokenId);
        return _tokenApprovals[tokenId];
    }

    /// @inheritdoc IERC721
    function isApprovedForAll(address owner_, address operator) external view returns (bool) {
        return _operatorApprovals[owner_][operator];
    }

    /// @inheritdoc IERC721Metadata
    function name() external pure returns (string memory) {
        return "Fabrica Design";
    }

    /// @inheritdoc IERC721Metadata
    function symbol() external pure returns (string memory) {
        return "FDSN";
    }

    /// @inheritdoc IERC721Metadata
    function tokenURI(uint256 tokenId) external view returns (string memory) {
        _requireMinted(tokenId);
        string memory base = _baseURI;
        return bytes(base).length == 0 ? "" : string.concat(base, tokenId.toString());
    }

    /// @inheritdoc IERC2981
    /// @dev The creator's royalty (or the receiver its minter named) on every sale, whoever sells.
    function royaltyInfo(uint256 tokenId, uint256 salePrice) external view returns (address receiver, uint256 amount) {
        uint256 slot = _requireMinted(tokenId);
        receiver = _receiverOf(slot);
        amount = salePrice * ((slot >> BPS_SHIFT) & 0xffff) / BPS;
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC165).interfaceId || interfaceId == type(IERC721).interfaceId
            || interfaceId == type(IERC721Metadata).interfaceId || interfaceId == type(IERC2981).interfaceId;
    }

    // -------------------------------------------------------------------------------------- views

    /// @inheritdoc IDesignNFT
    function tokenIdOf(bytes calldata cid) external pure returns (uint256 tokenId) {
        (tokenId,) = _tokenIdOf(cid);
    }

    /// @inheritdoc IDesignNFT
    function cidOf(uint256 tokenId) external view returns (bytes memory) {
        uint256 form = (_requireMinted(tokenId) >> FORM_SHIFT) & 0xff;
        bytes32 digest = bytes32(tokenId);
        if (form == FORM_V0) return abi.encodePacked(hex"1220", digest);
        if (form == FORM_RAW) return abi.encodePacked(hex"01551220", digest);
        if (form == FORM_DAG_PB) return abi.encodePacked(hex"01701220", digest);
        if (form == FORM_DAG_CBOR) return abi.encodePacked(hex"01711220", digest);
        // FORM_DAG_JSON
        return abi.encodePacked(hex"01a9021220", digest);
    }

    /// @inheritdoc IDesignNFT
    function creatorOf(uint256 tokenId) external view returns (address) {
        return address(uint160(_profiles[_profileOf(_requireMinted(tokenId))]));
    }

    /// @inheritdoc IDesignNFT
    function royaltyBpsOf(uint256 tokenId) external view returns (uint16) {
        return uint16(_requireMinted(tokenId) >> BPS_SHIFT);
    }

    /// @inheritdoc IDesignNFT
    function stateOf(uint256 tokenId) external view returns (DesignState) {
        return _stateOf(_tokens[tokenId]);
    }

    /// @inheritdoc IDesignNFT
    function exists(uint256 tokenId) external view returns (bool) {
        return _tokens[tokenId] != 0;
    }

    /// @inheritdoc IDesignNFT
    function designOf(uint256 tokenId)
        external
        view
        returns (address owner_, address creator, address royaltyReceiver, uint16 royaltyBps, DesignState state)
    {
        uint256 slot = _requireMinted(tokenId);
        owner_ = address(uint160(slot));
        creator = address(uint160(_profiles[_profileOf(slot)]));
        royaltyReceiver = _receiverOf(slot);
        royaltyBps = uint16(slot >> BPS_SHIFT);
        state = _stateOf(slot);
    }

    /// @inheritdoc IDesignNFT
    function rightsOf(uint256 tokenId)
        external
        view
        returns (address owner_, uint16 royaltyBps, DesignState state, bool licensed)
    {
        uint256 slot = _tokens[tokenId];
        return (address(uint160(slot)), uint16(slot >> BPS_SHIFT), _stateOf(slot), slot & LICENSED != 0);
    }

    /// @inheritdoc IDesignNFT
    function takedownOf(uint256 tokenId) external view returns (uint64 takenDownAt, bool appealable) {
        Takedown memory t = _takedowns[tokenId];
        takenDownAt = t.takenAt;
        // slither-disable-next-line timestamp (appeal window by design; see contracts/SLITHER.md)
        appealable = _stateOf(_tokens[tokenId]) == DesignState.TakenDown && !t.appealed
            && block.timestamp <= uint256(t.takenAt) + APPEAL_WINDOW;
    }

    /// @inheritdoc IDesignNFT
    function maxRoyaltyBps() external view returns (uint16) {
        return uint16(_config);
    }

    /// @inheritdoc IDesignNFT
    function isMinter(address account) external view returns (bool) {
        return _minters[account];
    }

    /// @inheritdoc IDesignNFT
    function licences() external view returns (address) {
        return _licences;
    }

    /// @inheritdoc IDesignNFT
    function moderator() external view returns (address) {
        return _moderator;
    }

    /// @inheritdoc IDesignNFT
    function baseURI() external view returns (string memory) {
        return _baseURI;
    }

    /// @inheritdoc IDesignNFT
    function markLicensed(uint256 tokenId) external {
        if (msg.sender != _licences) revert DesignNFT__NotLicences(msg.sender);
        uint256 slot = _requireMinted(tokenId);
        if (slot & LICENSED != 0) return;
        _tokens[tokenId] = slot | LICENSED;
        emit DesignLicensed(tokenId);
    }

    // ------------------------------------------------------------------------------- moderation

    /// @inheritdoc IDesignNFT
    function takedown(uint256 tokenId, bytes calldata reasonCid) external {
        if (msg.sender != _moderator && msg.sender != owner()) revert DesignNFT__NotModerator(msg.sender);
        _requireCid(reasonCid);
        uint256 slot = _requireState(tokenId, DesignState.Active);
        _tokens[tokenId] = _withState(slot, DesignState.TakenDown);
        _takedowns[tokenId] = Takedown(uint64(block.timestamp), false);
        emit DesignTakenDown(tokenId, msg.sender, reasonCid);
    }

    /// @inheritdoc IDesignNFT
    function appeal(uint256 tokenId, bytes calldata evidenceCid) external {
        _requireCid(evidenceCid);
        uint256 slot = _requireState(tokenId, DesignState.TakenDown);
        if (msg.sender != address(uint160(slot)) && msg.sender != address(uint160(_profiles[_profileOf(slot)]))) {
            revert DesignNFT__NotOwnerOrCreator(tokenId, msg.sender);
        }
        Takedown storage t = _takedowns[tokenId];
        // slither-disable-next-line timestamp (appeal window by design; see contracts/SLITHER.md)
        if (t.appealed || block.timestamp > uint256(t.takenAt) + APPEAL_WINDOW) {
            revert DesignNFT__AppealClosed(tokenId);
        }
        t.appealed = true;
        _tokens[tokenId] = _withState(slot, DesignState.Appealed);
        emit DesignAppealed(tokenId, msg.sender, evidenceCid);
    }

    /// @inheritdoc IDesignNFT
    function restore(uint256 tokenId) external onlyOwner {
        uint256 slot = _requireMinted(tokenId);
        DesignState state = _stateOf(slot);
        if (state != DesignState.TakenDown && state != DesignState.Appealed) {
            revert DesignNFT__WrongState(tokenId, state);
        }
        _tokens[tokenId] = _withState(slot, DesignState.Active);
        delete _takedowns[tokenId];
        emit DesignRestored(tokenId);
    }

    /// @inheritdoc IDesignNFT
    function uphold(uint256 tokenId) external onlyOwner {
        uint256 slot = _requireState(tokenId, DesignState.Appealed);
        _tokens[tokenId] = _withState(slot, DesignState.TakenDown);
        emit TakedownUpheld(tokenId);
    }

    // ------------------------------------------------------------------------------- governance

    /// @inheritdoc IDesignNFT
    function setMinter(address minter, bool allowed) external onlyOwner {
        _minters[minter] = allowed;
        emit MinterSet(minter, allowed);
    }

    /// @inheritdoc IDesignNFT
    function setMaxRoyaltyBps(uint16 maxRoyaltyBps_) external onlyOwner {
        if (maxRoyaltyBps_ > MAX_ROYALTY_CAP_BPS) {
            revert DesignNFT__RoyaltyCapTooHigh(maxRoyaltyBps_, MAX_ROYALTY_CAP_BPS);
        }
        _config = (_config & ~uint256(0xffff)) | maxRoyaltyBps_;
        emit MaxRoyaltySet(maxRoyaltyBps_);
    }

    /// @inheritdoc IDesignNFT
    function setModerator(address moderator_) external onlyOwner {
        // slither-disable-next-line missing-zero-check (zero means no moderator: only governance takes down)
        _moderator = moderator_;
        emit ModeratorSet(moderator_);
    }

    /// @inheritdoc IDesignNFT
    function setLicences(address licences_) external onlyOwner {
        if (_licences != address(0)) revert DesignNFT__LicencesAlreadySet(_licences);
        if (licences_ == address(0)) revert DesignNFT__ZeroLicences();
        _licences = licences_;
        emit LicencesSet(licences_);
    }

    /// @inheritdoc IDesignNFT
    function setBaseURI(string calldata baseURI_) external onlyOwner {
        _baseURI = baseURI_;
        emit BaseURISet(baseURI_);
    }

    // ---------------------------------------------------------------------------------- internal

    /// @dev Writes a new Active token; reverts when its digest was minted before (under any CID form).
    function _create(uint256 tokenId, address to, uint256 profile, uint256 royaltyBps, uint256 form) private {
        if (_tokens[tokenId] != 0) revert DesignNFT__AlreadyMinted(tokenId);
        _tokens[tokenId] = uint256(uint160(to)) | (profile << PROFILE_SHIFT) | (royaltyBps << BPS_SHIFT)
            | (form << FORM_SHIFT) | (uint256(DesignState.Active) << STATE_SHIFT);
        emit Transfer(address(0), to, tokenId);
    }

    /// @dev Creates profile (creator, receiver); `receiver` zero means the creator.
    function _newProfile(uint256 config, address creator, address receiver) private returns (uint256 profile) {
        // unchecked: a 64-bit count of profiles cannot overflow.
        unchecked {
            profile = ((config >> COUNT_SHIFT) & MASK_64) + 1;
        }
        _config = (config & ~(MASK_64 << COUNT_SHIFT)) | (profile << COUNT_SHIFT);
        if (receiver == address(0)) {
            _profiles[profile] = uint160(creator);
        } else {
            _profiles[profile] = uint256(uint160(creator)) | HAS_RECEIVER;
            _receivers[profile] = receiver;
        }
    }

    /// @dev Reverts with the reason a `mint` was refused.
    function _revertMint(bytes calldata cid, bytes calldata metadataCid, uint256 royaltyBps, uint256 config)
        private
        pure
    {
        _tokenIdOf(cid);
        _requireCid(metadataCid);
        revert DesignNFT__RoyaltyTooHigh(royaltyBps, config & 0xffff);
    }

    /// @dev Emits `DesignMinted` with the ABI encoding Solidity would produce, copied straight from calldata
    /// (the CIDs are 34 to 37 bytes: two padded words each). Writes past the free memory pointer without
    /// moving it: nothing is allocated after the event.
    function _emitMinted(
        uint256 tokenId,
        address creator,
        address receiver,
        bytes calldata cid,
        bytes calldata metadataCid,
        uint256 royaltyBps
    ) private {
        bytes32 topic = DesignMinted.selector;
        // slither-disable-next-line assembly (event encoding without a memory copy; see contracts/SLITHER.md)
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            let cidLen := cid.length
            let cidPadded := and(add(cidLen, 31), not(31))
            mstore(ptr, 0x60)
            mstore(add(ptr, 0x20), add(0x80, cidPadded))
            mstore(add(ptr, 0x40), royaltyBps)
            mstore(add(ptr, 0x60), cidLen)
            // Zero the last word first so that the padding after the bytes is clean.
            mstore(add(ptr, add(0x60, cidPadded)), 0)
            calldatacopy(add(ptr, 0x80), cid.offset, cidLen)
            let m := add(ptr, add(0x80, cidPadded))
            let metaLen := metadataCid.length
            let metaPadded := and(add(metaLen, 31), not(31))
            mstore(m, metaLen)
            mstore(add(m, metaPadded), 0)
            calldatacopy(add(m, 0x20), metadataCid.offset, metaLen)
            log4(ptr, add(sub(m, ptr), add(0x20, metaPadded)), topic, tokenId, creator, receiver)
        }
    }

    /// @dev The token slot; reverts `ERC721NonexistentToken` when never minted.
    function _requireMinted(uint256 tokenId) private view returns (uint256 slot) {
        slot = _tokens[tokenId];
        if (slot == 0) revert ERC721NonexistentToken(tokenId);
    }

    /// @dev The token slot; reverts unless the token is in `state`.
    function _requireState(uint256 tokenId, DesignState state) private view returns (uint256 slot) {
        slot = _requireMinted(tokenId);
        DesignState actual = _stateOf(slot);
        if (actual != state) revert DesignNFT__WrongState(tokenId, actual);
    }

    function _stateOf(uint256 slot) private pure returns (DesignState) {
        return DesignState((slot >> STATE_SHIFT) & STATE_MASK);
    }

    function _withState(uint256 slot, DesignState state) private pure returns (uint256) {
        return (slot & STATE_CLEAR) | (uint256(state) << STATE_SHIFT);
    }

    function _profileOf(uint256 slot) private pure returns (uint256) {
        return (slot >> PROFILE_SHIFT) & MASK_64;
    }

    /// @dev The royalty receiver of a token: its profile's separate receiver, else the creator.
    function _receiverOf(uint256 slot) private view returns (address) {
        uint256 profile = _profileOf(slot);
        uint256 p = _profiles[profile];
        if (p & HAS_RECEIVER != 0) return _receivers[profile];
        return address(uint160(p));
    }

    /// @dev The token id of a CID (its digest, never zero) and its form; reverts for an invalid CID.
    function _tokenIdOf(bytes calldata cid) private pure returns (uint256 tokenId, uint256 form) {
        bool ok;
        (tokenId, form, ok) = _parse(cid);
        if (!ok || tokenId == 0) revert DesignNFT__InvalidCid(cid);
    }

    /// @dev Reverts unless `cid` is a valid CID.
    function _requireCid(bytes calldata cid) private pure {
        (,, bool ok) = _parse(cid);
        if (!ok) revert DesignNFT__InvalidCid(cid);
    }

    /// @dev Parses a binary CID as `CidLib.isValid` accepts them: its sha2-256 digest, its form (see FORM_*)
    /// and whether it is valid. Reading past the CID's end (calldataload pads with zeros) is harmless: the
    /// length is checked in the same branch.
    function _parse(bytes calldata cid) private pure returns (uint256 digest, uint256 form, bool ok) {
        // slither-disable-next-line assembly (CID parsing in a few word reads; see contracts/SLITHER.md)
        assembly ("memory-safe") {
            let head := calldataload(cid.offset)
            switch cid.length
            case 34 {
                ok := eq(shr(240, head), 0x1220)
                digest := calldataload(add(cid.offset, 2))
            }
            case 36 {
                form := byte(1, head)
                // 0x01 || codec || 0x1220, codec raw (0x55), dag-pb (0x70) or dag-cbor (0x71): a bitmap test.
                ok := and(eq(and(shr(224, head), 0xff00ffff), 0x01001220), and(shr(form, CODEC_BITMAP), 1))
                digest := calldataload(add(cid.offset, 4))
            }
            case 37 {
                form := FORM_DAG_JSON
                ok := eq(shr(216, head), 0x01a9021220)
                digest := calldataload(add(cid.offset, 5))
            }
        }
    }
}
