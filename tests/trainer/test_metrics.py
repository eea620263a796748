import json

from schemas.results import MetricsRecord
from trainer.metrics import MetricsWriter


def record(step, **evals):
    return MetricsRecord(
        step=step,
        samples_seen=step * 4,
        epoch=0,
        loss=1.0,
        lr=0.1,
        logit_scale=14.3,
        samples_per_s=10.0,
        data_time_frac=0.1,
        evals=evals,
    )


def lines(path):
    return [json.loads(x) for x in (path / "metrics.jsonl").read_text().splitlines()]


def test_resume_drops_lines_past_the_checkpoint_and_appends(tmp_path):
    w = MetricsWriter(tmp_path, enabled=True, progress=False)
    for s in range(1, 8):
        w.write(record(s), total_steps=10)
    w = MetricsWriter(tmp_path, enabled=True, progress=False, resume_step=5)
    w.write(record(6, zeroshot_top1=0.5), total_steps=10)
    got = lines(tmp_path)
    assert [r["step"] for r in got] == [1, 2, 3, 4, 5, 6]
    assert got[-1]["zeroshot_top1"] == 0.5  # eval results flattened into the line


def test_fresh_run_starts_a_fresh_file_and_non_main_ranks_write_nothing(tmp_path):
    MetricsWriter(tmp_path, enabled=True, progress=False).write(record(1), 10)
    MetricsWriter(tmp_path, enabled=True, progress=False).write(record(1), 10)
    assert len(lines(tmp_path)) == 1
    other = tmp_path / "rank1"
    MetricsWriter(other, enabled=False).write(record(1), 10)
    assert not (other / "metrics.jsonl").exists()


def test_progress_line_on_request(tmp_path, capsys):
    w = MetricsWriter(tmp_path, enabled=True, progress=True)
    w.write(record(5), total_steps=10)
    w.close()
    err = capsys.readouterr().err
    assert "step 5/10" in err and "loss 1.0000" in err
