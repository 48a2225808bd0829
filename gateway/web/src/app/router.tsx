// Hash routing (#/jobs/12?x=y): the gateway serves one index.html and needs no fallback for deep links.
import { useSyncExternalStore, type AnchorHTMLAttributes, type ComponentType } from "react";

export interface RouteProps {
  params: Record<string, string>; // :name segments of the path
  query: URLSearchParams;
}

export interface RouteDef {
  path: string; // "/jobs/:id"
  title: (params: Record<string, string>) => string; // the document title and the page's heading context
  nav?: string; // shown in the main navigation when set, in table order
  component: ComponentType<RouteProps>;
}

export interface Location {
  path: string;
  query: URLSearchParams;
}

function read(): string {
  return location.hash.replace(/^#/, "") || "/";
}

function subscribe(listener: () => void): () => void {
  window.addEventListener("hashchange", listener);
  return () => window.removeEventListener("hashchange", listener);
}

/** The current route path and query, re-rendering on navigation. */
export function useLocation(): Location {
  const raw = useSyncExternalStore(subscribe, read);
  const [path, qs = ""] = raw.split("?", 2);
  return { path: path || "/", query: new URLSearchParams(qs) };
}

/** The href of an in-app path ("/jobs/3" → "#/jobs/3"), with an optional query. */
export function href(path: string, query?: Record<string, string | number | undefined | null>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  const qs = params.toString();
  return `#${path}${qs ? `?${qs}` : ""}`;
}

/** Go to an in-app path. */
export function navigate(path: string, query?: Record<string, string | number | undefined | null>): void {
  location.hash = href(path, query);
}

/** The route matching `path` and its parameters (null: no route). */
export function matchRoute(routes: RouteDef[], path: string): { route: RouteDef; params: Record<string, string> } | null {
  const parts = path.split("/").filter(Boolean);
  for (const route of routes) {
    const pattern = route.path.split("/").filter(Boolean);
    if (pattern.length !== parts.length) continue;
    const params: Record<string, string> = {};
    const ok = pattern.every((seg, i) => {
      if (seg.startsWith(":")) {
        params[seg.slice(1)] = decodeURIComponent(parts[i]);
        return true;
      }
      return seg === parts[i];
    });
    if (ok) return { route, params };
  }
  return null;
}

/** An in-app link: <Link to="/jobs/3">. */
export function Link({ to, query, ...rest }: { to: string; query?: Record<string, string | number | undefined> } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  return <a href={href(to, query)} {...rest} />;
}
