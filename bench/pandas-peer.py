"""What users do instead of mlwatch: pull the window into pandas and compute with scikit-learn/scipy.

The peer of the benches (model-auc.ts, data-scan.ts, jobs-serving.ts, duckdb.ts, peer-kinds.ts), run through
bench/pandas-peer.ts in Debian's python3. It reads one JSON request on stdin, pulls the rows with
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

The kinds of bench/peer-kinds.ts read the warehouse clock first (`SELECT now()` in the transaction the pull
runs in, so both see the same now()) and take `windows`, {label: seconds}, where a window is
[now - seconds, now); times are pulled as epoch seconds:
  duplicates      rows of the `key` columns in the window: key values held by more than one row, rows with a
                  NULL in any key column left out (as the check does, and a UNIQUE constraint)
  regression      labeled rows (pt, s, y): per window MAE, RMSE, MAPE over non-zero actuals and the zero
                  actuals counted, bias and R^2 (scikit-learn's metrics, bias in numpy)
  segments        every prediction (pt, s, y, and the `columns`), labeled or not: per column its top
                  `max_segments` values by predictions (ties by value), the rest as `other`, NULL as `(null)`;
                  per window and value: predictions, labeled, roc_auc_score, accuracy and positive rates at
                  `threshold`
  prediction_psi  rows (pt, s) of the widest window and, by `reference_sql`, the reference's values: bins at
                  the reference's 10th..90th percentiles (numpy.quantile, linear like percentile_cont), x in
                  bin #{edges < x}; PSI per window with proportions floored at 1e-4. The reference's pull is
                  also given apart (refPullMs): the check caches its reference bins, a pandas user would too
  job             the job's runs (status, s, f) read as the check reads them: per window runs by outcome
                  (running while f is NULL, success when status is in `success_values`) and the success
                  ratio; runs in progress, the last success's end, the newest run's duration (ties: the
                  longer) and the p95 duration of the runs that ended in the last day

"options" (libpq's, e.g. "-c jit=off") sets the pull's session as the check's transaction sets its own.

With "files" ({"predictions": csv, "labels": csv}) instead of "url" and "sql" (bench/duckdb.ts), kind
classification reads the two CSV files with pandas.read_csv (columns key, ts, s and key, lt, y), keeps the
predictions of the last `window_s` seconds, joins each the latest label of its key (ties: the larger label)
and computes as above: what users do with files when pandas has no Parquet engine (no pyarrow here). The
model kinds among the clocked ones below (segments, regression, prediction_psi) read them the same way, with
"value" and "label" naming the columns and "files" a "reference" too for prediction_psi (bench/duckdb.ts,
pull_model_files), and compute as with a pull.

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
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    precision_score,
    r2_score,
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


def pull_model_files(req):
    """A clocked model kind's rows from CSV files, as its `sql` would pull them (bench/duckdb-model-kinds.ts):
    the predictions of the widest window as (pt in epoch seconds, s = the `value` column, the `columns`), with
    the latest label of their key as y (the `label` column; NULL without one; ties: the larger label) unless
    the kind reads none; regression keeps the labeled, valued rows only. Also the reference (the `reference`
    file, if any) and now, in epoch seconds. Only the columns the kind reads are parsed."""
    files, kind, cols = req["files"], req["kind"], req.get("columns", [])
    value, label = req["value"], req.get("label")
    preds = pd.read_csv(
        files["predictions"], usecols=["key", "ts", value, *cols], parse_dates=["ts"], dtype={c: str for c in cols}
    )
    now = pd.Timestamp.now(tz="UTC")
    widest = max(req["windows"].values())
    preds = preds[(preds["ts"] >= now - pd.Timedelta(seconds=widest)) & (preds["ts"] < now)]
    df = pd.DataFrame({"pt": (preds["ts"] - pd.Timestamp(0, tz="UTC")).dt.total_seconds(), "s": preds[value]})
    for c in cols:
        df[c] = preds[c]
    if label is not None:
        labs = pd.read_csv(files["labels"], usecols=["key", "lt", label], parse_dates=["lt"])
        latest = labs.sort_values(["key", "lt", label]).drop_duplicates("key", keep="last")
        df["y"] = preds[["key"]].merge(latest[["key", label]], on="key", how="left")[label].to_numpy()
    if kind == "regression":
        df = df.dropna(subset=["s", "y"])
    ref = pd.read_csv(files["reference"]) if "reference" in files else None
    return df, ref, now.timestamp()


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


# ---------------------------------------------------------------------------------------------------------
# the kinds of bench/peer-kinds.ts: (rows, reference rows or None, request, the warehouse's now in epoch s)


def duplicates(df, _ref, req, _now):
    keys = req["key"]
    sizes = df.dropna(subset=keys).groupby(keys, sort=False).size()
    return {"duplicate_keys": int((sizes > 1).sum())}


def regression(df, _ref, req, now):
    pt = df["pt"].to_numpy(dtype=float)
    out = {}
    for label, w in req["windows"].items():
        inside = df[pt >= now - w]
        if not len(inside):
            continue
        y = inside["y"].to_numpy(dtype=float)
        s = inside["s"].to_numpy(dtype=float)
        nonzero = y != 0
        out[f"mae|{label}"] = mean_absolute_error(y, s)
        out[f"rmse|{label}"] = mean_squared_error(y, s, squared=False)
        # scikit-learn divides by max(|y|, eps): over the non-zero actuals only it is the check's MAPE.
        if nonzero.any():
            out[f"mape|{label}"] = mean_absolute_percentage_error(y[nonzero], s[nonzero])
        out[f"mape_excluded|{label}"] = int((~nonzero).sum())
        out[f"bias|{label}"] = float(np.mean(s - y))
        if len(np.unique(y)) > 1:
            out[f"r2|{label}"] = r2_score(y, s)
    return out


def segment_groups(values, max_segments):
    """Each row's reported value: its own among the column's top `max_segments` by rows (ties by the value's
    bytes, as COLLATE "C" orders them), else `other`; NULL is `(null)`."""
    values = values.fillna("(null)").astype(str)
    ranked = sorted(values.value_counts().items(), key=lambda kv: (-kv[1], kv[0].encode()))
    top = {v for v, _ in ranked[:max_segments]}
    return values.where(values.isin(top), "other")


def segments(df, _ref, req, now):
    pt = df["pt"].to_numpy(dtype=float)
    t = req["threshold"]
    out = {}
    for column in req["columns"]:
        groups = segment_groups(df[column], req["max_segments"])
        # Every value of the widest window (all the rows pulled) is reported in every window.
        values = sorted(groups.unique())
        for label, w in req["windows"].items():
            inside = pt >= now - w
            parts = dict(tuple(df[inside].groupby(groups[inside], sort=False)))
            for g in values:
                part = parts.get(g, df.iloc[:0])
                key = f"{label}|{column}|{g}"
                labeled = part[part["y"].notna()]
                scored = labeled[labeled["s"].notna()]
                out[f"n_all|{key}"] = len(part)
                out[f"n_lab|{key}"] = len(labeled)
                if not len(scored):
                    continue
                y = scored["y"].to_numpy(dtype=int)
                s = scored["s"].to_numpy(dtype=float)
                predicted = (s >= t).astype(int)
                if 0 < y.sum() < len(y):
                    out[f"auc|{key}"] = roc_auc_score(y, s)
                out[f"accuracy|{key}"] = accuracy_score(y, predicted)
                out[f"rate_predicted|{key}"] = float(predicted.mean())
                out[f"rate_actual|{key}"] = float(y.mean())
    return out


def prediction_psi(df, ref, req, now):
    r = ref.iloc[:, 0].to_numpy(dtype=float)
    r = r[~np.isnan(r)]
    edges = np.unique(np.quantile(r, np.arange(1, 10) / 10))
    bins = len(edges) + 1
    ref_p = np.maximum(np.bincount(np.searchsorted(edges, r, side="left"), minlength=bins) / len(r), 1e-4)
    s = df["s"].to_numpy(dtype=float)
    pt = df["pt"].to_numpy(dtype=float)
    valued = ~np.isnan(s)
    out = {}
    for label, w in req["windows"].items():
        cur = s[valued & (pt >= now - w)]
        if not len(cur):
            continue
        cur_p = np.maximum(np.bincount(np.searchsorted(edges, cur, side="left"), minlength=bins) / len(cur), 1e-4)
        out[f"psi|{label}"] = float(np.sum((cur_p - ref_p) * np.log(cur_p / ref_p)))
    return out


def job(df, _ref, req, now):
    s = df["s"].to_numpy(dtype=float)
    f = df["f"].to_numpy(dtype=float)
    ok = df["status"].isin([str(v) for v in req["success_values"]]).to_numpy()
    running = np.isnan(f)
    out = {"in_progress": int(running.sum())}
    for label, w in req["windows"].items():
        inside = s >= now - w
        success = int((inside & ~running & ok).sum())
        failure = int((inside & ~running & ~ok).sum())
        out[f"success|{label}"] = success
        out[f"failure|{label}"] = failure
        out[f"running|{label}"] = int((inside & running).sum())
        if success + failure:
            out[f"ratio|{label}"] = success / (success + failure)
    ended = ~running & (f < now)
    if (ended & ok).any():
        out["last_success"] = float(f[ended & ok].max())
    day = ended & (f >= now - 86400)
    if day.any():
        ends = f[day]
        durations = ends - s[day]
        out["last_duration"] = float(durations[np.lexsort((durations, ends))[-1]])
        out["p95_duration"] = float(np.percentile(durations, 95))
    return out


CLOCKED = {
    "duplicates": duplicates,
    "regression": regression,
    "segments": segments,
    "prediction_psi": prediction_psi,
    "job": job,
}


def main():
    req = json.load(sys.stdin)
    if "files" in req:
        t0 = time.perf_counter()
        if req["kind"] in CLOCKED:
            df, ref, now = pull_model_files(req)
            t1 = time.perf_counter()
            values = CLOCKED[req["kind"]](df, ref, req, now)
        else:
            df = pull_files(req)
            t1 = time.perf_counter()
            values = classification(df, req)
        t2 = time.perf_counter()
        print(json.dumps({"pullMs": (t1 - t0) * 1000, "computeMs": (t2 - t1) * 1000, "rows": len(df), "values": values}))
        return
    session = {"options": req["options"]} if "options" in req else {}
    conn = psycopg2.connect(req["url"], application_name=req.get("app", "mlwatch-bench-pandas"), **session)
    kind = req["kind"]
    ref_ms = None
    try:
        t0 = time.perf_counter()
        now = None
        if kind in CLOCKED:
            # psycopg2 opens a transaction here and read_sql runs in it: the pull sees this now() too.
            with conn.cursor() as cur:
                cur.execute("SELECT extract(epoch FROM now())::float8")
                now = cur.fetchone()[0]
        df = pull(conn, req["sql"], req.get("params", []))
        ref = None
        if "reference_sql" in req:
            r0 = time.perf_counter()
            ref = pull(conn, req["reference_sql"], req.get("reference_params", []))
            ref_ms = (time.perf_counter() - r0) * 1000
        t1 = time.perf_counter()
        if kind in CLOCKED:
            values = CLOCKED[kind](df, ref, req, now)
        elif kind in ("ks", "psi"):
            values = {"ks": ks, "psi": psi}[kind](df, ref, req)
        else:
            values = {"classification": classification, "scan": scan, "labels": labels, "serving": serving}[kind](df, req)
        t2 = time.perf_counter()
    finally:
        conn.close()
    rows = len(df) + (len(ref) if ref is not None else 0)
    result = {"pullMs": (t1 - t0) * 1000, "computeMs": (t2 - t1) * 1000, "rows": rows, "values": values}
    if ref_ms is not None:
        result["refPullMs"] = ref_ms
    print(json.dumps(result))


if __name__ == "__main__":
    main()
