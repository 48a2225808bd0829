// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {TestBase} from "../utils/Vm.sol";
import {DesignNFT} from "../../src/DesignNFT.sol";
import {JobMarket} from "../../src/JobMarket.sol";
import {FabricationLicences} from "../../src/design/FabricationLicences.sol";
import {IFabricationLicences} from "../../src/interfaces/IFabricationLicences.sol";
import {IDesignNFT} from "../../src/interfaces/IDesignNFT.sol";
import {IJobMarketModule} from "../../src/interfaces/IJobMarketModule.sol";
import {IJobMarketTypes} from "../../src/interfaces/IJobMarketTypes.sol";
import {TestStablecoin} from "../../src/devnet/TestStablecoin.sol";
import {Job, JobStatus} from "../../src/types/Job.sol";

/// @notice Drives licence sales, licence transfers, design sales, takedowns and licensed / royalty jobs
/// through their whole lives. Every call is predicted: the handler only makes calls that must succeed,
/// and probes the ones that must fail with try/catch, so it never reverts. It keeps a ghost ledger of
/// licences sold, spent on jobs and given back, and of every payment.
contract LicencesHandler is TestBase {
    uint256 internal constant BPS = 10_000;
    uint96 internal constant AMOUNT = 50e6;
    bytes internal constant SPEC_CID = hex"1220aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899";
    bytes internal constant PROOF_CID = hex"1220ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

    struct Env {
        DesignNFT designs;
        FabricationLicences licences;
        JobMarket market;
        TestStablecoin usd;
        address owner;
        address treasury;
        address shop;
        uint256 nodeId;
        uint96 collateral;
    }

    struct Rec {
        Job job;
        uint256 design;
        bool licensed;
        bool done;
        bool released;
    }

    DesignNFT internal immutable designs;
    FabricationLicences internal immutable licences;
    JobMarket internal immutable market;
    IJobMarketModule internal immutable module;
    TestStablecoin internal immutable usd;
    address internal immutable owner;
    address internal immutable treasury;
    address internal immutable shop;
    uint256 internal immutable nodeId;
    uint96 internal immutable collateral;

    address[] public actors;
    uint256[] public designIds;
    Rec[] internal _recs;

    // Ghost ledger.
    mapping(uint256 design => uint256) public ghostSold;
    mapping(uint256 design => uint256) public ghostSpent; // consumed by jobs and not given back
    uint256 public calls;
    string public failure;

    constructor(Env memory env) {
        designs = env.designs;
        licences = env.licences;
        market = env.market;
        module = IJobMarketModule(address(env.market));
        usd = env.usd;
        owner = env.owner;
        treasury = env.treasury;
        shop = env.shop;
        nodeId = env.nodeId;
        collateral = env.collateral;
        for (uint256 i; i < 4; ++i) {
            address a = address(uint160(0xAC7000 + i));
            actors.push(a);
            vm.prank(owner);
            usd.mint(a, 1e15);
            vm.startPrank(a);
            usd.approve(address(licences), type(uint256).max);
            usd.approve(address(market), type(uint256).max);
            vm.stopPrank();
        }
        // Three designs by the first two actors: per print, blocks with a rest, whole blocks with a cap.
        for (uint256 i; i < 3; ++i) {
            address d = actors[i % 2];
            vm.prank(d);
            uint256 id = designs.mint(abi.encodePacked(hex"1220", keccak256(abi.encode("licensed", i))), SPEC_CID, 500);
            designIds.push(id);
        }
        _setTerms(designIds[0], 3e6, 0, 0, 0);
        _setTerms(designIds[1], 2e6, 5, 8e6, 0);
        _setTerms(designIds[2], 0, 4, 10e6, 40);
    }

    function _setTerms(uint256 id, uint96 price, uint32 blockSize, uint96 blockPrice, uint32 maxPrints) internal {
        vm.prank(designs.ownerOf(id));
        licences.setTerms(id, address(usd), price, blockSize, blockPrice, maxPrints);
    }

    function _fail(string memory why) internal {
        if (bytes(failure).length == 0) failure = why;
    }

    function recCount() external view returns (uint256) {
        return _recs.length;
    }

    function rec(uint256 i) external view returns (Rec memory) {
        return _recs[i];
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function designCount() external view returns (uint256) {
        return designIds.length;
    }

    function _active(uint256 id) internal view returns (bool) {
        return designs.stateOf(id) == IDesignNFT.DesignState.Active;
    }

    // ============================================================================================ sales

    /// @notice A buyer buys licences for an actor: within the terms when the design sells, else probed.
    function buy(uint256 seed) external {
        ++calls;
        uint256 d = designIds[seed % designIds.length];
        address buyer = actors[(seed >> 8) % actors.length];
        address to = actors[(seed >> 16) % actors.length];
        (IFabricationLicences.Terms memory t, bool valid) = licences.termsOf(d);
        uint256 prints = 1 + (seed >> 24) % 12;
        if (t.blockSize != 0 && t.pricePerPrint == 0) prints = t.blockSize * (1 + (seed >> 24) % 3);
        bool soldOut = t.maxPrints != 0 && t.sold + prints > t.maxPrints;
        if (!valid || soldOut) {
            vm.prank(buyer);
            try licences.buy(d, prints, to, address(usd), type(uint256).max) {
                _fail("a sale out of terms went through");
            } catch {}
            return;
        }
        uint256 expected = t.blockSize == 0
            ? prints * t.pricePerPrint
            : (prints / t.blockSize) * t.blockPrice + (prints % t.blockSize) * t.pricePerPrint;
        _buyAndCheck(d, buyer, to, prints, expected);
        ghostSold[d] += prints;
    }

    function _buyAndCheck(uint256 d, address buyer, address to, uint256 prints, uint256 expected) internal {
        address seller = designs.ownerOf(d);
        uint256[3] memory before = [usd.balanceOf(buyer), usd.balanceOf(seller), usd.balanceOf(treasury)];
        uint256 toBefore = licences.balanceOf(to, d);
        vm.prank(buyer);
        uint256 cost = licences.buy(d, prints, to, address(usd), expected);
        if (cost != expected) _fail("cost differs from the terms");
        uint256 fee = cost * licences.feeBps() / BPS;
        if (usd.balanceOf(treasury) - before[2] != fee) _fail("the treasury's fee");
        if (buyer != seller) {
            if (before[0] - usd.balanceOf(buyer) != cost) _fail("the buyer paid other than the cost");
            if (usd.balanceOf(seller) - before[1] != cost - fee) _fail("the seller got other than the rest");
        } else if (before[0] - usd.balanceOf(buyer) != fee) {
            _fail("an owner buying its own licences pays the fee only");
        }
        if (licences.balanceOf(to, d) != toBefore + prints) _fail("licences minted");
    }

    /// @notice The design's owner changes the terms (the current owner only; the old owner is probed).
    function setTerms(uint256 seed) external {
        ++calls;
        uint256 d = designIds[seed % designIds.length];
        address current = designs.ownerOf(d);
        address other = actors[(seed >> 8) % actors.length];
        if (other != current) {
            vm.prank(other);
            try licences.setTerms(d, address(usd), 1, 0, 0, 0) {
                _fail("a non-owner set terms");
            } catch {}
        }
        uint32 blockSize = uint32((seed >> 16) % 4);
        uint96 blockPrice = blockSize == 0 ? 0 : uint96(1e6 + (seed >> 24) % 20e6);
        uint96 price = (seed >> 32) % 5 == 0 && blockSize != 0 ? 0 : uint96((seed >> 40) % 5e6);
        uint32 maxPrints = (seed >> 48) % 3 == 0 ? uint32(ghostSold[d] + (seed >> 56) % 30) : 0;
        vm.prank(current);
        licences.setTerms(d, address(usd), price, blockSize, blockPrice, maxPrints);
    }

    /// @notice A holder gives licences to another actor (refused while the design is not Active).
    function transferLicences(uint256 seed) external {
        ++calls;
        uint256 d = designIds[seed % designIds.length];
        address from = actors[(seed >> 8) % actors.length];
        address to = actors[(seed >> 16) % actors.length];
        uint256 bal = licences.balanceOf(from, d);
        if (bal == 0) return;
        uint256 n = 1 + (seed >> 24) % bal;
        bool active = _active(d);
        vm.prank(from);
        if (!active) {
            try licences.safeTransferFrom(from, to, d, n, "") {
                _fail("licences of a taken-down design moved");
            } catch {}
            return;
        }
        licences.safeTransferFrom(from, to, d, n, "");
    }

    /// @notice A design changes hands (its terms lapse with the sale).
    function transferDesign(uint256 seed) external {
        ++calls;
        uint256 d = designIds[seed % designIds.length];
        if (!_active(d)) return;
        address from = designs.ownerOf(d);
        address to = actors[(seed >> 8) % actors.length];
        vm.prank(from);
        designs.transferFrom(from, to, d);
        (IFabricationLicences.Terms memory t, bool valid) = licences.termsOf(d);
        // Terms hold only while their setter owns the design (they come back with it).
        if (valid && t.setter != to) _fail("terms survived a sale");
    }

    /// @notice Governance takes a design down or restores it.
    function toggleTakedown(uint256 seed) external {
        ++calls;
        uint256 d = designIds[seed % designIds.length];
        bool active = _active(d);
        vm.prank(owner);
        if (active) designs.takedown(d, PROOF_CID);
        else designs.restore(d);
    }

    // ============================================================================================= jobs

    /// @notice An actor posts a job for a design: it spends a licence when it holds one and does not own the
    /// design, else the royalty goes to the owner (none for its own design). Refused while not Active.
    function post(uint256 seed) external {
        ++calls;
        uint256 d = designIds[seed % designIds.length];
        address customer = actors[(seed >> 8) % actors.length];
        uint40 claimBy = uint40(block.timestamp + 1 days);
        if (!_active(d)) {
            vm.prank(customer);
            try market.post(address(usd), AMOUNT, SPEC_CID, d, claimBy, 7 days, collateral, 0, 0) {
                _fail("a job for a taken-down design");
            } catch {}
            return;
        }
        address holder = designs.ownerOf(d);
        uint256 held = licences.balanceOf(customer, d);
        bool licensed = customer != holder && held != 0;
        vm.prank(customer);
        uint256 id = market.post(address(usd), AMOUNT, SPEC_CID, d, claimBy, 7 days, collateral, 0, 0);
        Job memory job = _job(customer, claimBy);
        if (licensed) {
            job.royaltyReceiver = address(licences);
            ghostSpent[d] += 1;
            if (licences.balanceOf(customer, d) != held - 1) _fail("the licence was not spent");
        } else if (customer != holder) {
            job.royaltyReceiver = holder;
            job.royalty = uint96(uint256(AMOUNT) * 500 / BPS);
        }
        job.key = uint64(id);
        if (market.statusOf(id, job) != JobStatus.Open) _fail("the posted job differs from the prediction");
        _recs.push(Rec(job, d, licensed, false, false));
    }

    function _job(address customer, uint40 claimBy) internal view returns (Job memory job) {
        IJobMarketTypes.Params memory p = module.params();
        job.customer = customer;
        job.token = address(usd);
        job.amount = AMOUNT;
        job.collateral = collateral;
        job.bond = uint96(uint256(AMOUNT) * p.disputeBondBps / BPS);
        job.feeBps = p.feeBps;
        job.deliveryWindow = 7 days;
        job.reviewWindow = p.reviewWindow;
        job.deadline = claimBy;
    }

    /// @dev The `seed`-th unfinished job, if any.
    function _pick(uint256 seed) internal view returns (bool found, uint256 i) {
        uint256 n = _recs.length;
        if (n == 0) return (false, 0);
        for (uint256 k; k < n; ++k) {
            i = (seed % n + k) % n;
            if (!_recs[i].done) return (true, i);
        }
        return (false, 0);
    }

    /// @notice The customer cancels an open job (or, once its claim deadline passed, anyone expires it): a
    /// spent licence comes back.
    function cancel(uint256 seed) external {
        ++calls;
        (bool found, uint256 i) = _pick(seed);
        if (!found) return;
        Rec storage r = _recs[i];
        uint256 id = i + 1;
        JobStatus s = market.statusOf(id, r.job);
        if (s == JobStatus.Open && block.timestamp <= r.job.deadline) {
            vm.prank(r.job.customer);
            market.cancel(id, r.job);
        } else if (block.timestamp > r.job.deadline && (s == JobStatus.Open || s == JobStatus.Claimed)) {
            market.expire(id, r.job);
        } else {
            return;
        }
        _end(r);
    }

    function _end(Rec storage r) internal {
        r.done = true;
        if (r.licensed) {
            r.released = true;
            ghostSpent[r.design] -= 1;
            if (licences.balanceOf(r.job.customer, r.design) == 0) _fail("the licence did not come back");
        }
    }

    /// @notice The shop claims, delivers and the customer accepts: a spent licence stays spent.
    function fabricate(uint256 seed) external {
        ++calls;
        (bool found, uint256 i) = _pick(seed);
        if (!found) return;
        Rec storage r = _recs[i];
        uint256 id = i + 1;
        if (market.statusOf(id, r.job) != JobStatus.Open || block.timestamp > r.job.deadline) return;
        vm.prank(shop);
        market.claim(id, r.job, nodeId);
        r.job.node = shop;
        r.job.deadline = uint40(block.timestamp + r.job.deliveryWindow);
        if (seed % 3 == 0) return; // left claimed: it may expire later
        vm.prank(shop);
        market.deliver(id, r.job, PROOF_CID);
        r.job.deadline = uint40(block.timestamp + r.job.reviewWindow);
        vm.prank(r.job.customer);
        market.accept(id, r.job);
        r.done = true;
    }

    /// @notice Time passes (claim deadlines and delivery windows run out).
    function warp(uint256 seed) external {
        ++calls;
        vm.warp(block.timestamp + 1 hours + seed % 8 days);
    }
}
