// Shop floor: a value turns red outside its specification limits and amber outside its control
// limits while it is typed (the server judges it again when it is recorded).
(function () {
  "use strict";
  function num(el, name) {
    var v = el.getAttribute("data-" + name);
    return v === null ? null : parseFloat(v);
  }
  function judge(input) {
    var text = input.value.trim().replace(",", ".");
    var box = input.closest("form").querySelector("[data-judge-text]");
    input.classList.remove("out-of-spec", "out-of-control");
    if (box) { box.textContent = ""; }
    if (text === "" || isNaN(Number(text))) { return; }
    var v = Number(text);
    var lsl = num(input, "lsl"), usl = num(input, "usl"), lcl = num(input, "lcl"), ucl = num(input, "ucl");
    if ((lsl !== null && v < lsl) || (usl !== null && v > usl)) {
      input.classList.add("out-of-spec");
      if (box) { box.textContent = box.getAttribute("data-out"); }
    } else if ((lcl !== null && v < lcl) || (ucl !== null && v > ucl)) {
      input.classList.add("out-of-control");
      if (box) { box.textContent = box.getAttribute("data-warn"); }
    }
  }
  document.querySelectorAll("input[data-judge]").forEach(function (input) {
    input.addEventListener("input", function () { judge(input); });
    judge(input);
  });
})();
