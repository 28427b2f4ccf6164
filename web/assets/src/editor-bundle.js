// The editor page's modeler: bpmn-js with the properties panel and Sealtrail's moddle extension
// and panel groups, bundled by esbuild (web/assets/install_vendor.py) into web/static/vendor.
import BpmnModeler from "bpmn-js/lib/Modeler";
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from "bpmn-js-properties-panel";
import SealtrailPropertiesProvider from "./provider";
import spiffworkflow from "./spiffworkflow.json";

const SealtrailPanelModule = {
  __init__: ["sealtrailPropertiesProvider"],
  sealtrailPropertiesProvider: ["type", SealtrailPropertiesProvider],
};

const OPEN_GROUPS = ["general", "st-task", "st-lane", "st-condition", "st-script", "st-service", "st-call", "timer"];

function translateModule(dictionary) {
  function translate(template, replacements) {
    const text = (dictionary && dictionary[template]) || template;
    return text.replace(/{([^}]+)}/g, (_, key) => (replacements && key in replacements ? replacements[key] : "{" + key + "}"));
  }
  return { translate: ["value", translate] };
}

export function create(container, panel, config) {
  return new BpmnModeler({
    container,
    // Sealtrail's groups open by default: they are what a process owner edits.
    propertiesPanel: { parent: panel, layout: { groups: Object.fromEntries(OPEN_GROUPS.map((g) => [g, { open: true }])) } },
    sealtrail: config,
    additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, SealtrailPanelModule,
      translateModule(config.translations)],
    moddleExtensions: { spiffworkflow },
  });
}
