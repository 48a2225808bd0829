// The shell: a skip link, the header (brand, navigation, network status, wallet), the wrong-network banner and
// wallet messages, then the current route's page. Focus moves to the page's heading on navigation.
import { Suspense, useEffect, useRef } from "react";
import { NetworkStatus } from "../components/NetworkStatus";
import { Notice } from "../components/bits";
import { WalletMenu } from "../components/WalletMenu";
import { useConfig } from "../lib/config";
import { useWallet } from "../wallet/WalletContext";
import { Link, matchRoute, useLocation } from "./router";
import { ROUTES } from "./routes";
import NotFound from "../pages/NotFound";

/** The whole page. */
export function App() {
  const { path, query } = useLocation();
  const match = matchRoute(ROUTES, path);
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);

  useEffect(() => {
    document.title = match ? `${match.route.title(match.params)} · Fabrica` : "Not found · Fabrica";
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.focus(); // a keyboard or screen-reader user lands on the new page, not on the old link
  }, [path]); // eslint-disable-line react-hooks/exhaustive-deps

  const Page = match?.route.component ?? NotFound;
  return (
    <>
      <a className="skip" href="#main" onClick={(e) => (e.preventDefault(), main.current?.focus())}>
        Skip to content
      </a>
      <header className="header">
        <div className="bar">
          <Link to="/" className="brand">
            Fabrica
          </Link>
          <nav aria-label="Main">
            <ul>
              {ROUTES.filter((r) => r.nav).map((r) => (
                <li key={r.path}>
                  <Link to={r.path} aria-current={isCurrent(r.path, path) ? "page" : undefined}>
                    {r.nav}
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
          <WalletMenu />
        </div>
        <NetworkStatus />
      </header>
      <WalletBanners />
      <main id="main" ref={main} tabIndex={-1}>
        <Suspense fallback={<p className="muted" aria-busy="true">Loading…</p>}>
          <Page key={path} params={match?.params ?? {}} query={query} />
        </Suspense>
      </main>
      <footer className="footer">
        <p>
          Fabrica reads the chain through this gateway's index. <a href="/docs">API documentation</a>
        </p>
      </footer>
    </>
  );
}

function isCurrent(route: string, path: string): boolean {
  return route === "/" ? path === "/" : path === route || path.startsWith(`${route}/`);
}

function WalletBanners() {
  const w = useWallet();
  const cfg = useConfig();
  return (
    <div className="banners">
      {w.wrongNetwork && (
        <div className="notice notice-error" role="alert">
          <div>
            Your wallet is on chain {w.chainId}; Fabrica here runs on chain {cfg.chain_id}. Transactions and sign-in need the right network.
          </div>
          <button type="button" className="button" onClick={() => void w.switchNetwork()} disabled={w.busy === "switch network"}>
            Switch network
          </button>
        </div>
      )}
      {w.message && (
        <Notice kind={w.message.kind} onDismiss={w.dismiss}>
          {w.message.text}
        </Notice>
      )}
    </div>
  );
}
