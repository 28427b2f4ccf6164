// The Sealtrail groups of the properties panel: what the engine runs, as fields. Labels come
// translated from the page (config.labels); choices (forms, roles, meanings, operations,
// processes) come from the server, so the panel offers only what a deployment accepts.
import { Group, SelectEntry, TextFieldEntry, TextAreaEntry, isSelectEntryEdited,
  isTextFieldEntryEdited, isTextAreaEntryEdited } from "@bpmn-io/properties-panel";
import { useService } from "bpmn-js-properties-panel";
import { getBusinessObject, is, isAny } from "bpmn-js/lib/util/ModelUtil";
import { getProperty, setProperty, setExpression, splitName, joinName, laneOf, moveToRole, operator,
  setOperation, setParameter, setScript, findExtension } from "./model";
import { ScriptEntry } from "./script";
import { TimerPreview, timerDefinition } from "./timer";

const HUMAN = ["bpmn:UserTask", "bpmn:ManualTask"];

function useConfig() { return useService("config.sealtrail") || {}; }
function label(config, key) { return (config.labels && config.labels[key]) || key; }

function options(values, blank) {
  const out = values.map((v) => (typeof v === "string" ? { value: v, label: v } : v));
  return blank === undefined ? out : [{ value: "", label: blank }, ...out];
}

// --- names ------------------------------------------------------------------------------
function NameField({ element, part }) {
  const config = useConfig();
  const modeling = useService("modeling");
  const debounce = useService("debounceInput");
  const get = () => splitName(getBusinessObject(element).get("name"))[part];
  const set = (value) => {
    const both = splitName(getBusinessObject(element).get("name"));
    both[part] = value;
    modeling.updateProperties(element, { name: joinName(both[0], both[1]) });
  };
  return <TextFieldEntry element={element} id={part ? "st-name-zh" : "st-name-en"} debounce={debounce}
    label={label(config, part ? "name_zh" : "name_en")} getValue={get} setValue={set} />;
}

// --- user tasks ---------------------------------------------------------------------------
function RoleField({ element }) {
  const config = useConfig();
  const injector = useService("injector");
  const registry = useService("elementRegistry");
  const get = () => { const lane = laneOf(element, registry); return lane ? lane.businessObject.get("name") || "" : ""; };
  return <SelectEntry element={element} id="st-role" label={label(config, "role")}
    description={label(config, "role_help")} getValue={get}
    setValue={(role) => role && moveToRole(element, role, injector)}
    getOptions={() => options(config.roles || [], label(config, "no_lane"))} />;
}

function PropertySelect({ element, name, id, choices, blank, help }) {
  const config = useConfig();
  const injector = useService("injector");
  return <SelectEntry element={element} id={id} label={label(config, id)} description={help}
    getValue={() => getProperty(element, name)} setValue={(v) => setProperty(element, name, v, injector)}
    getOptions={() => options(choices, blank)} />;
}

function PropertyText({ element, name, id, help, area }) {
  const config = useConfig();
  const injector = useService("injector");
  const debounce = useService("debounceInput");
  const Entry = area ? TextAreaEntry : TextFieldEntry;
  return <Entry element={element} id={id} label={label(config, id)} description={help} debounce={debounce}
    monospace={area} getValue={() => getProperty(element, name)}
    setValue={(v) => setProperty(element, name, v, injector)} />;
}

function FormField({ element }) {
  const config = useConfig();
  const forms = (config.forms || []).map((f) => ({ value: f, label: f }));
  const current = getProperty(element, "formJsonSchemaFilename");
  if (current && !forms.some((f) => f.value === current)) { forms.push({ value: current, label: current }); }
  return <PropertySelect element={element} name="formJsonSchemaFilename" id="st-form" choices={forms}
    blank={label(config, "no_form")} help={label(config, "form_help")} />;
}

function MeaningField({ element }) {
  const config = useConfig();
  const meanings = Object.keys(config.meanings || {}).map((k) => ({ value: k, label: config.meanings[k] }));
  return <PropertySelect element={element} name="signatureMeaning" id="st-meaning" choices={meanings}
    blank={label(config, "default_meaning")} />;
}

// Entry components are module-level (never a new function per render, which would remount the
// field and drop what is being typed); the panel passes each entry's own keys as props.
function userTaskEntries(element, config) {
  return [
    { id: "st-role", component: RoleField, isEdited: isSelectEntryEdited },
    { id: "st-form", component: FormField, isEdited: isSelectEntryEdited },
    { id: "st-meaning", component: MeaningField, isEdited: isSelectEntryEdited },
    { id: "st-meaning-expression", isEdited: isTextFieldEntryEdited, component: PropertyText,
      name: "signatureMeaningExpression", help: label(config, "meaning_expression_help") },
    { id: "st-sod", isEdited: isTextFieldEntryEdited, component: PropertyText, name: "separationOfDuties",
      help: label(config, "sod_help") },
    { id: "st-due", isEdited: isTextFieldEntryEdited, component: PropertyText, name: "dueIn",
      help: label(config, "due_help") },
  ];
}

// --- conditions, scripts ----------------------------------------------------------------------
function ConditionField({ element }) {
  const config = useConfig();
  const injector = useService("injector");
  const debounce = useService("debounceInput");
  const get = () => { const c = getBusinessObject(element).get("conditionExpression"); return c ? c.get("body") || "" : ""; };
  return <TextAreaEntry element={element} id="st-condition" label={label(config, "st-condition")} monospace
    debounce={debounce} description={label(config, "condition_help")} getValue={get}
    setValue={(v) => setExpression(element, "conditionExpression", v, injector)} />;
}

function isConditional(element) {
  if (!is(element, "bpmn:SequenceFlow")) { return false; }
  const source = getBusinessObject(element).get("sourceRef");
  return isAny(source, ["bpmn:ExclusiveGateway", "bpmn:InclusiveGateway"]) &&
    source.get("default") !== getBusinessObject(element);
}

function TaskScript({ element }) {
  const modeling = useService("modeling");
  return <ScriptEntry element={element} id="st-script" kind="script"
    getValue={() => getBusinessObject(element).get("script") || ""}
    setValue={(v) => modeling.updateProperties(element, { script: v, scriptFormat: "python" })} />;
}

function PrePostScript({ element, type, id }) {
  const injector = useService("injector");
  const get = () => { const s = findExtension(element, type); return s ? s.get("script") || "" : ""; };
  return <ScriptEntry element={element} id={id} kind={id} getValue={get}
    setValue={(v) => setScript(element, type, v, injector)} />;
}

// --- service tasks, call activities -------------------------------------------------------------
function OperationField({ element }) {
  const config = useConfig();
  const injector = useService("injector");
  const ops = config.operations || [];
  const get = () => { const o = operator(element); return o ? o.get("id") || "" : ""; };
  const set = (name) => setOperation(element, ops.find((o) => o.name === name), injector);
  return <SelectEntry element={element} id="st-operation" label={label(config, "st-operation")} getValue={get}
    setValue={set} getOptions={() => options(ops.map((o) => ({ value: o.name, label: o.name })), label(config, "none"))} />;
}

function ResultVariableField({ element }) {
  const config = useConfig();
  const commandStack = useService("commandStack");
  const debounce = useService("debounceInput");
  const get = () => { const o = operator(element); return o ? o.get("resultVariable") || "" : ""; };
  const set = (v) => { const o = operator(element); if (o) { commandStack.execute("element.updateModdleProperties",
    { element, moddleElement: o, properties: { resultVariable: v } }); } };
  return <TextFieldEntry element={element} id="st-result" label={label(config, "st-result")} debounce={debounce}
    getValue={get} setValue={set} />;
}

function ParameterField({ element, param }) {
  const config = useConfig();
  const injector = useService("injector");
  const debounce = useService("debounceInput");
  const op = (config.operations || []).find((o) => o.name === (operator(element) || { get: () => "" }).get("id"));
  const spec = op && op.params.find((p) => p.name === param.get("id"));
  const text = param.get("id") + " (" + (param.get("type") || (spec && spec.type) || "") + ")" +
    (spec && spec.required ? " *" : "");
  return <TextFieldEntry element={element} id={"st-param-" + param.get("id")} label={text} debounce={debounce}
    getValue={() => param.get("value") || ""} setValue={(v) => setParameter(element, param.get("id"), v, injector)} />;
}

function serviceEntries(element) {
  const entries = [
    { id: "st-operation", component: OperationField, isEdited: isSelectEntryEdited },
    { id: "st-result", component: ResultVariableField, isEdited: isTextFieldEntryEdited },
  ];
  const o = operator(element);
  const list = o && o.get("parameterList") ? o.get("parameterList").get("parameters") : [];
  list.forEach((param) => entries.push({ id: "st-param-" + param.get("id"), isEdited: isTextFieldEntryEdited,
    component: ParameterField, param }));
  return entries;
}

function CalledProcessField({ element }) {
  const config = useConfig();
  const modeling = useService("modeling");
  const processes = (config.processes || []).map((p) => ({ value: p.id, label: p.id + " — " + p.name }));
  const current = getBusinessObject(element).get("calledElement");
  if (current && !processes.some((p) => p.value === current)) { processes.push({ value: current, label: current }); }
  return <SelectEntry element={element} id="st-called" label={label(config, "st-called")}
    getValue={() => getBusinessObject(element).get("calledElement") || ""}
    setValue={(v) => modeling.updateProperties(element, { calledElement: v || undefined })}
    getOptions={() => options(processes, label(config, "none"))} />;
}

function LaneRoleField({ element }) {
  const config = useConfig();
  const modeling = useService("modeling");
  return <SelectEntry element={element} id="st-lane-role" label={label(config, "role")}
    getValue={() => getBusinessObject(element).get("name") || ""}
    setValue={(v) => modeling.updateProperties(element, { name: v })}
    getOptions={() => options(config.roles || [], label(config, "no_role"))} />;
}

function group(id, title, entries) {
  return entries.length ? { id, label: title, component: Group, entries } : null;
}

export default class SealtrailPropertiesProvider {
  constructor(propertiesPanel, injector) {
    this._config = injector.get("config.sealtrail", false) || {};
    propertiesPanel.registerProvider(400, this);
  }

  getGroups(element) {
    const config = this._config;
    return (groups) => {
      const general = groups.find((g) => g.id === "general");
      const bo = getBusinessObject(element);
      if (general && !is(element, "bpmn:Lane") && !is(element, "bpmn:Participant") && bo.$descriptor.properties.some((p) => p.name === "name")) {
        const at = general.entries.findIndex((e) => e.id === "name");
        const names = [{ id: "st-name-en", component: NameField, part: 0, isEdited: isTextFieldEntryEdited },
          { id: "st-name-zh", component: NameField, part: 1, isEdited: isTextFieldEntryEdited }];
        if (at >= 0) { general.entries.splice(at, 1, ...names); } else { general.entries.unshift(...names); }
      }
      const ours = [];
      if (isAny(element, HUMAN)) {
        ours.push(group("st-task", label(config, "group_task"), userTaskEntries(element, config)));
      }
      if (is(element, "bpmn:Lane")) {
        ours.push(group("st-lane", label(config, "group_lane"),
          [{ id: "st-lane-role", component: LaneRoleField, isEdited: isSelectEntryEdited }]));
      }
      if (isConditional(element)) {
        ours.push(group("st-condition", label(config, "group_condition"),
          [{ id: "st-condition", component: ConditionField, isEdited: isTextAreaEntryEdited }]));
      }
      if (is(element, "bpmn:ScriptTask")) {
        ours.push(group("st-script", label(config, "group_script"),
          [{ id: "st-script", component: TaskScript, isEdited: isTextAreaEntryEdited }]));
      }
      if (is(element, "bpmn:ServiceTask")) {
        ours.push(group("st-service", label(config, "group_service"), serviceEntries(element)));
      }
      if (is(element, "bpmn:CallActivity")) {
        ours.push(group("st-call", label(config, "group_call"),
          [{ id: "st-called", component: CalledProcessField, isEdited: isSelectEntryEdited }]));
      }
      if (is(element, "bpmn:Activity") && !is(element, "bpmn:SubProcess")) {
        ours.push(group("st-scripts", label(config, "group_prepost"), [
          { id: "st-prescript", component: PrePostScript, type: "spiffworkflow:PreScript", isEdited: isTextAreaEntryEdited },
          { id: "st-postscript", component: PrePostScript, type: "spiffworkflow:PostScript",
            isEdited: isTextAreaEntryEdited }]));
      }
      const timer = groups.find((g) => g.id === "timer");
      if (timer && timerDefinition(element)) {
        timer.entries.push({ id: "st-timer-preview", component: TimerPreview });
      }
      const at = general ? groups.indexOf(general) + 1 : 0;
      groups.splice(at, 0, ...ours.filter(Boolean));
      return groups;
    };
  }
}

SealtrailPropertiesProvider.$inject = ["propertiesPanel", "injector"];
