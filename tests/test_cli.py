"""The ``wigenai`` command line: records, acceptance figures and bad input."""

import json
import math

import pytest

from wigenai.cli import main, parse_range
from wigenai.metrics import theory_ber


def test_ideal_qpsk_nearest_within_4_standard_errors_of_theory(tmp_path, capsys):
    out = tmp_path / "ber.json"
    plot = tmp_path / "ber.png"
    rc = main(
        [
            "-q",
            "ber",
            "--modulation",
            "qpsk",
            "--receivers",
            "nearest,map",
            "--snr=-20:0:2.5",
            "--noise",
            "awgn",
            "--kappa-t",
            "0",
            "--kappa-r",
            "0",
            "--quant-bits",
            "0",
            "--adc-bits",
            "0",
            "--symbols",
            "200000",
            "--seed",
            "3",
            "--json",
            str(out),
            "--plot",
            str(plot),
        ]
    )
    assert rc == 0
    records = json.loads(out.read_text())
    assert len(records) == 9 * 2
    for r in records:
        assert {"snr_db", "method", "noise", "ber", "bits"} <= set(r)
        assert r["bits"] == 400_000 and r["noise"] == "awgn"
        p = float(theory_ber("qpsk", r["snr_db"]))
        assert abs(r["ber"] - p) < 4 * math.sqrt(p * (1 - p) / r["bits"]), r
    assert plot.stat().st_size > 10_000
    assert "nearest" in capsys.readouterr().out


def test_map_not_worse_than_nearest_under_laplace(tmp_path):
    out = tmp_path / "ber.json"
    rc = main(
        [
            "-q",
            "ber",
            "--modulation",
            "16qam",
            "--snr=0:12:6",
            "--noise",
            "laplace",
            "--symbols",
            "50000",
            "--json",
            str(out),
        ]
    )
    assert rc == 0
    recs = {(r["snr_db"], r["method"]): r for r in json.loads(out.read_text())}
    for snr in (0.0, 6.0, 12.0):
        near, mp = recs[(snr, "nearest")], recs[(snr, "map")]
        assert mp["ber"] <= near["ber"] + 3 * math.sqrt(near["ber"] / near["bits"])


@pytest.mark.parametrize(
    "args,name",
    [
        (["--kappa-t", "-0.1"], "--kappa-t"),
        (["--quant-bits", "-1"], "--quant-bits"),
        (["--snr", "nan"], "--snr"),
        (["--snr", "0:-5:1"], "--snr"),
        (["--modulation", "8psk"], "--modulation"),
        (["--receivers", "oracle"], "--receivers"),
        (["--symbols", "0"], "--symbols"),
    ],
)
def test_bad_input_names_the_option(args, name, capsys):
    assert main(["-q", "ber", *args]) == 2
    assert name in capsys.readouterr().err


def test_unknown_noise_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        main(["ber", "--noise", "pink"])
    assert "--noise" in capsys.readouterr().err


def test_parse_range():
    assert parse_range("-25:-5:2.5")[:3] == [-25.0, -22.5, -20.0]
    assert parse_range("-25:-5:2.5")[-1] == -5.0
    assert parse_range("1,2") == [1.0, 2.0]
