"""`embryo-repair train` through the CLI on a tiny demo project."""

import json

import numpy as np

from embryo_gui.cli.main import main
from embryo_gui.model import Project


def test_train_cli_json_and_flags(tmp_path, capsys):
    path = tmp_path / "d.h5"
    assert main(["demo", str(path), "--embryos", "2", "--frames", "40", "--size", "64x48", "--seed", "5"]) == 0
    capsys.readouterr()
    rc = main(["train", str(path), "--epochs", "1", "--size", "32", "--folds", "2", "--drop", "0.2", "--json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    d = json.loads(out)
    p = Project.open(path)
    assert [e["name"] for e in d["embryos"]] == p.names and d["rounds"]
    for rec, e in zip(d["embryos"], p.embryos):
        assert rec["lossy"] == np.flatnonzero(e.flags.mask("lossy")).tolist()
        assert len(rec["loss"]) == e.n_frames
        scored = [v for v in rec["loss"] if v is not None]
        assert scored and all(v >= 0 for v in scored)
        # the flagged frames are the highest-loss ones among the scored frames
        if rec["lossy"]:
            loss = np.array([np.nan if v is None else v for v in rec["loss"]])
            assert np.nanmin(loss[rec["lossy"]]) >= np.nanmedian(loss)
        assert e.history.entries[-1].type == "record_training" and e.training


def test_train_cli_bad_settings_one_line(tmp_path, capsys):
    path = tmp_path / "d.h5"
    assert main(["demo", str(path), "--embryos", "1", "--frames", "12", "--size", "64x48"]) == 0
    capsys.readouterr()
    before = path.read_bytes()
    rc = main(["train", str(path), "--epochs", "1", "--size", "32"])
    out, err = capsys.readouterr()
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "frames" in err, err
    assert path.read_bytes() == before
