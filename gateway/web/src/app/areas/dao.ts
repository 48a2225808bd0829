// Routes of the dao flows (merged into the route table by ../routes.ts). One line per page.
import { lazy } from "react";
import type { RouteDef } from "../router";

const Dao = lazy(() => import("../../pages/dao/Dao"));
const Proposal = lazy(() => import("../../pages/dao/Proposal"));

export const ROUTES: RouteDef[] = [
  { path: "/dao", title: () => "Governance", nav: "DAO", component: Dao },
  { path: "/dao/proposals/:id", title: () => "Proposal", component: Proposal },
];
