"""The Device History Record as PDF (fpdf2), rendered from ``dhr.build_dhr``'s data.

Headings are bilingual (中文 / English). A CJK font is embedded (subset) when one is found
(``engine.trace.fonts``); without one the PDF is still produced with a core font, CJK
characters replaced, and the first page says so — the record is never silently incomplete.
"""
from __future__ import annotations

import json
import re

from fpdf import FPDF
from fpdf.fonts import FontFace as Style

from engine.masterdata.units import pretty_unit
from engine.trace import barcode
from engine.trace.fonts import find_cjk_font

FAMILY = "sealtrail-cjk"


class DhrPdf(FPDF):
    """A4 portrait with a running header (lot, schema) and footer (page n/N, manifest hash)."""

    def __init__(self, record: dict):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.record = record
        self.set_auto_page_break(auto=True, margin=16)
        self.set_margins(12, 14, 12)
        face = find_cjk_font()
        self.cjk = face is not None
        if face:
            self.add_font(FAMILY, "", face.path, collection_font_number=face.index)
            self.add_font(FAMILY, "B", face.bold_path or face.path, collection_font_number=face.index)
            self.family = FAMILY
        else:
            self.family = "helvetica"
        self.set_title(f"Device History Record {record['lot']['lot_number']}")
        self.set_creator("Sealtrail")

    def text_of(self, value) -> str:
        text = "—" if value is None or value == "" else str(value)
        if self.cjk:
            return text
        return text.replace("—", "-").replace("→", "->").encode("latin-1", "replace").decode("latin-1")

    def header(self):
        self.set_font(self.family, "", 7)
        self.set_text_color(90)
        lot = self.record["lot"]
        self.cell(0, 4, self.text_of(f"器械历史记录 Device History Record · {lot['lot_number']} · {lot['item']}"),
                  new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(0)
        self.ln(1)

    def footer(self):
        self.set_y(-11)
        self.set_font(self.family, "", 7)
        self.set_text_color(90)
        sha = self.record["lot"].get("manifest_sha256") or "—"
        self.cell(0, 4, self.text_of(f"manifest SHA-256 {sha}   generated {self.record['generated_at']}   "
                                     f"page {self.page_no()}/{{nb}}"), align="C")
        self.set_text_color(0)

    def heading(self, zh: str, en: str):
        if self.get_y() > 250:
            self.add_page()
        self.ln(2)
        self.set_font(self.family, "B", 11)
        self.set_fill_color(230, 238, 245)
        self.cell(0, 7, self.text_of(f"{zh} / {en}"), fill=True, new_x="LMARGIN", new_y="NEXT")
        self.set_font(self.family, "", 8)
        self.ln(1)

    def pairs(self, rows: list[tuple[str, object]]):
        for label, value in rows:
            self.set_font(self.family, "B", 8)
            self.cell(48, 5, self.text_of(label))
            self.set_font(self.family, "", 8)
            self.multi_cell(0, 5, self.text_of(value), new_x="LMARGIN", new_y="NEXT")

    def grid(self, header: list[str], rows: list[list], widths: tuple | None = None, marks: list[bool] | None = None,
             *, empty: str = "— none recorded / 无记录 —"):
        """A table, or ``empty`` (saying what is absent) when there are no rows."""
        if not rows:
            self.set_font(self.family, "", 8)
            self.cell(0, 5, self.text_of(empty), new_x="LMARGIN", new_y="NEXT")
            return
        self.set_font(self.family, "", 7)
        head = Style(emphasis="BOLD", fill_color=(240, 240, 240))
        with self.table(col_widths=widths, headings_style=head, line_height=4, text_align="LEFT",
                        first_row_as_headings=True) as table:
            table.row([self.text_of(h) for h in header])
            for i, row in enumerate(rows):
                style = Style(color=(170, 0, 0)) if marks and marks[i] else None
                table.row([self.text_of(c) for c in row], style=style)
        self.ln(1)


def _num(v) -> str:
    return "—" if v is None else f"{v:g}"


def render_pdf(record: dict) -> bytes:
    """The PDF bytes of a DHR built by ``engine.trace.dhr.build_dhr``."""
    pdf = DhrPdf(record)
    pdf.alias_nb_pages()
    pdf.add_page()
    _title(pdf, record)
    _product(pdf, record)
    _components(pdf, record)
    _serials(pdf, record)
    _operations(pdf, record)
    _quality(pdf, record)
    _changes(pdf, record)
    _history(pdf, record)
    _signatures(pdf, record)
    _audit(pdf, record)
    return bytes(pdf.output())


def _title(pdf: DhrPdf, r: dict):
    lot = r["lot"]
    pdf.set_font(pdf.family, "B", 16)
    pdf.cell(0, 9, pdf.text_of("器械历史记录 Device History Record"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.family, "", 10)
    pdf.cell(0, 6, pdf.text_of(f"批号 Lot {lot['lot_number']} — {lot['item']} {lot['item_name']} — "
                               f"状态 status {lot['status']}"), new_x="LMARGIN", new_y="NEXT")
    if not pdf.cjk:
        pdf.set_text_color(170, 0, 0)
        pdf.multi_cell(0, 5, "No CJK font was found on this system: Chinese text is shown as '?'. Install "
                             "fonts-noto-cjk or set SEALTRAIL_CJK_FONT.", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0)
    u = r.get("udi")
    if u:
        pdf.heading("唯一器械标识", "Unique Device Identification (UDI)")
        y = pdf.get_y()
        width = barcode.draw_pdf(pdf, [tuple(e) for e in u["elements"]], pdf.l_margin, y, module_mm=0.3, height_mm=13)
        pdf.set_y(y + 14)
        pdf.set_font("courier", "", 8)
        pdf.cell(width, 4, u["hri"], align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(pdf.family, "", 8)
        pdf.pairs([("UDI-DI (GTIN)", u["gtin"]), ("Issuing agency", u["issuing_agency"]),
                   ("UDI (HRI)", u["hri"]), ("Element string", u["element_string"])])


def _product(pdf: DhrPdf, r: dict):
    lot, p, rev = r["lot"], r["product"], r["revisions"]
    pdf.heading("产品与版本", "Product and revisions used")
    pdf.pairs([("Product 产品", f"{p.get('code')} {p.get('name') or ''} rev {p.get('revision', '—')}"),
               ("Device class 器械类别", p.get("device_class") or "—"),
               ("Sterile 无菌", {True: "yes / 是", False: "no / 否"}.get(p.get("sterile"), "—")),
               ("BOM 物料清单", f"{rev['bom'].get('bom', '—')} rev {rev['bom'].get('revision', '—')}"),
               ("Sub-BOMs", ", ".join(f"{b['bom']} rev {b['revision']}" for b in rev["bom_tree"]) or "—"),
               ("Routing 工艺路线", f"{rev['routing'].get('routing', '—')} rev {rev['routing'].get('revision', '—')}"),
               ("Documents 文件", ", ".join(f"{d[0]} rev {d[1]} ({d[2]})" for d in rev["documents"]) or "—"),
               ("Quantities 数量", f"planned {_num(lot['quantity_planned'])}, made {_num(lot['quantity_made'])}, "
                                  f"approved {_num(lot['quantity_approved'])} {pretty_unit(lot['unit'])}"),
               ("Started / completed", f"{lot['started_at']} / {lot['completed_at']}"),
               ("Expires 有效期至", lot["expires_on"]), ("Manifest SHA-256", lot["manifest_sha256"])])


def _serials(pdf: DhrPdf, r: dict):
    rows = r.get("serials") or []
    if not rows:
        return
    packed = sum(1 for s in rows if s["packed_at"])
    pdf.heading("序列号", f"Unit serial numbers (GS1 AI 21): {len(rows)}, {packed} scanned at packing")
    pdf.grid(["Serials", "Count", "First UDI (HRI)"],
             [[f"{first} – {last}" if first != last else first, str(count), hri]
              for first, last, count, hri in _serial_runs(rows)], widths=(70, 20, 100))
    fitted = [s for s in rows if s.get("components")]
    if fitted:
        pdf.heading("序列化组件", f"Component serials per unit: {len(fitted)} unit(s) with serialised components")
        pdf.grid(["Unit serial", "Component", "Component serial", "Component lot"],
                 [[s["serial"], f"{c['item']} {c['item_name']}", c["serial"], c["lot"]]
                  for s in fitted for c in s["components"]], widths=(45, 65, 45, 35))


def _serial_runs(rows: list[dict]) -> list[tuple[str, str, int, str]]:
    """Consecutive serials (same prefix, numbers counting up by one, same width) as one line each."""
    runs: list[list] = []
    for s in rows:
        match = re.match(r"^(.*?)(\d+)$", s["serial"])
        key = (match.group(1), len(match.group(2)), int(match.group(2))) if match else None
        last = runs[-1] if runs else None
        if key and last and last[4] and last[4][:2] == key[:2] and last[4][2] + 1 == key[2]:
            last[1], last[2], last[4] = s["serial"], last[2] + 1, key
        else:
            runs.append([s["serial"], s["serial"], 1, s["udi_hri"], key])
    return [(first, last, count, hri) for first, last, count, hri, _key in runs]


def _components(pdf: DhrPdf, r: dict):
    pdf.heading("组件批次", "Component lots")
    pdf.grid(["Lot", "Item", "Qty", "Supplier / supplier lot", "Consumed", "Status"],
             [[c["lot_number"], f"{c['item']} {c['item_name']}", f"{_num(c['quantity'])} {pretty_unit(c['unit'])}",
               f"{c['supplier'] or ''} {c['supplier_lot'] or ''}".strip() or "—", c["consumed_at"], c["status"]]
              for c in r["components"]], widths=(22, 46, 16, 40, 40, 18))
    g = r["genealogy"]
    pdf.cell(0, 5, pdf.text_of(f"Full backward genealogy: {g['lots']} lot(s), depth {g['depth']}"),
             new_x="LMARGIN", new_y="NEXT")


def _operations(pdf: DhrPdf, r: dict):
    pdf.heading("工序记录", "Operations, parameters and inspections")
    if not r["operations"]:
        pdf.grid([], [])
    for op in r["operations"]:
        pdf.set_font(pdf.family, "B", 9)
        pdf.cell(0, 6, pdf.text_of(f"Op {op['sequence']} {op['code']} {op['name']}"
                                   f"{' (repeat / rework)' if op['repeat'] else ''}"), new_x="LMARGIN", new_y="NEXT")
        eq = op["equipment"]
        pdf.pairs([("Operator 操作员", op["operator"]),
                   ("Equipment 设备", f"{eq['code']} {eq['name']} — {eq['calibration']['text']}" if eq else "—"),
                   ("Time", f"{op['started_at']} → {op['ended_at']}"),
                   ("Good / scrap", f"{_num(op['quantity_good'])} / {_num(op['quantity_scrap'])}")])
        ms = op["measurements"]
        pdf.grid(["Parameter", "Value", "Target", "LSL", "USL", "Verdict", "Measured", "Recorded by", "Changed"],
                 [[m["parameter"], f"{_num(m['value'])} {pretty_unit(m['unit'])}", _num(m["target"]), _num(m["lsl"]),
                   _num(m["usl"]), m["verdict"], m["measured_at"], m["recorded_by"],
                   "CHANGED" if m["changes"] else ""] for m in ms],
                 widths=(30, 18, 13, 12, 12, 22, 34, 30, 15), marks=[not m["in_spec"] for m in ms if True])
        ins = op["inspections"]
        if ins:
            pdf.grid(["Inspection", "Sample", "Defects", "Value", "Result", "Inspected", "Inspector"],
                     [[i["item"], _sample(i), i["defects"], _num(i["measured_value"]), i["result"],
                       i["inspected_at"], i["inspector"]] for i in ins],
                     marks=[i["result"] != "pass" for i in ins])


def _sample(i: dict) -> str:
    """The sample size, with the ISO 2859-1 plan it was judged by (severity, code letter, Ac/Re)."""
    plan = i.get("sampling_plan")
    if not plan:
        return str(i["sample_size"])
    return f"{i['sample_size']} ({plan['severity']} {plan['code_letter']}, Ac {plan['accept']} Re {plan['reject']})"


def _quality(pdf: DhrPdf, r: dict):
    pdf.heading("偏差与纠正预防措施", "Deviations, dispositions and CAPA")
    if not r["quality_events_available"]:
        pdf.cell(0, 5, "Deviation/CAPA records are not installed in this build.", new_x="LMARGIN", new_y="NEXT")
        return
    pdf.grid(["Deviation", "Class", "Status", "Description", "Disposition", "By / when"],
             [[d["number"], d["classification"], d["status"], d["description"],
               f"{d['disposition'] or '—'}: {d['justification'] or ''}",
               f"{d['dispositioned_by'] or '—'} {d['dispositioned_at'] or ''}"] for d in r["deviations"]],
             empty="No deviation touched this lot / 本批次无偏差")
    pdf.grid(["CAPA", "Status", "Problem", "Due", "Closed", "Effective"],
             [[c["number"], c["status"], c["problem"], c["due_on"], c["closed_at"], c["effective"]]
              for c in r["capas"]], empty="No CAPA linked to this lot's deviations / 无相关纠正预防措施")


def _changes(pdf: DhrPdf, r: dict):
    pdf.heading("修改记录", "Values changed after original entry (EU GMP Annex 11 §8.2)")
    rows = []
    for m in r["measurements"]:
        for c in m["changes"]:
            rows.append([f"Op {m['operation']} {m['parameter']}", f"{_num(c['old_value'])} {pretty_unit(c['old_unit'])}",
                         f"{_num(m['value'])} {pretty_unit(m['unit'])}", c["changed_by"], c["changed_at"], c["reason"]])
    for i in r["inspections"]:
        for c in i["changes"]:
            rows.append([f"Inspection {i['item']}", c["old_value"], i["result"], c["changed_by"], c["changed_at"],
                         c["reason"]])
    for c in r["lot_changes"]:
        rows.append([f"Lot ({c['action']})", _short(c["before"]), _short(c["after"]), c["by"], c["at"], c["reason"]])
    pdf.grid(["Record", "Was", "Now", "Changed by", "When (UTC)", "Why"], rows, widths=(34, 28, 28, 32, 34, 30),
             empty="No value was changed after its original entry / 无原始录入后的修改")


def _history(pdf: DhrPdf, r: dict):
    pdf.heading("批次状态记录", "Lot status history")
    pdf.grid(["Step", "From", "To", "By", "When (UTC)", "Why"],
             [[h["action"].removeprefix("lot."), h["from"] or "—", h["to"] or "—", h["by"], _stamp(h["at"]),
               h["reason"] or ""] for h in r.get("lot_history", [])], widths=(28, 24, 24, 34, 36, 40))


def _stamp(iso: str | None) -> str:
    """``2026-11-26T02:00:00.123456Z`` → ``2026-11-26 02:00:00Z``: one unbreakable-looking token less."""
    if not iso:
        return "—"
    return iso.replace("T", " ").split(".")[0].removesuffix("Z") + ("Z" if iso.endswith("Z") else "")


def _short(canonical: str | None) -> str:
    if not canonical:
        return "—"
    try:
        data = json.loads(canonical)
    except ValueError:
        return canonical[:60]
    return ", ".join(f"{k}={v}" for k, v in data.items())[:80] if isinstance(data, dict) else str(data)[:80]


def _signatures(pdf: DhrPdf, r: dict):
    pdf.heading("电子签名", "Electronic signatures (21 CFR 11.50)")
    pdf.grid(["Signed by (user)", "Meaning", "Signed (local time)", "Signed (UTC)", "Record", "Authentication"],
             [[f"{s['printed_name']} ({s['username']})", s["meaning_text"], s["signed_at_local"],
               _stamp(s["signed_at_utc"]), _record_title(s), _components_text(s["components"])]
              for s in r["signatures"]],
             widths=(34, 18, 40, 30, 40, 28))


def _record_title(s: dict) -> str:
    return s.get("record_title") or f"{s['record_type']} {s['record_id']}"


def _components_text(components: str) -> str:
    return {"password+totp": "password + TOTP", "totp": "TOTP (session)"}.get(components, components)


def _audit(pdf: DhrPdf, r: dict):
    a = r["audit"]
    pdf.heading("审计追踪", "Audit trail evidence")
    pdf.pairs([("Entries covering this record", f"seq {a['first_seq']} … {a['last_seq']} ({a['entries']} entries)"),
               ("First entry hash", a["first_hash"]), ("Last entry hash", a["last_hash"]),
               ("Chain head at print", f"seq {a['chain_head_seq']} hash {a['chain_head_hash']}")])
    v = a["verification"]
    pdf.set_font(pdf.family, "B", 9)
    pdf.set_text_color(0, 110, 0) if v.get("ok") else pdf.set_text_color(170, 0, 0)
    pdf.multi_cell(0, 5, pdf.text_of(f"Verification 校验: {v['text']}"
                                     + (f" (at {v['verified_at']})" if v.get("verified_at") else "")),
                   align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)
    pdf.set_font(pdf.family, "", 8)
    pdf.multi_cell(0, 4, pdf.text_of(
        "Re-verify independently: export the audit trail (sealtrail audit export) and run "
        "python audit/verify_bundle.py BUNDLE; the entries above must be present with these hashes."),
        align="L", new_x="LMARGIN", new_y="NEXT")
