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

With "files" and "data": true (bench/duckdb-data-kinds.ts), the other kinds read CSV files the same way (FILES):
scan (`table`: every column, the window's rows, the one before it, the newest timestamp, each NULL share),
duplicates (the window's `key` columns), psi and ks (`table`'s current window and `reference`, the `numeric`
features binned at the reference's quantiles, the others by its top categories; PSI, Jensen-Shannon distance,
sample sizes; ks_2samp), labels (`predictions` of the widest window with the latest label of their key, per
window), job (`runs` as the job check reads them), serving (`requests` of the widest window) and kpi (`table`'s
timestamp and numerator: the ratio per window now and in each of the last `weeks` weeks, baseline, volumes,
standard error).

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
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    f1_score,
    log_loss,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    precision_recall_fscore_support,
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
    errors (status >= 500), slow ones (latency above `objective_ms`) among those with a latency (timed), and the
    latency percentiles in seconds."""
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
        values[f"timed_{w}"] = int(len(timed))
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
            # side="left": a value's bin is the number of edges below it, so a value on an edge falls in the bin
            # under it, as the check bins it (src/checks/dataset/drift-sql.ts).
            ref_n = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=len(edges) + 1)
            cur_n = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=len(edges) + 1)
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


def multiclass(df, _ref, req, now):
    """Rows (pt, one probability column per class in config order, y the label's text or None), as the oracle of
    test/model-multiclass.test.ts computes them (scripts/gen-multiclass-oracle.py): per window, the predictions
    labeled one of the classes with every probability a number count; a label of no class is counted apart."""
    classes = req["classes"]
    pt = df["pt"].to_numpy(dtype=float)
    probs = df[classes].to_numpy(dtype=float)
    y_all = df["y"].to_numpy(dtype=object)
    known = np.isin(y_all, classes)
    unknown = pd.notna(df["y"]).to_numpy() & ~known
    counted = known & np.isfinite(probs).all(axis=1)
    out = {}
    for label, w in req["windows"].items():
        inside = pt >= now - w
        out[f"unknown|{label}"] = int((inside & unknown).sum())
        rows = inside & counted
        if not rows.any():
            continue
        y = y_all[rows].astype(str)
        p = probs[rows]
        # numpy's argmax: the first class of highest probability, in config order.
        predicted = np.asarray(classes)[p.argmax(axis=1)]
        out[f"accuracy|{label}"] = accuracy_score(y, predicted)
        # log_loss and the multiclass AUC read the columns in the sorted labels' order.
        order = np.argsort(classes)
        ordered = [classes[i] for i in order]
        out[f"log_loss|{label}"] = log_loss(y, np.clip(p[:, order], 1e-15, 1 - 1e-15), labels=ordered)
        precision, recall, f1, support = precision_recall_fscore_support(
            y, predicted, labels=classes, zero_division=0
        )
        seen = set(y) | set(predicted)
        for i, c in enumerate(classes):
            if c in set(predicted):
                out[f"precision|{label}|{c}"] = float(precision[i])
            if c in set(y):
                out[f"recall|{label}|{c}"] = float(recall[i])
            if c in seen:
                out[f"f1|{label}|{c}"] = float(f1[i])
            out[f"support|{label}|{c}"] = int(support[i])
            positive = y == c
            if 0 < positive.sum() < len(y):
                out[f"auc|{label}|{c}"] = roc_auc_score(positive, p[:, i])
        out[f"f1_macro|{label}"] = f1_score(y, predicted, average="macro")
        out[f"f1_weighted|{label}"] = f1_score(y, predicted, average="weighted")
        if all(f"auc|{label}|{c}" in out for c in classes):
            out[f"auc_macro|{label}"] = roc_auc_score(
                y, p[:, order], multi_class="ovr", average="macro", labels=ordered
            )
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
    "multiclass": multiclass,
}


# ---------------------------------------------------------------------------------------------------------
# the kinds of bench/duckdb-data-kinds.ts: the rows read from CSV files with pandas.read_csv (no Parquet engine
# here), each pull giving (rows, reference rows or None, now, the reference's read in ms or None)

EPOCH = pd.Timestamp(0, tz="UTC")


def epoch_s(t):
    """Epoch seconds of a timestamp (or a column of them; NaT as NaN), from its whole microseconds."""
    return ((t - EPOCH) // pd.Timedelta(microseconds=1)) / 1e6


def within(t, now, seconds):
    """The window [now - seconds, now), as the checks read it."""
    return (t >= now - pd.Timedelta(seconds=seconds)) & (t < now)


def pull_table(req):
    ts = req["timestamp"]
    return pd.read_csv(req["files"]["table"], usecols=req.get("columns"), parse_dates=[ts]), None, pd.Timestamp.now(tz="UTC"), None


def scan_window(df, _ref, req, now):
    """The scan check's figures: rows of the window and of the one before it (volume), the newest timestamp
    not in the future (freshness), and every column's NULL share in the window, the timestamp's included."""
    ts, w = req["timestamp"], req["window_s"]
    t = df[ts]
    inside = df[within(t, now, w)]
    past = t[t < now]
    values = {"rows": int(len(inside)), "baseline": int(within(t, now - pd.Timedelta(seconds=w), w).sum())}
    if len(past):
        values["newest"] = float(epoch_s(past.max()))
    if len(inside):
        for c in df.columns:
            values[f"null_ratio|{c}"] = float(inside[c].isna().mean())
    return values


def pull_window(req):
    """The key columns of the rows in the window (duplicates)."""
    df, _, now, _ = pull_table({**req, "columns": [*req["key"], req["timestamp"]]})
    return df[within(df[req["timestamp"]], now, req["window_s"])], None, now, None


def pull_drift(req):
    """The current window's features and, read apart (refPullMs), the reference's; text features as str."""
    ts, features = req["timestamp"], req["features"]
    text = {f: str for f in features if f not in req["numeric"]}
    df = pd.read_csv(req["files"]["table"], usecols=[ts, *features], parse_dates=[ts], dtype=text)
    now = pd.Timestamp.now(tz="UTC")
    df = df[within(df[ts], now, req["window_s"])][features]
    r0 = time.perf_counter()
    ref = pd.read_csv(req["files"]["reference"], usecols=features, dtype=text)
    return df, ref, now, (time.perf_counter() - r0) * 1000


def drift_bins(ref, cur, numeric, req):
    """Counts per bin of the reference and the current sample (NULLs dropped), binned as the drift check bins:
    numeric values by the reference's `bins`-quantiles (numpy.quantile, linear like percentile_cont), a value in
    bin #{edges < x}; text values by the reference's `max_categories` most frequent (ties by the value's bytes),
    any other value in one more bin."""
    if numeric:
        r, c = ref.to_numpy(dtype=float), cur.to_numpy(dtype=float)
        edges = np.unique(np.quantile(r, np.arange(1, req["bins"]) / req["bins"]))
        n = len(edges) + 1
        return tuple(np.bincount(np.searchsorted(edges, x, side="left"), minlength=n) for x in (r, c))
    ranked = sorted(ref.value_counts().items(), key=lambda kv: (-kv[1], kv[0].encode()))
    cats = pd.Index([v for v, _ in ranked[: req["max_categories"]]])
    return tuple(np.bincount(cats.get_indexer(x) + 1, minlength=len(cats) + 1) for x in (ref, cur))


def drift(df, ref, req, _now):
    """Per feature: both samples' sizes, PSI (proportions floored at 1e-4) and the Jensen-Shannon distance (base 2,
    scipy)."""
    out = {}
    for f in req["features"]:
        r, c = ref[f].dropna(), df[f].dropna()
        out[f"n_cur|{f}"], out[f"n_ref|{f}"] = int(len(c)), int(len(r))
        if not (len(r) and len(c)):
            continue
        ref_n, cur_n = drift_bins(r, c, f in req["numeric"], req)
        ref_p, cur_p = ref_n / ref_n.sum(), cur_n / cur_n.sum()
        rf, cf = np.maximum(ref_p, 1e-4), np.maximum(cur_p, 1e-4)
        out[f"psi|{f}"] = float(np.sum((cf - rf) * np.log(cf / rf)))
        out[f"js|{f}"] = float(jensenshannon(ref_p, cur_p, base=2))
    return out


def pull_labels(req):
    """The predictions of the widest window, each with the latest label of its key (ties: the larger label) or
    none: (ts, lt, y)."""
    files, widest = req["files"], max(req["windows"].values())
    preds = pd.read_csv(files["predictions"], usecols=["key", "ts"], parse_dates=["ts"])
    labs = pd.read_csv(files["labels"], usecols=["key", "lt", "y"], parse_dates=["lt"])
    now = pd.Timestamp.now(tz="UTC")
    preds = preds[within(preds["ts"], now, widest)]
    latest = labs.sort_values(["key", "lt", "y"]).drop_duplicates("key", keep="last")
    return preds.merge(latest, on="key", how="left"), None, now, None


def label_windows(df, _ref, req, now):
    """Per window: predictions, labeled ones, coverage, leakage (label before prediction) and the delay
    percentiles (numpy.percentile, linear as percentile_cont) of the labeled ones, in seconds."""
    delay = ((df["lt"] - df["ts"]) / pd.Timedelta(seconds=1)).to_numpy()
    labeled = df["y"].notna().to_numpy()
    out = {}
    for label, w in req["windows"].items():
        inside = (df["ts"] >= now - pd.Timedelta(seconds=w)).to_numpy()
        d = delay[inside & labeled]
        n, k = int(inside.sum()), len(d)
        out[f"n|{label}"], out[f"labeled|{label}"], out[f"leak|{label}"] = n, k, int((d < 0).sum())
        if n:
            out[f"coverage|{label}"] = k / n
        if k:
            out[f"d50|{label}"], out[f"d95|{label}"] = (float(v) for v in np.percentile(d, [50, 95]))
    return out


def pull_runs(req):
    """The job's runs as the job check reads them (started before now, and in the widest window or ended in it
    or still running): (status, s, f), times as epoch seconds."""
    runs = pd.read_csv(
        req["files"]["runs"],
        usecols=["job", "status", "started_at", "finished_at"],
        parse_dates=["started_at", "finished_at"],
        dtype={"job": str, "status": str},
    )
    now = pd.Timestamp.now(tz="UTC")
    span = now - pd.Timedelta(seconds=max(86400, *req["windows"].values()))
    s, f = runs["started_at"], runs["finished_at"]
    runs = runs[(runs["job"] == req["job"]) & (s < now) & ((s >= span) | (f >= span) | f.isna())]
    df = pd.DataFrame({"status": runs["status"], "s": epoch_s(runs["started_at"]), "f": epoch_s(runs["finished_at"])})
    return df, None, epoch_s(now), None


def pull_requests(req):
    """The widest window's requests as (age before now in seconds, latency_ms, status)."""
    df = pd.read_csv(req["files"]["requests"], usecols=["at", "latency_ms", "status"], parse_dates=["at"])
    now = pd.Timestamp.now(tz="UTC")
    df = df[within(df["at"], now, max(req["windows"]))]
    age = (now - df["at"]) / pd.Timedelta(seconds=1)
    return pd.DataFrame({"age": age, "latency_ms": df["latency_ms"], "status": df["status"]}), None, now, None


def kpi(df, _ref, req, now):
    """The ratio KPI per window: the share of rows whose `numerator` holds in [now - w, now) and in the same
    window 1..`weeks` weeks earlier; the baseline, the median of the earlier weeks' shares (those with rows); the
    volumes (the current one, and the median of those weeks'); the standard error of value - baseline from the
    rate pooled over those periods, sqrt(p (1 - p) (1 / n0 + c / n~)), c the variance of a median of m weeks as
    the check defines it (`median_variance`)."""
    t = df[req["timestamp"]]
    hit = df[req["numerator"]].to_numpy(dtype=bool)
    out = {}
    for label, w in req["windows"].items():
        periods = []
        for k in range(req["weeks"] + 1):
            inside = within(t, now - pd.Timedelta(weeks=k), w).to_numpy()
            periods.append((int(inside.sum()), int((inside & hit).sum())))
        (n0, k0), weeks = periods[0], periods[1:]
        behind = [(n, k) for n, k in weeks if n > 0]
        out[f"volume_current|{label}"] = n0
        if n0:
            out[f"value|{label}"] = k0 / n0
        out[f"volume_baseline|{label}"] = float(np.median([n for n, _ in (behind or weeks)]))
        if behind:
            out[f"baseline|{label}"] = float(np.median([k / n for n, k in behind]))
        if n0 and behind:
            p = (k0 + sum(k for _, k in behind)) / (n0 + sum(n for n, _ in behind))
            c = req["median_variance"][len(behind) - 1]
            nb = float(np.median([n for n, _ in behind]))
            out[f"se|{label}"] = float(np.sqrt(p * (1 - p) * (1 / n0 + c / nb)))
    return out


FILES = {
    "scan": (pull_table, scan_window),
    "duplicates": (pull_window, duplicates),
    "psi": (pull_drift, drift),
    "ks": (pull_drift, lambda df, ref, req, _now: ks(df, ref, req)),
    "labels": (pull_labels, label_windows),
    "job": (pull_runs, job),
    "serving": (pull_requests, lambda df, _ref, req, _now: serving(df, req)),
    "kpi": (pull_table, kpi),
}


def main():
    req = json.load(sys.stdin)
    if "files" in req and req.get("data"):
        t0 = time.perf_counter()
        pull_rows, compute = FILES[req["kind"]]
        df, ref, now, ref_ms = pull_rows(req)
        t1 = time.perf_counter()
        values = compute(df, ref, req, now)
        t2 = time.perf_counter()
        result = {"pullMs": (t1 - t0) * 1000, "computeMs": (t2 - t1) * 1000, "rows": len(df), "values": values}
        if ref_ms is not None:
            result["refPullMs"] = ref_ms
        print(json.dumps(result))
        return
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
