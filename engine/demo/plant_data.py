"""The demo plant's people and purchased items (data only; ``plant.py`` loads them)."""

DEMO_PRODUCT = "IS-200"

USERS = [  # username, printed name, roles, locale
    ("zhang.wei", "张伟 / Zhang Wei", ["operator"], "zh_CN"),
    ("li.na", "李娜 / Li Na", ["operator"], "zh_CN"),
    ("wang.fang", "王芳 / Wang Fang", ["process_engineer"], "zh_CN"),
    ("xu.ming", "徐明 / Xu Ming", ["process_engineer"], "zh_CN"),  # assesses what wang.fang submits (SoD)
    ("liu.yang", "刘洋 / Liu Yang", ["production_manager"], "zh_CN"),
    ("chen.jing", "陈静 / Chen Jing", ["qa_engineer"], "zh_CN"),
    ("zhao.min", "赵敏 / Zhao Min", ["qa_manager"], "zh_CN"),
    ("sun.li", "孙丽 / Sun Li", ["regulatory"], "zh_CN"),
    ("m.keller", "Maria Keller", ["auditor"], "en"),
    ("admin", "周强 / Zhou Qiang", ["admin"], "zh_CN"),
]

# code, name, type, unit, purchased, supplier, lot quantity, unit of the received quantity
ITEMS = [
    ("RM-PVC", "Medical PVC compound, DEHP-free (TOTM), Shore A 80", "raw_material", "kg", "Shandong Weigao Polymer", 200, "kg"),
    ("RM-UVADH", "UV-curing medical adhesive, ISO 10993 tested", "raw_material", "g", "Henkel Loctite", 2, "kg"),
    ("CMP-SPIKE", "Piercing spike with vented cap, ABS", "component", "pcs", "Ningbo Medplast", 10000, "pcs"),
    ("CMP-DRIP", "Drip chamber, PP, 20 drops = 1 mL ± 0.1 mL", "component", "pcs", "Ningbo Medplast", 10000, "pcs"),
    ("CMP-FILTER", "Fluid filter 15 µm, PES membrane", "component", "pcs", "Pall Medical", 10000, "pcs"),
    ("CMP-CLAMP", "Roller clamp, ABS", "component", "pcs", "Ningbo Medplast", 10000, "pcs"),
    ("CMP-LUER", "Male luer-lock connector, PC, ISO 80369-7", "component", "pcs", "Jiangxi Hongda", 10000, "pcs"),
    ("CMP-CAP", "Protective cap, PE", "component", "pcs", "Jiangxi Hongda", 10000, "pcs"),
    ("CMP-NEEDLE", "Hypodermic needle 0.8 × 25 mm (21G)", "component", "pcs", "Zhejiang Kindly", 10000, "pcs"),
    ("PKG-POUCH", "Peel pouch, Tyvek 1073B / PET-PE", "packaging", "pcs", "DuPont / Amcor", 10000, "pcs"),
    ("PKG-LABEL", "Pouch label with UDI (GS1 DataMatrix)", "packaging", "pcs", "Shanghai Label Co.", 10000, "pcs"),
]

CODE_START = "2609"
LUER_GTIN = "06901234600018"  # the connector maker's GTIN: CMP-LUER is a serialised component
