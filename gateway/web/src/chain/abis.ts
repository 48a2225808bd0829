// The ABIs of the contracts the dApp calls, from the generated artifacts (protocol/artifacts/*.json, written
// by scripts/gen_artifacts.py from forge's output: never by hand). Named imports keep each artifact's `abi` and
// leave its bytecode out of the bundle. This module is loaded on demand (loadAbis), not with the first page.
import type { Abi } from "viem";
import { abi as ArbiterPanel } from "@artifacts/ArbiterPanel.json";
import { abi as BountyBoard } from "@artifacts/BountyBoard.json";
import { abi as DesignMarket } from "@artifacts/DesignMarket.json";
import { abi as DesignNFT } from "@artifacts/DesignNFT.json";
import { abi as FabGovernor } from "@artifacts/FabGovernor.json";
import { abi as FabToken } from "@artifacts/FabToken.json";
import { abi as FabricationLicences } from "@artifacts/FabricationLicences.json";
import { abi as JobMarket } from "@artifacts/JobMarket.json";
import { abi as JobMarketModule } from "@artifacts/JobMarketModule.json";
import { abi as NodeRegistry } from "@artifacts/NodeRegistry.json";

/** ABIs by contract name, as the deployment's manifest names the contracts (GET /v1/config `contracts`). */
export const ABIS: Record<string, Abi> = {
  ArbiterPanel: ArbiterPanel as Abi,
  BountyBoard: BountyBoard as Abi,
  DesignMarket: DesignMarket as Abi,
  DesignNFT: DesignNFT as Abi,
  FabGovernor: FabGovernor as Abi,
  FabToken: FabToken as Abi,
  FabricationLicences: FabricationLicences as Abi,
  JobMarket: JobMarket as Abi,
  JobMarketModule: JobMarketModule as Abi,
  NodeRegistry: NodeRegistry as Abi,
};

/** Any ERC-20 (payment tokens, FAB): FabToken's ABI covers approve, allowance, balanceOf, decimals. */
export const ERC20 = ABIS.FabToken;

/** Every custom error of every contract above, once each: what a revert's data is decoded against. */
export const ERRORS: Abi = (() => {
  const seen = new Set<string>();
  const out: Abi[number][] = [];
  for (const abi of Object.values(ABIS)) {
    for (const item of abi) {
      if (item.type !== "error") continue;
      const key = `${item.name}(${item.inputs.map((i) => i.type).join(",")})`;
      if (!seen.has(key)) {
        seen.add(key);
        out.push(item);
      }
    }
  }
  return out;
})();
