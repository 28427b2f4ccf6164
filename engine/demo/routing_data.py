"""Routings of the demo plant: operations, equipment, documents, parameters with limits, inspections.

Standard times: ``setup`` minutes per lot plus ``per_unit`` minutes per unit of the lot (planning)."""

P = dict  # a parameter: name, unit, target, lsl, usl, optional lcl/ucl, critical

ROUTINGS = {
    "SUB-TUBE": [
        {"seq": 10, "code": "EXTR", "setup": 60, "per_unit": 0.04, "name": "Tubing extrusion", "wc": "Extrusion", "equipment": ["EXT-01"],
         "tooling": ["DIE-T30"], "docs": [("SOP-001", "sop")],
         "params": [
             P(name="Barrel zone 3 temperature", unit="degC", target=175, lsl=168, usl=182, lcl=171, ucl=179),
             P(name="Line speed", unit="m/min", target=25, lsl=22, usl=28),
             P(name="Outer diameter", unit="mm", target=4.10, lsl=4.00, usl=4.20, lcl=4.05, ucl=4.15, critical=True),
             P(name="Inner diameter", unit="mm", target=3.00, lsl=2.92, usl=3.08, lcl=2.96, ucl=3.04, critical=True),
         ]},
        {"seq": 20, "code": "TUBE-QC", "setup": 60, "per_unit": 0, "name": "Tubing inspection", "wc": "QC lab", "qc": True,
         "equipment": ["TT-01"],
         "inspections": [
             dict(name="Tensile strength of tubing", kind="variable", method="Tensile test per YY 0286.1 §6.3",
                  sample_size=5, acceptance_criteria="≥ 15 N without break", unit="N", lsl=15),
             dict(name="Visual: kinks, black specks", kind="attribute", method="Visual inspection, 1 m sections",
                  sample_size=32, accept_number=0, acceptance_criteria="no defects (AQL 0.65, c = 0)"),
         ]},
    ],
    "SUB-DRIP": [
        {"seq": 10, "code": "UVB-S", "setup": 20, "per_unit": 0.08, "name": "Spike / drip chamber UV bonding", "wc": "Cleanroom A",
         "equipment": ["UV-01"], "docs": [("SOP-001", "sop"), ("SOP-002", "sop")],
         "params": [
             P(name="UV intensity", unit="mW/cm^2", target=60, lsl=50, usl=70, lcl=54, ucl=66),
             P(name="Cure time", unit="s", target=8, lsl=6, usl=10),
         ]},
        {"seq": 20, "code": "DRIP-QC", "setup": 45, "per_unit": 0, "name": "Drip chamber inspection", "wc": "Cleanroom A", "qc": True,
         "inspections": [
             dict(name="Drop volume (20 drops)", kind="variable", method="Gravimetric, 20 drops of water at 23 °C",
                  sample_size=5, acceptance_criteria="1.0 mL ± 0.1 mL", unit="mL", lsl=0.9, usl=1.1),
         ]},
    ],
    "FG-IS200": [
        {"seq": 10, "code": "ASM", "setup": 30, "per_unit": 0.12, "name": "Final assembly", "wc": "Cleanroom A", "tooling": ["FIX-ASM-01"],
         "docs": [("SOP-001", "sop"), ("PC-IS200", "process_card")],
         "params": [P(name="Tubing insertion depth", unit="mm", target=6.0, lsl=5.5, usl=6.5)]},
        {"seq": 20, "code": "UVB", "setup": 15, "per_unit": 0.06, "name": "UV bonding of tubing joints", "wc": "Cleanroom A", "equipment": ["UV-02"],
         "docs": [("SOP-002", "sop")],
         "params": [
             P(name="UV intensity", unit="mW/cm^2", target=60, lsl=50, usl=70, lcl=54, ucl=66, critical=True),
             P(name="Cure time", unit="s", target=8, lsl=6, usl=10),
             P(name="Adhesive dose per joint", unit="mg", target=10, lsl=8, usl=12),
         ]},
        {"seq": 30, "code": "LEAK", "setup": 15, "per_unit": 0.05, "name": "Leak test (100 %)", "wc": "Cleanroom A", "qc": True,
         "equipment": ["LT-01"], "docs": [("SOP-001", "sop"), ("SOP-003", "sop")],
         "params": [
             P(name="Test pressure", unit="kPa", target=50, lsl=48, usl=52),
             P(name="Pressure decay", unit="kPa", target=0.1, lsl=0, usl=0.5, critical=True),
         ],
         "inspections": [
             dict(name="Leak test rejects", kind="attribute", method="Automatic pressure decay, every set",
                  sample_size=200, accept_number=0, acceptance_criteria="no leaking set in the sample"),
         ]},
        {"seq": 40, "code": "PULL", "setup": 60, "per_unit": 0, "name": "Joint pull test and visual inspection", "wc": "QC lab", "qc": True,
         "equipment": ["TT-01"],
         "inspections": [
             dict(name="Pull strength of bonded joints", kind="variable", method="Tensile test per YY 0286.1 §6.3",
                  sample_size=13, acceptance_criteria="each joint ≥ 15 N for 15 s", unit="N", lsl=15),
             # ISO 2859-1, level II, AQL 1.0: the lot size sets the sample and Ac/Re (a lot of
             # 1,201-3,200 sets: code letter K, 125 sets, Ac 3, Re 4 on normal inspection).
             dict(name="Visual: particles, bubbles, incomplete bond", kind="attribute",
                  method="Visual inspection under 1000 lx", sample_size=125, inspection_level="II", aql=1.0,
                  acceptance_criteria="ISO 2859-1, level II, AQL 1.0: sample and Ac/Re from the lot size"),
         ]},
        {"seq": 50, "code": "PACK", "setup": 20, "per_unit": 0.05, "name": "Pouch sealing and labelling", "wc": "Packaging", "equipment": ["SEAL-01"],
         "docs": [("SOP-001", "sop")],
         "params": [
             P(name="Seal temperature", unit="degC", target=150, lsl=140, usl=160, lcl=145, ucl=155, critical=True),
             P(name="Dwell time", unit="s", target=1.5, lsl=1.2, usl=1.8),
             P(name="Seal pressure", unit="bar", target=4.0, lsl=3.5, usl=4.5),
         ],
         "inspections": [
             dict(name="Seal peel strength", kind="variable", method="Peel test per ASTM F88, 15 mm strip",
                  sample_size=5, acceptance_criteria="≥ 1.5 N per 15 mm", unit="N", lsl=1.5),
         ]},
        {"seq": 60, "code": "EO", "setup": 300, "per_unit": 0, "name": "EO sterilisation", "wc": "Sterilisation", "qc": True,
         "equipment": ["EO-01"],
         "params": [
             P(name="EO concentration", unit="mg/L", target=600, lsl=450, usl=750, critical=True),
             P(name="Chamber temperature", unit="degC", target=50, lsl=46, usl=54, critical=True),
             P(name="Relative humidity", unit="percent", target=60, lsl=45, usl=75),
             P(name="Exposure time", unit="h", target=4, lsl=3.5, usl=6, critical=True),
         ],
         "inspections": [
             dict(name="Biological indicators (B. atrophaeus)", kind="attribute",
                  method="10 BIs incubated 7 days per ISO 11135", sample_size=10, accept_number=0,
                  acceptance_criteria="no growth in any BI"),
         ]},
        {"seq": 70, "code": "AER", "setup": 10080, "per_unit": 0, "name": "Aeration and EO residual test", "wc": "Sterilisation", "qc": True,
         "params": [
             P(name="Aeration temperature", unit="degC", target=45, lsl=40, usl=50),
             P(name="Aeration time", unit="h", target=168, lsl=120, usl=336),
         ],
         "inspections": [
             dict(name="EO residual per device", kind="variable", method="GC per ISO 10993-7", sample_size=3,
                  acceptance_criteria="≤ 4 mg per device", unit="mg", usl=4),
         ]},
    ],
}
