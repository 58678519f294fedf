#!/usr/bin/env python3
"""The scikit-learn oracle of test/model-multiclass.test.ts: test/fixtures/multiclass-oracle.json.

Reads the rows the test seeds (test/helpers/multiclass-data.ts prints them as JSON), computes every metric of
the multiclass performance check with scikit-learn itself, and writes them with the SHA-256 of exactly the bytes
it read: the test recomputes that hash from the rows it seeds and fails when they differ (re-run this script
after changing the data). CI has no scikit-learn: the test reads the fixture.

    apt-get install -y --no-install-recommends python3-sklearn   # Debian's, /usr/bin/python3
    /usr/bin/python3 scripts/gen-multiclass-oracle.py            # or: ... gen-multiclass-oracle.py rows.json

Semantics, as the check's (src/checks/model/multiclass/check.ts):
- a prediction is in window w when 0 < age <= w seconds (age: seconds before now()); it takes the label of its
  key with the smallest age (the latest); versions are those with a prediction in the widest window ('' for
  none);
- it counts when its label is one of the classes and every probability is a number (not null, not NaN); a label
  that is none of the classes is counted apart (`unknown`);
- predicted class: numpy's argmax (the first class of highest probability, in config order);
- a metric scikit-learn can only give through `zero_division` is undefined (null here): computed with
  zero_division=0 and =1, a value that differs is not defined by the data;
- macro and weighted F1 are f1_score without `labels` (the classes seen as label or prediction);
- one-vs-rest AUC per class is roc_auc_score(y == class, p_class), undefined (null) with one class only; the
  macro AUC is roc_auc_score(multi_class='ovr', average='macro'), undefined when any class has no AUC.
"""

import hashlib
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import sklearn
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "test" / "fixtures" / "multiclass-oracle.json"
EPS = 1e-15


def read_rows() -> bytes:
    if len(sys.argv) > 1:
        return Path(sys.argv[1]).read_bytes()
    return subprocess.run(
        ["npx", "tsx", "test/helpers/multiclass-data.ts"], cwd=ROOT, check=True, capture_output=True
    ).stdout


def probability(x):
    if x is None:
        return None
    if x == "NaN":
        return math.nan
    return float(x)


def sklearn_log_loss(y, P, k):
    # eps=1e-15 as the check clips; scikit-learn >= 1.5 has no eps (it clips at the float64 epsilon): clipping
    # first makes its own clip a no-op. The rows sum to 1, so scikit-learn's renormalising (up to 1.4) and not
    # renormalising (1.5 on) agree.
    try:
        return float(log_loss(y, P, labels=list(range(k)), eps=EPS))
    except TypeError:
        return float(log_loss(y, np.clip(P, EPS, 1 - EPS), labels=list(range(k))))


def metrics(classes, rows):
    """rows: (probabilities, label text) of the labeled predictions of one window and version."""
    k = len(classes)
    unknown = sum(1 for _, label in rows if label not in classes)
    known = [
        (p, classes.index(label))
        for p, label in rows
        if label in classes and all(x is not None and not math.isnan(x) for x in p)
    ]
    out = {"n": len(known), "unknown": unknown}
    if not known:
        return out
    P = np.array([p for p, _ in known], dtype=np.float64)
    y = np.array([c for _, c in known])
    yhat = np.argmax(P, axis=1)
    out["accuracy"] = float(accuracy_score(y, yhat))
    out["log_loss"] = sklearn_log_loss(y, P, k)
    labels = list(range(k))
    p0, r0, f0, support = precision_recall_fscore_support(y, yhat, labels=labels, zero_division=0)
    p1, r1, f1, _ = precision_recall_fscore_support(y, yhat, labels=labels, zero_division=1)
    out["macro_f1"] = float(f1_score(y, yhat, average="macro"))
    out["weighted_f1"] = float(f1_score(y, yhat, average="weighted"))
    per_class = {}
    aucs = []
    for c, name in enumerate(classes):
        positive = (y == c).astype(int)
        if 0 < positive.sum() < len(positive):
            auc = float(roc_auc_score(positive, P[:, c]))
            aucs.append(auc)
        else:
            auc = None
        per_class[name] = {
            "precision": float(p0[c]) if p0[c] == p1[c] else None,
            "recall": float(r0[c]) if r0[c] == r1[c] else None,
            "f1": float(f0[c]) if f0[c] == f1[c] else None,
            "support": int(support[c]),
            "auc": auc,
        }
    out["classes"] = per_class
    if len(aucs) == k:
        macro = float(roc_auc_score(y, P, multi_class="ovr", average="macro", labels=labels))
        assert abs(macro - sum(aucs) / k) < 1e-12, (macro, aucs)
        out["macro_auc"] = macro
    else:
        out["macro_auc"] = None
    return out


def model_expected(m):
    classes = [c["name"] for c in m["classes"]]
    latest = {}
    for lab in m["labels"]:
        cur = latest.get(lab["key"])
        if cur is None or lab["age"] < cur["age"]:
            latest[lab["key"]] = lab
    widest = max(w["seconds"] for w in m["windows"])
    in_widest = [p for p in m["preds"] if 0 < p["age"] <= widest]
    versions = sorted({p["version"] or "" for p in in_widest}) if m["versioned"] else [""]
    series = []
    for version in versions:
        for w in m["windows"]:
            rows = [
                ([probability(x) for x in p["scores"]], latest[p["key"]]["label"])
                for p in m["preds"]
                if 0 < p["age"] <= w["seconds"]
                and (not m["versioned"] or (p["version"] or "") == version)
                and p["key"] in latest
            ]
            series.append({"window": w["label"], "version": version, **metrics(classes, rows)})
    return {"classes": classes, "versioned": m["versioned"], "series": series}


def main():
    raw = read_rows()
    data = json.loads(raw)
    fixture = {
        "generated_by": "scripts/gen-multiclass-oracle.py",
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "rows_sha256": hashlib.sha256(raw).hexdigest(),
        "models": {m["name"]: model_expected(m) for m in data},
    }
    OUT.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)} (rows sha256 {fixture['rows_sha256'][:12]}...)")


if __name__ == "__main__":
    main()
