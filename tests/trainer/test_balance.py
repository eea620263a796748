"""Balancing in the loader: draws follow MetaCLIP 2's rule on a Zipf pool, differ per epoch,
repeat on rerun; workers read only the drawn samples; flags that conflict are refused."""

from __future__ import annotations

import math
import random

import numpy as np
import pyarrow.parquet as pq
import pytest

from schemas.arrow import write_parquet
from schemas.layout import sample_key, shard_parquet, shard_tar
from schemas.records import QueryCount, ShardRow
from trainer.balance import BalancePlan, read_pool
from trainer.config import DataConfig
from trainer.data import ShardStream, SkipCounter

T = 40.0


def zipf_pool(folder, n_shards=4, per_shard=5000, n_entries=300, seed=1):
    """Per-shard parquets (no tars: the draw never opens one). Entry i is drawn with weight
    1/(i+1); a third of the samples match two entries; every 10th row failed to download."""
    rng = random.Random(seed)
    entries = [f"q{i}" for i in range(n_entries)]
    weights = [1 / (i + 1) for i in range(n_entries)]
    urls = []
    for shard in range(n_shards):
        rows = []
        for i in range(per_shard):
            k = 2 if rng.random() < 1 / 3 else 1
            qs = sorted(set(rng.choices(entries, weights, k=k)))
            status = "failed" if i % 10 == 9 else "success"
            key = sample_key(shard, i, per_shard)
            url = f"http://x.invalid/{key}.jpg"
            rows.append(ShardRow(key, url, f"text {key}", status, None, tuple(qs)))
        write_parquet(str(folder / shard_parquet(shard)), ShardRow, rows)
        urls.append(str(folder / shard_tar(shard)))
    return urls


def success_rows(urls):
    rows = []
    for u in urls:
        rows += [
            r
            for r in pq.read_table(u[: -len(".tar")] + ".parquet").to_pylist()
            if r["status"] == "success"
        ]
    return rows


def rule(entries, counts, t):
    miss = 1.0
    for q in entries:
        miss *= 1 - min(1.0, t / counts[q])
    return 1 - miss


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    return zipf_pool(tmp_path_factory.mktemp("zipf"))


def test_kept_counts_follow_the_rule_within_5_sigma(pool, tmp_path):
    rows = success_rows(pool)
    counts = {}
    for r in rows:
        for q in r["queries"]:
            counts[q] = counts.get(q, 0) + 1
    assert max(counts.values()) > 20 * T  # the head is far above t: balancing has work
    plan = BalancePlan.build(pool, T, seed=0)
    mask = plan.draw(0)
    plan.write(str(tmp_path), 0, mask)
    drawn = pq.read_table(tmp_path / "balance" / "epoch_0000.parquet").to_pylist()
    keys = [d["key"] for d in drawn]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    by_key = {r["key"]: r for r in rows}
    assert set(keys) <= set(by_key)  # failed rows are never drawn
    kept = {q: 0 for q in counts}
    for d in drawn:
        assert d["queries"] == by_key[d["key"]]["queries"]
        for q in d["queries"]:
            kept[q] += 1
    mean = {q: 0.0 for q in counts}
    var = {q: 0.0 for q in counts}
    for r in rows:
        p = rule(r["queries"], counts, T)
        for q in r["queries"]:
            mean[q] += p
            var[q] += p * (1 - p)
    for q in counts:
        assert abs(kept[q] - mean[q]) <= 5 * math.sqrt(var[q]) + 1e-9, (q, kept[q], mean[q])
    # the head is thinned (its pairs with tail entries keep it above t); the file agrees
    assert kept["q0"] < counts["q0"] / 3 and kept["q299"] == counts["q299"]
    table = pq.read_table(tmp_path / "balance" / "epoch_0000_counts.parquet").to_pylist()
    assert {r["query"]: r["kept"] for r in table} == kept
    assert {r["query"]: r["matches"] for r in table} == counts


def test_epochs_differ_and_a_rebuilt_plan_draws_the_same(pool):
    a = BalancePlan.build(pool, T, seed=0)
    b = BalancePlan.build(pool, T, seed=0)
    assert np.array_equal(a.draw(0), b.draw(0)) and np.array_equal(a.draw(3), b.draw(3))
    assert not np.array_equal(a.draw(0), a.draw(1))
    assert not np.array_equal(a.draw(0), BalancePlan.build(pool, T, seed=1).draw(0))


def test_counts_file_replaces_the_pool_counts(pool, tmp_path):
    own = read_pool(pool)
    counts = {}
    for qs in own.queries:
        for q in qs:
            counts[q] = counts.get(q, 0) + 1
    del counts["q5"]  # an entry the file lacks falls back to the pool's count
    file_counts = {q: 3 * n for q, n in counts.items()}
    path = tmp_path / "queries_counts.parquet"
    rows = [QueryCount(q, n, 0) for q, n in file_counts.items()]
    write_parquet(str(path), QueryCount, rows)
    plan = BalancePlan.build(pool, T, seed=0, counts_file=str(path))
    for qs, p in zip(own.queries, plan.p):
        if len(qs) == 1 and qs[0] != "q5":
            assert p == pytest.approx(min(1.0, T / file_counts[qs[0]]))
    assert plan.counts["q5"] == sum("q5" in qs for qs in own.queries)


def test_a_pool_without_entries_is_refused(tmp_path):
    rows = [ShardRow("000000000", "http://x.invalid/a.jpg", "a", "success", None, ())]
    write_parquet(str(tmp_path / "00000.parquet"), ShardRow, rows)
    with pytest.raises(ValueError, match="no sample of the pool has matched entries"):
        read_pool([str(tmp_path / "00000.tar")])
    with pytest.raises(ValueError, match="missing"):
        read_pool([str(tmp_path / "00001.tar")])


def test_workers_read_only_the_drawn_samples(tmp_path):
    from trainer.synthetic import write_shards

    tars = [str(p) for p in write_shards(tmp_path, 3, 20, image_size=16, with_table=True)]
    plan = BalancePlan.build(tars, 4.0, seed=0)
    mask = plan.draw(0)
    keep = plan.keep_map(mask)
    assert 0 < mask.sum() < len(mask)
    cfg = DataConfig(spec="::".join(tars), train=False, workers=0)
    got = [s["__key__"] for s in ShardStream(cfg, "{}", keep=keep)._raw_samples(SkipCounter())]
    assert sorted(got) == sorted(plan.pool.keys[i] for i in np.flatnonzero(mask))


def test_conflicting_flags_are_refused():
    with pytest.raises(ValueError, match="refused with --balance-t"):
        DataConfig(spec="a.tar", balance_t=5, num_samples=100, resampled=True)
    with pytest.raises(ValueError, match="needs --balance-t"):
        DataConfig(spec="a.tar", balance_counts="c.parquet")
    with pytest.raises(ValueError, match="> 0"):
        DataConfig(spec="a.tar", balance_t=0)


def _draws(run):
    folder = run / "balance"
    return {p.name: pq.read_table(p).to_pylist() for p in sorted(folder.glob("*.parquet"))}


def test_trainer_trains_from_a_pool_with_balance_t(tmp_path):
    """3 epochs on a balanced draw; a run stopped mid-epoch 1 on 1 data worker and resumed on
    none writes the same draws and ends on the same step."""
    from tests.trainer.test_cli import read_metrics, train_args
    from trainer.cli import main
    from trainer.synthetic import write_shards

    write_shards(tmp_path / "pool", 4, 64, image_size=32, seed=3, with_table=True)
    spec = f"{tmp_path / 'pool'}/{{00000..00003}}.tar"
    flags = ["--epochs", "3", "--balance-t", "25", "--save-every", "2"]
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(train_args(spec, a, *flags)) == 0
    draws = _draws(a)
    sizes = [len(draws[f"epoch_{e:04d}.parquet"]) for e in range(3)]
    assert len(draws) == 6 and 64 < min(sizes) and max(sizes) < 256
    assert draws["epoch_0000.parquet"] != draws["epoch_0001.parquet"]
    metrics = read_metrics(a)
    steps = [n // 32 for n in sizes]
    assert metrics[-1]["step"] == sum(steps)
    assert [m["epoch"] for m in metrics] == [e for e, n in enumerate(steps) for _ in range(n)]
    stop = ["--workers", "1", "--max-steps", str(steps[0] + 1)]
    assert main(train_args(spec, b, *flags, *stop)) == 0
    assert main(train_args(spec, b, *flags, "--resume", "latest")) == 0
    assert _draws(b) == draws and read_metrics(b)[-1]["step"] == sum(steps)


def test_train_num_samples_is_refused_with_balance_t(tmp_path, capsys):
    from tests.trainer.test_cli import train_args
    from trainer.cli import main

    args = train_args("x.tar", tmp_path, "--balance-t", "5", "--train-num-samples", "64")
    assert main(args) == 2
    assert "refused with --balance-t" in capsys.readouterr().err


@pytest.mark.slow
def test_two_ranks_draw_what_one_process_draws(tmp_path):
    """torchrun, 2 CPU ranks (gloo) with a data worker each, against one process without."""
    import os
    import socket
    import subprocess
    import sys

    from trainer.synthetic import write_shards

    write_shards(tmp_path / "pool", 4, 64, image_size=32, seed=3, with_table=True)
    spec = f"{tmp_path / 'pool'}/{{00000..00003}}.tar"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    common = ["train", "--train-data", spec, "--model", "tiny", "--vocab-size", "400",
              "--epochs", "2", "--balance-t", "25", "--warmup", "2", "--no-progress",
              "--device", "cpu"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
                "--master-addr", "127.0.0.1", "--master-port", str(port),
                "-m", "trainer"]  # fmt: skip
    two = [*common, "--output", str(tmp_path / "two"), "--batch-size", "16", "--workers", "1"]
    one = [*common, "--output", str(tmp_path / "one"), "--batch-size", "32", "--workers", "0"]
    subprocess.run([*torchrun, *two], env=env, check=True, timeout=300, capture_output=True)
    subprocess.run([sys.executable, "-m", "trainer", *one], env=env, check=True, timeout=300,
                   capture_output=True)  # fmt: skip
    assert _draws(tmp_path / "two") == _draws(tmp_path / "one") and _draws(tmp_path / "one")
