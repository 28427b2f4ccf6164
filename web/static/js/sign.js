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

  // Where the meaning follows from the entries (approved / rejected), ask the server for it
  // before the dialog opens, so the manifestation shows what will be signed. The server refuses
  // a signature whose shown meaning differs, so a failed request only costs a second try.
  function refreshMeaning(dialog, done) {
    var url = dialog.getAttribute("data-meaning-url");
    var form = dialog.closest("form");
    if (!url || !form || !window.fetch) { done(); return; }
    var token = form.querySelector("input[name=csrf_token]");
    fetch(url, {method: "POST", body: new FormData(form), credentials: "same-origin",
                headers: token ? {"X-CSRFToken": token.value} : {}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (m) {
        if (m) {
          var strong = dialog.querySelector("[data-meaning] strong");
          if (strong) { strong.textContent = m.label; }
          var shown = dialog.querySelector("[data-meaning-shown]");
          if (shown) { shown.value = m.meaning; }
        }
        done();
      }, done);
  }

  document.querySelectorAll("[data-open-sign]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      var dialog = document.getElementById(button.getAttribute("data-open-sign"));
      event.preventDefault();
      refreshMeaning(dialog, function () { open(dialog); });
    });
  });
  document.querySelectorAll("[data-close-sign]").forEach(function (button) {
    button.addEventListener("click", function () { button.closest("dialog").close(); });
  });
  document.querySelectorAll("dialog.sign[data-open=true]").forEach(open);
  setInterval(function () { document.querySelectorAll("dialog.sign[open]").forEach(tick); }, 1000);
})();
