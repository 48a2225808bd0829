// Routes of the customer flows (merged into the route table by ../routes.ts). One line per page.
import { lazy } from "react";
import type { RouteDef } from "../router";

const PostJob = lazy(() => import("../../pages/customer/PostJob"));

export const ROUTES: RouteDef[] = [
  { path: "/post", title: () => "Post a job", nav: "Post a job", component: PostJob },
];
