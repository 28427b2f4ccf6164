// Reading and writing Sealtrail's attributes on bpmn-js elements, through the command stack so
// every change can be undone. The attributes are the ones the engine reads (engine/workflows):
// spiffworkflow:property name/value pairs on tasks, the service task operator and its parameters,
// pre/post scripts, conditions and scripts as BPMN bodies, lanes named after roles.
import { getBusinessObject, is } from "bpmn-js/lib/util/ModelUtil";

export const MULTI = "properties-panel.multi-command-executor";

function extensionValues(bo) {
  const ext = bo.get("extensionElements");
  return ext ? ext.get("values") : [];
}

export function findExtension(element, type) {
  return extensionValues(getBusinessObject(element)).find((v) => is(v, type));
}

// Commands that make sure ``element`` has an extension of ``type``; returns [extension, commands].
export function ensureExtension(element, type, bpmnFactory, attrs) {
  const bo = getBusinessObject(element);
  const commands = [];
  let ext = bo.get("extensionElements");
  if (!ext) {
    ext = bpmnFactory.create("bpmn:ExtensionElements", { values: [] });
    ext.$parent = bo;
    commands.push({ cmd: "element.updateModdleProperties",
      context: { element, moddleElement: bo, properties: { extensionElements: ext } } });
  }
  let found = ext.get("values").find((v) => is(v, type));
  if (!found) {
    found = bpmnFactory.create(type, attrs || {});
    found.$parent = ext;
    commands.push({ cmd: "element.updateModdleProperties",
      context: { element, moddleElement: ext, properties: { values: [...ext.get("values"), found] } } });
  }
  return [found, commands];
}

export function getProperty(element, name) {
  const props = findExtension(element, "spiffworkflow:Properties");
  const prop = props && props.get("properties").find((p) => p.get("name") === name);
  return prop ? prop.get("value") || "" : "";
}

export function setProperty(element, name, value, injector) {
  const bpmnFactory = injector.get("bpmnFactory");
  const [props, commands] = ensureExtension(element, "spiffworkflow:Properties", bpmnFactory, { properties: [] });
  const list = props.get("properties");
  const prop = list.find((p) => p.get("name") === name);
  const text = (value || "").trim();
  if (text && prop) {
    commands.push({ cmd: "element.updateModdleProperties",
      context: { element, moddleElement: prop, properties: { value: text } } });
  } else if (text) {
    const created = bpmnFactory.create("spiffworkflow:Property", { name, value: text });
    created.$parent = props;
    commands.push({ cmd: "element.updateModdleProperties",
      context: { element, moddleElement: props, properties: { properties: [...list, created] } } });
  } else if (prop) {
    commands.push({ cmd: "element.updateModdleProperties",
      context: { element, moddleElement: props, properties: { properties: list.filter((p) => p !== prop) } } });
  }
  if (commands.length) { injector.get("commandStack").execute(MULTI, commands); }
}

// A body-valued child such as bpmn:conditionExpression or bpmn:script.
export function setExpression(element, property, value, injector) {
  const bo = getBusinessObject(element);
  const bpmnFactory = injector.get("bpmnFactory");
  const text = value || "";
  let expression;
  if (text.trim()) {
    expression = bpmnFactory.create("bpmn:FormalExpression", { body: text });
    expression.$parent = bo;
  }
  injector.get("commandStack").execute("element.updateModdleProperties",
    { element, moddleElement: bo, properties: { [property]: expression } });
}

// "English / 中文" names, the convention of the shipped diagrams, as two fields.
export function splitName(name) {
  const text = name || "";
  const at = text.lastIndexOf(" / ");
  if (at < 0) { return [text, ""]; }
  return [text.slice(0, at), text.slice(at + 3)];
}

export function joinName(en, zh) {
  const a = (en || "").trim(), b = (zh || "").trim();
  return b ? (a + " / " + b) : a;
}

export function laneOf(element, elementRegistry) {
  const bo = getBusinessObject(element);
  return elementRegistry.filter((e) => is(e, "bpmn:Lane"))
    .find((lane) => (lane.businessObject.get("flowNodeRef") || []).includes(bo));
}

// The role of a task is the name of its lane: choosing a role moves the task into that lane
// (bpmn-js then updates the lanes' flowNodeRef), adding a lane at the bottom when there is none.
export function moveToRole(element, role, injector) {
  const registry = injector.get("elementRegistry");
  const modeling = injector.get("modeling");
  const lanes = registry.filter((e) => is(e, "bpmn:Lane"));
  let target = lanes.find((l) => l.businessObject.get("name") === role);
  if (!target) {
    const anchor = lanes.length ? lanes.reduce((a, b) => (b.y > a.y ? b : a))
      : registry.filter((e) => is(e, "bpmn:Participant"))[0];
    if (!anchor) { return; }
    target = modeling.addLane(anchor, "bottom");
    modeling.updateProperties(target, { name: role });
  }
  const dy = Math.round(target.y + target.height / 2 - (element.y + element.height / 2));
  if (dy) { modeling.moveElements([element], { x: 0, y: dy }); }
}

export function operator(element) {
  return findExtension(element, "spiffworkflow:ServiceTaskOperator");
}

// Choose a registered operation: its typed parameters become the operator's parameter list,
// keeping the expressions already written for parameters of the same name.
export function setOperation(element, op, injector) {
  const bpmnFactory = injector.get("bpmnFactory");
  const [found, commands] = ensureExtension(element, "spiffworkflow:ServiceTaskOperator", bpmnFactory, {});
  const old = found.get("parameterList");
  const before = {};
  (old ? old.get("parameters") : []).forEach((p) => { before[p.get("id")] = p.get("value"); });
  const list = bpmnFactory.create("spiffworkflow:Parameters", { parameters: [] });
  list.$parent = found;
  const params = (op ? op.params : []).map((p) => {
    const made = bpmnFactory.create("spiffworkflow:Parameter",
      { id: p.name, type: p.type, value: before[p.name] || p.name });
    made.$parent = list;
    return made;
  });
  list.get("parameters").push(...params);
  commands.push({ cmd: "element.updateModdleProperties",
    context: { element, moddleElement: found, properties: { id: op ? op.name : undefined, parameterList: list } } });
  injector.get("commandStack").execute(MULTI, commands);
}

export function setParameter(element, name, value, injector) {
  const found = operator(element);
  const param = found && found.get("parameterList") &&
    found.get("parameterList").get("parameters").find((p) => p.get("id") === name);
  if (!param) { return; }
  injector.get("commandStack").execute("element.updateModdleProperties",
    { element, moddleElement: param, properties: { value: value || "" } });
}

export function setScript(element, type, value, injector) {
  const text = value || "";
  const existing = findExtension(element, type);
  if (!text.trim() && !existing) { return; }
  if (!text.trim()) {
    const ext = getBusinessObject(element).get("extensionElements");
    injector.get("commandStack").execute("element.updateModdleProperties", { element, moddleElement: ext,
      properties: { values: ext.get("values").filter((v) => v !== existing) } });
    return;
  }
  const [found, commands] = ensureExtension(element, type, injector.get("bpmnFactory"), {});
  commands.push({ cmd: "element.updateModdleProperties",
    context: { element, moddleElement: found, properties: { script: text } } });
  injector.get("commandStack").execute(MULTI, commands);
}
