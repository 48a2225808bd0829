// A proposal's actions in words: the gateway decodes each call (contract, function, named arguments); the ABI
// names a struct's fields, and a market parameter change says what it changes from and to.
import { useEffect, useState } from "react";
import { Address } from "../bits";
import { useConfig } from "../../lib/config";
import { describeAction, type DecodedAction } from "./governance";

/** The calls the timelock makes when the proposal executes, one item each. */
export function ActionList({ actions, createdBlock }: { actions: DecodedAction[]; createdBlock: number }) {
  const cfg = useConfig();
  const [words, setWords] = useState<string[][] | null>(null);
  const key = JSON.stringify(actions); // the same actions after a reload: nothing to describe again
  useEffect(() => {
    let live = true;
    Promise.all(actions.map((a) => describeAction(cfg, a, createdBlock).catch(() => [`call ${a.target}`])))
      .then((w) => live && setWords(w))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [cfg, key, createdBlock]); // eslint-disable-line react-hooks/exhaustive-deps
  return (
    <ol className="actions" data-testid="actions">
      {actions.map((a, i) => (
        <li key={i}>
          {(words?.[i] ?? [a.contract && a.function ? `${a.contract}.${a.function}` : `call ${a.target}`]).map((line) => (
            <div key={line} className="action-line">
              {line}
            </div>
          ))}
          <div className="small muted">
            target <Address value={a.target} />
            {a.value !== "0" && ` · sends ${a.value} wei`}
          </div>
        </li>
      ))}
    </ol>
  );
}
