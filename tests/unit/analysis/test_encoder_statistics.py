"""Statistics on a saved encoder: the masked W share and dynamic ratios on hand-made views, and the
whole computation (sample, dropout views, JSON) on the tiny random BERT, through the library and the CLI."""

from __future__ import annotations

import json
import math

import pytest
import torch

from gradparadigm.analysis.encoder_statistics import MarginStatistics, encoder_statistics, sample_sentences
from gradparadigm.errors import ConfigError

ARGS = {"arccon": {"u": math.pi / 18}, "met": {}, "mat": {}}


def _unit(angle: float) -> list[float]:
    return [math.cos(angle), math.sin(angle)]


def test_masked_share_and_ratios_by_hand():
    # anchors at 0 and 2 rad; candidates: positive of anchor 0 at 0.5 rad, of anchor 1 at 2.1 rad
    z0 = torch.tensor([_unit(0.0), _unit(2.0)], dtype=torch.float64)
    z1 = torch.tensor([_unit(0.5), _unit(2.1)], dtype=torch.float64)
    # anchor 0: s_00 = cos .5, s_01 = cos 2.1 -> gap cos .5 − cos 2.1 ≈ 1.38; anchor 1: s_11 = cos .1,
    # s_10 = cos 1.5 -> gap ≈ 0.92. Mask m = 1.0 keeps anchor 1 only; m = 2 keeps both.
    stats = MarginStatistics(1.0, (0.1,), ARGS)
    stats.add(z0, z1)
    both = MarginStatistics(2.0, (0.1,), ARGS)
    both.add(z0, z1)
    both.add(z0, z1)  # a second (equal) batch: pooled means do not change
    one, two = stats.result(), both.result()
    assert one["masked_frac"] == 0.5 and two["masked_frac"] == 1.0
    # a single negative per anchor: it takes all of W whatever the temperature
    assert one["w_hardest_share"] == {"0.1": pytest.approx(1.0)}
    theta_pos, theta_neg = 0.1, 1.5  # anchor 1: angles to its positive and to its only negative
    assert one["ratio"]["arccon"] == pytest.approx(math.sin(theta_pos + math.pi / 18) / math.sin(theta_pos))
    expected = math.sqrt(2 - 2 * math.cos(theta_neg)) / math.sqrt(2 - 2 * math.cos(theta_pos))
    assert one["ratio"]["met"] == pytest.approx(expected)
    assert one["ratio"]["mat"] == pytest.approx(math.sin(theta_neg) / math.sin(theta_pos))
    mat_anchor0 = math.sin(2.1) / math.sin(0.5)
    assert two["ratio"]["mat"] == pytest.approx((mat_anchor0 + math.sin(theta_neg) / math.sin(theta_pos)) / 2)


def test_share_is_the_softmax_weight_of_the_hardest_negative():
    torch.manual_seed(0)
    z0, z1 = torch.randn(6, 5, dtype=torch.float64), torch.randn(6, 5, dtype=torch.float64)
    stats = MarginStatistics(10.0, (0.05, 1.0), ARGS)  # m = 10: every anchor
    stats.add(z0, z1)
    e0, e1 = torch.nn.functional.normalize(z0, dim=1), torch.nn.functional.normalize(z1, dim=1)
    sim = e0 @ e1.T
    expected = {}
    for tau in (0.05, 1.0):
        shares = []
        for i in range(6):
            negatives = [sim[i, j].item() for j in range(6) if j != i]
            shares.append(math.exp(max(negatives) / tau) / sum(math.exp(s / tau) for s in negatives))
        expected[f"{tau:g}"] = pytest.approx(sum(shares) / 6)
    assert stats.result()["w_hardest_share"] == expected


def test_no_masked_anchor_gives_null():
    z = torch.eye(3)
    stats = MarginStatistics(-5.0, (0.05,), ARGS)
    stats.add(z, z)
    result = stats.result()
    assert result["masked_frac"] == 0.0 and result["w_hardest_share"] == {"0.05": None}
    assert result["ratio"] == {"arccon": None, "met": None, "mat": None}


def test_sample_is_seeded_and_distinct():
    sentences = [f"s{i}" for i in range(50)]
    first = sample_sentences(sentences, 20, seed=3)
    assert first == sample_sentences(sentences, 20, seed=3) and len(set(first)) == 20
    assert first != sample_sentences(sentences, 20, seed=4)
    assert sorted(sample_sentences(sentences, 80, seed=0)) == sorted(sentences)


WORDS = ["river", "station", "letter", "orchestra", "harbour", "railway", "boats", "house", "hill", "war"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    lines = [" ".join(WORDS[(i * k) % len(WORDS)] for k in range(1, 4 + i % 5)) + " ." for i in range(60)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """Tiny tensors: more threads only contend with the other jobs of a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_result(tiny_bert_dir, corpus):
    return encoder_statistics(
        str(tiny_bert_dir),
        corpus,
        n_sentences=36,
        batch_size=8,
        seed=0,
        margins=(0.3, 5.0),
        device="cpu",
        progress=False,
    )


def test_statistics_of_the_tiny_model(tiny_result):
    result = tiny_result
    assert result["sample"]["n_sentences"] == 36 and result["sample"]["n_batches"] == 4  # a partial batch is dropped
    assert 0 < result["pos_cos"] < 1  # dropout on: the two views differ
    assert result["neg_cos_hardest"] >= result["neg_cos_mean"]
    assert result["gap"] == pytest.approx(result["pos_cos"] - result["neg_cos_hardest"], abs=1e-6)
    assert result["alignment"] == pytest.approx(2 - 2 * result["pos_cos"], abs=1e-5)  # unit vectors
    assert result["uniformity"] < 0
    strict, everyone = result["by_margin"]
    assert everyone["m"] == 5.0 and everyone["masked_frac"] == 1.0
    assert 0 <= strict["masked_frac"] <= 1
    assert set(everyone["w_hardest_share"]) == {"0.3", "0.1", "0.05", "0.03", "0.01", "0.005"}
    shares = list(everyone["w_hardest_share"].values())
    assert shares == sorted(shares) and 1 / 7 <= shares[0] and shares[-1] <= 1  # sharper W, larger share
    assert everyone["ratio"]["arccon"] > 1 and everyone["ratio"]["met"] > 0 and everyone["ratio"]["mat"] > 0
    assert result["settings"]["loss_args"]["arccon"]["u"] == pytest.approx(math.pi / 18)
    json.dumps(result, allow_nan=False)  # plain JSON


def test_same_seed_same_numbers_and_the_caller_rng_is_untouched(tiny_bert_dir, corpus, tiny_result):
    torch.manual_seed(11)
    state = torch.get_rng_state()
    again = encoder_statistics(
        str(tiny_bert_dir),
        corpus,
        n_sentences=36,
        batch_size=8,
        seed=0,
        margins=(0.3, 5.0),
        device="cpu",
        progress=False,
    )
    assert torch.equal(state, torch.get_rng_state())
    strip = lambda r: {k: v for k, v in r.items() if k != "settings"}  # noqa: E731 - seconds differ
    assert strip(again) == strip(tiny_result)
    other = encoder_statistics(
        str(tiny_bert_dir), corpus, n_sentences=36, batch_size=8, seed=1, device="cpu", progress=False
    )
    assert other["pos_cos"] != tiny_result["pos_cos"]


def test_bad_settings_name_their_key(tiny_bert_dir, corpus):
    with pytest.raises(ConfigError, match="statistics.n_sentences"):
        encoder_statistics(str(tiny_bert_dir), corpus, n_sentences=4, batch_size=8, device="cpu", progress=False)
    with pytest.raises(ConfigError, match=r"statistics loss_args\.arccon.*unknown hyperparameter"):
        encoder_statistics(
            str(tiny_bert_dir), corpus, loss_args={"arccon": {"margin": 1}}, device="cpu", progress=False
        )


def test_cli_writes_the_json_and_fails_in_one_line(tmp_path, tiny_bert_dir, corpus, capsys):
    from gradparadigm.cli import main

    out = tmp_path / "statistics.json"
    base = [
        "statistics",
        "--model",
        str(tiny_bert_dir),
        "--corpus",
        str(corpus),
        "--out",
        str(out),
        "--n-sentences",
        "16",
        "--batch-size",
        "8",
        "--device",
        "cpu",
        "--threads",
        "1",
    ]
    assert main([*base, "--taus", "0.05", "--meta", "model=tiny", "variant=v", "seed=0"]) == 0
    result = json.loads(out.read_text())
    assert result["meta"]["variant"] == "v" and result["sample"]["n_batches"] == 2
    assert list(result["by_margin"][0]["w_hardest_share"]) == ["0.05"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left
    capsys.readouterr()
    assert main([*base[:-4], "--batch-size", "64", "--out", str(tmp_path / "bad.json")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: config key 'statistics.n_sentences'") and not (tmp_path / "bad.json").exists()
