// The decision-table editor: dmn-js (decision-table view) beside a test sheet; server-side
// validation (verification findings, failing examples), trial runs, and deployment through the
// signing dialog (the form posts the edited XML and the test sheet).
(function () {
  "use strict";

  var root = document.getElementById("dmn-modeler");
  if (!root) { return; }
  // dmn-js's cell editors (CodeMirror) put their base styles in a <style> element in <head>;
  // our CSP admits style elements only with the page's nonce, which CodeMirror would set given its
  // cspNonce option, but dmn-js does not pass one. Stamp the nonce this script was loaded with on
  // style elements inserted into <head> without one (the same effect, no 'unsafe-inline').
  var nonce = document.currentScript && document.currentScript.nonce;
  if (nonce) {
    var insertBefore = Node.prototype.insertBefore;
    document.head.insertBefore = function (node, ref) {
      if (node && node.tagName === "STYLE" && !node.getAttribute("nonce")) { node.setAttribute("nonce", nonce); }
      return insertBefore.call(this, node, ref);
    };
  }
  // dmn-js speaks English; on a Chinese page its labels come from this table (dmn-js's translate
  // service, replaced: the template's {placeholders} are filled as dmn-js's own does).
  var ZH = {
    "View DRD": "查看决策需求图", "Hit policy:": "命中策略：", "Hit policy": "命中策略", "When": "当", "And": "且",
    "Then": "则", "Annotations": "注释", "Unique": "唯一", "First": "首个", "Priority": "优先级", "Any": "任意",
    "Collect": "汇总", "Collect (Sum)": "汇总（求和）", "Collect (Min)": "汇总（最小）", "Collect (Max)": "汇总（最大）",
    "Collect (Count)": "汇总（计数）", "Rule order": "规则顺序", "Output order": "输出顺序",
    "Add rule above": "在上方添加规则", "Add rule below": "在下方添加规则", "Remove rule": "删除规则",
    "Copy rule": "复制规则", "Cut rule": "剪切规则", "Paste rule above": "粘贴到上方", "Paste rule below": "粘贴到下方",
    "Move rule": "移动规则", "Add input": "添加输入", "Add output": "添加输出",
    "Add input column left": "在左侧添加输入列", "Add input column right": "在右侧添加输入列",
    "Add output column left": "在左侧添加输出列", "Add output column right": "在右侧添加输出列",
    "Remove input column": "删除输入列", "Remove output column": "删除输出列", "Input": "输入", "Output": "输出",
    "Input label: ": "输入标签：", "Input expression: ": "输入表达式：", "Input type": "输入类型",
    "Input values": "输入取值", "Output label: ": "输出标签：", "Output name: ": "输出名称：", "Output type": "输出类型",
    "Output values": "输出取值", "Predefined values": "预定义取值", "Add values": "添加取值", "Add predefined values": "添加预定义取值",
    "Clear predefined values": "清除预定义取值", "No values": "无取值", "Edit": "编辑", "Value": "值", "Values": "取值",
    "Type": "类型", "Yes": "是", "No": "否", "Add cell description": "添加单元格说明",
    "Remove cell description": "删除单元格说明", "Decision name": "决策名称", "Expression language": "表达式语言",
    "Strings must be in double quotes": "字符串须用双引号"
  };
  var zh = (document.documentElement.lang || "").indexOf("zh") === 0;
  function translate(template, replacements) {
    replacements = replacements || {};
    var text = (zh && ZH[template]) || template;
    return text.replace(/{([^}]+)}/g, function (_, key) { return key in replacements ? replacements[key] : "{" + key + "}"; });
  }
  // Per view: dmn-js merges a view's additionalModules, not those given in ``common``.
  var translated = { additionalModules: [{ translate: ["value", translate] }] };
  var modeler = new window.DmnJS({ container: root, drd: translated, decisionTable: translated,
                                   literalExpression: translated });
  var problems = document.getElementById("problems");
  var status = document.getElementById("editor-status");
  var sheet = document.querySelector("#test-sheet tbody");
  var rowTemplate = document.getElementById("test-row");
  var csrf = document.querySelector("input[name=csrf_token]").value;
  var lastTry = null;

  function text(name) { return root.getAttribute("data-" + name); }

  function say(message, cls) {
    status.textContent = message;
    status.className = "alert " + (cls || "alert-info");
    status.hidden = false;
  }

  // --- test sheet -----------------------------------------------------------------------
  function addRow(row) {
    var tr = rowTemplate.content.firstElementChild.cloneNode(true);
    tr.querySelectorAll("[data-k]").forEach(function (input) { input.value = (row && row[input.getAttribute("data-k")]) || ""; });
    tr.querySelector("[data-remove]").addEventListener("click", function () { tr.remove(); });
    sheet.appendChild(tr);
    return tr;
  }

  function rows() {
    return Array.prototype.map.call(sheet.querySelectorAll("tr"), function (tr) {
      var row = {};
      tr.querySelectorAll("[data-k]").forEach(function (input) { row[input.getAttribute("data-k")] = input.value; });
      return row;
    });
  }

  function nextId() {
    var taken = {};
    rows().forEach(function (r) { taken[r.id] = true; });
    for (var n = 1; ; n += 1) { if (!taken["example_" + n]) { return "example_" + n; } }
  }

  var initialTests = JSON.parse(document.getElementById("initial-tests").textContent);
  initialTests.forEach(addRow);
  document.getElementById("btn-add-test").addEventListener("click", function () {
    addRow({ id: nextId(), given: "{}", expect: "{}" }).querySelector("textarea").focus();
  });
  var tryGiven = document.getElementById("try-given");
  if (initialTests.length) { tryGiven.value = initialTests[0].given; }

  // --- problems -------------------------------------------------------------------------
  function showProblems(list, warnings) {
    problems.innerHTML = "";
    list.concat(warnings || []).forEach(function (p, i) {
      var li = document.createElement("li");
      if (i >= list.length) { li.className = "warning"; li.setAttribute("data-warning", ""); }
      var where = [];
      if (p.element_id) { where.push(p.element_id); }
      if (p.line) { where.push(text("line-text") + " " + p.line); }
      li.textContent = (i >= list.length ? text("warning-text") + " " : "") +
        (where.length ? "[" + where.join(", ") + "] " : "") + p.message;
      problems.appendChild(li);
    });
  }

  function currentXml() {
    return modeler.saveXML({ format: true }).then(function (r) { return r.xml; });
  }

  function post(url, fields) {
    var body = new FormData();
    Object.keys(fields).forEach(function (k) { body.append(k, fields[k]); });
    body.append("csrf_token", csrf);
    return fetch(url, { method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRFToken": csrf } })
      .then(function (r) { return r.json(); });
  }

  function validate() {
    return currentXml().then(function (xml) {
      return post(text("validate-url"), { xml: xml, tests: JSON.stringify(rows()) });
    }).then(function (result) {
      showProblems(result.problems || [], result.warnings || []);
      if (result.ok) { say(text("valid-text").replace("%(n)s", result.tests_passed), "alert-ok"); }
      else { say(text("invalid-text").replace("%(n)s", result.problems.length), "alert-bad"); }
      root.setAttribute("data-validated", result.ok ? "ok" : "problems");
      return result;
    });
  }

  // --- trial run ------------------------------------------------------------------------
  var tryResult = document.getElementById("try-result");
  var keep = document.getElementById("btn-keep-try");

  function showTry(result) {
    tryResult.innerHTML = "";
    lastTry = null;
    keep.hidden = true;
    var box = document.createElement("div");
    box.className = "alert " + (result.ok ? "alert-ok" : "alert-bad");
    if (!result.ok) {
      box.textContent = result.error;
    } else {
      var dl = document.createElement("dl");
      dl.className = "facts";
      Object.keys(result.outputs).forEach(function (k) {
        var dt = document.createElement("dt"); dt.textContent = k;
        var dd = document.createElement("dd");
        var strong = document.createElement("strong"); strong.textContent = JSON.stringify(result.outputs[k]);
        dd.appendChild(strong);
        dl.appendChild(dt); dl.appendChild(dd);
      });
      var dt = document.createElement("dt"); dt.textContent = text("rule-text");
      var dd = document.createElement("dd");
      if (result.rules.length) {
        result.rules.forEach(function (id, i) {
          var code = document.createElement("code"); code.textContent = id; code.setAttribute("data-rule", "");
          dd.appendChild(code);
          if (result.rule_descriptions[i]) { dd.appendChild(document.createTextNode(" " + result.rule_descriptions[i])); }
        });
      } else {
        dd.textContent = text("default-text");
      }
      dl.appendChild(dt); dl.appendChild(dd);
      box.appendChild(dl);
      lastTry = result;
      keep.hidden = false;
    }
    tryResult.appendChild(box);
  }

  document.getElementById("btn-try").addEventListener("click", function () {
    currentXml().then(function (xml) {
      return post(text("try-url"), { xml: xml, given: tryGiven.value });
    }).then(showTry);
  });

  keep.addEventListener("click", function () {
    if (!lastTry) { return; }
    addRow({ id: nextId(), given: tryGiven.value, expect: JSON.stringify(lastTry.outputs),
             rule: lastTry.rules.length === 1 ? lastTry.rules[0] : "" });
    keep.hidden = true;
  });

  // --- load -----------------------------------------------------------------------------
  function openTable() {
    var view = modeler.getViews().filter(function (v) { return v.type === "decisionTable"; })[0];
    return view ? modeler.open(view) : Promise.resolve();
  }

  var draft = document.getElementById("draft-xml");
  var source = draft ? Promise.resolve(JSON.parse(draft.textContent))
    : fetch(text("dmn-url"), { credentials: "same-origin" }).then(function (r) { return r.text(); });
  source
    .then(function (xml) { return modeler.importXML(xml); })
    .then(openTable)
    .then(function () { root.setAttribute("data-loaded", "true"); })
    .catch(function (err) { root.setAttribute("data-loaded", "error"); say(err.message, "alert-bad"); });

  document.getElementById("btn-validate").addEventListener("click", function () { validate(); });

  document.getElementById("btn-download").addEventListener("click", function () {
    currentXml().then(function (xml) {
      var a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([xml], { type: "application/xml" }));
      a.download = text("file-name");
      a.click();
      setTimeout(function () { URL.revokeObjectURL(a.href); }, 1000);
    });
  });

  // Deploy: put the edited XML and the test sheet into the form before the signing dialog submits it.
  var deployForm = document.getElementById("deploy-form");
  deployForm.addEventListener("submit", function (event) {
    if (deployForm.getAttribute("data-ready") === "true") { return; }
    event.preventDefault();
    currentXml().then(function (xml) {
      deployForm.querySelector("input[name=xml]").value = xml;
      deployForm.querySelector("input[name=tests]").value = JSON.stringify(rows());
      deployForm.setAttribute("data-ready", "true");
      HTMLFormElement.prototype.submit.call(deployForm);
    });
  });
})();
