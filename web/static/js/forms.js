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
