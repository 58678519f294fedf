"""What users do instead of mlwatch: pull the window into pandas and compute with scikit-learn/scipy.

The peer of the benches (model-auc.ts, data-scan.ts, jobs-serving.ts), run through bench/pandas-peer.ts in
Debian's python3. It reads one JSON request on stdin, pulls the rows with
`pandas.read_sql` over psycopg2 (the statement is the bench's, with PostgreSQL `$n` placeholders and the
values to bind), computes what the mlwatch check computes with the libraries users reach for, and prints one
JSON line: the milliseconds spent pulling and computing, the number of rows pulled and the values, which the
bench compares with the check's.

Requests ({"url", "kind", "sql", "params", ...}):
  classification  rows (s, y): roc_auc_score, log_loss, brier_score_loss, accuracy, precision, recall, f1
                  at `threshold`, and the 10-bin expected calibration error (numpy)
  ks              `sql` pulls the current window's feature columns, `reference_sql` the reference's:
                  scipy.stats.ks_2samp per column (the exact two-sample statistic)
  psi             `sql` and `reference_sql` as for ks: numeric columns binned at the reference's deciles,
                  text columns by the reference's categories (numpy), PSI with proportions floored at 1e-4
  scan            `sql` pulls the window's rows: count, newest timestamp, null ratio per column
  serving         rows (age, latency_ms, status) of the widest window: per window in `windows` (seconds)
                  requests, errors, slow requests and latency p50/p95/p99 (numpy.percentile, linear)
  labels          rows (pt, lt, y), times as epoch seconds: predictions, labeled, coverage, leakage (label
                  before prediction), label delay p50 and p95 (numpy.percentile, linear)

With "files" ({"predictions": csv, "labels": csv}) instead of "url" and "sql" (bench/duckdb.ts), kind
classification reads the two CSV files with pandas.read_csv (columns key, ts, s and key, lt, y), keeps the
predictions of the last `window_s` seconds, joins each the latest label of its key (ties: the larger label)
and computes as above: what users do with files when pandas has no Parquet engine (no pyarrow here).

Run by the bench, not by hand: `python3 bench/pandas-peer.py < request.json`.
"""

import json
import re
import sys
import time
import warnings

import numpy as np
import pandas as pd
import psycopg2
from scipy.stats import ks_2samp
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)

# pandas 1.5 warns that a DBAPI connection is not SQLAlchemy; it is what psycopg2 users pass.
warnings.filterwarnings("ignore", category=UserWarning)


def pull(conn, sql, params):
    """read_sql with the bench's `$n` placeholders turned into psycopg2's named ones."""
    named = re.sub(r"\$(\d+)", lambda m: f"%(p{m.group(1)})s", sql.replace("%", "%%"))
    values = {f"p{i + 1}": v for i, v in enumerate(params)}
    return pd.read_sql(named, conn, params=values)


def pull_files(req):
    """The predictions of the window with the latest label of their key, from CSV files, as (s, y)."""
    preds = pd.read_csv(req["files"]["predictions"], parse_dates=["ts"])
    labs = pd.read_csv(req["files"]["labels"], parse_dates=["lt"])
    now = pd.Timestamp.now(tz="UTC")
    preds = preds[(preds["ts"] >= now - pd.Timedelta(seconds=req["window_s"])) & (preds["ts"] < now)]
    latest = labs.sort_values(["key", "lt", "y"]).drop_duplicates("key", keep="last")
    df = preds.merge(latest[["key", "y"]], on="key", how="inner")
    return df.dropna(subset=["s", "y"])[["s", "y"]].astype({"y": int})


def classification(df, req):
    s = df["s"].to_numpy(dtype=float)
    y = df["y"].to_numpy(dtype=int)
    predicted = (s >= req["threshold"]).astype(int)
    bins = np.clip(np.floor(s * 10), 0, 9).astype(int)
    score_sum = np.bincount(bins, weights=s, minlength=10)
    pos_sum = np.bincount(bins, weights=y, minlength=10)
    return {
        "auc": roc_auc_score(y, s),
        "logLoss": log_loss(y, np.clip(s, 1e-15, 1 - 1e-15)),
        "brier": brier_score_loss(y, s),
        "accuracy": accuracy_score(y, predicted),
        "precision": precision_score(y, predicted),
        "recall": recall_score(y, predicted),
        "f1": f1_score(y, predicted),
        "calibrationError": float(np.abs(score_sum - pos_sum).sum() / len(s)),
    }


def labels(df, _req):
    """Rows (pt, lt, y) as epoch seconds: counts, coverage, leakage and the delay percentiles (linear, as
    PostgreSQL's percentile_cont) of the labeled ones."""
    labeled = df[df["y"].notna()]
    delay = (labeled["lt"] - labeled["pt"]).to_numpy(dtype=float)
    n, k = len(df), len(labeled)
    values = {"n": n, "labeled": k, "leak": int((delay < 0).sum())}
    if n:
        values["coverage"] = k / n
    if k:
        values["d50"], values["d95"] = (float(v) for v in np.percentile(delay, [50, 95]))
    return values


def serving(df, req):
    """Rows (age in seconds before now(), latency_ms, status): per window of `windows` (seconds), requests,
    errors (status >= 500), slow ones (latency above `objective_ms`) and the latency percentiles in seconds."""
    age = df["age"].to_numpy(dtype=float)
    latency = df["latency_ms"].to_numpy(dtype=float) / 1000
    errors = df["status"].to_numpy(dtype=float) >= 500
    values = {}
    for w in req["windows"]:
        inside = age <= w
        timed = latency[inside & ~np.isnan(latency)]
        values[f"requests_{w}"] = int(inside.sum())
        values[f"errors_{w}"] = int((inside & errors).sum())
        values[f"slow_{w}"] = int((timed > req["objective_ms"] / 1000).sum())
        if len(timed):
            for q, v in zip((50, 95, 99), np.percentile(timed, [50, 95, 99])):
                values[f"p{q}_{w}"] = float(v)
    return values


def ks(current, reference, _req):
    return {c: float(ks_2samp(reference[c].dropna(), current[c].dropna()).statistic) for c in current.columns}


def psi(current, reference, _req):
    """Numeric columns: 10 bins at the reference's deciles; text columns: the reference's categories, the rest
    as one more. Proportions floored at 1e-4, as mlwatch does."""
    out = {}
    for c in current.columns:
        ref_col = reference[c].dropna()
        cur_col = current[c].dropna()
        if ref_col.dtype == object:
            cats = pd.Index(ref_col.unique())
            ref_n = np.bincount(cats.get_indexer(ref_col) + 1, minlength=len(cats) + 1)
            cur_n = np.bincount(cats.get_indexer(cur_col) + 1, minlength=len(cats) + 1)
        else:
            ref = ref_col.to_numpy(dtype=float)
            cur = cur_col.to_numpy(dtype=float)
            edges = np.unique(np.quantile(ref, np.linspace(0.1, 0.9, 9)))
            ref_n = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1)
            cur_n = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1)
        ref_p = np.maximum(ref_n / ref_n.sum(), 1e-4)
        cur_p = np.maximum(cur_n / cur_n.sum(), 1e-4)
        out[c] = float(np.sum((cur_p - ref_p) * np.log(cur_p / ref_p)))
    return out


def scan(df, req):
    ts = req["timestamp"]
    values = {"rows": int(len(df)), "newest": df[ts].max().timestamp() if len(df) else None}
    for c in df.columns:
        if c != ts:
            values[f"null_ratio:{c}"] = float(df[c].isna().mean())
    return values


def main():
    req = json.load(sys.stdin)
    if "files" in req:
        t0 = time.perf_counter()
        df = pull_files(req)
        t1 = time.perf_counter()
        values = classification(df, req)
        t2 = time.perf_counter()
        print(json.dumps({"pullMs": (t1 - t0) * 1000, "computeMs": (t2 - t1) * 1000, "rows": len(df), "values": values}))
        return
    conn = psycopg2.connect(req["url"], application_name=req.get("app", "mlwatch-bench-pandas"))
    try:
        t0 = time.perf_counter()
        df = pull(conn, req["sql"], req.get("params", []))
        ref = pull(conn, req["reference_sql"], req.get("reference_params", [])) if "reference_sql" in req else None
        t1 = time.perf_counter()
        kind = req["kind"]
        if kind in ("ks", "psi"):
            values = {"ks": ks, "psi": psi}[kind](df, ref, req)
        else:
            values = {"classification": classification, "scan": scan, "labels": labels, "serving": serving}[kind](df, req)
        t2 = time.perf_counter()
    finally:
        conn.close()
    rows = len(df) + (len(ref) if ref is not None else 0)
    print(json.dumps({"pullMs": (t1 - t0) * 1000, "computeMs": (t2 - t1) * 1000, "rows": rows, "values": values}))


if __name__ == "__main__":
    main()
