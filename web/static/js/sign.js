// The signing dialog: a <dialog class="sign"> inside the form it signs. Buttons with
// data-open-sign="<dialog id>" open it; [data-close-sign] closes it. A dialog rendered with
// data-open="true" (the server re-showing an error) opens on load. The time shown is the
// browser's clock for orientation; the signature records the server's UTC time.
(function () {
  "use strict";

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function tick(dialog) {
    var out = dialog.querySelector("[data-now]");
    if (!out) { return; }
    var d = new Date();
    out.textContent = d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) +
      " " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds()) + " UTC";
  }

  function open(dialog) {
    tick(dialog);
    if (typeof dialog.showModal === "function") { dialog.showModal(); } else { dialog.setAttribute("open", ""); }
    var first = dialog.querySelector("input:not([type=hidden])");
    if (first) { first.focus(); }
  }

  document.querySelectorAll("[data-open-sign]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      var dialog = document.getElementById(button.getAttribute("data-open-sign"));
      event.preventDefault();
      open(dialog);
    });
  });
  document.querySelectorAll("[data-close-sign]").forEach(function (button) {
    button.addEventListener("click", function () { button.closest("dialog").close(); });
  });
  document.querySelectorAll("dialog.sign[data-open=true]").forEach(open);
  setInterval(function () { document.querySelectorAll("dialog.sign[open]").forEach(tick); }, 1000);
})();
