// Routes of the dao flows (merged into the route table by ../routes.ts). One line per page.
import type { RouteDef } from "../router";

export const ROUTES: RouteDef[] = [];
