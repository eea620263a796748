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
    assert resolve_resume("latest", tmp_path) is None  # nothing there yet: a fresh start
    ckdir = tmp_path / "checkpoints"
    save_checkpoint(ckdir, 1, {"step": 1}, keep=1)

    def dying_save(obj, f):
        f.write(b"partial bytes")
        raise OSError("disk full")

    monkeypatch.setattr(ck.torch, "save", dying_save)
    with pytest.raises(OSError):
        save_checkpoint(ckdir, 2, {"step": 2}, keep=1)
    assert [p.name for p in list_checkpoints(ckdir)] == ["step_00000001.pt"]
    assert resolve_resume("latest", tmp_path).name == "step_00000001.pt"
    assert len(list(ckdir.iterdir())) == 2  # the partial file has a temporary name...
    monkeypatch.undo()
    save_checkpoint(ckdir, 3, {"step": 3}, keep=1)
    assert [p.name for p in ckdir.iterdir()] == ["step_00000003.pt"]  # ...gone at the next save


def test_resume_file_must_exist(tmp_path):
    with pytest.raises(FileNotFoundError):
        resolve_resume(str(tmp_path / "nope.pt"), tmp_path)
