// Read-only BPMN diagrams (bpmn-js navigated viewer) with highlighted elements.
// <div class="diagram" data-bpmn-url="…" data-markers='{"st-done": ["Task_1"], …}'></div>
(function () {
  "use strict";

  function mark(viewer, markers) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    Object.keys(markers || {}).forEach(function (cls) {
      (markers[cls] || []).forEach(function (id) {
        if (registry.get(id)) { canvas.addMarker(id, cls); }
      });
    });
    // The path taken: a sequence flow is done when its source is done and its target was reached.
    var done = {};
    (markers["st-done"] || []).forEach(function (id) { done[id] = true; });
    (markers["st-active"] || []).forEach(function (id) { done[id] = done[id] || "active"; });
    registry.filter(function (el) { return el.type === "bpmn:SequenceFlow"; }).forEach(function (flow) {
      if (flow.source && flow.target && done[flow.source.id] === true && done[flow.target.id]) {
        canvas.addMarker(flow.id, "st-done");
      }
    });
  }

  function show(container) {
    var viewer = new window.BpmnJS({ container: container });
    var markers = JSON.parse(container.getAttribute("data-markers") || "{}");
    return fetch(container.getAttribute("data-bpmn-url"), { credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.text();
      })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        viewer.get("canvas").zoom("fit-viewport", "auto");
        mark(viewer, markers);
        container.setAttribute("data-loaded", "true");
      })
      .catch(function (err) {
        container.setAttribute("data-loaded", "error");
        container.textContent = container.getAttribute("data-error-text") + " (" + err.message + ")";
      });
  }

  document.querySelectorAll(".diagram[data-bpmn-url]").forEach(show);
})();
