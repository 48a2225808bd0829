// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {TestBase} from "./Vm.sol";
import {FabToken} from "../../src/FabToken.sol";
import {NodeRegistry} from "../../src/NodeRegistry.sol";
import {JobMarket} from "../../src/JobMarket.sol";
import {JobMarketModule} from "../../src/market/JobMarketModule.sol";
import {DesignNFT} from "../../src/DesignNFT.sol";
import {FabricationLicences} from "../../src/design/FabricationLicences.sol";
import {IDesignNFT} from "../../src/interfaces/IDesignNFT.sol";
import {IDesignRights} from "../../src/interfaces/IDesignRights.sol";
import {TestStablecoin} from "../../src/devnet/TestStablecoin.sol";
import {IJobMarket} from "../../src/interfaces/IJobMarket.sol";
import {IJobMarketTypes} from "../../src/interfaces/IJobMarketTypes.sol";
import {IJobMarketModule} from "../../src/interfaces/IJobMarketModule.sol";
import {INodeRegistry} from "../../src/interfaces/INodeRegistry.sol";
import {Job, JobStatus} from "../../src/types/Job.sol";

/// @notice Deploys the protocol the way `fabrica devnet up` does and offers lifecycle helpers.
abstract contract Fixture is TestBase {
    address internal owner = address(0xA11CE);
    address internal treasury = address(0x7EA5);
    address internal arbiter = address(0xA4B1);
    address internal court = address(0xC0DE7);
    address internal customer = address(0xC0FFEE);
    address internal shop = address(0x5409);
    address internal designer = address(0xD351);

    uint96 internal constant MIN_STAKE = 1_000e18;
    uint96 internal constant MIN_COLLATERAL = 10e18;
    uint40 internal constant UNBOND_DELAY = 7 days;
    uint32 internal constant REVIEW_WINDOW = 3 days;
    uint16 internal constant FEE_BPS = 250;
    uint16 internal constant BOND_BPS = 1_000;
    uint32 internal constant HAND_BACK_WINDOW = 1 hours;
    uint16 internal constant HAND_BACK_PENALTY_BPS = 1_000;
    uint16 internal constant EXPIRY_SLASH_BPS = 5_000;
    uint16 internal constant COMPENSATION_BPS = 5_000;
    uint32 internal constant DISPUTE_WINDOW = 7 days;
    uint32 internal constant APPEAL_WINDOW = 3 days;
    uint32 internal constant COURT_WINDOW = 14 days;
    uint16 internal constant ARBITER_FEE_BPS = 2_000;
    /// @dev Collateral rates for the 6-decimal stablecoin, FAB wei per base unit in 1e18 fixed point:
    /// at least 0.01 FAB and at most 10 FAB per USD of payment (and never below MIN_COLLATERAL).
    uint112 internal constant MIN_RATE = 1e28;
    uint112 internal constant MAX_RATE = 1e31;

    bytes internal constant SPEC_CID = hex"1220aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899";
    bytes internal constant PROOF_CID =
        hex"01551220ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
    bytes internal constant META_CID = hex"12201111111111111111111111111111111111111111111111111111111111111111";
    bytes32 internal constant ENC_KEY = bytes32(uint256(0xE5C));
    /// @dev The fixture's design (its token id is the digest).
    bytes internal constant DESIGN_CID = hex"1220d351d351d351d351d351d351d351d351d351d351d351d351d351d351d351d351";
    uint16 internal constant LICENCE_FEE_BPS = 500;

    FabToken internal fab;
    TestStablecoin internal usd;
    DesignNFT internal designs;
    /// @dev The fabrication licences: the market's design-rights contract.
    FabricationLicences internal licences;
    NodeRegistry internal registry;
    JobMarket internal market;
    /// @dev The market's disputes and governance, served at the market's address.
    IJobMarketModule internal module;
    JobMarketModule internal marketModule;
    uint256 internal nodeId;
    uint256 internal designId;

    function setUp() public virtual {
        fab = new FabToken(owner, 1_000_000_000e18);
        usd = new TestStablecoin(owner);
        designs = new DesignNFT(owner);
        // The licences, the registry and the market name each other immutably: predict the market's address.
        address predictedMarket = vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 3);
        licences =
            new FabricationLicences(owner, IDesignNFT(address(designs)), predictedMarket, treasury, LICENCE_FEE_BPS);
        vm.prank(owner);
        designs.setLicences(address(licences));
        registry = new NodeRegistry(owner, fab, predictedMarket, MIN_STAKE, UNBOND_DELAY);
        marketModule =
            new JobMarketModule(predictedMarket, INodeRegistry(address(registry)), IDesignRights(address(licences)));
        market = new JobMarket(
            owner,
            INodeRegistry(address(registry)),
            IDesignRights(address(licences)),
            marketModule,
            treasury,
            arbiter,
            court,
            defaultParams()
        );
        require(address(market) == predictedMarket, "fixture: market address");
        module = IJobMarketModule(address(market));
        vm.prank(owner);
        module.setTokenTerms(address(usd), usdTerms());

        vm.startPrank(owner);
        usd.mint(customer, 1_000_000e6);
        fab.transfer(shop, 100_000e18);
        vm.stopPrank();
        vm.prank(customer);
        usd.approve(address(market), type(uint256).max);

        vm.startPrank(shop);
        fab.approve(address(registry), type(uint256).max);
        registry.stake(10_000e18);
        nodeId = registry.registerNode(1, 3, [uint32(250), 210, 220], ENC_KEY, META_CID);
        vm.stopPrank();

        vm.prank(designer);
        designId = designs.mint(DESIGN_CID, META_CID, 500);
    }

    /// @dev A fresh design CID (CIDv0) for every call: designs are one per digest.
    function nextDesignCid() internal returns (bytes memory) {
        return abi.encodePacked(hex"1220", keccak256(abi.encode("fixture design", ++_designNonce)));
    }

    uint256 private _designNonce;

    /// @dev Mints a fresh design by `creator` with `royaltyBps`.
    function mintDesign(address creator, uint256 royaltyBps) internal returns (uint256 id) {
        bytes memory cid = nextDesignCid();
        vm.prank(creator);
        id = designs.mint(cid, META_CID, uint16(royaltyBps));
    }

    function defaultParams() internal pure returns (IJobMarketTypes.Params memory) {
        return IJobMarketTypes.Params({
            feeBps: FEE_BPS,
            maxRoyaltyBps: 2_000,
            disputeBondBps: BOND_BPS,
            reviewWindow: REVIEW_WINDOW,
            minDeliveryWindow: 1 hours,
            minCollateral: MIN_COLLATERAL,
            handBackWindow: HAND_BACK_WINDOW,
            handBackPenaltyBps: HAND_BACK_PENALTY_BPS,
            expirySlashBps: EXPIRY_SLASH_BPS,
            compensationBps: COMPENSATION_BPS,
            disputeWindow: DISPUTE_WINDOW,
            appealWindow: APPEAL_WINDOW,
            courtWindow: COURT_WINDOW,
            arbiterFeeBps: ARBITER_FEE_BPS
        });
    }

    function usdTerms() internal pure returns (IJobMarketTypes.TokenTerms memory) {
        return IJobMarketTypes.TokenTerms({allowed: true, minCollateralRate: MIN_RATE, maxCollateralRate: MAX_RATE});
    }

    /// @dev The struct `post` commits to, rebuilt the way the SDK rebuilds it from JobPosted (snapshots of
    /// the market's current parameters: fee, review window, dispute bond, royalty cap).
    function openJob(uint96 amount, uint256 design, uint40 claimBy, uint32 window, uint96 collateral)
        internal
        view
        returns (Job memory job)
    {
        IJobMarketTypes.Params memory p = module.params();
        job.customer = customer;
        job.token = address(usd);
        job.amount = amount;
        job.collateral = collateral;
        job.bond = uint96(uint256(amount) * p.disputeBondBps / 10_000);
        job.feeBps = p.feeBps;
        job.deliveryWindow = window;
        job.reviewWindow = p.reviewWindow;
        job.deadline = claimBy;
        if (design != 0) {
            // The per-job royalty goes to the design's current owner (jobs with a licence: see LicencedJobs).
            address receiver = designs.ownerOf(design);
            if (receiver != customer) {
                uint256 royalty = uint256(amount) * designs.royaltyBpsOf(design) / 10_000;
                uint256 cap = uint256(amount) * p.maxRoyaltyBps / 10_000;
                job.royaltyReceiver = receiver;
                job.royalty = uint96(royalty > cap ? cap : royalty);
            }
        }
    }

    /// @dev Posts a job (fresh slot) and returns its id and struct.
    function postJob(uint96 amount, uint256 design) internal returns (uint256 id, Job memory job) {
        return postJobReusing(amount, design, 0);
    }

    /// @dev Posts a job recycling the slot `reuseKey` when it holds a finished job.
    function postJobReusing(uint96 amount, uint256 design, uint64 reuseKey)
        internal
        returns (uint256 id, Job memory job)
    {
        uint40 claimBy = uint40(block.timestamp + 1 days);
        vm.prank(customer);
        id = market.post(address(usd), amount, SPEC_CID, design, claimBy, 7 days, MIN_COLLATERAL, 0, reuseKey);
        job = openJob(amount, design, claimBy, 7 days, MIN_COLLATERAL);
        // The market recycles `reuseKey` only when it held a finished job; otherwise the job gets slot `id`.
        job.key = market.statusOf(id, withKey(job, uint64(id))) == JobStatus.Open ? uint64(id) : reuseKey;
        require(market.statusOf(id, job) == JobStatus.Open, "fixture: posted job does not match its rebuilt struct");
    }

    function withKey(Job memory job, uint64 key) internal pure returns (Job memory) {
        job.key = key;
        return job;
    }

    function claimJob(uint256 id, Job memory job) internal returns (Job memory) {
        vm.prank(shop);
        market.claim(id, job, nodeId);
        job.node = shop;
        job.deadline = uint40(block.timestamp + job.deliveryWindow);
        return job;
    }

    function deliverJob(uint256 id, Job memory job) internal returns (Job memory) {
        vm.prank(shop);
        market.deliver(id, job, PROOF_CID);
        job.deadline = uint40(block.timestamp + job.reviewWindow);
        return job;
    }
}
