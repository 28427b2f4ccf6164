// A human reading of a timer's ISO 8601 value under bpmn-js's own timer fields: "every 30 days",
// "after 2 hours", "on 2026-03-02 00:00 UTC", or "computed when the timer starts" for an expression.
import { useService } from "bpmn-js-properties-panel";
import { getBusinessObject } from "bpmn-js/lib/util/ModelUtil";

const PARTS = [["Y", "years"], ["M", "months"], ["W", "weeks"], ["D", "days"], ["TH", "hours"], ["TM", "minutes"],
  ["TS", "seconds"]];
const DURATION = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

export function timerDefinition(element) {
  const bo = getBusinessObject(element);
  return (bo.get("eventDefinitions") || []).find((d) => d.$type === "bpmn:TimerEventDefinition");
}

function literal(body) {
  const text = (body || "").trim();
  const quoted = text.match(/^(["'])(.*)\1$/);
  return quoted ? quoted[2] : (/^[RP0-9]/.test(text) ? text : null);
}

function duration(text, words) {
  const m = DURATION.exec(text);
  if (!m || text === "P" || text === "PT") { return null; }
  const out = [];
  PARTS.forEach(([, unit], i) => {
    const n = m[i + 1];
    if (n && Number(n)) { out.push(n + " " + (words[unit] || unit)); }
  });
  return out.length ? out.join(" ") : null;
}

export function describeTimer(kind, body, words) {
  const text = literal(body);
  if (text === null) { return words.computed; }
  if (kind === "timeDuration") {
    const d = duration(text, words);
    return d ? words.after.replace("%s", d) : words.invalid;
  }
  if (kind === "timeCycle") {
    const m = /^R(\d*)\/(?:[^/]+\/)?(P[^/]+)$/.exec(text);
    const d = m && duration(m[2], words);
    if (!d) { return words.invalid; }
    return m[1] ? words.times.replace("%s", d).replace("%n", m[1]) : words.every.replace("%s", d);
  }
  const at = new Date(text);
  return isNaN(at.getTime()) ? words.invalid
    : words.on.replace("%s", at.toISOString().replace("T", " ").slice(0, 16) + " UTC");
}

export function TimerPreview({ element }) {
  const config = useService("config.sealtrail") || {};
  const words = config.timerWords || {};
  const definition = timerDefinition(element);
  const kind = ["timeDuration", "timeCycle", "timeDate"].find((k) => definition && definition.get(k));
  const text = kind ? describeTimer(kind, definition.get(kind).get("body"), words) : words.none;
  return <div class="bio-properties-panel-entry st-timer-preview" data-entry-id="st-timer-preview">
    <div class="bio-properties-panel-description st-timer-text"><strong>{words.label}</strong> {text}</div>
  </div>;
}
