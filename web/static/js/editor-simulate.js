// Simulate the edited diagram on the server, in memory (#14): the path taken is highlighted on
// the canvas, each step lists its lane and the data after it, timers show their due time, and
// the element where the run stops or fails is marked.
(function () {
  "use strict";

  var box = document.getElementById("simulation");
  var modeler = window.sealtrailModeler;
  if (!box || !modeler) { return; }
  var csrf = document.querySelector("input[name=csrf_token]").value;
  var marked = [];

  function mark(id, cls) {
    if (modeler.get("elementRegistry").get(id)) {
      modeler.get("canvas").addMarker(id, cls);
      marked.push([id, cls]);
    }
  }

  function clear() {
    var canvas = modeler.get("canvas");
    marked.forEach(function (m) { canvas.removeMarker(m[0], m[1]); });
    marked = [];
  }

  // The sequence flows between consecutive elements of the path, so the route reads as a line.
  function markFlows(path) {
    var registry = modeler.get("elementRegistry");
    for (var i = 1; i < path.length; i++) {
      var el = registry.get(path[i - 1]);
      if (!el) { continue; }
      (el.outgoing || []).forEach(function (flow) {
        if (flow.target && flow.target.id === path[i]) { mark(flow.id, "st-sim-path"); }
      });
    }
  }

  function text(tag, value, cls) {
    var node = document.createElement(tag);
    node.textContent = value;
    if (cls) { node.className = cls; }
    return node;
  }

  function show(result) {
    clear();
    var status = document.getElementById("sim-status");
    var list = document.getElementById("sim-path");
    var timers = document.getElementById("sim-timers");
    list.innerHTML = "";
    timers.innerHTML = "";
    document.getElementById("sim-result").hidden = false;
    if (!result.run) {
      status.className = "alert alert-bad";
      status.textContent = (result.problems || []).map(function (p) {
        return (p.element_id ? "[" + p.element_id + "] " : "") + p.message;
      }).join(" · ");
      (result.problems || []).forEach(function (p) { if (p.element_id) { mark(p.element_id, "st-error"); } });
      return;
    }
    var run = result.run;
    run.steps.forEach(function (step) {
      var li = document.createElement("li");
      li.setAttribute("data-element-id", step.element_id);
      li.appendChild(text("strong", step.name || step.element_id));
      li.appendChild(text("span", " " + step.element_id, "muted"));
      if (step.lane) { li.appendChild(text("span", step.lane, "badge")); }
      if (step.note) { li.appendChild(text("div", step.note, "muted")); }
      var details = document.createElement("details");
      details.appendChild(text("summary", box.getAttribute("data-data-text")));
      details.appendChild(text("pre", JSON.stringify(step.data, null, 1)));
      li.appendChild(details);
      list.appendChild(li);
      mark(step.element_id, "st-sim-path");
    });
    markFlows(run.path);
    (run.timers || []).forEach(function (t) {
      timers.appendChild(text("li", t.element_id + ": " + t.value + " — " + box.getAttribute("data-timer-text") +
        " " + t.due));
    });
    status.setAttribute("data-status", run.status);
    if (run.status === "completed") {
      status.className = "alert alert-ok";
      status.textContent = box.getAttribute("data-status-completed");
    } else if (run.status === "failed") {
      status.className = "alert alert-bad";
      status.textContent = box.getAttribute("data-status-failed").replace("%(element)s", run.error_element || "-")
        .replace("%(error)s", run.error || "");
      if (run.error_element) { mark(run.error_element, "st-error"); }
    } else {
      status.className = "alert alert-info";
      status.textContent = box.getAttribute("data-status-waiting") + (run.error ? " (" + run.error + ")" : "");
      if (run.error_element) { mark(run.error_element, "st-sim-wait"); }
    }
  }

  document.getElementById("btn-simulate").addEventListener("click", function () {
    modeler.saveXML({ format: true }).then(function (r) {
      var body = new FormData();
      body.append("xml", r.xml);
      body.append("start_data", document.getElementById("sim-start").value);
      body.append("task_data", document.getElementById("sim-tasks").value);
      body.append("now", document.getElementById("sim-now").value);
      body.append("csrf_token", csrf);
      return fetch(box.getAttribute("data-url"), { method: "POST", body: body, credentials: "same-origin",
        headers: { "X-CSRFToken": csrf } });
    }).then(function (r) { return r.json(); }).then(show);
  });
})();
