// Routes of the shop flows (merged into the route table by ../routes.ts). One line per page.
import { lazy } from "react";
import type { RouteDef } from "../router";

const Shop = lazy(() => import("../../pages/shop/Shop"));

export const ROUTES: RouteDef[] = [{ path: "/shop", title: () => "Your shop", nav: "Shop", component: Shop }];
