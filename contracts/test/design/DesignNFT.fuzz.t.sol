// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {TestBase} from "../utils/Vm.sol";
import {CidHarness} from "../utils/CidHarness.sol";
import {DesignNFT} from "../../src/DesignNFT.sol";
import {IDesignNFT} from "../../src/interfaces/IDesignNFT.sol";

/// @notice Fuzz tests of DesignNFT: every CID form of a digest maps to one token, validity agrees with
/// CidLib, the royalty cap holds, and the packed token / account / profile slots round-trip every field
/// through transfers and takedowns.
contract DesignNFTFuzzTest is TestBase {
    bytes internal constant META = hex"12202222222222222222222222222222222222222222222222222222222222222222";
    bytes internal constant REASON = hex"12203333333333333333333333333333333333333333333333333333333333333333";
    address internal owner = address(0xA11CE);
    address internal minter = address(0x3137);
    DesignNFT internal nft;
    CidHarness internal cids;

    function setUp() public {
        nft = new DesignNFT(owner);
        cids = new CidHarness();
        vm.startPrank(owner);
        nft.setMinter(minter, true);
        nft.setMaxRoyaltyBps(5_000);
        vm.stopPrank();
    }

    /// @dev The CID of `digest` in form `k % 5`: v0, v1 raw, dag-pb, dag-cbor, dag-json.
    function _cid(bytes32 digest, uint256 k) internal pure returns (bytes memory) {
        k %= 5;
        if (k == 0) return abi.encodePacked(hex"1220", digest);
        if (k == 1) return abi.encodePacked(hex"01551220", digest);
        if (k == 2) return abi.encodePacked(hex"01701220", digest);
        if (k == 3) return abi.encodePacked(hex"01711220", digest);
        return abi.encodePacked(hex"01a9021220", digest);
    }

    function testFuzz_everyFormOfADigestIsOneToken(bytes32 digest, uint8 a, uint8 b, address designer, address copier)
        public
    {
        vm.assume(digest != 0 && designer != address(0) && copier != address(0));
        bytes memory first = _cid(digest, a);
        bytes memory second = _cid(digest, b);
        vm.assertEq(nft.tokenIdOf(first), uint256(digest), "id = digest");
        vm.assertEq(nft.tokenIdOf(second), uint256(digest), "any form");
        vm.prank(designer);
        uint256 id = nft.mint(first, META, 100);
        vm.prank(copier);
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__AlreadyMinted.selector, id));
        nft.mint(second, META, 100);
        vm.prank(minter);
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__AlreadyMinted.selector, id));
        nft.mintFor(copier, second, META, 100, copier);
        vm.assertEq(nft.cidOf(id), first, "the form minted");
        vm.assertEq(nft.ownerOf(id), designer, "first minter keeps it");
        vm.assertEq(nft.creatorOf(id), designer, "creator");
    }

    /// @notice Mint accepts exactly what CidLib accepts (bar the zero digest), over near-valid byte strings.
    function testFuzz_validityMatchesCidLib(bytes32 header, bytes32 d) public {
        bytes memory cid = _nearCid(header, d);
        bool expected = cids.isValid(cid);
        uint256 digest;
        if (expected) {
            // The digest is the last 32 bytes.
            for (uint256 i; i < 32; ++i) {
                digest = (digest << 8) | uint8(cid[cid.length - 32 + i]);
            }
            if (digest == 0) expected = false;
        }
        vm.prank(address(0xD351));
        (bool ok, bytes memory ret) = address(nft).call(abi.encodeCall(nft.mint, (cid, META, 1)));
        vm.assertEq(ok, expected, "mint agrees with CidLib");
        if (ok) {
            vm.assertEq(abi.decode(ret, (uint256)), digest, "id = trailing digest");
            vm.assertEq(nft.cidOf(digest), cid, "round trip");
        } else {
            vm.assertEq(ret, abi.encodeWithSelector(IDesignNFT.DesignNFT__InvalidCid.selector, cid), "reason");
        }
        // As metadata the zero digest is fine.
        (ok,) = address(nft).call(abi.encodeCall(nft.mint, (_cid(bytes32(uint256(1)), 0), cid, 1)));
        vm.assertEq(ok, cids.isValid(cid), "metadata CID agrees with CidLib");
    }

    /// @dev A CID of one of the five forms (or random bytes), often with one byte changed, a byte too many or
    /// too few, or a zero digest: about half of them valid.
    function _nearCid(bytes32 header, bytes32 d) internal pure returns (bytes memory cid) {
        uint8 h0 = uint8(header[0]);
        uint8 h1 = uint8(header[1]);
        if (h0 % 8 == 0) {
            cid = new bytes(33 + h1 % 6);
            for (uint256 i; i < cid.length; ++i) {
                cid[i] = header[(i + 2) % 32];
            }
            return cid;
        }
        if (h0 % 8 == 1) d = 0;
        cid = _cid(d, h1);
        uint8 h2 = uint8(header[2]);
        if (h2 % 3 == 0) cid[uint8(header[3]) % 6] = header[4]; // one header byte changed
        uint8 h5 = uint8(header[5]);
        if (h5 % 5 == 0) {
            cid = abi.encodePacked(cid, header[6]); // one byte too many
        } else if (h5 % 5 == 1) {
            bytes memory shorter = new bytes(cid.length - 1);
            for (uint256 i; i < shorter.length; ++i) {
                shorter[i] = cid[i];
            }
            cid = shorter;
        }
    }

    function testFuzz_royaltyCap(uint16 cap, uint16 bps, uint256 price, bytes32 digest) public {
        vm.assume(digest != 0);
        cap = uint16(bound(cap, 0, 5_000));
        price = bound(price, 0, type(uint240).max);
        vm.prank(owner);
        nft.setMaxRoyaltyBps(cap);
        vm.prank(address(0xD351));
        (bool ok,) = address(nft).call(abi.encodeCall(nft.mint, (_cid(digest, 0), META, bps)));
        vm.assertEq(ok, bps <= cap, "within the cap only");
        vm.prank(minter);
        (bool okFor,) =
            address(nft).call(abi.encodeCall(nft.mintFor, (address(0xD352), _cid(digest, 1), META, bps, address(0x5B))));
        vm.assertTrue(!okFor, "same digest, or over the cap");
        if (ok) {
            (address r, uint256 royalty) = nft.royaltyInfo(uint256(digest), price);
            vm.assertEq(r, address(0xD351), "creator");
            vm.assertEq(royalty, price * bps / 10_000, "royalty");
            vm.assertLe(royalty, price / 2, "never above the hard cap");
        }
    }

    function testFuzz_setMaxRoyaltyBps_hardCap(uint16 cap) public {
        vm.prank(owner);
        (bool ok,) = address(nft).call(abi.encodeCall(nft.setMaxRoyaltyBps, (cap)));
        vm.assertEq(ok, cap <= 5_000, "hard cap");
        if (ok) vm.assertEq(uint256(nft.maxRoyaltyBps()), cap, "set");
    }

    /// @notice Every field of the packed slots survives transfers, a takedown and a restore.
    function testFuzz_packedSlotsRoundTrip(
        bytes32 digest,
        uint8 form,
        address creator,
        address receiver,
        uint16 bps,
        address next,
        bool viaMinter,
        bool licensed
    ) public {
        vm.assume(digest != 0 && creator != address(0) && next != address(0) && uint160(creator) > 0xff);
        vm.assume(creator != owner && next != owner);
        bps = uint16(bound(bps, 0, 5_000));
        bytes memory cid = _cid(digest, form);
        uint256 id;
        if (viaMinter) {
            vm.prank(minter);
            id = nft.mintFor(creator, cid, META, bps, receiver);
        } else {
            vm.prank(creator);
            id = nft.mint(cid, META, bps);
            receiver = creator;
        }
        if (receiver == address(0)) receiver = creator;
        if (licensed) {
            vm.prank(owner);
            nft.setLicences(address(this));
            nft.markLicensed(id);
        }
        _check(id, creator, creator, receiver, bps, IDesignNFT.DesignState.Active, licensed, cid);
        vm.prank(creator);
        nft.transferFrom(creator, next, id);
        _check(id, next, creator, receiver, bps, IDesignNFT.DesignState.Active, licensed, cid);
        vm.assertEq(nft.balanceOf(next), 1, "balance of the new owner");
        if (next != creator) vm.assertEq(nft.balanceOf(creator), 0, "balance of the creator");
        vm.prank(owner);
        nft.takedown(id, REASON);
        _check(id, next, creator, receiver, bps, IDesignNFT.DesignState.TakenDown, licensed, cid);
        vm.prank(next);
        nft.appeal(id, META);
        _check(id, next, creator, receiver, bps, IDesignNFT.DesignState.Appealed, licensed, cid);
        vm.prank(owner);
        nft.restore(id);
        _check(id, next, creator, receiver, bps, IDesignNFT.DesignState.Active, licensed, cid);
    }

    function _check(
        uint256 id,
        address holder,
        address creator,
        address receiver,
        uint256 bps,
        IDesignNFT.DesignState state,
        bool licensed,
        bytes memory cid
    ) internal view {
        _checkDesign(id, holder, creator, receiver, bps, state);
        _checkRights(id, holder, bps, state, licensed);
        vm.assertEq(nft.cidOf(id), cid, "cid");
        (address rr, uint256 amount) = nft.royaltyInfo(id, 1e18);
        vm.assertEq(rr, receiver, "royalty receiver");
        vm.assertEq(amount, 1e18 * bps / 10_000, "royalty amount");
    }

    function _checkDesign(
        uint256 id,
        address holder,
        address creator,
        address receiver,
        uint256 bps,
        IDesignNFT.DesignState state
    ) internal view {
        (address o, address c, address r, uint16 b, IDesignNFT.DesignState s) = nft.designOf(id);
        vm.assertEq(o, holder, "owner");
        vm.assertEq(nft.ownerOf(id), holder, "ownerOf");
        vm.assertEq(c, creator, "creator");
        vm.assertEq(nft.creatorOf(id), creator, "creatorOf");
        vm.assertEq(r, receiver, "receiver");
        vm.assertEq(uint256(b), bps, "bps");
        vm.assertEq(uint256(nft.royaltyBpsOf(id)), bps, "royaltyBpsOf");
        vm.assertEq(uint256(s), uint256(state), "state");
        vm.assertEq(uint256(nft.stateOf(id)), uint256(state), "stateOf");
    }

    function _checkRights(uint256 id, address holder, uint256 bps, IDesignNFT.DesignState state, bool licensed)
        internal
        view
    {
        (address ro, uint16 rb, IDesignNFT.DesignState rs, bool rl) = nft.rightsOf(id);
        vm.assertEq(ro, holder, "rights owner");
        vm.assertEq(uint256(rb), bps, "rights bps");
        vm.assertEq(uint256(rs), uint256(state), "rights state");
        vm.assertEq(rl, licensed, "rights licensed");
    }

    /// @notice Balances follow any sequence of mints and transfers among a few accounts.
    function testFuzz_balancesFollowTransfers(uint256[12] memory moves) public {
        address[3] memory people = [address(0xA1), address(0xA2), address(0xA3)];
        uint256[] memory ids = new uint256[](moves.length);
        uint256 minted;
        for (uint256 i; i < moves.length; ++i) {
            uint256 m = moves[i];
            if (m % 3 == 0 || minted == 0) {
                address who = people[(m >> 8) % 3];
                vm.prank(who);
                ids[minted++] = nft.mint(_cid(keccak256(abi.encode(i, m)), m >> 16), META, 10);
            } else {
                uint256 id = ids[(m >> 8) % minted];
                address from = nft.ownerOf(id);
                address to = people[(m >> 16) % 3];
                vm.prank(from);
                nft.transferFrom(from, to, id);
            }
        }
        uint256[3] memory counted;
        for (uint256 i; i < minted; ++i) {
            address o = nft.ownerOf(ids[i]);
            for (uint256 p; p < 3; ++p) {
                if (o == people[p]) counted[p]++;
            }
        }
        for (uint256 p; p < 3; ++p) {
            vm.assertEq(nft.balanceOf(people[p]), counted[p], "balance = tokens owned");
        }
    }
}
