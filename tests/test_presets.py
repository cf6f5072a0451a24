"""Named link presets and the receivers they are meant to separate."""

import json
import math

import numpy as np
import pytest

from wigenai.ber import run_sweep
from wigenai.channel import ImpairedChannel, LinkParams
from wigenai.constellation import Constellation
from wigenai.presets import PRESETS, constellation, describe, preset
from wigenai.receivers import MapReceiver, NearestReceiver
from wigenai.structured_receivers import (
    CentroidReceiver,
    GenieMapReceiver,
    run_link_sweep,
)


def _sweep(name, snr_db, n, seed=1, **overrides):
    const = constellation(name, **overrides)
    link = preset(name, snr_db, **overrides)
    rxs = [NearestReceiver(const), CentroidReceiver(const), GenieMapReceiver(const)]
    return {r.method: r for r in run_link_sweep(link, [snr_db], rxs, n, seed=seed)}


def _mc(a, b):
    """Three standard errors of the difference of two error rates on n trials."""
    return 3.0 * math.sqrt((a.ser + b.ser) / a.symbols)


def test_names_and_unknown_preset():
    assert set(PRESETS) == {"paper", "pluto-like", "harsh"}
    with pytest.raises(ValueError, match=r"^link:.*'paper'.*'pluto-like'.*'harsh'"):
        preset("pluto", 10.0)


def test_bad_overrides_name_the_parameter():
    with pytest.raises(ValueError, match=r"^adc_bitz:"):
        preset("harsh", 10.0, adc_bitz=4)
    with pytest.raises(ValueError, match=r"^rx_iq_phase_deg:"):
        preset("pluto-like", 10.0, rx_iq_phase_deg=90.0)
    with pytest.raises(ValueError, match=r"^phase_increment_var:"):
        preset("pluto-like", 10.0, phase_increment_var=-1e-3)
    with pytest.raises(ValueError, match=r"^pa_backoff_db:"):
        preset("pluto-like", 10.0, pa_backoff_db=-8.0)  # inner ring at saturation


@pytest.mark.parametrize("name", PRESETS)
def test_describe_is_json_and_matches_the_link(name):
    d = describe(name)
    assert json.loads(json.dumps(d)) == d
    assert d["link"] == name and d["summary"]
    stages = [s["stage"] for s in d["stages"]]
    assert stages[-2:] == ["noise", "adc"]
    assert constellation(name).name == d["params"]["modulation"]
    assert len(stages) == len(preset(name, 0.0).describe())


def test_paper_is_the_impaired_channel_draw_for_draw():
    const = Constellation(4)
    x = const.map(np.random.default_rng(0).integers(0, 4, 20_000))
    for noise in ("awgn", "laplace"):
        link = preset("paper", -3.0, seed=5, noise=noise)
        ch = ImpairedChannel(LinkParams(-3.0, 0.1, 0.1, 4, 4, noise=noise), seed=5)
        y, h = link.transmit(x)
        y_ref, _ = ch.transmit(x)
        assert np.array_equal(y, y_ref) and np.array_equal(h, np.ones(x.size))
        assert np.allclose(
            link.log_likelihoods(y, const.points), ch.log_likelihoods(y, const.points)
        )
        assert link.params.adc_full_scale == ch.params.adc_full_scale


def test_seeded_presets_reproduce():
    x = constellation("harsh").points[np.arange(1000) % 16]
    a = preset("harsh", 25.0, seed=3).transmit(x)[0]
    b = preset("harsh", 25.0, seed=3).transmit(x)[0]
    assert np.array_equal(a, b)
    assert not np.array_equal(a, preset("harsh", 25.0, seed=4).transmit(x)[0])


def test_existing_map_receiver_runs_on_a_preset():
    """The ImpairedChannel-style interface: MapReceiver uses the link's genie law."""
    const = constellation("pluto-like")
    link = preset("pluto-like", 16.0)
    recs = run_link_sweep(
        link, [16.0], [MapReceiver(const), GenieMapReceiver(const)], 20_000
    )
    assert recs[0].ser == recs[1].ser


def test_pluto_like_ordering_at_20_db():
    r = _sweep("pluto-like", 20.0, 100_000)
    near, cen, gmap = r["nearest"], r["centroid"], r["map"]
    assert gmap.ser <= cen.ser + _mc(gmap, cen)
    assert cen.ser <= near.ser + _mc(cen, near)
    assert near.ser > 3 * gmap.ser and near.ser > gmap.ser + _mc(near, gmap)


def test_harsh_centroid_falls_behind_map_at_high_snr():
    r = _sweep("harsh", 32.0, 100_000)
    cen, gmap = r["centroid"], r["map"]
    assert gmap.ser > 0
    assert cen.ser >= 1.5 * gmap.ser
    assert cen.ser > gmap.ser + _mc(cen, gmap)


def test_structured_receivers_on_the_impaired_channel():
    """ber.run_sweep on ImpairedChannel: the baseline ties slicing (MAP on that link)."""
    const = Constellation(4)
    link = LinkParams(0.0, 0.1, 0.1, 4, 4)
    rxs = [NearestReceiver(const), CentroidReceiver(const), GenieMapReceiver(const)]
    near, cen, gmap = run_sweep(link, [0.0], rxs, 50_000, seed=2, progress=False)
    assert abs(cen.ser - near.ser) <= _mc(cen, near)
    assert gmap.ser == near.ser
    with pytest.raises(ValueError, match=r"^pilots:"):
        CentroidReceiver(const, pilots=8)
