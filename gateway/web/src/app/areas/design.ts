// Routes of the design flows (merged into the route table by ../routes.ts). One line per page.
// "/designs/new" comes before "/designs/:id": the first matching route wins.
import { lazy } from "react";
import type { RouteDef } from "../router";

const MintDesign = lazy(() => import("../../pages/design/MintDesign"));
const Design = lazy(() => import("../../pages/design/Design"));
const Studio = lazy(() => import("../../pages/design/Studio"));
const Bounties = lazy(() => import("../../pages/design/Bounties"));
const NewBounty = lazy(() => import("../../pages/design/NewBounty"));
const Bounty = lazy(() => import("../../pages/design/Bounty"));

export const ROUTES: RouteDef[] = [
  { path: "/designs/new", title: () => "Mint a design", component: MintDesign },
  { path: "/designs/:id", title: (p) => `Design ${p.id.length > 12 ? `${p.id.slice(0, 10)}…` : p.id}`, component: Design },
  { path: "/studio", title: () => "Studio", nav: "Studio", component: Studio },
  { path: "/bounties", title: () => "Bounties", nav: "Bounties", component: Bounties },
  { path: "/bounties/new", title: () => "Post a bounty", component: NewBounty },
  { path: "/bounties/:id", title: (p) => `Bounty ${p.id}`, component: Bounty },
];
