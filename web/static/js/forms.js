// Task forms: "Add row" in tables clones the last row with the next index and empty values.
(function () {
  "use strict";
  document.querySelectorAll("[data-add-row]").forEach(function (button) {
    button.addEventListener("click", function () {
      var name = button.getAttribute("data-add-row");
      var body = document.querySelector('[data-table="' + name + '"] tbody');
      var last = body.querySelector("tr:last-child");
      if (!last) { return; }
      var next = body.querySelectorAll("tr").length;
      var row = last.cloneNode(true);
      row.setAttribute("data-row", next);
      row.querySelectorAll("input, select, textarea").forEach(function (el) {
        var parts = el.name.split(".");
        parts[parts.length - 2] = String(next);
        el.name = parts.join(".");
        el.id = "f-" + el.name;
        if (el.type === "checkbox") { el.checked = false; } else { el.value = ""; }
        el.removeAttribute("aria-invalid");
      });
      row.querySelectorAll(".error").forEach(function (e) { e.remove(); });
      body.appendChild(row);
    });
  });
})();

// Fields the form shows only while another field has a given value ("x-show-when", #14): the
// server still validates (a conditionally required field is required only then).
(function () {
  "use strict";
  function current(scope, name) {
    var input = scope.querySelector('[name="' + name + '"]');
    if (!input) { return undefined; }
    return input.type === "checkbox" ? input.checked : input.value;
  }
  function apply(scope) {
    scope.querySelectorAll("[data-show-when-field]").forEach(function (wrapper) {
      var expected = JSON.parse(wrapper.getAttribute("data-show-when-equals"));
      var value = current(scope, wrapper.getAttribute("data-show-when-field"));
      wrapper.hidden = String(value) !== String(expected);
    });
  }
  window.sealtrailShowWhen = apply;
  document.addEventListener("change", function (e) {
    var scope = e.target.closest("form, .form-preview");
    if (scope) { apply(scope); }
  });
  document.querySelectorAll("form").forEach(apply);
})();
