// The BPMN editor: bpmn-js modeler, server-side validation with highlighted elements, and
// deployment through the signing dialog (the form posts the edited XML).
(function () {
  "use strict";

  var root = document.getElementById("modeler");
  if (!root) { return; }
  var csrf = document.querySelector("input[name=csrf_token]").value;
  // The properties panel (bpmn-js-properties-panel with Sealtrail's groups) beside the canvas;
  // its choices (forms, roles, meanings, operations, processes) come from the server.
  var config = JSON.parse(document.getElementById("editor-config").textContent);
  config.csrf = csrf;
  config.checkScriptUrl = root.getAttribute("data-check-script-url");
  var modeler = window.SealtrailModeler.create(root, document.getElementById("properties"), config);
  window.sealtrailModeler = modeler;  // for the simulation panel and for tests that read the model
  var problems = document.getElementById("problems");
  var status = document.getElementById("editor-status");
  var marked = [];

  function say(text, cls) {
    status.textContent = text;
    status.className = "alert " + (cls || "alert-info");
    status.hidden = false;
  }

  function clearMarks() {
    var canvas = modeler.get("canvas");
    marked.forEach(function (id) { canvas.removeMarker(id, "st-error"); });
    marked = [];
  }

  function showProblems(list) {
    clearMarks();
    problems.innerHTML = "";
    var canvas = modeler.get("canvas");
    var registry = modeler.get("elementRegistry");
    list.forEach(function (p) {
      var li = document.createElement("li");
      var where = [];
      if (p.element_id) { where.push(p.element_id); }
      if (p.line) { where.push(root.getAttribute("data-line-text") + " " + p.line); }
      li.textContent = (where.length ? "[" + where.join(", ") + "] " : "") + p.message;
      li.setAttribute("data-element-id", p.element_id || "");
      if (p.element_id && registry.get(p.element_id)) {
        canvas.addMarker(p.element_id, "st-error");
        marked.push(p.element_id);
        li.classList.add("clickable");
        li.addEventListener("click", function () {
          var el = registry.get(p.element_id);
          modeler.get("selection").select(el);
          canvas.scrollToElement(el);
        });
      }
      problems.appendChild(li);
    });
  }

  function currentXml() {
    return modeler.saveXML({ format: true }).then(function (r) { return r.xml; });
  }

  function validate() {
    return currentXml().then(function (xml) {
      var body = new FormData();
      body.append("xml", xml);
      body.append("csrf_token", csrf);
      return fetch(root.getAttribute("data-validate-url"), {
        method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRFToken": csrf }
      });
    }).then(function (r) { return r.json(); }).then(function (result) {
      showProblems(result.problems || []);
      if (result.ok) { say(root.getAttribute("data-valid-text"), "alert-ok"); }
      else { say(root.getAttribute("data-invalid-text").replace("%(n)s", result.problems.length), "alert-bad"); }
      return result;
    });
  }

  // Fit the diagram into the canvas right of the palette (fit-viewport alone lets the palette
  // cover the start of the process), never zooming in beyond 100 %.
  function fitBesidePalette(canvas, container) {
    canvas.zoom("fit-viewport", "auto");
    var palette = container.querySelector(".djs-palette");
    var box = canvas.viewbox();
    if (!palette || !box.inner.width || !box.inner.height) { return; }
    var left = palette.getBoundingClientRect().right - container.getBoundingClientRect().left + 16;
    var size = { width: box.outer.width - left - 16, height: box.outer.height - 32 };
    var scale = Math.min(1, size.width / box.inner.width, size.height / box.inner.height);
    canvas.viewbox({
      x: box.inner.x - left / scale,
      y: box.inner.y - (box.outer.height / scale - box.inner.height) / 2,
      width: box.outer.width / scale,
      height: box.outer.height / scale
    });
  }

  var initial = document.getElementById("initial-problems");
  // After a refused deployment the server sends the edited diagram back: nothing is lost.
  var draft = document.getElementById("draft-xml");
  var source = draft ? Promise.resolve(JSON.parse(draft.textContent))
    : fetch(root.getAttribute("data-bpmn-url"), { credentials: "same-origin" }).then(function (r) { return r.text(); });
  source
    .then(function (xml) { return modeler.importXML(xml); })
    .then(function () {
      fitBesidePalette(modeler.get("canvas"), root);
      root.setAttribute("data-loaded", "true");
      if (initial) { showProblems(JSON.parse(initial.textContent)); }
    })
    .catch(function (err) { root.setAttribute("data-loaded", "error"); say(err.message, "alert-bad"); });

  document.getElementById("btn-validate").addEventListener("click", function () { validate(); });

  document.getElementById("btn-download").addEventListener("click", function () {
    currentXml().then(function (xml) {
      var a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([xml], { type: "application/xml" }));
      a.download = root.getAttribute("data-file-name");
      a.click();
      setTimeout(function () { URL.revokeObjectURL(a.href); }, 1000);
    });
  });

  // Deploy: put the edited XML into the form before the signing dialog submits it.
  var deployForm = document.getElementById("deploy-form");
  deployForm.addEventListener("submit", function (event) {
    if (deployForm.getAttribute("data-ready") === "true") { return; }
    event.preventDefault();
    currentXml().then(function (xml) {
      deployForm.querySelector("input[name=xml]").value = xml;
      deployForm.setAttribute("data-ready", "true");
      HTMLFormElement.prototype.submit.call(deployForm);
    });
  });
})();
