// The form builder (#14): the JSON Schema is the model; the field cards edit it (order, type,
// English/Chinese labels, required, choices with translated labels, "shown when" another field
// has a value), the JSON view shows it whole, and the preview asks the server to render it in
// both languages with the task page's own renderer.
(function () {
  "use strict";

  var root = document.getElementById("builder");
  if (!root) { return; }
  var L = JSON.parse(root.getAttribute("data-labels"));
  var schema = JSON.parse(document.getElementById("form-schema").textContent);
  var csrf = document.querySelector("input[name=csrf_token]").value;
  var TYPES = ["text", "long_text", "integer", "number", "boolean", "date", "choice"];
  var LONG_TEXT = 200;  // web/formrender.py: longer strings get a text area
  schema.properties = schema.properties || {};
  schema.required = schema.required || [];

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; } else { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  function kindOf(p) {
    if (p.readOnly || (p.type && typeof p.type !== "string" && p.type.indexOf("object") >= 0)) { return "other"; }
    if (p.enum) { return "choice"; }
    if (p.type === "boolean") { return "boolean"; }
    if (p.type === "integer" || p.type === "number") { return p.type; }
    if (p.type === "string" || p.type === undefined) {
      if (p.format === "date") { return "date"; }
      return (p.maxLength || 10000) > LONG_TEXT ? "long_text" : "text";
    }
    return "other";
  }

  function setKind(p, kind) {
    ["type", "enum", "x-enum-labels", "format", "maxLength", "minLength"].forEach(function (k) { delete p[k]; });
    if (kind === "text") { p.type = "string"; p.maxLength = 200; }
    if (kind === "long_text") { p.type = "string"; p.maxLength = 4000; }
    if (kind === "integer" || kind === "number" || kind === "boolean") { p.type = kind; }
    if (kind === "date") { p.type = "string"; p.format = "date"; }
    if (kind === "choice") { p.type = "string"; p.enum = ["yes", "no"]; p["x-enum-labels"] = {
      yes: { en: "Yes", zh: "是" }, no: { en: "No", zh: "否" } }; }
  }

  function choicesText(p) {
    var labels = p["x-enum-labels"] || {};
    return (p.enum || []).map(function (v) {
      var l = labels[v] || {};
      return [v, l.en || "", l.zh || ""].join(" | ");
    }).join("\n");
  }

  function setChoices(p, text) {
    var values = [], labels = {};
    text.split("\n").forEach(function (line) {
      var parts = line.split("|").map(function (x) { return x.trim(); });
      if (!parts[0]) { return; }
      values.push(parts[0]);
      labels[parts[0]] = { en: parts[1] || parts[0], zh: parts[2] || parts[1] || parts[0] };
    });
    p.enum = values;
    p["x-enum-labels"] = labels;
  }

  function typedValue(p, text) {
    if (p.type === "boolean") { return text === "true"; }
    if ((p.type === "integer" || p.type === "number") && text !== "" && !isNaN(Number(text))) { return Number(text); }
    return text;
  }

  // "Shown when": an annotation the task page reads, and, for a required field, a conditional
  // requirement (if the other field has the value, then this one is required).
  function syncConditions() {
    var kept = (schema.allOf || []).filter(function (s) { return s["x-builder"] !== "show-when"; });
    Object.keys(schema.properties).forEach(function (key) {
      var when = schema.properties[key]["x-show-when"];
      if (!when) { return; }
      var wanted = schema.required.indexOf(key) >= 0 || (schema.properties[key]["x-required-when-shown"] === true);
      if (wanted) {
        schema.properties[key]["x-required-when-shown"] = true;
        schema.required = schema.required.filter(function (k) { return k !== key; });
        var cond = {}; cond[when.field] = { "const": when.equals };
        kept.push({ "x-builder": "show-when", "if": { properties: cond, required: [when.field] },
          "then": { required: [key] } });
      }
    });
    if (kept.length) { schema.allOf = kept; } else { delete schema.allOf; }
  }

  function isRequired(key) {
    var p = schema.properties[key];
    return schema.required.indexOf(key) >= 0 || (p["x-show-when"] && p["x-required-when-shown"] === true);
  }

  function setRequired(key, on) {
    var p = schema.properties[key];
    schema.required = schema.required.filter(function (k) { return k !== key; });
    delete p["x-required-when-shown"];
    if (on) {
      if (p["x-show-when"]) { p["x-required-when-shown"] = true; } else { schema.required.push(key); }
    }
  }

  function reorder(keys) {
    var next = {};
    keys.forEach(function (k) { next[k] = schema.properties[k]; });
    schema.properties = next;
  }

  function input(id, value, onInput, attrs) {
    var node = el("input", Object.assign({ id: id }, attrs || {}));
    node.value = value || "";
    node.addEventListener("input", function () { onInput(node.value); changed(); });
    return node;
  }

  function field(labelText, control) {
    return el("div", { "class": "field" }, [el("label", { "for": control.id, text: labelText }), control]);
  }

  function card(key, index, keys) {
    var p = schema.properties[key];
    var kind = kindOf(p);
    var box = el("div", { "class": "card builder-field", "data-key": key });
    var head = el("div", { "class": "builder-field-head" });
    var keyInput = input("b-key-" + index, key, function () {}, { maxlength: "64", pattern: "[a-z][a-z0-9_]*" });
    keyInput.addEventListener("change", function () {
      var next = keyInput.value.trim();
      if (!/^[a-z][a-z0-9_]{0,63}$/.test(next) || schema.properties[next]) { keyInput.value = key; return; }
      var order = Object.keys(schema.properties).map(function (k) { return k === key ? next : k; });
      schema.properties[next] = schema.properties[key];
      schema.required = schema.required.map(function (k) { return k === key ? next : k; });
      Object.keys(schema.properties).forEach(function (k) {
        var w = schema.properties[k]["x-show-when"];
        if (w && w.field === key) { w.field = next; }
      });
      reorder(order);
      render();
    });
    head.appendChild(field(L.key, keyInput));
    var type = el("select", { id: "b-type-" + index });
    (kind === "other" ? ["other"] : TYPES).forEach(function (t) {
      var o = el("option", { value: t, text: L[t] || t });
      if (t === kind) { o.selected = true; }
      type.appendChild(o);
    });
    type.disabled = kind === "other";
    type.addEventListener("change", function () { setKind(p, type.value); render(); });
    head.appendChild(field(L.type, type));
    var buttons = el("div", { "class": "builder-buttons" });
    [["up", -1], ["down", 1]].forEach(function (b) {
      var btn = el("button", { type: "button", "class": "btn btn-secondary btn-small", "aria-label": L[b[0]],
        "data-move": b[0], text: b[0] === "up" ? "↑" : "↓" });
      btn.disabled = (index + b[1] < 0) || (index + b[1] >= keys.length);
      btn.addEventListener("click", function () {
        var order = keys.slice();
        order.splice(index, 1);
        order.splice(index + b[1], 0, key);
        reorder(order);
        render();
      });
      buttons.appendChild(btn);
    });
    var del = el("button", { type: "button", "class": "btn btn-secondary btn-small", "data-remove": key, text: L.remove });
    del.addEventListener("click", function () {
      delete schema.properties[key];
      schema.required = schema.required.filter(function (k) { return k !== key; });
      render();
    });
    buttons.appendChild(del);
    head.appendChild(buttons);
    box.appendChild(head);
    box.appendChild(field(L.title_en, input("b-title-en-" + index, p.title, function (v) { p.title = v; })));
    box.appendChild(field(L.title_zh, input("b-title-zh-" + index, p["x-title-zh"], function (v) { p["x-title-zh"] = v; })));
    var req = el("input", { type: "checkbox", id: "b-required-" + index });
    req.checked = isRequired(key);
    req.addEventListener("change", function () { setRequired(key, req.checked); changed(); });
    box.appendChild(el("div", { "class": "field" }, [el("label", {}, [req, document.createTextNode(" " + L.required)])]));
    if (kind === "choice") {
      var choices = el("textarea", { id: "b-choices-" + index, rows: "3", "class": "mono" });
      choices.value = choicesText(p);
      choices.addEventListener("input", function () { setChoices(p, choices.value); changed(); });
      box.appendChild(field(L.choices, choices));
    }
    var when = p["x-show-when"] || {};
    var other = el("select", { id: "b-when-" + index });
    other.appendChild(el("option", { value: "", text: L.always }));
    keys.forEach(function (k) {
      if (k === key) { return; }
      var o = el("option", { value: k, text: k });
      if (when.field === k) { o.selected = true; }
      other.appendChild(o);
    });
    var equals = input("b-when-value-" + index, when.equals === undefined ? "" : String(when.equals), function () {});
    function setWhen() {
      var wasRequired = isRequired(key);
      if (!other.value) { delete p["x-show-when"]; } else {
        p["x-show-when"] = { field: other.value, equals: typedValue(schema.properties[other.value], equals.value) };
      }
      setRequired(key, wasRequired);
      changed();
    }
    other.addEventListener("change", setWhen);
    equals.addEventListener("input", setWhen);
    box.appendChild(el("div", { "class": "builder-when" }, [field(L.show_when, other), field(L.equals, equals)]));
    return box;
  }

  function render() {
    var list = document.getElementById("b-fields");
    list.innerHTML = "";
    var keys = Object.keys(schema.properties);
    keys.forEach(function (key, i) { list.appendChild(card(key, i, keys)); });
    changed();
  }

  var timer = null;
  function changed() {
    syncConditions();
    document.getElementById("b-json").value = JSON.stringify(schema, null, 1);
    clearTimeout(timer);
    timer = setTimeout(preview, 250);
  }

  function preview() {
    var body = new FormData();
    body.append("schema", JSON.stringify(schema));
    body.append("csrf_token", csrf);
    fetch(root.getAttribute("data-preview-url"), { method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": csrf } })
      .then(function (r) { return r.json(); })
      .then(function (result) {
        ["en", "zh"].forEach(function (lang) {
          var box = document.getElementById("preview-" + lang);
          if (result.ok) {
            box.innerHTML = result[lang];
            if (window.sealtrailShowWhen) { window.sealtrailShowWhen(box); }
          } else {
            box.textContent = L.invalid + " " + result.message;
          }
        });
        root.setAttribute("data-previewed", String(Date.now()));
      });
  }

  var titleEn = document.getElementById("b-title-en"), titleZh = document.getElementById("b-title-zh");
  titleEn.value = schema.title || "";
  titleZh.value = schema["x-title-zh"] || "";
  titleEn.addEventListener("input", function () { schema.title = titleEn.value; changed(); });
  titleZh.addEventListener("input", function () { schema["x-title-zh"] = titleZh.value; changed(); });

  document.getElementById("b-add").addEventListener("click", function () {
    var n = Object.keys(schema.properties).length + 1, key = "field_" + n;
    while (schema.properties[key]) { n += 1; key = "field_" + n; }
    schema.properties[key] = { title: "", "x-title-zh": "" };
    setKind(schema.properties[key], "text");
    render();
  });

  document.getElementById("b-json-apply").addEventListener("click", function () {
    try {
      var next = JSON.parse(document.getElementById("b-json").value);
      if (next && typeof next === "object" && next.properties) {
        schema = next;
        schema.required = schema.required || [];
        titleEn.value = schema.title || "";
        titleZh.value = schema["x-title-zh"] || "";
        render();
      }
    } catch (e) { document.getElementById("preview-en").textContent = L.invalid + " " + e.message; }
  });

  document.getElementById("save-form").addEventListener("submit", function () {
    syncConditions();
    this.querySelector("input[name=schema]").value = JSON.stringify(schema);
  });

  render();
})();
