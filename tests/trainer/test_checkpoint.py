import pytest
import torch

from trainer import checkpoint as ck
from trainer.checkpoint import list_checkpoints, resolve_resume, save_checkpoint


def test_keeps_last_k_in_step_order(tmp_path):
    for step in (5, 10, 15, 20, 100):
        save_checkpoint(tmp_path, step, {"step": step}, keep=3)
    names = [p.name for p in list_checkpoints(tmp_path)]
    assert names == ["step_00000015.pt", "step_00000020.pt", "step_00000100.pt"]
    assert torch.load(tmp_path / names[-1], weights_only=True) == {"step": 100}


def test_write_is_atomic_a_failed_save_leaves_the_old_set(tmp_path, monkeypatch):
    save_checkpoint(tmp_path, 1, {"step": 1}, keep=1)

    def dying_save(obj, f):
        f.write(b"partial bytes")
        raise OSError("disk full")

    monkeypatch.setattr(ck.torch, "save", dying_save)
    with pytest.raises(OSError):
        save_checkpoint(tmp_path, 2, {"step": 2}, keep=1)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step_00000001.pt"]
    assert resolve_resume("latest", tmp_path.parent / "x") is None  # nothing there: fresh
    (tmp_path.parent / "run" / "checkpoints").mkdir(parents=True)
    for p in tmp_path.iterdir():  # the partial file has a temporary name; latest ignores it
        p.rename(tmp_path.parent / "run" / "checkpoints" / p.name)
    ckdir = tmp_path.parent / "run" / "checkpoints"
    assert resolve_resume("latest", tmp_path.parent / "run").name == "step_00000001.pt"
    assert len(list(ckdir.iterdir())) == 2  # the partial file is still there...
    monkeypatch.undo()
    save_checkpoint(ckdir, 3, {"step": 3}, keep=1)
    assert [p.name for p in ckdir.iterdir()] == ["step_00000003.pt"]  # ...until the next save


def test_resume_file_must_exist(tmp_path):
    with pytest.raises(FileNotFoundError):
        resolve_resume(str(tmp_path / "nope.pt"), tmp_path)
