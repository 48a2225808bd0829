// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Fixture} from "../utils/Fixture.sol";
import {FabToken} from "../../src/FabToken.sol";
import {NodeRegistry} from "../../src/NodeRegistry.sol";
import {JobMarketModule} from "../../src/market/JobMarketModule.sol";
import {JobMarket} from "../../src/JobMarket.sol";
import {DesignNFT} from "../../src/DesignNFT.sol";
import {TestStablecoin} from "../../src/devnet/TestStablecoin.sol";
import {FabGovernor} from "../../src/governance/FabGovernor.sol";
import {FabTimelock} from "../../src/governance/FabTimelock.sol";
import {ArbiterPanel} from "../../src/governance/ArbiterPanel.sol";
import {ManifestRegistry} from "../../src/governance/ManifestRegistry.sol";
import {IJobMarketModule} from "../../src/interfaces/IJobMarketModule.sol";
import {INodeRegistry} from "../../src/interfaces/INodeRegistry.sol";
import {IGovernor} from "@openzeppelin/contracts/governance/IGovernor.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {FabricationLicences} from "../../src/design/FabricationLicences.sol";
import {IDesignNFT} from "../../src/interfaces/IDesignNFT.sol";
import {IDesignRights} from "../../src/interfaces/IDesignRights.sol";

/// @notice Deploys the whole protocol the way production does and hands it to the DAO: every owner role and
/// the treasury end with the timelock, the deployer with nothing. Offers proposal lifecycle helpers.
/// @dev Reuses Fixture's job helpers (post, claim, deliver) and market parameters; replaces its deployment.
abstract contract GovernanceFixture is Fixture {
    // The production governance settings (README "Governance"): what large DAOs use.
    uint48 internal constant VOTING_DELAY = 1 days;
    uint32 internal constant VOTING_PERIOD = 5 days;
    uint256 internal constant PROPOSAL_THRESHOLD = 1_000_000e18; // 0.1 % of the supply
    uint256 internal constant QUORUM_PERCENT = 4;
    uint48 internal constant VOTE_EXTENSION = 2 days;
    uint256 internal constant TIMELOCK_DELAY = 2 days;
    uint256 internal constant FAB_SUPPLY = 1_000_000_000e18;
    /// @dev 4 % of the supply.
    uint256 internal constant QUORUM = FAB_SUPPLY * QUORUM_PERCENT / 100;

    address internal deployer = address(0xDE910E);
    /// @dev Issues the test stablecoin: a third party's token (like USDC's issuer), not part of the protocol.
    address internal usdIssuer = address(0x155E);
    address internal alice = address(0xA11);
    address internal bob = address(0xB0B);
    address internal carol = address(0xCA401);
    address internal stranger = address(0x5757);
    address internal arbiter2 = address(0xA4B2);

    uint256 internal constant ALICE_FAB = 30_000_000e18;
    uint256 internal constant BOB_FAB = 25_000_000e18;
    uint256 internal constant CAROL_FAB = 10_000_000e18;
    uint256 internal constant SHOP_FAB = 100_000e18;
    uint256 internal constant SHOP_STAKE = 10_000e18;

    FabTimelock internal timelock;
    FabGovernor internal governor;
    ArbiterPanel internal panel;
    ManifestRegistry internal manifest;

    function setUp() public virtual override {
        vm.warp(1_700_000_000);
        vm.startPrank(deployer);
        fab = new FabToken(deployer, FAB_SUPPLY);
        // Designs are governed by the DAO (the deployer only names the licence contract first, below).
        designs = new DesignNFT(deployer);
        // The deployer proposes and executes alone, with no delay, until the hand-over batch below.
        address[] memory bootstrap = new address[](1);
        bootstrap[0] = deployer;
        timelock = new FabTimelock(0, bootstrap, bootstrap, address(0));
        // Registry -> market -> panel name each other immutably: predict the next two CREATE addresses.
        uint256 nonce = vm.getNonce(deployer);
        // (The market's module is deployed between the registry and the market, built for the market.)
        address predictedMarket = vm.computeCreateAddress(deployer, nonce + 2);
        address predictedPanel = vm.computeCreateAddress(deployer, nonce + 3);
        // The licences name the market too; deployed from another account, so that every address the
        // deployer creates stays where it was before licences existed.
        vm.stopPrank();
        licences = new FabricationLicences(
            address(timelock), IDesignNFT(address(designs)), predictedMarket, address(timelock), LICENCE_FEE_BPS
        );
        vm.startPrank(deployer);
        registry = new NodeRegistry(deployer, fab, predictedMarket, MIN_STAKE, UNBOND_DELAY);
        JobMarketModule marketModule_ =
            new JobMarketModule(predictedMarket, INodeRegistry(address(registry)), IDesignRights(address(licences)));
        market = new JobMarket(
            deployer,
            INodeRegistry(address(registry)),
            IDesignRights(address(licences)),
            marketModule_,
            address(timelock), // treasury
            predictedPanel, // arbiter: the panel assigns each dispute a member
            address(timelock), // appeal court: the DAO
            defaultParams()
        );
        address[] memory members = new address[](2);
        members[0] = arbiter;
        members[1] = arbiter2;
        panel = new ArbiterPanel(address(timelock), address(market), members);
        require(address(market) == predictedMarket && address(panel) == predictedPanel, "fixture: addresses");
        module = IJobMarketModule(address(market));
        manifest = new ManifestRegistry(address(timelock));
        governor = new FabGovernor(
            IVotes(address(fab)),
            IVotes(address(registry)),
            TimelockController(payable(address(timelock))),
            address(market),
            FabGovernor.Settings({
                votingDelay: VOTING_DELAY,
                votingPeriod: VOTING_PERIOD,
                proposalThreshold: PROPOSAL_THRESHOLD,
                quorumNumerator: QUORUM_PERCENT,
                voteExtension: VOTE_EXTENSION
            })
        );
        // Calls after every deployment: under --isolate each is a transaction that moves the deployer's nonce.
        designs.setLicences(address(licences));
        designs.transferOwnership(address(timelock));
        vm.stopPrank();

        vm.prank(usdIssuer);
        usd = new TestStablecoin(usdIssuer);
        vm.prank(deployer);
        module.setTokenTerms(address(usd), usdTerms());

        vm.prank(address(timelock));
        designs.acceptOwnership();
        _handOver();
        _distribute();
        vm.prank(designer);
        designId = designs.mint(DESIGN_CID, META_CID, 500);
    }

    /// @dev Ownable2Step owners offer, then one timelock batch (deployer: temporary proposer and executor,
    /// delay 0) accepts every ownership, makes the governor the only proposer and canceller, opens execution to
    /// anyone and raises the delay; last, the deployer renounces every timelock role it had.
    function _handOver() internal {
        vm.startPrank(deployer);
        market.transferOwnership(address(timelock));
        registry.transferOwnership(address(timelock));
        (address[] memory targets, uint256[] memory values, bytes[] memory calls) = _handOverBatch();
        timelock.scheduleBatch(targets, values, calls, bytes32(0), bytes32(0), 0);
        timelock.executeBatch(targets, values, calls, bytes32(0), bytes32(0));
        timelock.renounceRole(timelock.PROPOSER_ROLE(), deployer);
        timelock.renounceRole(timelock.CANCELLER_ROLE(), deployer);
        timelock.renounceRole(timelock.EXECUTOR_ROLE(), deployer);
        vm.stopPrank();
    }

    function _handOverBatch()
        internal
        view
        returns (address[] memory targets, uint256[] memory values, bytes[] memory calls)
    {
        targets = new address[](6);
        values = new uint256[](6);
        calls = new bytes[](6);
        targets[0] = address(timelock);
        calls[0] = abi.encodeCall(timelock.grantRole, (timelock.PROPOSER_ROLE(), address(governor)));
        targets[1] = address(timelock);
        calls[1] = abi.encodeCall(timelock.grantRole, (timelock.CANCELLER_ROLE(), address(governor)));
        // Anyone may execute what the DAO queued and the delay released.
        targets[2] = address(timelock);
        calls[2] = abi.encodeCall(timelock.grantRole, (timelock.EXECUTOR_ROLE(), address(0)));
        targets[3] = address(market);
        calls[3] = abi.encodeWithSignature("acceptOwnership()");
        targets[4] = address(registry);
        calls[4] = abi.encodeWithSignature("acceptOwnership()");
        targets[5] = address(timelock);
        calls[5] = abi.encodeCall(timelock.updateDelay, (TIMELOCK_DELAY));
    }

    /// @dev FAB to voters (self-delegated), the shop (staked, so its votes live in the registry) and the rest
    /// to the treasury; the stablecoin to the customer.
    function _distribute() internal {
        vm.startPrank(deployer);
        fab.transfer(alice, ALICE_FAB);
        fab.transfer(bob, BOB_FAB);
        fab.transfer(carol, CAROL_FAB);
        fab.transfer(shop, SHOP_FAB);
        fab.transfer(address(timelock), fab.balanceOf(deployer));
        vm.stopPrank();
        _selfDelegate(alice);
        _selfDelegate(bob);
        _selfDelegate(carol);

        vm.prank(usdIssuer);
        usd.mint(customer, 1_000_000e6);
        vm.prank(customer);
        usd.approve(address(market), type(uint256).max);

        vm.startPrank(shop);
        fab.approve(address(registry), type(uint256).max);
        registry.stake(SHOP_STAKE);
        nodeId = registry.registerNode(1, 3, [uint32(250), 210, 220], ENC_KEY, META_CID);
        vm.stopPrank();
        // Checkpoints are read strictly in the past.
        vm.warp(block.timestamp + 1);
    }

    function _selfDelegate(address account) internal {
        vm.prank(account);
        fab.delegate(account);
    }

    // ------------------------------------------------------------------------------ proposal helpers

    function _one(address target, bytes memory data)
        internal
        pure
        returns (address[] memory targets, uint256[] memory values, bytes[] memory calls)
    {
        targets = new address[](1);
        values = new uint256[](1);
        calls = new bytes[](1);
        targets[0] = target;
        calls[0] = data;
    }

    /// @dev `proposer` proposes the single call `target.data`.
    function _propose(address proposer, address target, bytes memory data, string memory description)
        internal
        returns (uint256 id)
    {
        (address[] memory t, uint256[] memory v, bytes[] memory c) = _one(target, data);
        vm.prank(proposer);
        id = governor.propose(t, v, c, description);
    }

    /// @dev Moves past the proposal's snapshot, into its voting period.
    function _toVoting(uint256 id) internal {
        vm.warp(governor.proposalSnapshot(id) + 1);
    }

    /// @dev Moves past the proposal's (possibly extended) deadline.
    function _toEnd(uint256 id) internal {
        vm.warp(governor.proposalDeadline(id) + 1);
    }

    function _vote(address voter, uint256 id, uint8 support) internal {
        vm.prank(voter);
        governor.castVote(id, support);
    }

    function _queue(address target, bytes memory data, string memory description) internal {
        (address[] memory t, uint256[] memory v, bytes[] memory c) = _one(target, data);
        governor.queue(t, v, c, keccak256(bytes(description)));
    }

    function _execute(address target, bytes memory data, string memory description) internal {
        (address[] memory t, uint256[] memory v, bytes[] memory c) = _one(target, data);
        vm.prank(stranger); // anyone executes
        governor.execute(t, v, c, keccak256(bytes(description)));
    }

    /// @dev Alice proposes; Alice and Bob (55 M FAB, above the 40 M quorum) vote for; queued, delayed, executed.
    function _pass(address target, bytes memory data, string memory description) internal returns (uint256 id) {
        id = _propose(alice, target, data, description);
        _passProposal(id, target, data, description);
    }

    /// @dev Votes `id` through and executes it.
    function _passProposal(uint256 id, address target, bytes memory data, string memory description) internal {
        _toVoting(id);
        _vote(alice, id, 1);
        _vote(bob, id, 1);
        _toEnd(id);
        vm.assertEq(uint256(governor.state(id)), uint256(IGovernor.ProposalState.Succeeded), "succeeded");
        _queue(target, data, description);
        vm.assertEq(uint256(governor.state(id)), uint256(IGovernor.ProposalState.Queued), "queued");
        vm.warp(block.timestamp + TIMELOCK_DELAY);
        _execute(target, data, description);
        vm.assertEq(uint256(governor.state(id)), uint256(IGovernor.ProposalState.Executed), "executed");
    }
}
