// The dApp's route table: one line per page. A page is a component taking RouteProps, loaded on demand (its
// own chunk). Add a page by adding a line here; give it `nav` to list it in the header's navigation.
import { lazy } from "react";
import type { RouteDef } from "./router";
import Home from "../pages/Home";
import { ROUTES as CUSTOMER } from "./areas/customer";
import { ROUTES as DAO } from "./areas/dao";
import { ROUTES as DESIGN } from "./areas/design";
import { ROUTES as SHOP } from "./areas/shop";

const Jobs = lazy(() => import("../pages/Jobs"));
const Job = lazy(() => import("../pages/Job"));
const Designs = lazy(() => import("../pages/Designs"));
const Nodes = lazy(() => import("../pages/Nodes"));
const Node = lazy(() => import("../pages/Node"));
const Account = lazy(() => import("../pages/Account"));

export const ROUTES: RouteDef[] = [
  { path: "/", title: () => "Fabrica", nav: "Overview", component: Home },
  { path: "/jobs", title: () => "Jobs", nav: "Jobs", component: Jobs },
  { path: "/jobs/:id", title: (p) => `Job ${p.id}`, component: Job },
  { path: "/designs", title: () => "Designs", nav: "Designs", component: Designs },
  { path: "/nodes", title: () => "Nodes", nav: "Nodes", component: Nodes },
  { path: "/nodes/:id", title: (p) => `Node ${p.id}`, component: Node },
  { path: "/account", title: () => "Your account", nav: "Account", component: Account },
  // Each role's flows keep their routes in ./areas/<area>.ts.
  ...CUSTOMER,
  ...DESIGN,
  ...DAO,
  ...SHOP,
];
