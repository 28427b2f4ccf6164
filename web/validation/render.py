"""The traceability matrix as HTML, PDF and signed JSON, and the check of a written report."""
from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from fpdf import FPDF
from jinja2 import Environment, PackageLoader, select_autoescape

_FONT_CANDIDATES = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                    "/usr/share/fonts/dejavu/DejaVuSans.ttf")
_ASCII = {"→": "->", "–": "-", "—": "-", "≥": ">=", "≤": "<=", "…": "...", "×": "x",
          "“": '"', "”": '"', "’": "'", "‘": "'"}


def _fingerprint(public_key) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def sign_matrix(matrix: dict, private_key) -> dict:
    """Ed25519 signature over the canonical JSON of the matrix."""
    data = rfc8785.dumps(matrix)
    return {"algorithm": "Ed25519", "matrix_sha256": hashlib.sha256(data).hexdigest(),
            "public_key_sha256": _fingerprint(private_key.public_key()),
            "value": base64.b64encode(private_key.sign(data)).decode()}


def render_html(matrix: dict, signature: dict) -> str:
    env = Environment(loader=PackageLoader("web", "templates"), autoescape=select_autoescape())
    return env.get_template("validation/matrix.html").render(m=matrix, sig=signature)


class _Pdf(FPDF):
    def __init__(self, created_at: str):
        super().__init__(orientation="L", format="A4")
        self.created_at = created_at
        self.font_name = "Helvetica"
        for candidate in _FONT_CANDIDATES:
            if Path(candidate).is_file():
                self.add_font("DejaVu", "", candidate)
                self.add_font("DejaVu", "B", candidate)
                self.font_name = "DejaVu"
                break

    def text_(self, value) -> str:
        value = str(value)
        if self.font_name == "Helvetica":  # core fonts are Latin-1 only
            for char, repl in _ASCII.items():
                value = value.replace(char, repl)
            value = value.encode("latin-1", "replace").decode("latin-1")
        return value

    def footer(self):
        self.set_y(-12)
        self.set_font(self.font_name, "", 7)
        self.cell(0, 5, self.text_(f"Sealtrail traceability matrix · {self.created_at} UTC · "
                                   f"page {self.page_no()}/{{nb}}"), align="C")


def render_pdf(matrix: dict, signature: dict) -> bytes:
    pdf = _Pdf(matrix["created_at"])
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    t = pdf.text_
    pdf.set_font(pdf.font_name, "B", 15)
    pdf.cell(0, 9, t(matrix["title"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.font_name, "", 9)
    env = matrix["environment"]
    lines = [
        f"Generated {matrix['created_at']} (UTC) · Sealtrail {env['software_version']} · "
        f"commit {env['git_commit'] or 'n/a'}",
        f"Database: {env['database']} · Python {env['python']} · {env['platform']}",
        f"Verdict: {matrix['verdict']} · requirements {matrix['totals']['pass']} pass, "
        f"{matrix['totals'].get('partial', 0)} partly demonstrated, "
        f"{matrix['totals']['fail']} fail, {matrix['totals']['not run']} not run, "
        f"{matrix['totals']['not covered']} not covered · tests "
        f"{matrix['test_outcomes']['passed']} passed, {matrix['test_outcomes']['failed']} failed, "
        f"{matrix['test_outcomes']['error']} errors, {matrix['test_outcomes']['skipped']} not "
        f"demonstrated on this database (skipped), {matrix['test_outcomes'].get('not run', 0)} never run",
    ]
    if matrix.get("run_problem"):
        lines.append(f"THE TEST RUN IS NOT VALID EVIDENCE: {matrix['run_problem']}")
    if matrix["unknown_requirement_ids"]:
        lines.append("Unknown requirement ids cited by tests: "
                     + ", ".join(matrix["unknown_requirement_ids"]))
    for line in lines:
        pdf.multi_cell(0, 5, t(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    widths = (40, 80, 125, 22)
    pdf.set_font(pdf.font_name, "B", 8)
    with pdf.table(col_widths=widths, text_align="LEFT", line_height=4) as table:
        table.row([t("Requirement"), t("What Sealtrail must do"), t("Tests (outcome)"),
                   t("Status")])
        pdf.set_font(pdf.font_name, "", 7)
        for row in matrix["requirements"]:
            table.row([t(f"{row['id']}\n{row['clause']}"), t(row["requirement"]),
                       t(_tests_cell(row["tests"])), t(row["status"].upper())])
    pdf.ln(4)
    pdf.set_font(pdf.font_name, "B", 9)
    pdf.cell(0, 6, t("Approval"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.font_name, "", 8)
    with pdf.table(col_widths=(60, 70, 70, 40), line_height=7) as table:
        table.row([t("Role"), t("Printed name"), t("Signature"), t("Date")])
        for role in ("Prepared by (validation)", "Reviewed by (QA)", "Approved by (QA manager)"):
            table.row([t(role), "", "", ""])
    pdf.ln(3)
    _appendix(pdf, matrix)
    pdf.ln(3)
    pdf.set_font(pdf.font_name, "", 7)
    pdf.multi_cell(0, 4, t(f"Integrity: matrix SHA-256 {signature['matrix_sha256']}; Ed25519 key "
                           f"SHA-256 {signature['public_key_sha256']}; signature "
                           f"{signature['value']}. Check: sealtrail validation-report --verify DIR"))
    return bytes(pdf.output())


_CELL_TESTS = 6


def _tests_cell(tests: list[dict]) -> str:
    """Counts and the first few tests (a table row must fit on one page; the appendix has all)."""
    if not tests:
        return "-"
    counts = {}
    for test in tests:
        counts[test["outcome"]] = counts.get(test["outcome"], 0) + 1
    lines = [", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))]
    lines += [f"{x['nodeid']} - {x['outcome']}" for x in tests[:_CELL_TESTS]]
    if len(tests) > _CELL_TESTS:
        lines.append(f"... and {len(tests) - _CELL_TESTS} more (appendix)")
    return "\n".join(lines)


def _appendix(pdf: _Pdf, matrix: dict) -> None:
    """Every test of every requirement, flowing over as many pages as it needs."""
    t = pdf.text_
    pdf.add_page()
    pdf.set_font(pdf.font_name, "B", 11)
    pdf.cell(0, 7, t("Appendix: tests per requirement"), new_x="LMARGIN", new_y="NEXT")
    for row in matrix["requirements"]:
        pdf.set_font(pdf.font_name, "B", 8)
        pdf.multi_cell(0, 5, t(f"{row['id']} ({row['status']})"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(pdf.font_name, "", 7)
        for test in row["tests"] or [{"nodeid": "no automated test", "outcome": "-",
                                      "message": ""}]:
            extra = f" ({test['message']})" if test["outcome"] in ("failed", "error") else ""
            pdf.multi_cell(0, 3.6, t(f"  {test['nodeid']} - {test['outcome']}{extra}"),
                           new_x="LMARGIN", new_y="NEXT")


def write(directory: Path, matrix: dict, private_key) -> dict[str, Path]:
    """Write matrix.json, its signature, the HTML and PDF, and a signed SHA256SUMS."""
    directory.mkdir(parents=True, exist_ok=True)
    signature = sign_matrix(matrix, private_key)
    stamp = matrix["created_at"].replace(":", "").replace("-", "")
    files = {
        "json": directory / f"traceability-{stamp}.json",
        "signature": directory / f"traceability-{stamp}.sig.json",
        "html": directory / f"traceability-{stamp}.html",
        "pdf": directory / f"traceability-{stamp}.pdf",
    }
    files["json"].write_text(json.dumps(matrix, indent=2, ensure_ascii=False) + "\n", "utf-8")
    files["signature"].write_text(json.dumps(signature, indent=2) + "\n", "utf-8")
    files["html"].write_text(render_html(matrix, signature), "utf-8")
    files["pdf"].write_bytes(render_pdf(matrix, signature))
    sums = "".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n"
                   for p in files.values())
    files["sums"] = directory / f"traceability-{stamp}.SHA256SUMS"
    files["sums"].write_text(sums, "utf-8")
    files["sums_sig"] = directory / f"traceability-{stamp}.SHA256SUMS.sig"
    files["sums_sig"].write_text(base64.b64encode(private_key.sign(sums.encode())).decode() + "\n")
    return files


def verify(sums_file: Path, public_key) -> list[str]:
    """Problems with a written report (empty = every file intact and signed by ``public_key``)."""
    problems = []
    sums = sums_file.read_text("utf-8")
    sig_file = sums_file.with_name(sums_file.name + ".sig")
    try:
        public_key.verify(base64.b64decode(sig_file.read_text().strip()), sums.encode())
    except (InvalidSignature, ValueError, OSError):
        problems.append(f"{sums_file.name}: signature missing or invalid")
    for line in sums.splitlines():
        digest, name = line.split("  ", 1)
        path = sums_file.parent / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            problems.append(f"{name}: altered (SHA-256 differs)")
    json_files = [sums_file.parent / n.split("  ", 1)[1] for n in sums.splitlines()
                  if n.endswith(".json") and not n.endswith(".sig.json")]
    for matrix_file in json_files:
        if not matrix_file.is_file():
            continue
        sig = json.loads(matrix_file.with_name(matrix_file.name.replace(".json", ".sig.json"))
                         .read_text("utf-8"))
        try:
            public_key.verify(base64.b64decode(sig["value"]),
                              rfc8785.dumps(json.loads(matrix_file.read_text("utf-8"))))
        except (InvalidSignature, ValueError, KeyError):
            problems.append(f"{matrix_file.name}: matrix signature invalid")
    return problems
