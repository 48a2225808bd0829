// Start: read the deployment's configuration from the gateway, then render the shell. Nothing about a chain is
// in the build.
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app/App";
import { ConfigContext, loadConfig } from "./lib/config";
import { WalletProvider } from "./wallet/WalletContext";
import "./styles.css";

const root = createRoot(document.getElementById("root")!);

async function start(): Promise<void> {
  try {
    const cfg = await loadConfig();
    root.render(
      <StrictMode>
        <ConfigContext.Provider value={cfg}>
          <WalletProvider>
            <App />
          </WalletProvider>
        </ConfigContext.Provider>
      </StrictMode>,
    );
  } catch (e) {
    root.render(
      <main id="main" className="boot-error">
        <h1>Fabrica is not ready</h1>
        <p role="alert">{e instanceof Error ? e.message : String(e)}</p>
        <button type="button" className="button" onClick={() => void start()}>
          Retry
        </button>
      </main>,
    );
  }
}

void start();
