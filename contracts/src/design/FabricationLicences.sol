// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {IERC1155MetadataURI} from "@openzeppelin/contracts/token/ERC1155/extensions/IERC1155MetadataURI.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {IDesignNFT} from "../interfaces/IDesignNFT.sol";
import {IDesignRights} from "../interfaces/IDesignRights.sol";
import {IFabricationLicences} from "../interfaces/IFabricationLicences.sol";

/// @title FabricationLicences
/// @notice Fabrication licences as ERC-1155 units (id = design id; one unit = one print). A design's owner
/// sets sale terms (per print and/or per block, a cap on prints ever sold) that hold only while it owns the
/// design; buyers pay the owner and the treasury's fee directly. The job market asks this contract, for each
/// new job with a design, whether the customer pays the per-job royalty (to the design's current owner) or
/// consumes one of its licences; a licence consumed by a job that ends without a print is given back.
/// While a design is not Active (taken down), its licences are neither sold, nor used, nor transferred.
contract FabricationLicences is IFabricationLicences, ERC1155, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using Strings for uint256;

    /// @notice The highest fee governance may set.
    uint16 public constant MAX_FEE_BPS = 1_000;
    uint256 private constant BPS = 10_000;

    /// @dev The licence a job consumed: its customer and design (deleted when released).
    struct Used {
        address customer;
        uint256 designId;
    }

    IDesignNFT private immutable _nft;
    address private immutable _market;

    address private _treasury;
    uint16 private _feeBps;
    string private _baseURI;

    mapping(uint256 designId => Terms) private _terms;
    mapping(address token => bool) private _currencies;
    mapping(uint256 jobId => Used) private _used;

    modifier onlyMarket() {
        if (msg.sender != _market) revert Licences__NotMarket(msg.sender);
        _;
    }

    /// @param owner_ governance (the DAO timelock): currencies, fee, treasury, base URI
    /// @param nft_ the DesignNFT whose designs the licences are for
    /// @param market_ the job market (deployed after this contract, at an address the deployer predicts)
    /// @param treasury_ where the fee on sales goes
    /// @param feeBps_ the treasury's share of each sale, at most `MAX_FEE_BPS`
    constructor(address owner_, IDesignNFT nft_, address market_, address treasury_, uint16 feeBps_)
        ERC1155("")
        Ownable(owner_)
    {
        if (address(nft_) == address(0)) revert Licences__ZeroAddress("nft");
        if (market_ == address(0)) revert Licences__ZeroAddress("market");
        _nft = nft_;
        _market = market_;
        _setTreasury(treasury_);
        _setFeeBps(feeBps_);
    }

    // ---------------------------------------------------------------------------------- design owner

    /// @inheritdoc IFabricationLicences
    function setTerms(
        uint256 designId,
        address token,
        uint96 pricePerPrint,
        uint32 blockSize,
        uint96 blockPrice,
        uint32 maxPrints
    ) external {
        _requireDesignOwner(designId);
        if (!_currencies[token]) revert Licences__CurrencyNotAllowed(token);
        // A block needs a price (free licences are pricePerPrint 0 without blocks); no block, no block price.
        if ((blockSize == 0) != (blockPrice == 0)) revert Licences__InvalidTerms(designId);
        Terms storage t = _terms[designId];
        t.token = token;
        t.pricePerPrint = pricePerPrint;
        t.setter = msg.sender;
        t.blockSize = blockSize;
        t.maxPrints = maxPrints;
        t.blockPrice = blockPrice;
        emit TermsSet(designId, msg.sender, token, pricePerPrint, blockSize, blockPrice, maxPrints);
    }

    /// @inheritdoc IFabricationLicences
    function clearTerms(uint256 designId) external {
        _requireDesignOwner(designId);
        Terms storage t = _terms[designId];
        // `sold` stays: the cap on prints ever sold outlives the terms.
        t.token = address(0);
        t.pricePerPrint = 0;
        t.setter = address(0);
        t.blockSize = 0;
        t.maxPrints = 0;
        t.blockPrice = 0;
        emit TermsCleared(designId, msg.sender);
    }

    // ----------------------------------------------------------------------------------------- buyer

    /// @inheritdoc IFabricationLicences
    function buy(uint256 designId, uint256 prints, address to, address currency, uint256 maxCost)
        external
        nonReentrant
        returns (uint256 cost)
    {
        (address seller,, bool licensed) = _activeDesign(designId);
        Terms memory t = _terms[designId];
        uint256 fee;
        (cost, fee) = _price(designId, t, seller, prints);
        if (currency != t.token) revert Licences__CurrencyMismatch(designId, t.token, currency);
        if (cost > maxCost) revert Licences__CostTooHigh(cost, maxCost);
        // unchecked: _price bounded prints by maxPrints - sold (or by 2^32 when unlimited), so sold fits 64 bits.
        unchecked {
            _terms[designId].sold = t.sold + uint64(prints);
        }
        emit LicencesBought(designId, msg.sender, to, prints, t.token, cost, fee, seller);
        // The first sale flags the design on the NFT: the job market asks this contract about its jobs from
        // now on (and only about flagged designs: the others cost the market a single read).
        if (!licensed) _nft.markLicensed(designId);
        // Straight from the buyer to each payee: the contract never holds funds. Zero legs are skipped.
        IERC20 token = IERC20(t.token);
        if (fee != 0) token.safeTransferFrom(msg.sender, _treasury, fee);
        if (cost != fee) token.safeTransferFrom(msg.sender, seller, cost - fee);
        _mint(to, designId, prints, "");
    }

    // ------------------------------------------------------------------------------------ job market

    /// @inheritdoc IDesignRights
    function jobRoyalty(uint256 jobId, address customer, uint256 designId, uint256 amount)
        external
        onlyMarket
        returns (address receiver, uint256 royalty)
    {
        (address owner_, uint256 royaltyBps,) = _activeDesign(designId);
        // A customer fabricating its own design pays itself nothing (and spends no licence); a design held by
        // this contract would earn a royalty nobody can withdraw: none is charged.
        if (customer == owner_ || owner_ == address(this)) return (address(0), 0);
        if (balanceOf(customer, designId) != 0) {
            _used[jobId] = Used(customer, designId);
            emit LicenceUsed(jobId, customer, designId);
            _burn(customer, designId, 1);
            return (address(this), 0);
        }
        return (owner_, amount * royaltyBps / BPS);
    }

    /// @inheritdoc IDesignRights
    function releaseLicence(uint256 jobId) external onlyMarket returns (bool released) {
        Used memory u = _used[jobId];
        if (u.customer == address(0)) return false;
        delete _used[jobId];
        emit LicenceReleased(jobId, u.customer, u.designId);
        // Without the ERC-1155 acceptance check: a customer's contract must not be able to make the market's
        // cancel or expiry revert (that would lock the shop's collateral).
        uint256[] memory ids = new uint256[](1);
        uint256[] memory values = new uint256[](1);
        ids[0] = u.designId;
        values[0] = 1;
        _update(address(0), u.customer, ids, values);
        return true;
    }

    // ------------------------------------------------------------------------------------ ERC-2981

    /// @inheritdoc IERC2981
    /// @dev A licence resale pays the design's creator, like a resale of the design.
    function royaltyInfo(uint256 designId, uint256 salePrice) external view returns (address, uint256) {
        return _nft.royaltyInfo(designId, salePrice);
    }

    /// @inheritdoc IERC1155MetadataURI
    function uri(uint256 designId) public view override(ERC1155, IERC1155MetadataURI) returns (string memory) {
        string memory base = _baseURI;
        return bytes(base).length == 0 ? "" : string.concat(base, designId.toString());
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) public view override(ERC1155, IERC165) returns (bool) {
        return interfaceId == type(IERC2981).interfaceId || super.supportsInterface(interfaceId);
    }

    // ----------------------------------------------------------------------------------------- views

    /// @inheritdoc IFabricationLicences
    function quote(uint256 designId, uint256 prints) external view returns (address token, uint256 cost, uint256 fee) {
        (address seller,,) = _activeDesign(designId);
        Terms memory t = _terms[designId];
        (cost, fee) = _price(designId, t, seller, prints);
        token = t.token;
    }

    /// @inheritdoc IFabricationLicences
    function termsOf(uint256 designId) external view returns (Terms memory terms, bool valid) {
        terms = _terms[designId];
        // slither-disable-next-line unused-return (the royalty and the licensed flag are not needed here)
        (address owner_,, IDesignNFT.DesignState state,) = _nft.rightsOf(designId);
        valid = terms.setter != address(0) && terms.setter == owner_ && _currencies[terms.token]
            && state == IDesignNFT.DesignState.Active;
    }

    /// @inheritdoc IFabricationLicences
    function licenceOf(uint256 jobId) external view returns (address customer, uint256 designId) {
        Used memory u = _used[jobId];
        return (u.customer, u.designId);
    }

    /// @inheritdoc IFabricationLicences
    function market() external view returns (address) {
        return _market;
    }

    /// @inheritdoc IDesignRights
    function designNFT() external view returns (address) {
        return address(_nft);
    }

    /// @inheritdoc IFabricationLicences
    function feeBps() external view returns (uint16) {
        return _feeBps;
    }

    /// @inheritdoc IFabricationLicences
    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @inheritdoc IFabricationLicences
    function isCurrencyAllowed(address token) external view returns (bool) {
        return _currencies[token];
    }

    /// @inheritdoc IFabricationLicences
    function baseURI() external view returns (string memory) {
        return _baseURI;
    }

    // ------------------------------------------------------------------------------------ governance

    /// @inheritdoc IFabricationLicences
    function setCurrency(address token, bool allowed) external onlyOwner {
        if (token == address(0)) revert Licences__ZeroAddress("token");
        _currencies[token] = allowed;
        emit CurrencySet(token, allowed);
    }

    /// @inheritdoc IFabricationLicences
    function setFeeBps(uint16 feeBps_) external onlyOwner {
        _setFeeBps(feeBps_);
    }

    /// @inheritdoc IFabricationLicences
    function setTreasury(address treasury_) external onlyOwner {
        _setTreasury(treasury_);
    }

    /// @inheritdoc IFabricationLicences
    function setBaseURI(string calldata baseURI_) external onlyOwner {
        _baseURI = baseURI_;
        emit BaseURISet(baseURI_);
    }

    // -------------------------------------------------------------------------------------- internal

    /// @dev Licences of a design that is not Active stay where they are (minting and burning still work:
    /// a job's licence can be given back).
    function _update(address from, address to, uint256[] memory ids, uint256[] memory values) internal override {
        if (from != address(0) && to != address(0)) {
            for (uint256 i; i < ids.length; ++i) {
                _activeDesign(ids[i]);
            }
        }
        super._update(from, to, ids, values);
    }

    /// @dev The cost of `prints` at terms `t` and the fee in it; reverts when they cannot be sold.
    function _price(uint256 designId, Terms memory t, address seller, uint256 prints)
        private
        view
        returns (uint256 cost, uint256 fee)
    {
        // Terms bind their setter only: a design sold since its terms were set has none until its new owner
        // sets them.
        if (t.setter == address(0) || t.setter != seller) revert Licences__NoTerms(designId);
        if (!_currencies[t.token]) revert Licences__CurrencyNotAllowed(t.token);
        if (prints == 0 || prints > type(uint32).max) revert Licences__InvalidPrints(prints);
        if (t.maxPrints != 0) {
            uint256 remaining = t.sold >= t.maxPrints ? 0 : t.maxPrints - t.sold;
            if (prints > remaining) revert Licences__SoldOut(designId, remaining);
        }
        uint256 blockSize = t.blockSize;
        if (blockSize == 0) {
            cost = prints * t.pricePerPrint;
        } else {
            uint256 rest = prints % blockSize;
            if (rest != 0 && t.pricePerPrint == 0) revert Licences__WholeBlocksOnly(designId, prints, blockSize);
            // slither-disable-next-line divide-before-multiply (whole blocks times the block price, by design)
            cost = (prints / blockSize) * t.blockPrice + rest * t.pricePerPrint;
        }
        fee = cost * _feeBps / BPS;
    }

    /// @dev The design's owner, royalty and licensed flag; reverts unless it exists and is Active.
    function _activeDesign(uint256 designId) private view returns (address owner_, uint256 royaltyBps, bool licensed) {
        IDesignNFT.DesignState state;
        // slither-disable-next-line calls-loop (a view of the immutable DesignNFT, once per id of a transfer)
        (owner_, royaltyBps, state, licensed) = _nft.rightsOf(designId);
        if (state != IDesignNFT.DesignState.Active) {
            if (state == IDesignNFT.DesignState.None) revert Licences__UnknownDesign(designId);
            revert Licences__DesignTakenDown(designId);
        }
    }

    /// @dev Reverts unless the caller owns the design (in any state: an owner may withdraw terms while a
    /// takedown is pending).
    function _requireDesignOwner(uint256 designId) private view {
        // slither-disable-next-line unused-return (the royalty and the licensed flag are not needed here)
        (address owner_,, IDesignNFT.DesignState state,) = _nft.rightsOf(designId);
        if (state == IDesignNFT.DesignState.None) revert Licences__UnknownDesign(designId);
        if (msg.sender != owner_) revert Licences__NotDesignOwner(designId, msg.sender, owner_);
    }

    function _setFeeBps(uint16 feeBps_) private {
        if (feeBps_ > MAX_FEE_BPS) revert Licences__FeeTooHigh(feeBps_, MAX_FEE_BPS);
        _feeBps = feeBps_;
        emit FeeSet(feeBps_);
    }

    function _setTreasury(address treasury_) private {
        if (treasury_ == address(0)) revert Licences__ZeroAddress("treasury");
        _treasury = treasury_;
        emit TreasurySet(treasury_);
    }
}
