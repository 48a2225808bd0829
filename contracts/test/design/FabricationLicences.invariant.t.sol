// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Fixture} from "../utils/Fixture.sol";
import {LicencesHandler} from "./LicencesHandler.sol";
import {IFabricationLicences} from "../../src/interfaces/IFabricationLicences.sol";

/// @notice Invariants of fabrication licences under random sales, licence and design transfers, terms
/// changes, takedowns and licensed / royalty jobs that are cancelled, expire or are fabricated:
/// licences are conserved (held + spent on unfinished or fabricated jobs = sold), only licensed designs have
/// holders, a job's licence record exists exactly while its licence is spent, and the licence contract never
/// holds a payment.
contract FabricationLicencesInvariantTest is Fixture {
    LicencesHandler internal handler;

    function setUp() public override {
        super.setUp();
        vm.prank(owner);
        licences.setCurrency(address(usd), true);
        handler = new LicencesHandler(
            LicencesHandler.Env({
                designs: designs,
                licences: licences,
                market: market,
                usd: usd,
                owner: owner,
                treasury: treasury,
                shop: shop,
                nodeId: nodeId,
                collateral: MIN_COLLATERAL
            })
        );
        bytes4[] memory s = new bytes4[](12);
        s[0] = LicencesHandler.buy.selector;
        s[1] = LicencesHandler.buy.selector;
        s[2] = LicencesHandler.setTerms.selector;
        s[3] = LicencesHandler.transferLicences.selector;
        s[4] = LicencesHandler.transferDesign.selector;
        s[5] = LicencesHandler.toggleTakedown.selector;
        s[6] = LicencesHandler.post.selector;
        s[7] = LicencesHandler.post.selector;
        s[8] = LicencesHandler.cancel.selector;
        s[9] = LicencesHandler.fabricate.selector;
        s[10] = LicencesHandler.fabricate.selector;
        s[11] = LicencesHandler.warp.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector(address(handler), s));
    }

    // CI: 40 runs x 500 calls (20 000 handler calls) keeps the whole CI run inside its budget; the
    // market invariant (JobMarket.invariant.t.sol) keeps the long 500 x 1 000 campaign.
    /// forge-config: ci.invariant.runs = 40
    /// forge-config: ci.invariant.depth = 500
    function invariant_licencesAreConservedAndNeverPaidFor() public view {
        vm.assertEq(handler.failure(), "", "a handler prediction failed");
        vm.assertEq(usd.balanceOf(address(licences)), 0, "the licence contract holds no payment");
        for (uint256 k; k < handler.designCount(); ++k) {
            uint256 d = handler.designIds(k);
            uint256 held;
            for (uint256 a; a < handler.actorCount(); ++a) {
                held += licences.balanceOf(handler.actors(a), d);
            }
            (IFabricationLicences.Terms memory t,) = licences.termsOf(d);
            vm.assertEq(uint256(t.sold), handler.ghostSold(d), "sold");
            vm.assertEq(held + handler.ghostSpent(d), uint256(t.sold), "held + spent = sold");
            if (held != 0) {
                (,,, bool licensed) = designs.rightsOf(d);
                vm.assertTrue(licensed, "licences are held only for licensed designs");
            }
        }
        for (uint256 i; i < handler.recCount(); ++i) {
            LicencesHandler.Rec memory r = handler.rec(i);
            (address c, uint256 d) = licences.licenceOf(i + 1);
            if (r.licensed && !r.released) {
                vm.assertEq(c, r.job.customer, "record: customer");
                vm.assertEq(d, r.design, "record: design");
            } else {
                vm.assertEq(c, address(0), "no record");
            }
        }
    }
}
