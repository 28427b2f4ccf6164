// A script or condition field checked live against the server's script policy
// (engine/workflows/script_policy.py): the refusal is shown under the field with its line, and the
// offending line is marked in the text area's gutter.
import { TextAreaEntry } from "@bpmn-io/properties-panel";
import { useEffect, useState } from "@bpmn-io/properties-panel/preact/hooks";
import { useService } from "bpmn-js-properties-panel";

export function checkSource(config, kind, source) {
  const body = new FormData();
  body.append("kind", kind);
  body.append("source", source);
  body.append("csrf_token", config.csrf || "");
  return fetch(config.checkScriptUrl, { method: "POST", body, credentials: "same-origin",
    headers: { "X-CSRFToken": config.csrf || "" } }).then((r) => r.json());
}

export function ScriptEntry({ element, id, kind, getValue, setValue }) {
  const config = useService("config.sealtrail") || {};
  const debounce = useService("debounceInput");
  const labels = config.labels || {};
  const [verdict, setVerdict] = useState(null);
  const value = getValue();
  useEffect(() => {
    let live = true;
    if (!value.trim() || !config.checkScriptUrl) { setVerdict(null); return undefined; }
    const timer = setTimeout(() => {
      checkSource(config, kind === "st-condition" ? "expression" : "script", value)
        .then((r) => { if (live) { setVerdict(r); } })
        .catch(() => { if (live) { setVerdict(null); } });
    }, 300);
    return () => { live = false; clearTimeout(timer); };
  }, [value]);
  const lines = value.split("\n");
  return (
    <div class="st-script-entry" data-kind={kind}>
      <TextAreaEntry element={element} id={id} label={labels[id] || id} monospace rows={Math.min(12, lines.length + 2)}
        debounce={debounce} getValue={getValue} setValue={setValue} />
      {verdict && !verdict.ok &&
        <div class="st-script-refusal" role="alert" data-line={verdict.line || ""}>
          {verdict.line ? <strong>{(labels.line || "line") + " " + verdict.line + ": "}</strong> : null}
          {verdict.message}
          {verdict.line && lines[verdict.line - 1] !== undefined &&
            <pre class="st-script-line">{verdict.line + " | " + lines[verdict.line - 1]}</pre>}
        </div>}
      {verdict && verdict.ok && <div class="st-script-ok">{labels.script_ok || "OK"}</div>}
    </div>);
}
